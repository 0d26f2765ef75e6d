#!/usr/bin/env python3
"""Build the Linux test image from Debian 12 packages.

The image is the distribution kernel (a bzImage from ``linux-image-6.1.0-*-amd64``,
the package ``linux-image-amd64`` depends on) and a busybox-static initramfs built
here in Python (newc cpio, gzip; no cpio binary needed).  Its ``/init`` mounts
proc, sysfs and devtmpfs, runs a few checks, prints ``MARKER`` and powers off
(``poweroff -f``); the interactive variant starts a shell on the console instead
and powers off when that shell exits.

Both packages are pinned by version and sha256; a download that does not match
is refused.  The result goes to a cache directory (``$QEMU_PY_IMAGE_CACHE``, else
``$XDG_CACHE_HOME/qemu-py/images``, else ``~/.cache/qemu-py/images``) on first
use; later uses need no network.

    python3 images/linux/recipe.py            # build (or find) and print the paths
"""

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

KERNEL_PACKAGE = "linux-image-6.1.0-57-amd64"
KERNEL_VERSION = "6.1.192-3"
KERNEL_SHA256 = "14d219d01e1283261817d961dbb3895cb5b4288d0de10e0ba0632a0d993e15bf"
KERNEL_FILE = "boot/vmlinuz-6.1.0-57-amd64"

BUSYBOX_PACKAGE = "busybox-static"
BUSYBOX_VERSION = "1:1.35.0-4+deb12u1+b1"
BUSYBOX_SHA256 = "3d3fdbe91d4660c873e14b092c213fe81c1da6362daa236eb25d0171eb108744"
BUSYBOX_FILE = "bin/busybox"

MARKER = "qemu-py linux image: all checks passed"
CHECK_FAILED = "qemu-py linux image: check failed"

IMAGE_NAME = f"linux-{KERNEL_PACKAGE.removeprefix('linux-image-')}"
MANIFEST = "manifest.json"


class ImageBuildError(Exception):
    """The image cannot be built; the message says why in one line."""


@dataclass(frozen=True)
class LinuxImage:
    kernel: Path
    initrd: Path
    initrd_shell: Path
    sha256: dict


def cache_root() -> Path:
    if os.environ.get("QEMU_PY_IMAGE_CACHE"):
        return Path(os.environ["QEMU_PY_IMAGE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "qemu-py" / "images"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# -- /init -------------------------------------------------------------------

def init_script(interactive: bool) -> str:
    tail = ("echo 'qemu-py linux image: shell on the console'\n"
            "setsid cttyhack sh\n" if interactive else "")
    return (
        "#!/bin/busybox sh\n"
        "/bin/busybox mkdir -p /proc /sys /dev /sbin /usr/bin /usr/sbin /tmp\n"
        "/bin/busybox --install -s\n"
        "mount -t proc proc /proc\n"
        "mount -t sysfs sysfs /sys\n"
        "mount -t devtmpfs devtmpfs /dev\n"
        "ok=1\n"
        "fail() { echo \"" + CHECK_FAILED + ": $1\"; ok=0; }\n"
        "grep -q '^processor' /proc/cpuinfo || fail 'no processor line in /proc/cpuinfo'\n"
        "n=$(grep -c '^processor' /proc/cpuinfo)\n"
        "echo \"check: $n processor(s) in /proc/cpuinfo\"\n"
        "[ \"$(( (12345 * 6789) % 1000003 ))\" = 809956 ] || fail 'arithmetic'\n"
        "s=0; i=1; while [ $i -le 100 ]; do s=$((s + i * i)); i=$((i + 1)); done\n"
        "[ \"$s\" = 338350 ] || fail \"sum of squares gave $s\"\n"
        "echo \"check: sum of squares 1..100 = $s\"\n"
        "[ -c /dev/ttyS0 ] || fail 'no /dev/ttyS0'\n"
        "echo \"check: kernel $(uname -r)\"\n"
        "[ $ok = 1 ] && echo '" + MARKER + "'\n"
        + tail +
        "poweroff -f\n"
    )


# -- newc cpio ---------------------------------------------------------------

def _newc_entry(name: str, mode: int, data: bytes, ino: int) -> bytes:
    """One entry of the SVR4 "newc" format (magic 070701, 13 hex fields)."""
    encoded = name.encode() + b"\0"
    fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0)
    header = b"070701" + b"".join(b"%08X" % f for f in fields)
    out = header + encoded
    out += b"\0" * (-len(out) % 4)
    out += data
    out += b"\0" * (-len(out) % 4)
    return out


def newc_archive(entries) -> bytes:
    """entries: (name, mode, data) with mode including the file type bits."""
    out = b"".join(_newc_entry(n, m, d, i) for i, (n, m, d) in enumerate(entries, 1))
    out += _newc_entry("TRAILER!!!", 0, b"", 0)
    return out + b"\0" * (-len(out) % 512)


def build_initramfs(busybox: bytes, interactive: bool) -> bytes:
    d, f, link = 0o040755, 0o100755, 0o120777
    entries = [("bin", d, b""), ("dev", d, b""), ("proc", d, b""), ("sys", d, b""),
               ("sbin", d, b""), ("tmp", 0o041777, b""),
               ("bin/busybox", f, busybox), ("bin/sh", link, b"busybox"),
               ("init", f, init_script(interactive).encode())]
    cpio = newc_archive(entries)
    return gzip.compress(cpio, compresslevel=9, mtime=0)


# -- downloads ---------------------------------------------------------------

def _download(package: str, version: str, sha256: str, workdir: Path) -> Path:
    if shutil.which("apt-get") is None:
        raise ImageBuildError(f"cannot download {package}={version}: apt-get is not available "
                              "(the Linux image is built from Debian packages)")
    p = subprocess.run(["apt-get", "download", f"{package}={version}"], cwd=workdir,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True)
    debs = sorted(workdir.glob(f"{package}_*.deb"))
    if p.returncode != 0 or not debs:
        err = (p.stderr.strip().splitlines() or ["no .deb produced"])[-1]
        raise ImageBuildError(f"apt-get download {package}={version} failed: {err}")
    got = sha256_of(debs[0])
    if got != sha256:
        raise ImageBuildError(f"{debs[0].name}: sha256 {got} does not match the pinned {sha256}")
    return debs[0]


def _extract(deb: Path, member: str, workdir: Path) -> bytes:
    if shutil.which("dpkg-deb") is None:
        raise ImageBuildError(f"cannot extract {deb.name}: dpkg-deb is not available")
    root = workdir / (deb.stem + ".root")
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True,
                   stdin=subprocess.DEVNULL, capture_output=True)
    path = root / member
    if not path.is_file():
        raise ImageBuildError(f"{deb.name} has no {member}")
    return path.read_bytes()


