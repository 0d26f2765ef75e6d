"""Data-driven bit fields of 64-bit PowerPC words (HPTE, SLB, hcall words).

A :class:`BitLayout` is a named list of :class:`Field` objects, each a mask
with an IBM bit range for the documentation.  Decoding, encoding and the
human-readable description used in logs and error messages are all driven by
the same declaration, so the layouts in :mod:`.hpte` and :mod:`.slb` are the
single source for the masks.

IBM bit numbering is used in the declarations (bit 0 is the most significant
bit of the 64-bit word); :func:`ibm_mask` converts a range to a mask.
"""

from __future__ import annotations

from dataclasses import dataclass

MASK64 = (1 << 64) - 1


def ibm_mask(first: int, last: int | None = None) -> int:
    """Mask for IBM bits ``first..last`` (inclusive) of a 64-bit word."""
    if last is None:
        last = first
    if not 0 <= first <= last <= 63:
        raise ValueError(f"bad IBM bit range {first}:{last}")
    width = last - first + 1
    return ((1 << width) - 1) << (63 - last)


@dataclass(frozen=True)
class Field:
    """One field of a 64-bit word: a name, a mask and its IBM bit range."""

    name: str
    mask: int
    doc: str = ""

    @property
    def shift(self) -> int:
        """Position of the least significant bit of the field."""
        return (self.mask & -self.mask).bit_length() - 1

    @property
    def width(self) -> int:
        return (self.mask >> self.shift).bit_length()

    @property
    def ibm_bits(self) -> str:
        first = 63 - (self.shift + self.width - 1)
        last = 63 - self.shift
        return f"{first}" if first == last else f"{first}:{last}"

    def get(self, word: int) -> int:
        """The field's value, shifted down to bit 0."""
        return (word & self.mask) >> self.shift

    def raw(self, word: int) -> int:
        """The field's bits left in place."""
        return word & self.mask

    def put(self, word: int, value: int) -> int:
        """``word`` with the field replaced by ``value`` (shifted into place)."""
        if value < 0 or value > (self.mask >> self.shift):
            raise ValueError(f"value {value:#x} does not fit field {self.name} ({self.mask:#x})")
        return (word & ~self.mask & MASK64) | (value << self.shift)


class BitLayout:
    """A named set of non-overlapping fields of a 64-bit word."""

    def __init__(self, name: str, fields: list[Field]):
        self.name = name
        self.fields = tuple(fields)
        self._by_name = {f.name: f for f in self.fields}
        seen = 0
        for f in self.fields:
            if f.mask & seen:
                raise ValueError(f"{name}: field {f.name} overlaps another field")
            seen |= f.mask
        self.defined_mask = seen

    def __getitem__(self, name: str) -> Field:
        return self._by_name[name]

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def decode(self, word: int) -> dict[str, int]:
        """Every field of ``word`` as a shifted-down value."""
        return {f.name: f.get(word) for f in self.fields}

    def encode(self, **values: int) -> int:
        """Build a word from field values; unknown names raise ``KeyError``."""
        word = 0
        for name, value in values.items():
            word = self._by_name[name].put(word, value)
        return word

    def undefined_bits(self, word: int) -> int:
        """Bits of ``word`` that no field of this layout declares."""
        return word & ~self.defined_mask & MASK64

    def describe(self, word: int) -> str:
        """``NAME{f1=0x..,f2=0x..}`` listing the non-zero fields, for logs."""
        parts = [f"{f.name}={f.get(word):#x}" for f in self.fields if f.get(word)]
        return f"{self.name}{{{','.join(parts)}}}"
