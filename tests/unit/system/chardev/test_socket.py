"""Socket chardev options: nodelay, ipv4, abstract work; unmodelled ones are refused."""

import socket

import pytest

from qemu_py.system.chardev import ChardevError, create_chardev
from qemu_py.system.mainloop import MainLoop

from ..test_chardev import Frontend, spin


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nodelay_and_ipv4_on_a_tcp_server():
    loop = MainLoop()
    port = free_port()
    chr_ = create_chardev(loop, "t", {"backend": "socket", "host": "localhost",
                                      "port": str(port), "server": "on", "wait": "off",
                                      "nodelay": "on", "ipv4": "on"})
    assert chr_.listener.family == socket.AF_INET
    fe = Frontend()
    chr_.attach(fe)
    peer = socket.create_connection(("127.0.0.1", port))
    assert spin(loop, lambda: chr_.conn is not None)
    assert chr_.conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    peer.sendall(b"x")
    assert spin(loop, lambda: fe.data == b"x")
    peer.close()
    chr_.close()


def test_abstract_unix_socket(tmp_path):
    loop = MainLoop()
    name = f"qemu-py-test-{id(loop)}"
    chr_ = create_chardev(loop, "u", {"backend": "socket", "path": name, "server": "on",
                                      "wait": "off", "abstract": "on"})
    fe = Frontend()
    chr_.attach(fe)
    peer = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    peer.connect("\0" + name)
    peer.sendall(b"hi")
    assert spin(loop, lambda: fe.data == b"hi")
    assert not (tmp_path / name).exists()
    peer.close()
    chr_.close()


@pytest.mark.parametrize("opt,text", [
    ({"telnet": "on"}, "telnet=on is not supported by qemu-py (no telnet protocol)"),
    ({"tight": "off"}, "tight=off is not supported by qemu-py (abstract addresses are always "
                       "tight)"),
    ({"reconnect": "5"}, "reconnect is not supported by qemu-py"),
    ({"to": "5999"}, "to= (a port range) is not supported by qemu-py"),
])
def test_unmodelled_socket_options_are_refused(opt, text):
    with pytest.raises(ChardevError) as e:
        create_chardev(MainLoop(), "s", {"backend": "socket", "path": "/nonexistent/s", **opt})
    assert str(e.value) == text