# -- the cached image --------------------------------------------------------

def _init_sha256() -> str:
    """Changes whenever /init changes, so a cached initramfs is rebuilt."""
    return hashlib.sha256((init_script(False) + init_script(True)).encode()).hexdigest()


def image_dir() -> Path:
    return cache_root() / IMAGE_NAME


def _cached() -> LinuxImage | None:
    d = image_dir()
    try:
        manifest = json.loads((d / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("kernel_deb_sha256") != KERNEL_SHA256 or \
            manifest.get("busybox_deb_sha256") != BUSYBOX_SHA256 or \
            manifest.get("init_sha256") != _init_sha256():
        return None
    files = manifest.get("files", {})
    img = LinuxImage(d / "vmlinuz", d / "initramfs.cpio.gz", d / "initramfs-shell.cpio.gz",
                     files)
    for p in (img.kernel, img.initrd, img.initrd_shell):
        if not p.is_file() or files.get(p.name) != sha256_of(p):
            return None
    return img


def ensure_image(log=None) -> LinuxImage:
    """The image's paths, building it into the cache first if needed."""
    img = _cached()
    if img is not None:
        return img
    d = image_dir()
    d.mkdir(parents=True, exist_ok=True)
    if log:
        log(f"building the Linux test image in {d}")
    with tempfile.TemporaryDirectory(dir=d) as tmp:
        work = Path(tmp)
        kernel = _extract(_download(KERNEL_PACKAGE, KERNEL_VERSION, KERNEL_SHA256, work),
                          KERNEL_FILE, work)
        busybox = _extract(_download(BUSYBOX_PACKAGE, BUSYBOX_VERSION, BUSYBOX_SHA256, work),
                           BUSYBOX_FILE, work)
        outputs = {"vmlinuz": kernel,
                   "initramfs.cpio.gz": build_initramfs(busybox, interactive=False),
                   "initramfs-shell.cpio.gz": build_initramfs(busybox, interactive=True)}
        for name, data in outputs.items():
            (work / name).write_bytes(data)
            os.replace(work / name, d / name)
    files = {name: sha256_of(d / name) for name in outputs}
    manifest = {"kernel": f"{KERNEL_PACKAGE}={KERNEL_VERSION}",
                "kernel_deb_sha256": KERNEL_SHA256,
                "busybox": f"{BUSYBOX_PACKAGE}={BUSYBOX_VERSION}",
                "busybox_deb_sha256": BUSYBOX_SHA256, "init_sha256": _init_sha256(),
                "files": files}
    (d / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    img = _cached()
    assert img is not None
    return img


def main(argv=None) -> int:
    try:
        img = ensure_image(log=lambda m: print(m, file=sys.stderr))
    except (ImageBuildError, subprocess.CalledProcessError, OSError) as e:
        print(f"images/linux: {e}", file=sys.stderr)
        return 1
    print(f"kernel  {img.kernel}")
    print(f"initrd  {img.initrd}")
    print(f"shell   {img.initrd_shell}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
