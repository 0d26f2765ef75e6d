"""The minimal memory interface the HPT code needs, and two small implementations.

The hash MMU code touches memory in two places only: :class:`~.hpt_backend.MemoryHPT`
(the HPT as big-endian bytes at a base address) and the debug read helper in
:mod:`.debug`.  Both take any object with

* ``read(addr, length) -> bytes``
* ``write(addr, data) -> None``

raising :class:`GuestMemoryError` (or a subclass) for an address that is not
backed, which is how QEMU's ``MEMTX`` error shows up here.  The machine
integrator adapts the system AddressSpace to this; the two classes below serve
tests and the pseries HPT buffer, which in QEMU lives outside guest RAM.
"""

from __future__ import annotations

from typing import Protocol


class GuestMemoryError(Exception):
    """An access hit an address with nothing behind it."""


class GuestMemory(Protocol):
    def read(self, addr: int, length: int) -> bytes: ...

    def write(self, addr: int, data: bytes) -> None: ...


def _check(addr: int, length: int, size: int) -> None:
    if addr < 0 or length < 0 or addr + length > size:
        raise GuestMemoryError(
            f"access of {length} bytes at {addr:#x} outside memory of size {size:#x}"
        )


class RamMemory:
    """A dense bytearray of ``size`` bytes starting at address 0."""

    def __init__(self, size: int):
        self.size = size
        self.data = bytearray(size)

    def read(self, addr: int, length: int) -> bytes:
        _check(addr, length, self.size)
        return bytes(self.data[addr : addr + length])

    def write(self, addr: int, data: bytes) -> None:
        _check(addr, len(data), self.size)
        self.data[addr : addr + len(data)] = data


class SparseMemory:
    """``size`` bytes of zero-initialised memory, storing only touched 4 KiB pages.

    Lets tests model a 512 MiB guest (the spec's test vectors) cheaply.
    """

    PAGE = 4096

    def __init__(self, size: int):
        self.size = size
        self._pages: dict[int, bytearray] = {}

    def read(self, addr: int, length: int) -> bytes:
        _check(addr, length, self.size)
        out = bytearray()
        while length:
            page, off = divmod(addr, self.PAGE)
            chunk = min(length, self.PAGE - off)
            data = self._pages.get(page)
            out += data[off : off + chunk] if data is not None else bytes(chunk)
            addr += chunk
            length -= chunk
        return bytes(out)

    def write(self, addr: int, data: bytes) -> None:
        _check(addr, len(data), self.size)
        pos = 0
        while pos < len(data):
            page, off = divmod(addr + pos, self.PAGE)
            chunk = min(len(data) - pos, self.PAGE - off)
            buf = self._pages.setdefault(page, bytearray(self.PAGE))
            buf[off : off + chunk] = data[pos : pos + chunk]
            pos += chunk
