"""MemoryRegionOps: the callbacks of an I/O region and its access-size rules.

``valid_*`` describe what the modelled device accepts (checked by
``access_valid``); ``impl_*`` describe what the callbacks implement (used by
the splitter/widener in ``access``).  Defaults follow QEMU: ``valid_max`` 0
means any size is valid, ``impl_min`` 0 means 1 and ``impl_max`` 0 means 4.
"""

from __future__ import annotations

from typing import Callable, Optional

from .attrs import Endian

ReadFn = Callable[[int, int], int]
WriteFn = Callable[[int, int, int], None]


class MemoryRegionOps:
    """Callbacks and access-size rules of an I/O region (immutable).

    Callback shapes:
      ``read(offset, size) -> int``
      ``write(offset, value, size) -> None``
      ``read_with_attrs(offset, size, attrs) -> (int, MemTxResult)``
      ``write_with_attrs(offset, value, size, attrs) -> MemTxResult``
      ``accepts(offset, size, is_write, attrs) -> bool``
    ``read`` wins over ``read_with_attrs`` when both are given (as in QEMU).
    """

    __slots__ = (
        "read", "write", "read_with_attrs", "write_with_attrs", "endianness",
        "valid_min", "valid_max", "valid_unaligned", "accepts",
        "impl_min", "impl_max", "impl_unaligned",
        # derived, QEMU's defaults applied
        "impl_min_eff", "impl_max_eff", "access_size_max", "big",
    )

    def __init__(
        self,
        read: Optional[ReadFn] = None,
        write: Optional[WriteFn] = None,
        read_with_attrs: Optional[Callable] = None,
        write_with_attrs: Optional[Callable] = None,
        endianness: Endian = Endian.NATIVE,
        valid_min: int = 1,
        valid_max: int = 0,
        valid_unaligned: bool = False,
        accepts: Optional[Callable] = None,
        impl_min: int = 0,
        impl_max: int = 0,
        impl_unaligned: bool = False,
    ) -> None:
        if not isinstance(endianness, Endian):
            raise TypeError(f"endianness must be an Endian, not {endianness!r}")
        for label, value in (("valid_min", valid_min), ("valid_max", valid_max),
                             ("impl_min", impl_min), ("impl_max", impl_max)):
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"{label} must be a non-negative int, not {value!r}")
        s = object.__setattr__
        s(self, "read", read)
        s(self, "write", write)
        s(self, "read_with_attrs", read_with_attrs)
        s(self, "write_with_attrs", write_with_attrs)
        s(self, "endianness", endianness)
        s(self, "valid_min", valid_min)
        s(self, "valid_max", valid_max)
        s(self, "valid_unaligned", bool(valid_unaligned))
        s(self, "accepts", accepts)
        s(self, "impl_min", impl_min)
        s(self, "impl_max", impl_max)
        s(self, "impl_unaligned", bool(impl_unaligned))
        s(self, "impl_min_eff", impl_min or 1)
        s(self, "impl_max_eff", impl_max or 4)
        # memory_access_size() treats "any size" as at most 4 bytes.
        s(self, "access_size_max", valid_max or 4)
        # byte order: True big, False little, None the target's (NATIVE)
        s(self, "big", None if endianness is Endian.NATIVE else endianness is Endian.BIG)

    def __setattr__(self, name, value):
        raise AttributeError("MemoryRegionOps is immutable; build a new one")

    def __repr__(self) -> str:
        return (
            f"MemoryRegionOps(endianness={self.endianness.name}, "
            f"valid={self.valid_min}..{self.valid_max}"
            f"{' unaligned' if self.valid_unaligned else ''}, "
            f"impl={self.impl_min}..{self.impl_max}"
            f"{' unaligned' if self.impl_unaligned else ''})"
        )


def _accept_nothing(offset, size, is_write, attrs) -> bool:
    return False


def _read_all_ones(offset: int, size: int) -> int:
    return (1 << 64) - 1


def _ignore_write(offset: int, value: int, size: int) -> None:
    return None


# Every region starts with these ops: no callbacks, nothing accepted, so any
# dispatch fails validation (DECODE_ERROR, reads 0).
UNASSIGNED_OPS = MemoryRegionOps(accepts=_accept_nothing)

# The x86 port I/O root: holes read all-ones and ignore writes, MEMTX_OK.
UNASSIGNED_IO_OPS = MemoryRegionOps(read=_read_all_ones, write=_ignore_write)
