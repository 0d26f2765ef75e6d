"""One emulator process: serial console on its stdin/stdout, QMP on a unix socket,
and every log kept in a per-test directory."""

import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

from qemu_py.qtest.qmp_client import QMPConnection

ROOT = Path(__file__).resolve().parents[3]


def emulator_command() -> list[str]:
    """qemu-py by default; QEMU_TEST_BINARY selects another emulator (a real QEMU)."""
    binary = os.environ.get("QEMU_TEST_BINARY")
    if binary:
        return shlex.split(binary)
    return [sys.executable, "-m", "qemu_py"]


def is_qemu_py(cmd: list[str]) -> bool:
    return any("qemu_py" in c or "qemu-py" in c for c in cmd)


class Machine:
    def __init__(self, args: list[str], log_dir: Path, wall_limit: float = 1800.0):
        self.cmd = emulator_command()
        self.args = list(args)
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.console_log = self.log_dir / "console.log"
        self.emulator_log = self.log_dir / "emulator.log"
        self.qmp_log = self.log_dir / "qmp.log"
        self.wall_limit = wall_limit
        self.proc = None
        self.qmp = None
        self.console = None

    @property
    def logs(self) -> str:
        return (f"console log {self.console_log}, emulator log {self.emulator_log}, "
                f"QMP log {self.qmp_log}")

    def launch(self):
        from .console import Console
        # a short path: unix socket names are limited to 107 bytes
        self._sock_dir = Path(os.environ.get("TMPDIR", "/tmp"))
        qmp_path = self._sock_dir / f"qemu-test-{os.getpid()}-{id(self):x}.qmp"
        self.qmp_path = qmp_path
        argv = [*self.cmd, "-display", "none", "-serial", "stdio", "-monitor", "none",
                "-qmp", f"unix:{qmp_path},server=on,wait=off", *self.args]
        self._stderr = open(self.emulator_log, "wb")
        self._stderr.write(("command: " + shlex.join(argv) + "\n").encode())
        self._stderr.flush()
        env = dict(os.environ)
        if is_qemu_py(self.cmd):
            env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, env=env, cwd=ROOT)
        self.console = Console(self.proc.stdout, self.proc.stdin, self.console_log,
                               self.wall_limit)
        self._connect_qmp(qmp_path)

    def _connect_qmp(self, path: Path):
        deadline = time.monotonic() + 60
        while True:
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(str(path))
                break
            except OSError:
                s.close()
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"no QMP socket from the emulator ({self.logs})")\
                        from None
                time.sleep(0.05)
        self.qmp = QMPConnection(s, timeout=60, transcript=open(self.qmp_log, "w"))
        self.qmp.handshake()

    def stop_vm(self):
        """QMP stop: the run state becomes paused."""
        self.qmp.command("stop")

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def shutdown(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.qmp.command("quit")
            except (OSError, ConnectionError, TimeoutError, ValueError):
                pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.console is not None:
            self.console.close()
        for f in (self.proc.stdin,):
            try:
                f.close()
            except OSError:
                pass
        if self.qmp is not None:
            self.qmp.sock.close()
            self.qmp.transcript.close()
        self._stderr.close()
        try:
            self.qmp_path.unlink()
        except OSError:
            pass
