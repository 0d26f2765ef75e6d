"""A minimal remote-protocol client for the gdbstub tests, and the emulator it talks to."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from qemu_py.gdbstub.packet import checksum, frame


class GdbClient:
    def __init__(self, path: str, timeout: float = 30.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.ack = True

    def send_raw(self, data: bytes):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("gdbstub closed the connection")
        self.buf += chunk

    def read_byte(self) -> bytes:
        while not self.buf:
            self._fill()
        b, self.buf = self.buf[:1], self.buf[1:]
        return b

    def read_packet(self) -> bytes:
        """The next ``$...#cs`` packet's data (acked unless in no-ack mode)."""
        while True:
            while b"$" not in self.buf:
                self._fill()
            self.buf = self.buf[self.buf.index(b"$"):]
            while b"#" not in self.buf or len(self.buf) < self.buf.index(b"#") + 3:
                self._fill()
            end = self.buf.index(b"#")
            data, cs = self.buf[1:end], self.buf[end + 1:end + 3]
            self.buf = self.buf[end + 3:]
            assert int(cs, 16) == checksum(data), (data, cs)
            if self.ack:
                self.send_raw(b"+")
            out = bytearray()
            it = iter(data)
            for b in it:
                out.append(next(it) ^ 0x20 if b == 0x7D else b)
            return bytes(out)

    def command(self, data: bytes) -> bytes:
        """Send one packet, expect its ``+`` (in ack mode), return the reply."""
        self.send_raw(frame(data))
        if self.ack:
            assert self.read_byte() == b"+"
        return self.read_packet()

    def close(self):
        self.sock.close()


def start_emulator(path: str, *extra: str) -> subprocess.Popen:
    env = dict(os.environ)
    return subprocess.Popen([sys.executable, "-m", "qemu_py", "-gdb", f"unix:{path},server=on",
                             "-S", *extra], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
