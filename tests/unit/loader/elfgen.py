"""A minimal ELF writer for loader tests (one PT_LOAD, optional PT_NOTE)."""

import struct


def make_elf(code: bytes, paddr: int, entry: int, *, elf64: bool = False, memsz: int = 0,
             notes: list[tuple[bytes, int, bytes]] = (), vaddr: int | None = None) -> bytes:
    vaddr = paddr if vaddr is None else vaddr
    note_blob = b""
    for name, ntype, desc in notes:
        nm = name + b"\0"
        note_blob += struct.pack("<III", len(nm), len(desc), ntype)
        note_blob += nm.ljust((len(nm) + 3) & ~3, b"\0") + desc.ljust((len(desc) + 3) & ~3,
                                                                     b"\0")
    if elf64:
        ehsize, phentsize = 64, 56
    else:
        ehsize, phentsize = 52, 32
    nph = 1 + (1 if notes else 0)
    code_off = 0x1000
    note_off = ehsize + phentsize * nph
    memsz = memsz or len(code)
    ident = b"\x7fELF" + bytes([2 if elf64 else 1, 1, 1]) + bytes(9)
    if elf64:
        hdr = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, entry, ehsize, 0, 0, ehsize,
                                  phentsize, nph, 0, 0, 0)
        ph = struct.pack("<IIQQQQQQ", 1, 7, code_off, vaddr, paddr, len(code), memsz, 0x1000)
        if notes:
            ph += struct.pack("<IIQQQQQQ", 4, 4, note_off, 0, 0, len(note_blob),
                              len(note_blob), 4)
    else:
        hdr = ident + struct.pack("<HHIIIIIHHHHHH", 2, 3, 1, entry, ehsize, 0, 0, ehsize,
                                  phentsize, nph, 0, 0, 0)
        ph = struct.pack("<IIIIIIII", 1, code_off, vaddr, paddr, len(code), memsz, 7, 0x1000)
        if notes:
            ph += struct.pack("<IIIIIIII", 4, note_off, 0, 0, len(note_blob), len(note_blob),
                              4, 4)
    head = hdr + ph + note_blob
    return head.ljust(code_off, b"\0") + code
