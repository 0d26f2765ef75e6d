"""Assets: a file named by its sha256, produced by the image recipe on first use."""

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
RECIPE = ROOT / "images" / "linux" / "recipe.py"


def load_recipe():
    """The images/linux recipe module (it lives beside the image, not in the package)."""
    spec = importlib.util.spec_from_file_location("qemu_py_images_linux_recipe", RECIPE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@dataclass(frozen=True)
class Asset:
    path: Path
    sha256: str

    def verify(self) -> Path:
        h = hashlib.sha256(self.path.read_bytes()).hexdigest()
        if h != self.sha256:
            raise AssertionError(f"asset {self.path}: sha256 {h}, expected {self.sha256}")
        return self.path


def linux_assets() -> dict:
    """{"kernel", "initrd", "initrd_shell"} -> Asset, building the image if needed.
    Raises the recipe's ImageBuildError (one line) when it cannot be built."""
    recipe = load_recipe()
    img = recipe.ensure_image()
    return {key: Asset(p, img.sha256[p.name]) for key, p in
            (("kernel", img.kernel), ("initrd", img.initrd), ("initrd_shell", img.initrd_shell))}
