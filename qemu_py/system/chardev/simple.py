"""The simple backends: null, stdio, file and pipe."""

from __future__ import annotations

import os
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
        self.loop.add_reader(self._in_fd, self._on_readable)
        self.is_open = True

    def _on_readable(self):
        budget = self.input_budget()
        if budget <= 0:
            budget = 1024
        try:
            data = os.read(self._in_fd, budget)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.loop.remove_reader(self._in_fd)
            self._closed()
            return
        self._deliver(data)


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
                self._in_fd = os.open(path + ".in", os.O_RDWR)
            else:
                self._out_fd = self._in_fd = os.open(path, os.O_RDWR)
        except OSError as e:
            raise ChardevError(f"Could not open '{path}': {e.strerror}") from None
        os.set_blocking(self._out_fd, False)
        os.set_blocking(self._in_fd, False)
        self.loop.add_reader(self._in_fd, self._on_readable)
        self.is_open = True

    def _on_readable(self):
        try:
            data = os.read(self._in_fd, max(1, self.input_budget() or 1024))
        except BlockingIOError:
            return
        if data:
            self._deliver(data)
