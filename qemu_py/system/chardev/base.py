"""Chardev base: front-end attachment, buffered non-blocking output."""

from __future__ import annotations

import os

from qemu_py.qom import Object, register_type

OPENED = "opened"
CLOSED = "closed"


class ChardevError(Exception):
    """A backend could not be created or opened; the text is shown to users."""


@register_type("chardev", "object", abstract=True, desc="character device backend")
class Chardev(Object):
    """A byte stream. Output is queued and flushed without blocking the loop."""

    def __init__(self, loop, id: str):
        super().__init__()
        self.loop = loop
        self.id = id
        self.fe = None
        self.is_open = False
        self._out = bytearray()
        self._out_fd: int | None = None
        self._flush_scheduled = False
        self._writer_armed = False
        self._pending = bytearray()        # input the front end could not take yet
        self._in_fd: int | None = None     # polled input descriptor, if any
        self._input_paused = False
        self._log_fd: int | None = None
        self.add_property("label", "string", get=lambda: self.id)

    # -- front end -------------------------------------------------------------
    def attach(self, fe):
        """FE provides can_read() -> int, receive(bytes) and event(kind)."""
        self.fe = fe
        if self.is_open:
            fe.event(OPENED)

    def detach(self):
        self.fe = None

    def _opened(self):
        self.is_open = True
        if self.fe is not None:
            self.fe.event(OPENED)

    def _closed(self):
        self.is_open = False
        if self.fe is not None:
            self.fe.event(CLOSED)

    def _deliver(self, data: bytes):
        """Hand input to the front end in pieces it can take; keep the rest
        and stop polling input until the front end calls accept_input()."""
        if self._pending:
            self._pending += data
            data = bytes(self._pending)
            self._pending.clear()
        fe = self.fe
        while data and fe is not None:
            n = fe.can_read()
            if n <= 0:
                break
            fe.receive(data[:n])
            data = data[n:]
        if data:
            self._pending += data
            self._pause_input()

    def accept_input(self):
        """The front end can take input again (QEMU's qemu_chr_fe_accept_input)."""
        self.loop.call_soon(self._drain_pending)

    def _drain_pending(self):
        if self._pending:
            self._deliver(b"")
        if not self._pending:
            self._resume_input()

    def _on_readable(self):
        """Backends with a polled descriptor read from it here."""

    def _pause_input(self):
        if self._in_fd is not None and not self._input_paused:
            self._input_paused = True
            self.loop.remove_reader(self._in_fd)

    def _resume_input(self):
        if self._in_fd is not None and self._input_paused:
            self._input_paused = False
            self.loop.add_reader(self._in_fd, self._on_readable)

    def _watch_input(self, fd: int | None):
        """Start (or, with None, stop) polling FD for input."""
        if self._in_fd is not None and not self._input_paused:
            self.loop.remove_reader(self._in_fd)
        self._in_fd = fd
        self._input_paused = False
        self._pending.clear()
        if fd is not None:
            self.loop.add_reader(fd, self._on_readable)

    def input_budget(self) -> int:
        fe = self.fe
        return fe.can_read() if fe is not None else 0

    # -- output ------------------------------------------------------------------
    def open_log(self, path: str, append: bool):
        """``logfile=PATH``: a copy of everything the front ends write."""
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
        try:
            self._log_fd = os.open(path, flags, 0o666)
        except OSError as e:
            raise ChardevError(f"Unable to open logfile {path}: {e.strerror}") from None

    def _log(self, data: bytes):
        fd = self._log_fd
        while data and fd is not None:
            try:
                data = data[os.write(fd, data):]
            except OSError:
                return

    def write(self, data: bytes):
        if data:
            self._log(data)
        if not data or self._out_fd is None:
            return
        self._out += data
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _flush(self):
        self._flush_scheduled = False
        fd = self._out_fd
        if fd is None:
            self._out.clear()
            return
        while self._out:
            try:
                n = self._send(fd, self._out)
            except BlockingIOError:
                break
            except OSError:
                self._out.clear()
                self._write_failed()
                return
            del self._out[:n]
        if self._out and not self._writer_armed:
            self._writer_armed = True
            self.loop.add_writer(fd, self._on_writable)
        elif not self._out and self._writer_armed:
            self._writer_armed = False
            self.loop.remove_writer(fd)

    def _on_writable(self):
        self._flush()

    def _send(self, fd: int, data) -> int:
        return os.write(fd, data)

    def _write_failed(self):
        """Output went away (peer closed)."""

    def flush_blocking(self):
        """Write out everything queued, waiting if necessary (used at exit)."""
        fd = self._out_fd
        if fd is None:
            return
        try:
            os.set_blocking(fd, True)
        except OSError:
            pass
        while self._out:
            try:
                n = self._send(fd, self._out)
            except OSError:
                break
            del self._out[:n]
        self._out.clear()

    def close(self):
        self.flush_blocking()
        if self._log_fd is not None:
            os.close(self._log_fd)
            self._log_fd = None
