"""Test helpers: a byte-array-backed device that records every callback."""

from __future__ import annotations

from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps


class RecordingDevice:
    """A device whose registers are a byte array, logging each callback.

    Reads return the array bytes at ``offset`` in the device's byte order
    (``big`` decides NATIVE); bytes past the array read 0 and are not
    written.  ``log`` holds ``("read"|"write", offset, size, value)``.
    ``value`` (when given) makes every read return that constant instead.
    """

    def __init__(self, size: int, name: str = "dev", *, big: bool | None = None,
                 value: int | None = None, owner: object = None, **ops_kwargs) -> None:
        self.mem = bytearray(size)
        self.log: list[tuple] = []
        self.constant = value
        endianness = ops_kwargs.get("endianness", Endian.NATIVE)
        if big is None:
            big = endianness is Endian.BIG
        self.order = "big" if big else "little"
        self.ops = MemoryRegionOps(read=self.read, write=self.write, **ops_kwargs)
        self.region = MemoryRegion.io(name, size, self.ops, owner=owner)

    def read(self, offset: int, size: int) -> int:
        if self.constant is not None:
            value = self.constant
        else:
            data = bytes(self.mem[offset:offset + size]).ljust(size, b"\0")
            value = int.from_bytes(data, self.order)
        self.log.append(("read", offset, size, value))
        return value

    def write(self, offset: int, value: int, size: int) -> None:
        self.log.append(("write", offset, size, value))
        data = value.to_bytes(size, self.order)
        end = min(offset + size, len(self.mem))
        if offset < end:
            self.mem[offset:end] = data[:end - offset]

    def pieces(self, kind: str | None = None) -> list[tuple[int, int]]:
        """(offset, size) of the logged callbacks, optionally of one kind."""
        return [(off, size) for k, off, size, _ in self.log if kind in (None, k)]

    def take(self) -> list[tuple]:
        """The log so far, then clear it."""
        log, self.log = self.log, []
        return log


class RecordingListener:
    """A MemoryListener logging its calls as (name, tag, detail) tuples."""

    def __init__(self, tag: str = "L", priority: int = 0, log: list | None = None) -> None:
        self.tag = tag
        self.priority = priority
        self.log = [] if log is None else log

    def begin(self) -> None:
        self.log.append(("begin", self.tag))

    def commit(self) -> None:
        self.log.append(("commit", self.tag))

    def _section(self, name: str, section) -> None:
        self.log.append((name, self.tag, (section.offset_within_address_space,
                                          section.size, section.mr.name,
                                          section.offset_within_region)))

    def region_add(self, section) -> None:
        self._section("add", section)

    def region_del(self, section) -> None:
        self._section("del", section)

    def region_nop(self, section) -> None:
        self._section("nop", section)


def ranges(space) -> list[tuple]:
    """The FlatView as (start, end_inclusive, region name, offset) tuples."""
    return [(fr.start, fr.end - 1, fr.mr.name, fr.offset_in_region) for fr in space.flatview()]
