"""Running one command natively and under qemu-py-x86_64, and comparing the two."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass

CORE_SIGNALS = {3, 4, 5, 6, 7, 8, 11, 24, 25, 31}


@dataclass
class Run:
    stdout: bytes
    stderr: bytes
    status: int                 # exit status, or -signal


def run(argv: list[str], *, stdin: bytes = b"", cwd: str | None = None, env=None,
        timeout: int = 300) -> Run:
    p = subprocess.run(argv, input=stdin, cwd=cwd, env=env, capture_output=True,
                       timeout=timeout)
    return Run(p.stdout, p.stderr, p.returncode)


def emulator_argv(options: list[str] | None = None) -> list[str]:
    return [sys.executable, "-m", "qemu_py.user"] + list(options or [])


def emulator_env(env=None) -> dict:
    """The environment for the emulator: the caller's, with this tree importable."""
    env = dict(os.environ if env is None else env)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def expected_stderr(native: Run) -> bytes:
    """What qemu-py's standard error must be, given the native run's."""
    if native.status < 0 and -native.status in CORE_SIGNALS:
        sig = -native.status
        return native.stderr + (f"qemu-py-x86_64: uncaught target signal {sig} "
                                f"({signal.strsignal(sig)}) - core dumped\n").encode()
    return native.stderr


def compare(argv: list[str], *, stdin: bytes = b"", cwd: str | None = None,
            options: list[str] | None = None) -> str | None:
    """None when both runs agree, else a report naming the difference and the reproducer."""
    native = run(argv, stdin=stdin, cwd=cwd)
    emulated = run(emulator_argv(options) + argv, stdin=stdin, cwd=cwd, env=emulator_env())
    problems = []
    if native.status != emulated.status:
        problems.append(f"exit status: native {native.status}, qemu-py {emulated.status}")
    if native.stdout != emulated.stdout:
        problems.append(f"stdout differs:\n  native  {native.stdout[:400]!r}\n"
                        f"  qemu-py {emulated.stdout[:400]!r}")
    want_err = expected_stderr(native)
    if want_err != emulated.stderr:
        problems.append(f"stderr differs:\n  expected {want_err[-400:]!r}\n"
                        f"  qemu-py  {emulated.stderr[-400:]!r}")
    if not problems:
        return None
    repro = " ".join(shlex.quote(a) for a in ["qemu-py-x86_64"] + list(options or []) + argv)
    if stdin:
        repro = f"printf %s {shlex.quote(stdin.decode('latin-1'))} | " + repro
    return "\n".join(problems + [f"reproduce: {repro}" + (f"  (in {cwd})" if cwd else "")])
