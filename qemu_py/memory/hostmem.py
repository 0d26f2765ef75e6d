"""Host memory behind RAM-like regions.

``HostMemory`` wraps a writable buffer (an anonymous ``mmap`` for RAM/ROM,
or a caller's buffer for ram_device) and pins it, so that its host virtual
address (``address``) stays valid for KVM or a JIT backend as long as the
region lives.  ``load``/``store`` are single host accesses of exactly 1, 2,
4 or 8 bytes in host byte order (one C-typed load/store through ctypes,
never a byte-wise copy), as ram_device needs.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os

_CTYPES = {1: ctypes.c_uint8, 2: ctypes.c_uint16, 4: ctypes.c_uint32, 8: ctypes.c_uint64}


class RamAllocationError(Exception):
    """Host memory for a RAM region could not be mapped; the text is QEMU's
    ("cannot set up guest memory 'NAME': Cannot allocate memory")."""


class HostMemory:
    """A pinned, writable host buffer with a stable address."""

    __slots__ = ("buffer", "view", "address", "length", "_pin")

    def __init__(self, buffer) -> None:
        view = memoryview(buffer)
        if view.readonly:
            raise TypeError("host memory must be a writable buffer (e.g. an mmap)")
        view = view.cast("B")
        self.length = view.nbytes
        if self.length == 0:
            raise ValueError("host memory must not be empty")
        # from_buffer exports the buffer: an mmap can then be neither resized
        # nor closed, so the address below stays valid while we live.
        self._pin = (ctypes.c_char * self.length).from_buffer(buffer)
        self.address = ctypes.addressof(self._pin)
        self.buffer = buffer
        self.view = view

    @classmethod
    def anonymous(cls, size: int, name: str = "ram") -> "HostMemory":
        """Zero-filled anonymous memory of ``size`` bytes (``mmap(-1, size)``);
        :class:`RamAllocationError` naming region NAME when the host refuses."""
        if size <= 0:
            raise ValueError(f"RAM size must be positive, not {size:#x}")
        try:
            return cls(mmap.mmap(-1, size))
        except (OSError, OverflowError, MemoryError) as e:
            reason = getattr(e, "strerror", None) or os.strerror(errno.ENOMEM)
            raise RamAllocationError(f"cannot set up guest memory '{name}': {reason}") \
                from None

    def _check(self, offset: int, size: int) -> None:
        if offset < 0 or offset + size > self.length:
            raise IndexError(
                f"host access of {size} bytes at offset {offset:#x} is outside "
                f"the {self.length:#x}-byte host buffer")

    def load(self, offset: int, size: int) -> int:
        """One host load of exactly ``size`` bytes, host byte order."""
        self._check(offset, size)
        return _CTYPES[size].from_address(self.address + offset).value

    def store(self, offset: int, value: int, size: int) -> None:
        """One host store of exactly ``size`` bytes, host byte order."""
        self._check(offset, size)
        _CTYPES[size].from_address(self.address + offset).value = value
