"""ELF images (pyelftools): loadable segments and notes.

``read_elf(data)`` parses an image held in memory and returns an
:class:`ElfImage` with its class (32/64), machine, entry point, ``PT_LOAD``
segments (physical address, file bytes, memory size) and notes. Errors a
user can cause (a truncated or foreign file) raise :class:`LoaderError` with
a message naming the problem.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile


class LoaderError(Exception):
    pass


@dataclass
class Segment:
    paddr: int
    vaddr: int
    data: bytes
    memsz: int


@dataclass
class ElfImage:
    elfclass: int
    machine: str
    entry: int
    segments: list[Segment] = field(default_factory=list)
    notes: list[tuple[str, int, bytes]] = field(default_factory=list)   # (name, type, desc)

    @property
    def low(self) -> int:
        return min(s.paddr for s in self.segments)

    @property
    def high(self) -> int:
        return max(s.paddr + s.memsz for s in self.segments)


def is_elf(data: bytes) -> bool:
    return data[:4] == b"\x7fELF"


def read_elf(data: bytes, what: str = "kernel") -> ElfImage:
    try:
        elf = ELFFile(io.BytesIO(data))
        img = ElfImage(elf.elfclass, elf["e_machine"], elf["e_entry"])
        for seg in elf.iter_segments():
            if seg["p_type"] == "PT_LOAD" and seg["p_filesz"] > seg["p_memsz"]:
                raise LoaderError(f"{what}: ELF segment at 0x{seg['p_paddr']:x} has p_filesz "
                                  f"0x{seg['p_filesz']:x} above its p_memsz "
                                  f"0x{seg['p_memsz']:x}")
            if seg["p_type"] == "PT_LOAD" and seg["p_memsz"]:
                img.segments.append(Segment(seg["p_paddr"], seg["p_vaddr"], seg.data(),
                                            seg["p_memsz"]))
            elif seg["p_type"] == "PT_NOTE":
                for note in seg.iter_notes():
                    desc = note["n_desc"]
                    if isinstance(desc, str):
                        desc = desc.encode("latin-1")
                    elif not isinstance(desc, (bytes, bytearray)):
                        desc = bytes(note["n_descdata"]) if "n_descdata" in note else b""
                    raw = note.get("n_descdata", desc)
                    if isinstance(raw, str):
                        raw = raw.encode("latin-1")
                    img.notes.append((note["n_name"], note["n_type"], bytes(raw)))
    except (ELFError, ValueError, KeyError, TypeError) as e:
        raise LoaderError(f"{what}: malformed ELF image ({e})") from None
    if not img.segments:
        raise LoaderError(f"{what}: ELF image has no loadable segment")
    return img
