"""Socket backend: unix or TCP, client or server, or an inherited fd.

Server sockets accept one client at a time; while a client is connected the
listener is not polled, and when it goes away the backend listens again (so a
new qtest client can attach to a running machine, as with QEMU). ``wait=on``
blocks start-up until the first client connects. ``nodelay=on`` sets
TCP_NODELAY on the connection, ``ipv4=on``/``ipv6=on`` restrict the address
family, ``abstract=on`` uses the Linux abstract unix namespace (tight, as
QEMU's default). ``telnet=on``, ``tight=off``, ``reconnect=N`` and ``to=`` are
refused by the factory: they are not modelled.
"""

from __future__ import annotations

import os
import socket
import sys

from qemu_py.qom import register_type

from .base import Chardev, ChardevError


@register_type("chardev-socket", "chardev", desc="unix or TCP stream socket")
class SocketChardev(Chardev):
    def __init__(self, loop, id, *, path=None, host=None, port=None, fd=None,
                 server=False, wait=True, label=None, nodelay=False, ipv4=False,
                 ipv6=False, abstract=False):
        super().__init__(loop, id)
        self.path, self.host, self.port = path, host, port
        self.server = server
        self.nodelay, self.abstract = nodelay, abstract
        self.only = (socket.AF_INET if ipv4 and not ipv6 else
                     socket.AF_INET6 if ipv6 and not ipv4 else socket.AF_UNSPEC)
        self.conn: socket.socket | None = None
        self.listener: socket.socket | None = None
        self.label = label or self._describe()
        if fd is not None:
            self._adopt_fd(fd)
        elif server:
            self._listen()
            if wait:
                print(f"qemu-py waiting for connection on: disconnected:{self.label}",
                      file=sys.stderr, flush=True)
                self.listener.setblocking(True)
                conn, _ = self.listener.accept()
                self.listener.setblocking(False)
                self._set_conn(conn)
            self._poll_listener()
        else:
            self._connect()

    def _describe(self) -> str:
        if self.path is not None:
            return f"unix:{self.path}" + (",server=on" if self.server else "")
        return f"tcp:{self.host}:{self.port}" + (",server=on" if self.server else "")

    # -- set-up ------------------------------------------------------------------
    def _family_addr(self):
        if self.path is not None:
            return socket.AF_UNIX, ("\0" + self.path if self.abstract else self.path)
        if self.port is None:
            raise ChardevError("chardev: socket: no port given")
        try:
            infos = socket.getaddrinfo(self.host or "localhost", str(self.port), self.only,
                                       socket.SOCK_STREAM)
        except (OSError, ValueError, UnicodeError) as e:
            why = e.strerror if isinstance(e, OSError) and e.strerror else e
            raise ChardevError(f"address resolution failed for {self.host}:{self.port}: {why}") \
                from None
        fam, _, _, _, addr = infos[0]
        return fam, addr

    def _connect(self):
        fam, addr = self._family_addr()
        s = socket.socket(fam, socket.SOCK_STREAM)
        try:
            s.connect(addr)
        except OSError as e:
            s.close()
            where = self.path if self.path is not None else f"{self.host}:{self.port}"
            raise ChardevError(f"Failed to connect to '{where}': {e.strerror}") from None
        self._set_conn(s)

    def _listen(self):
        fam, addr = self._family_addr()
        s = socket.socket(fam, socket.SOCK_STREAM)
        try:
            if fam == socket.AF_UNIX:
                if not self.abstract and os.path.exists(addr):
                    os.unlink(addr)
            else:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(addr)
            s.listen(1)
        except OSError as e:
            s.close()
            where = self.path if self.path is not None else f"{self.host}:{self.port}"
            raise ChardevError(f"Failed to bind socket to {where}: {e.strerror}") from None
        s.setblocking(False)
        self.listener = s

    def _adopt_fd(self, fd: int):
        try:
            s = socket.socket(fileno=fd)
        except OSError as e:
            raise ChardevError(f"fd {fd} is not a socket: {e.strerror}") from None
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            s.setblocking(False)
            self.listener = s
            self.server = True
            self._poll_listener()
        else:
            self._set_conn(s)

    # -- connection ---------------------------------------------------------------
    def _poll_listener(self):
        if self.listener is not None and self.conn is None:
            self.loop.add_reader(self.listener.fileno(), self._on_accept)

    def _on_accept(self):
        try:
            conn, _ = self.listener.accept()
        except BlockingIOError:
            return
        self.loop.remove_reader(self.listener.fileno())
        self._set_conn(conn)

    def _set_conn(self, conn: socket.socket):
        conn.setblocking(False)
        if self.nodelay and conn.family in (socket.AF_INET, socket.AF_INET6):
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn = conn
        self._out_fd = conn.fileno()
        self._watch_input(conn.fileno())
        self._opened()

    def _send(self, fd, data) -> int:
        return self.conn.send(data)

    def _on_readable(self):
        conn = self.conn
        if conn is None:
            return
        budget = self.input_budget()
        if budget <= 0:
            self._pause_input()
            return
        try:
            data = conn.recv(budget)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._disconnect()
            return
        self._deliver(data)

    def _write_failed(self):
        self.loop.call_soon(self._disconnect)

    def _disconnect(self):
        conn = self.conn
        if conn is None:
            return
        fd = conn.fileno()
        self._watch_input(None)
        self.loop.remove_writer(fd)
        self._writer_armed = False
        self._out.clear()
        self._out_fd = None
        self.conn = None
        conn.close()
        self._closed()
        self._poll_listener()

    def close(self):
        super().close()
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.listener is not None:
            self.listener.close()
            self.listener = None
