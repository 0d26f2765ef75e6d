"""The simple backends: null, stdio, file and pipe."""

from __future__ import annotations

import os
import stat
import sys

from qemu_py.qom import register_type

from . import terminal
from .base import Chardev, ChardevError


@register_type("chardev-null", "chardev", desc="discards output, never has input")
class NullChardev(Chardev):
    def __init__(self, loop, id):
        super().__init__(loop, id)
        self.is_open = True


@register_type("chardev-stdio", "chardev", desc="the emulator's standard input and output")
class StdioChardev(Chardev):
    """Input from IN_FD, output to OUT_FD (stdin/stdout by default).

    A descriptor epoll cannot watch (a regular file, /dev/null) is read as
    always readable until end of file, as glib's poll does for QEMU. On a
    terminal, stdin is put in raw mode (``signal=on`` keeps Ctrl-C as
    SIGINT) and restored at close, at exit and on the error paths."""

    in_use = False        # the process's own stdin/stdout serve one chardev at a time

    def __init__(self, loop, id, in_fd=None, out_fd=None, signal: bool = True):
        if in_fd is None and out_fd is None:
            if StdioChardev.in_use:
                raise ChardevError("cannot use stdio by multiple character devices")
            StdioChardev.in_use = True
        self._owns_stdio = in_fd is None and out_fd is None
        super().__init__(loop, id)
        self._in_fd = sys.stdin.fileno() if in_fd is None else in_fd
        self._out_fd = sys.stdout.fileno() if out_fd is None else out_fd
        self._saved_tty = None
        if in_fd is None:
            self._saved_tty = terminal.enter_raw(self._in_fd, signal)
        try:
            os.set_blocking(self._out_fd, False)
        except OSError:
            pass
        self.is_open = True
        fd = self._stdin_fd = self._in_fd
        self._in_fd = None
        self._regular_file = stat.S_ISREG(os.fstat(fd).st_mode)
        if not self._regular_file:
            try:
                self._watch_input(fd)
            except PermissionError:          # e.g. /dev/null: epoll refuses it
                self._in_fd = None
                self._regular_file = True
        if self._regular_file:
            # epoll cannot watch regular files; they are always readable.
            self.loop.call_soon(self._on_readable)

    def _resume_input(self):
        if self._regular_file:
            self.loop.call_soon(self._on_readable)
        else:
            super()._resume_input()

    def _pause_input(self):
        if not self._regular_file:
            super()._pause_input()

    def _on_readable(self):
        if self._pending or self._stdin_fd is None:
            return
        budget = self.input_budget()
        if budget <= 0:
            self._pause_input()
            return
        try:
            data = os.read(self._stdin_fd, budget)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._watch_input(None)
            self._stdin_fd = None
            self._closed()
            return
        self._deliver(data)
        if self._regular_file and not self._pending:
            self.loop.call_soon(self._on_readable)

    def close(self):
        super().close()
        if self._saved_tty is not None:
            terminal.restore(self._saved_tty)
            self._saved_tty = None
        if self._owns_stdio:
            self._owns_stdio = StdioChardev.in_use = False


@register_type("chardev-file", "chardev", desc="output to a file")
class FileChardev(Chardev):
    def __init__(self, loop, id, path: str, append: bool = False):
        super().__init__(loop, id)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
        try:
            self._out_fd = os.open(path, flags, 0o666)
        except OSError as e:
            raise ChardevError(f"Could not open '{path}': {e.strerror}") from None
        self.is_open = True

    def close(self):
        super().close()
        if self._out_fd is not None:
            os.close(self._out_fd)
            self._out_fd = None


@register_type("chardev-pipe", "chardev", desc="a pair of named pipes PATH.in / PATH.out, or PATH")
class PipeChardev(StdioChardev):
    """As QEMU: PATH.in and PATH.out when both open, else PATH itself for
    both directions (a FIFO, or any file: /dev/null reads as end of file)."""

    def __init__(self, loop, id, path: str):
        try:
            out_fd = os.open(path + ".out", os.O_RDWR)
            try:
                in_fd = os.open(path + ".in", os.O_RDWR)
            except OSError:
                os.close(out_fd)
                raise
        except OSError:
            try:
                out_fd = in_fd = os.open(path, os.O_RDWR)
            except OSError as e:
                raise ChardevError(f"Could not open '{path}': {e.strerror}") from None
        self._fds = {in_fd, out_fd}
        for fd in self._fds:
            os.set_blocking(fd, False)
        super().__init__(loop, id, in_fd=in_fd, out_fd=out_fd)

    def close(self):
        super().close()
        self._watch_input(None)
        for fd in self._fds:
            os.close(fd)
        self._fds = set()
        self._out_fd = self._stdin_fd = None
