"""Debian's gdb debugs the default guest through the gdbstub, as it debugs QEMU.

Each test starts ``qemu-py -gdb ... -S`` (the bundled guest, images/default),
runs a ``gdb -batch -nx`` script against it with the guest's ELF for symbols,
and checks what gdb printed and how the emulator ended. They run in the default
test run when gdb is installed; tests/functional/test_gdb.py runs the same
session against qemu-system-x86_64 7.2 and compares.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from qemu_py.accel.tcg.default_guest import DEFAULT_ARGS, default_image

GDB = shutil.which("gdb")
QEMU = shutil.which("qemu-system-x86_64")
pytestmark = [pytest.mark.skipif(GDB is None, reason="gdb is not installed (Debian: apt-get "
                                 "install gdb); the gdbstub's protocol tests still run")]

SESSION = """\
set pagination off
set confirm off
target remote {target}
break check
continue
info registers rip
x/2xg $rsp
stepi
info registers rip
finish
delete
watch *(long *)&ticks
continue
delete
detach
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    """Whether a TCP socket listens on PORT (read from /proc: no probe connection,
    which the stub would take for a debugger)."""
    want = f":{port:04X} "
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                if any(want in line and line.split()[3] == "0A" for line in f):
                    return True
        except OSError:
            pass
    return False


def _wait_for(ready, proc, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the gdb server did not come up"
        time.sleep(0.05)


def _start(argv):
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _gdb(script: str, tmp_path, timeout=240) -> str:
    path = tmp_path / "session.gdb"
    path.write_text(script)
    p = subprocess.run([GDB, "-batch", "-nx", "-x", str(path), default_image()],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    return p.stdout.decode() + p.stderr.decode()


def _session(argv, target, script, tmp_path, ready):
    proc = _start(argv)
    try:
        _wait_for(ready, proc)
        out = _gdb(script.format(target=target), tmp_path)
        stdout, stderr = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return out, proc.returncode, stdout.decode(), stderr.decode()


def _qemu_py_tcp(script, tmp_path):
    port = _free_port()
    return _session([sys.executable, "-m", "qemu_py", "-gdb", f"tcp::{port}", "-S"],
                    f"127.0.0.1:{port}", script, tmp_path, lambda: _listening(port))


def _qemu_tcp(script, tmp_path):
    port = _free_port()
    argv = [QEMU, *DEFAULT_ARGS, "-kernel", default_image(), "-gdb", f"tcp::{port}", "-S"]
    argv[argv.index("stdio")] = "null"
    return _session(argv, f"127.0.0.1:{port}", script, tmp_path, lambda: _listening(port))


def _comparable(out: str) -> list[str]:
    """The lines of a session that do not depend on the machine's boot path."""
    keep = ("Breakpoint 1,", "rip ", "0x", "Old value", "New value",
            "Hardware watchpoint")
    lines = [" ".join(line.split()) for line in out.splitlines()]
    return [line for line in lines[1:] if line.startswith(keep)]


def test_break_step_finish_watch_detach(tmp_path):
    out, rc, stdout, stderr = _qemu_py_tcp(SESSION, tmp_path)
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert "Breakpoint 1 at 0x100350" in lines, out
    assert "Breakpoint 1, 0x0000000000100350 in check ()" in lines, out
    assert "rip 0x100350 0x100350 <check>" in lines, out
    assert "0x10af18: 0x0000000000100729 0x0000000000000000" in lines, out   # return address
    assert "0x0000000000100351 in check ()" in lines, out                    # stepi: push rbp
    assert "rip 0x100351 0x100351 <check+1>" in lines, out
    assert "0x0000000000100729 in kmain ()" in lines, out                    # finish
    assert "Hardware watchpoint 2: *(long *)&ticks" in lines, out
    i = lines.index("Old value = 0")
    assert lines[i + 1] == "New value = 1", out                               # the timer ISR
    assert lines[i + 2].endswith(" in isr_dispatch ()"), out
    assert "[Inferior 1 (Remote target) detached]" in lines, out
    assert rc == 0, (stdout, stderr)                    # detached: the guest ran to its end
    assert "all checks passed" in stdout


def test_kill_ends_the_emulator_with_status_0(tmp_path):
    script = "set confirm off\ntarget remote {target}\nbreak check\ncontinue\nkill\n"
    out, rc, _stdout, stderr = _qemu_py_tcp(script, tmp_path)
    assert "[Inferior 1 (Remote target) killed]" in out, out
    assert rc == 0
    assert stderr.endswith(": QEMU: Terminated via GDBstub\n"), stderr


def test_unix_socket_server_waits_with_S_and_segment_writes(tmp_path):
    sock = tmp_path / "gdb.sock"
    script = ("set confirm off\ntarget remote {target}\nbreak check\ncontinue\n"
              "set $es = 0\ninfo registers es\nset $es = 0x10\ninfo registers es\n"
              "detach\n")
    out, rc, stdout, stderr = _session(
        [sys.executable, "-m", "qemu_py", "-gdb", f"unix:{sock},server=on", "-S"],
        str(sock), script, tmp_path, lambda: os.path.exists(sock))
    assert "waiting for connection on: disconnected:unix:" in stderr
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert "es 0x0 0" in lines and "es 0x10 16" in lines, out
    assert rc == 0 and "all checks passed" in stdout, stderr
