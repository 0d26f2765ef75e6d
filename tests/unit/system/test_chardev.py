"""Chardev backends: output buffering, input delivery, open/close events, reconnects."""

import os
import socket

import pytest

from qemu_py.system.chardev import CLOSED, OPENED, ChardevError, create_chardev, parse_legacy
from qemu_py.system.chardev.factory import parse_chardev_opts
from qemu_py.system.mainloop import MainLoop


class Frontend:
    def __init__(self, budget=1024):
        self.budget = budget
        self.data = bytearray()
        self.events = []

    def can_read(self):
        return self.budget

    def receive(self, data):
        self.data += data

    def event(self, kind):
        self.events.append(kind)


def spin(loop, cond, n=200):
    for _ in range(n):
        if cond():
            return True
        loop.iterate(0.01)
    return cond()


def test_legacy_forms():
    assert parse_legacy("stdio") == {"backend": "stdio"}
    assert parse_legacy("unix:/tmp/s,server=on,wait=off") == {
        "backend": "socket", "path": "/tmp/s", "server": "on", "wait": "off"}
    assert parse_legacy("tcp:127.0.0.1:4444,server,nowait") == {
        "backend": "socket", "host": "127.0.0.1", "port": "4444", "server": "on", "wait": "off"}
    assert parse_legacy("file:/tmp/out") == {"backend": "file", "path": "/tmp/out"}
    with pytest.raises(ChardevError, match="'vc' is not a valid char driver name"):
        parse_legacy("vc")


def test_chardev_option_validation():
    with pytest.raises(ChardevError, match="Invalid parameter 'bogus'"):
        parse_chardev_opts("socket,id=a,path=/x,bogus=1")


def test_file_backend_writes_everything(tmp_path):
    loop = MainLoop()
    path = tmp_path / "out.txt"
    chr_ = create_chardev(loop, "f", {"backend": "file", "path": str(path)})
    chr_.write(b"AB\n")
    chr_.write(b"C")
    loop.iterate(0)
    chr_.close()
    assert path.read_bytes() == b"AB\nC"


def test_file_backend_error_names_the_path():
    loop = MainLoop()
    with pytest.raises(ChardevError, match="Could not open '/nonexistent/x/y'"):
        create_chardev(loop, "f", {"backend": "file", "path": "/nonexistent/x/y"})


def test_pipe_backend_both_directions(tmp_path):
    loop = MainLoop()
    base = str(tmp_path / "p")
    os.mkfifo(base + ".in")
    os.mkfifo(base + ".out")
    chr_ = create_chardev(loop, "p", {"backend": "pipe", "path": base})
    fe = Frontend()
    chr_.attach(fe)
    w = os.open(base + ".in", os.O_WRONLY)
    r = os.open(base + ".out", os.O_RDONLY | os.O_NONBLOCK)
    os.write(w, b"ping")
    assert spin(loop, lambda: fe.data == b"ping")
    chr_.write(b"pong")
    loop.iterate(0)
    assert os.read(r, 10) == b"pong"


def test_socket_server_accepts_clients_one_after_another(tmp_path):
    loop = MainLoop()
    path = str(tmp_path / "s")
    chr_ = create_chardev(loop, "s", {"backend": "socket", "path": path, "server": "on",
                                      "wait": "off"})
    fe = Frontend()
    chr_.attach(fe)
    for round_ in range(2):
        c = socket.socket(socket.AF_UNIX)
        c.connect(path)
        assert spin(loop, lambda r=round_: fe.events.count(OPENED) == r + 1)
        c.sendall(b"x%d" % round_)
        assert spin(loop, lambda r=round_: fe.data.endswith(b"x%d" % r))
        chr_.write(b"reply")
        loop.iterate(0)
        assert c.recv(10) == b"reply"
        c.close()
        assert spin(loop, lambda r=round_: fe.events.count(CLOSED) == r + 1)


def test_socket_client_and_input_budget(tmp_path):
    loop = MainLoop()
    path = str(tmp_path / "c")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(1)
    chr_ = create_chardev(loop, "c", {"backend": "socket", "path": path})
    peer, _ = srv.accept()
    fe = Frontend(budget=3)
    chr_.attach(fe)
    assert fe.events == [OPENED]
    peer.sendall(b"abcdefgh")
    assert spin(loop, lambda: fe.data == b"abcdefgh")


def test_socket_client_refused_names_the_path(tmp_path):
    loop = MainLoop()
    with pytest.raises(ChardevError, match="Failed to connect to '.*nobody': No such file"):
        create_chardev(loop, "c", {"backend": "socket", "path": str(tmp_path / "nobody")})


def test_socket_fd_adoption():
    loop = MainLoop()
    ours, theirs = socket.socketpair()
    chr_ = create_chardev(loop, "m", {"backend": "socket", "fd": str(theirs.detach())})
    fe = Frontend()
    chr_.attach(fe)
    ours.sendall(b"hello")
    assert spin(loop, lambda: fe.data == b"hello")
    with pytest.raises(ChardevError, match="^File descriptor named 'abc' has not been found$"):
        create_chardev(loop, "m2", {"backend": "socket", "fd": "abc"})


def test_input_waits_while_the_front_end_is_full():
    loop = MainLoop()
    ours, theirs = socket.socketpair()
    chr_ = create_chardev(loop, "m", {"backend": "socket", "fd": str(theirs.detach())})
    fe = Frontend(budget=4)
    chr_.attach(fe)
    ours.sendall(b"0123456789")
    assert spin(loop, lambda: fe.data == b"0123")
    fe.budget = 0
    ours.sendall(b"abc")
    for _ in range(5):
        loop.iterate(0.01)
    assert fe.data.startswith(b"0123")
    fe.budget = 100
    chr_.accept_input()
    assert spin(loop, lambda: fe.data == b"0123456789abc")


def test_stdio_from_a_regular_file(tmp_path):
    import subprocess
    import sys
    script = tmp_path / "in.txt"
    script.write_text("endianness\nwritel 0 5\nreadl 0\n")
    with open(script) as stdin:
        proc = subprocess.Popen([sys.executable, "-m", "qemu_py", "-M", "none", "-m", "1M",
                                 "-accel", "qtest", "-qtest", "stdio", "-qtest-log", "none"],
                                stdin=stdin, stdout=subprocess.PIPE, text=True)
        lines = [proc.stdout.readline() for _ in range(3)]
        proc.terminate()
        proc.wait(30)
    assert lines == ["OK little\n", "OK\n", "OK 0x0000000000000005\n"]


def test_stdio_from_dev_null_is_served_without_polling():
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-m", "qemu_py", "-M", "none", "-qmp", "stdio"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    greeting = proc.stdout.readline()
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    assert greeting.startswith('{"QMP": ') and "Traceback" not in err
    assert proc.returncode == 0
