"""The simple backends: null, stdio, file and pipe."""

from __future__ import annotations

import os
import stat
import sys

from qemu_py.qom import register_type

from .base import Chardev, ChardevError


@register_type("chardev-null", "chardev", desc="discards output, never has input")
class NullChardev(Chardev):
    def __init__(self, loop, id):
        super().__init__(loop, id)
        self.is_open = True


@register_type("chardev-stdio", "chardev", desc="the emulator's standard input and output")
class StdioChardev(Chardev):
    def __init__(self, loop, id, in_fd=None, out_fd=None):
        super().__init__(loop, id)
        self._in_fd = sys.stdin.fileno() if in_fd is None else in_fd
        self._out_fd = sys.stdout.fileno() if out_fd is None else out_fd
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
        if self._pending:
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
            self._closed()
            return
        self._deliver(data)
        if self._regular_file and not self._pending:
            self.loop.call_soon(self._on_readable)


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
class PipeChardev(Chardev):
    def __init__(self, loop, id, path: str):
        super().__init__(loop, id)
        try:
            if os.path.exists(path + ".in") and os.path.exists(path + ".out"):
                self._out_fd = os.open(path + ".out", os.O_RDWR)
                self._pipe_in = os.open(path + ".in", os.O_RDWR)
            else:
                self._out_fd = self._pipe_in = os.open(path, os.O_RDWR)
        except OSError as e:
            raise ChardevError(f"Could not open '{path}': {e.strerror}") from None
        os.set_blocking(self._out_fd, False)
        os.set_blocking(self._pipe_in, False)
        self._watch_input(self._pipe_in)
        self.is_open = True

    def _on_readable(self):
        budget = self.input_budget()
        if budget <= 0:
            self._pause_input()
            return
        try:
            data = os.read(self._pipe_in, budget)
        except BlockingIOError:
            return
        if data:
            self._deliver(data)
