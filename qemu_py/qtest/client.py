"""``QTest``: a Python client of the qtest protocol, mirroring libqtest.

It launches an emulator the way QEMU's C libqtest does (the client listens on
two unix sockets, the emulator connects to both, ``-accel qtest`` last),
handshakes (``endianness``, QMP greeting, ``qmp_capabilities``) and offers
libqtest's calls as methods. Or it attaches to a running emulator's qtest
socket. Every run keeps its logs (qtest log, QMP transcript, emulator
output) in ``log_dir``; ``describe_logs()`` names them.

Works against qemu-py (the default) and against a real QEMU binary
(``binary=`` or ``QTEST_QEMU_BINARY``).
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time

from .calls import LibqtestCalls, QTestError
from .qmp_client import QMPConnection, QMPError


class QTestTimeout(QTestError):
    pass


STDERR_TAIL_LINES = 10


def describe_status(status: int) -> str:
    """``exited with status 1`` or ``killed by signal 11 (SIGSEGV)`` for a
    ``Popen.returncode`` (negative: the signal that ended the process)."""
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            return f"killed by signal {-status}"
        return f"killed by signal {-status} ({name})"
    return f"exited with status {status}"


def tail_lines(text: str, n: int = STDERR_TAIL_LINES) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-n:])


def default_binary(target: str = "x86_64") -> list[str]:
    env = os.environ.get("QTEST_QEMU_BINARY")
    if env:
        return shlex.split(env)
    return [sys.executable, "-m", "qemu_py"]


class QTest(LibqtestCalls):
    def __init__(self, args: list[str] | str = (), *, binary: list[str] | str | None = None,
                 target: str = "x86_64", timeout: float = 30.0, log_dir: str | None = None,
                 qmp: bool = True, accel: str = "qtest", env: dict | None = None,
                 start_timeout: float = 60.0):
        self.args = shlex.split(args) if isinstance(args, str) else list(args)
        if binary is None:
            self.binary = default_binary(target)
        else:
            self.binary = shlex.split(binary) if isinstance(binary, str) else list(binary)
        self.target = target
        self.timeout = timeout
        self.start_timeout = start_timeout
        self.want_qmp = qmp
        self.accel = accel
        self.env = env
        self.log_dir = log_dir or tempfile.mkdtemp(prefix="qemu-py-qtest-")
        os.makedirs(self.log_dir, exist_ok=True)
        self.qtest_log_path = os.path.join(self.log_dir, "qtest.log")
        self.qmp_log_path = os.path.join(self.log_dir, "qmp.log")
        self.console_log_path = os.path.join(self.log_dir, "emulator.log")
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.qmp_conn: QMPConnection | None = None
        self._buf = b""
        self._init_irq_state()
        self.big_endian = False
        self.command_line: list[str] = []
        self._launched = False

    # -- life cycle --------------------------------------------------------------------
    def launch(self) -> "QTest":
        sockdir = tempfile.mkdtemp(prefix="qtest-")
        qtest_path = os.path.join(sockdir, "qtest.sock")
        qmp_path = os.path.join(sockdir, "qmp.sock")
        listeners = []
        try:
            qt_l = self._listen(qtest_path)
            listeners.append(qt_l)
            args = list(self.binary) + ["-qtest", f"unix:{qtest_path}",
                                        "-qtest-log", self.qtest_log_path]
            if self.want_qmp:
                qmp_l = self._listen(qmp_path)
                listeners.append(qmp_l)
                args += ["-chardev", f"socket,path={qmp_path},id=char0",
                         "-mon", "chardev=char0,mode=control"]
            args += ["-display", "none"] + self.args
            if self.accel:
                args += ["-accel", self.accel]
            self.command_line = args
            env = dict(os.environ if self.env is None else self.env)
            env.setdefault("QEMU_PY_TARGET", self.target)
            self._console = open(self.console_log_path, "wb")
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._console,
                                         stderr=subprocess.STDOUT, env=env)
            self.sock = self._accept(qt_l, "qtest")
            if self.want_qmp:
                qmp_sock = self._accept(qmp_l, "QMP")
                self.qmp_conn = QMPConnection(qmp_sock, self.timeout,
                                              open(self.qmp_log_path, "w"),
                                              on_close=self.describe_death)
            self._launched = True
            reply = self.cmd("endianness")
            self.big_endian = reply == "OK big"
            if self.qmp_conn is not None:
                self.qmp_conn.handshake()
        except BaseException:
            self.close()
            raise
        finally:
            for lst in listeners:
                lst.close()
            for p in (qtest_path, qmp_path):
                if os.path.exists(p):
                    os.unlink(p)
            os.rmdir(sockdir)
        return self

    @classmethod
    def attach(cls, path: str, timeout: float = 30.0) -> "QTest":
        """Connect to a running emulator's ``-qtest unix:PATH,server=on`` socket."""
        qt = cls(timeout=timeout, qmp=False)
        qt.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        qt.sock.connect(path)
        qt._launched = True
        qt.big_endian = qt.cmd("endianness") == "OK big"
        return qt

    def _listen(self, path: str) -> socket.socket:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(1)
        return s

    def _accept(self, listener: socket.socket, what: str) -> socket.socket:
        deadline = time.monotonic() + self.start_timeout
        listener.settimeout(0.1)
        while True:
            try:
                conn, _ = listener.accept()
                return conn
            except socket.timeout:
                pass
            if self.proc is not None and self.proc.poll() is not None:
                raise QTestError("<launch>", None,
                                 f"qemu-py {describe_status(self.proc.returncode)} before "
                                 f"connecting the {what} socket; output: {self.console_log_path}\n"
                                 + tail_lines(self.console_output()))
            if time.monotonic() > deadline:
                raise QTestTimeout("<launch>", None, f"emulator did not connect the {what} socket "
                                   f"within {self.start_timeout} s; output: {self.console_log_path}")

    def console_output(self) -> str:
        try:
            with open(self.console_log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def describe_death(self, grace: float = 1.0) -> str:
        """Why the connection went away: the emulator's exit status or signal
        and the last lines of its output; empty if it is still running (or was
        attached to, not launched)."""
        if self.proc is None:
            return ""
        try:
            status = self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            return ""
        if getattr(self, "_console", None) is not None:
            self._console.flush()
        tail = tail_lines(self.console_output())
        text = f"qemu-py {describe_status(status)}"
        if tail:
            text += f"; last lines of its output ({self.console_log_path}):\n{tail}"
        return text

    def describe_logs(self) -> str:
        return (f"qtest log: {self.qtest_log_path}\nQMP log: {self.qmp_log_path}\n"
                f"emulator output: {self.console_log_path}")

    def quit(self, expected_status: int = 0, sig=signal.SIGTERM) -> int:
        """Stop the emulator like libqtest's qtest_quit (SIGTERM, then wait)."""
        status = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                status = self.proc.wait(self.timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                status = self.proc.wait()
        elif self.proc is not None:
            status = self.proc.returncode
        self.close()
        if status is not None and status != expected_status:
            raise QTestError("<quit>", None, f"emulator exited with status {status}, expected "
                             f"{expected_status}; {self.describe_logs()}")
        return status

    def wait_exit(self, timeout: float | None = None) -> int:
        """Wait for the emulator to end by itself; returns its exit status."""
        status = self.proc.wait(self.timeout if timeout is None else timeout)
        self.close()
        return status

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.qmp_conn is not None:
            self.qmp_conn.sock.close()
            if self.qmp_conn.transcript:
                self.qmp_conn.transcript.close()
            self.qmp_conn = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if getattr(self, "_console", None) is not None:
            self._console.close()
            self._console = None

    def __enter__(self):
        if not self._launched:
            self.launch()
        return self

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.quit()
            except QTestError:
                if exc[0] is None:
                    raise
        self.close()

    # -- protocol ----------------------------------------------------------------------
    def _send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self, command: str) -> bytes:
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise QTestTimeout(command, None, f"no reply to {command!r} within "
                                   f"{self.timeout} s")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                death = self.describe_death()
                raise QTestError(command, None, f"connection closed while waiting for the reply "
                                 f"to {command!r}" + (f": {death}" if death else "")
                                 + (f"\n{self.describe_logs()}" if self.proc else ""))
            return chunk

    def get_irq(self, n: int) -> bool:
        """Level of intercepted line N, after draining pending IRQ lines."""
        self.cmd("endianness")
        return bool(self.irq_level[n])

    # -- QMP ---------------------------------------------------------------------------
    def qmp(self, command: str, **args):
        if self.qmp_conn is None:
            raise QTestError(command, None, "this QTest has no QMP connection")
        return self.qmp_conn.command(command, **args)

    def hmp(self, command_line: str) -> str:
        return self.qmp("human-monitor-command", **{"command-line": command_line})

    def qmp_event(self, name: str | None = None, timeout: float | None = 0.0):
        return self.qmp_conn.pull_event(name, timeout)


__all__ = ["QTest", "QTestError", "QTestTimeout", "QMPError"]
