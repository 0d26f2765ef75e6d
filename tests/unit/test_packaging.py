"""The installed program carries everything it needs at run time.

Builds an sdist from the project's files (copied outside the checkout),
checks it holds the packaged default guest, builds a wheel from that sdist,
installs the wheel into a new venv in a temporary directory (``--no-deps
--no-index``, seeing the already-installed dependencies through
``--system-site-packages``, so no network is used) and runs ``qemu-py`` and
``qemu-py-qtest`` from there, away from the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROJECT_FILES = ("pyproject.toml", "README.md", "qemu_py")


def _run(args, cwd, timeout=240, env=None):
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def test_wheel_installs_and_runs_outside_the_checkout(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in PROJECT_FILES:
        path = os.path.join(ROOT, name)
        if os.path.isdir(path):
            shutil.copytree(path, src / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(path, src / name)
    dist = tmp_path / "dist"
    r = _run([sys.executable, "-c", "import sys; from setuptools import build_meta as b; "
              "print(b.build_sdist(sys.argv[1]))", str(dist)], cwd=src)
    assert r.returncode == 0, r.stderr[-3000:]
    sdist = dist / r.stdout.strip().splitlines()[-1]
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
    assert any(n.endswith("/qemu_py/guests/default.elf") for n in names), names[:20]

    r = _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
              "--no-index", "-w", str(dist), str(sdist)], cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    wheel = next(dist.glob("qemu_py-*.whl"))

    venv = tmp_path / "venv"
    r = _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
              str(venv)], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    py = venv / "bin" / "python"
    r = _run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q",
              "--no-deps", "--no-index", str(wheel)], cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "QEMU_PY_DEFAULT_GUEST",
                                                           "QTEST_QEMU_BINARY")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    run_dir = tmp_path / "elsewhere"
    run_dir.mkdir()
    r = _run([str(py), "-c", "import qemu_py, qemu_py.accel.tcg.default_guest as g; "
              "print(qemu_py.__file__); print(g.default_image())"], cwd=run_dir, env=env)
    assert r.returncode == 0, r.stderr
    module, image = r.stdout.split()
    assert module.startswith(str(venv)) and image.startswith(str(venv))

    r = _run([str(venv / "bin" / "qemu-py")], cwd=run_dir, env=env, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert r.stdout.startswith("qemu-py default guest: x86-64 long mode")
    assert r.stdout.count("[ok]") == 7 and "all checks passed" in r.stdout

    script = run_dir / "hello.qtest"
    script.write_text("endianness\nreadl 0x0\n")
    r = _run([str(venv / "bin" / "qemu-py-qtest"), "--file", str(script), "--",
              str(venv / "bin" / "qemu-py"), "-M", "none", "-m", "16M"], cwd=run_dir, env=env)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "OK little" in r.stdout
