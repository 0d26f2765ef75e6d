"""The launch shapes of existing clients work unchanged (specs/qtest.md §2).

* C libqtest: the test listens on two unix sockets; the emulator is started
  through ``/bin/sh -c "exec BINARY ARGS"`` with the exact 7.2-era argument
  string, connects to both; the test sends ``endianness``, reads the QMP
  greeting, sends ``{ 'execute': 'qmp_capabilities' }``, and ends it with
  SIGTERM expecting exit status 0.
* Python QEMUQtestMachine: socketpair fds, ``-chardev socket,id=mon,fd=N
  -mon chardev=mon,mode=control`` and ``-chardev socket,id=qtest,fd=M
  -qtest chardev:qtest -accel qtest``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile

BINARY = shlex.join([sys.executable, "-m", "qemu_py"])


def _accept(listener: socket.socket, proc: subprocess.Popen) -> socket.socket:
    listener.settimeout(0.2)
    for _ in range(300):
        try:
            conn, _ = listener.accept()
            return conn
        except socket.timeout:
            assert proc.poll() is None, f"emulator exited with status {proc.returncode}"
    raise AssertionError("emulator did not connect within 60 s")


def _readline(sock: socket.socket, buf: bytearray) -> bytes:
    sock.settimeout(30)
    while b"\n" not in buf:
        chunk = sock.recv(4096)
        assert chunk, "connection closed"
        buf += chunk
    i = buf.index(b"\n")
    line = bytes(buf[:i + 1])
    del buf[:i + 1]
    return line


def test_libqtest_launch_line_and_handshake():
    tmp = tempfile.mkdtemp()
    pid = os.getpid()
    qt_path, qmp_path = f"{tmp}/qtest-{pid}.sock", f"{tmp}/qtest-{pid}.qmp"
    listeners = []
    for path in (qt_path, qmp_path):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(1)
        listeners.append(s)
    args = (f"-qtest unix:{qt_path} -qtest-log /dev/null "
            f"-chardev socket,path={qmp_path},id=char0 -mon chardev=char0,mode=control "
            f"-display none -M none -m 16M -accel qtest")
    proc = subprocess.Popen(["/bin/sh", "-c", f"exec {BINARY} {args}"],
                            env={**os.environ, "QEMU_AUDIO_DRV": "none"})
    try:
        qt = _accept(listeners[0], proc)
        qmp = _accept(listeners[1], proc)
        for path in (qt_path, qmp_path):
            os.unlink(path)
        qbuf, mbuf = bytearray(), bytearray()
        qt.sendall(b"endianness\n")
        assert _readline(qt, qbuf) == b"OK little\n"
        greeting = json.loads(_readline(qmp, mbuf))
        assert greeting["QMP"]["version"]["qemu"] == {"micro": 22, "minor": 2, "major": 7}
        assert greeting["QMP"]["capabilities"] == ["oob"]
        qmp.sendall(b"{ 'execute': 'qmp_capabilities' }")
        reply = _readline(qmp, mbuf)
        assert reply == b'{"return": {}}\r\n'
        qt.sendall(b"writel 0x100 0x12345678\nreadl 0x100\n")
        assert _readline(qt, qbuf) == b"OK\n"
        assert _readline(qt, qbuf) == b"OK 0x0000000012345678\n"
        qmp.sendall(b'{"execute": "query-status"}')
        assert json.loads(_readline(qmp, mbuf)) == {
            "return": {"status": "running", "singlestep": False, "running": True}}
        proc.send_signal(signal.SIGTERM)
        event = json.loads(_readline(qmp, mbuf))
        assert event["event"] == "SHUTDOWN"
        assert event["data"] == {"guest": False, "reason": "host-signal"}
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_python_qemuqtestmachine_fd_launch_shape():
    mon_ours, mon_theirs = socket.socketpair()
    qt_ours, qt_theirs = socket.socketpair()
    args = [sys.executable, "-m", "qemu_py", "-display", "none", "-vga", "none",
            "-chardev", f"socket,id=mon,fd={mon_theirs.fileno()}", "-mon", "chardev=mon,mode=control",
            "-machine", "none", "-m", "16M",
            "-chardev", f"socket,id=qtest,fd={qt_theirs.fileno()}", "-qtest", "chardev:qtest",
            "-accel", "qtest"]
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT,
                            pass_fds=(mon_theirs.fileno(), qt_theirs.fileno()))
    mon_theirs.close()
    qt_theirs.close()
    try:
        mbuf, qbuf = bytearray(), bytearray()
        assert b'"QMP"' in _readline(mon_ours, mbuf)
        mon_ours.sendall(b'{"execute": "qmp_capabilities"}\n')
        assert json.loads(_readline(mon_ours, mbuf)) == {"return": {}}
        qt_ours.sendall(b"endianness\n")
        assert _readline(qt_ours, qbuf) == b"OK little\n"
        mon_ours.sendall(b'{"execute": "quit"}\n')
        assert json.loads(_readline(mon_ours, mbuf))["event"] == "SHUTDOWN"
        assert json.loads(_readline(mon_ours, mbuf)) == {"return": {}}
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_pypi_qemu_qmp_client():
    from qemu.qmp import QMPClient

    tmp = tempfile.mkdtemp()
    path = f"{tmp}/qmp.sock"

    async def run():
        client = QMPClient("qemu-py-test")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "qemu_py", "-M", "none", "-display", "none", "-accel", "qtest",
            "-qmp", f"unix:{path},server=on,wait=off")
        for _ in range(300):
            if os.path.exists(path):
                break
            await asyncio.sleep(0.05)
        await client.connect(path)
        status = await client.execute("query-status")
        assert status == {"status": "running", "singlestep": False, "running": True}
        await client.execute("quit")
        await client.disconnect()
        assert await asyncio.wait_for(proc.wait(), 30) == 0

    asyncio.run(run())

