"""A bare x86-64 test bed: RAM, a tiny I/O device, a CPU set up in long mode.

Guest code is written as Intel-syntax assembly. ``asm()`` looks the text up
in ``asm_cache.json`` (committed, so a fresh clone needs no assembler) and
only runs GNU ``as`` for text that is not there yet, adding it to the cache.

Memory map of the test bed (identity mapped, 4 KiB pages for the first
4 MiB, 2 MiB pages up to 1 GiB, all user-accessible and writable unless a
test changes a PTE):

    0x0500  GDT        0x1000  PML4   0x2000 PDPT  0x3000 PD  0x4000.. PTs (2 tables)
    0x8000  IDT        0x9000  exception stubs (16 bytes each)
    0xA000  TSS        0x70000 kernel stack top (RSP0)
    0x100000 code      0x200000 data          0x300000 stack top

Port 0xE0 is a test device: writes are recorded in ``bed.io_log``; reads
return 0x5A5A5A5A masked to the access size. An exception stub does
``out 0xE1, al`` with the vector in AL and then ``hlt``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile

from iced_x86 import Decoder

from qemu_py.memory import UNASSIGNED_IO_OPS, AddressSpace, MemoryRegion, MemoryRegionOps
from qemu_py.target.i386.cpu import X86CPU
from qemu_py.target.i386.state import (CR0, CR3, CR4, EFER, EFLAGS, GDT_BASE, GDT_LIMIT,
                                       GPR_NAMES, IDT_BASE, IDT_LIMIT, R_CS, R_DS, R_ES,
                                       R_FS, R_GS, R_SS, RIP, TR, seg_slot)

_CACHE_PATH = os.path.join(os.path.dirname(__file__), "asm_cache.json")
_cache: dict[str, str] | None = None

CODE = 0x100000
DATA = 0x200000
STACK = 0x300000
GDT = 0x500
IDT = 0x8000
STUBS = 0x9000
TSS = 0xA000
RSP0 = 0x70000
KCODE, KDATA, UCODE32, UDATA, UCODE, TSS_SEL, KCODE32 = 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x40


def _load_cache():
    global _cache
    if _cache is None:
        _cache = json.load(open(_CACHE_PATH)) if os.path.exists(_CACHE_PATH) else {}
    return _cache


def asm(text: str, bits: int = 64) -> bytes:
    """Assemble Intel-syntax TEXT (lines separated by ';' or newlines)."""
    key = f"{bits}:{text}"
    cache = _load_cache()
    if key not in cache:
        with tempfile.TemporaryDirectory() as d:
            src, obj, out = (os.path.join(d, n) for n in ("a.s", "a.o", "a.bin"))
            with open(src, "w") as f:
                f.write(f".intel_syntax noprefix\n.code{bits}\n" + text.replace(";", "\n")
                        + "\n")
            subprocess.check_call(["as", "--64", "-o", obj, src])
            subprocess.check_call(["objcopy", "-O", "binary", "-j", ".text", obj, out])
            cache[key] = open(out, "rb").read().hex()
        with open(_CACHE_PATH, "w") as f:
            json.dump(cache, f, indent=0, sort_keys=True)
    return bytes.fromhex(cache[key])


def _seg_desc(base, limit, access, flags):
    return (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (access << 40) | \
        (((limit >> 16) & 0xF) << 48) | (flags << 52) | (((base >> 24) & 0xFF) << 56)


class TestDevice:
    def __init__(self, bed):
        self.bed = bed

    def read(self, offset, size):
        return 0x5A5A5A5A & ((1 << (8 * size)) - 1)

    def write(self, offset, value, size):
        self.bed.io_log.append((0xE0 + offset, value, size))


class X86Bed:
    def __init__(self, backend: str = "python", ram_size: int = 8 << 20, fp: bool = False):
        self.root = MemoryRegion("system", 1 << 64)
        self.ram = MemoryRegion.ram("ram", ram_size)
        self.root.add_subregion(0, self.ram)
        self.mem = AddressSpace(self.root, "memory")
        self.io_root = MemoryRegion.io("io", 0x10000, UNASSIGNED_IO_OPS)
        dev = TestDevice(self)
        ops = MemoryRegionOps(read=dev.read, write=dev.write, valid_min=1, valid_max=4,
                              impl_min=1, impl_max=4)
        self.io_root.add_subregion(0xE0, MemoryRegion.io("testdev", 4, ops))
        self.io = AddressSpace(self.io_root, "I/O")
        self.io_log: list[tuple[int, int, int]] = []
        self.cpu = X86CPU(self.mem, self.io, backend=backend, fp=fp)
        self.env = self.cpu.env_q
        self.setup_long_mode()

    # -- memory ------------------------------------------------------------------------
    def write(self, addr: int, data: bytes):
        """A write from outside the CPU (like DMA): translated code there is dropped."""
        self.mem.write(addr, data)
        self.cpu.invalidate_code(addr, len(data))

    def read(self, addr: int, n: int) -> bytes:
        return self.mem.read(addr, n)[0]

    def wq(self, addr, v):
        self.mem.write_value(addr, v, 8)
        self.cpu.invalidate_code(addr, 8)

    def rq(self, addr):
        return self.mem.read_value(addr, 8)[0]

    # -- set-up ---------------------------------------------------------------------------
    def setup_long_mode(self):
        env = self.env
        gdt = [0,
               _seg_desc(0, 0xFFFFF, 0x9B, 0xA),     # 0x08 kernel code64
               _seg_desc(0, 0xFFFFF, 0x93, 0xC),     # 0x10 kernel data
               _seg_desc(0, 0xFFFFF, 0xFB, 0xC),     # 0x18 user code32 (sysret 32)
               _seg_desc(0, 0xFFFFF, 0xF3, 0xC),     # 0x20 user data
               _seg_desc(0, 0xFFFFF, 0xFB, 0xA),     # 0x28 user code64
               _seg_desc(TSS, 0x67, 0x89, 0x0), 0,   # 0x30 TSS (16 bytes)
               _seg_desc(0, 0xFFFFF, 0x9B, 0xC)]     # 0x40 kernel code32
        for i, d in enumerate(gdt):
            self.wq(GDT + 8 * i, d)
        # page tables: PML4 -> PDPT -> PD; first 4 MiB in 4 KiB pages
        self.wq(0x1000, 0x2000 | 7)
        self.wq(0x2000, 0x3000 | 7)
        for i in range(512):
            if i < 2:
                self.wq(0x3000 + 8 * i, (0x4000 + 0x1000 * i) | 7)
            else:
                self.wq(0x3000 + 8 * i, (i << 21) | 0x87)
        for i in range(1024):
            self.wq(0x4000 + 8 * i, (i << 12) | 7)
        # IDT: 32 interrupt gates to stubs "mov al, v; out 0xE1, al; hlt"
        for v in range(48):
            stub = STUBS + 16 * v
            self.write(stub, bytes([0xB0, v, 0xE6, 0xE1, 0xF4]))
            lo = (stub & 0xFFFF) | (KCODE << 16) | (0x8E00 << 32) | ((stub >> 16) << 48)
            self.wq(IDT + 16 * v, lo)
            self.wq(IDT + 16 * v + 8, stub >> 32)
        self.wq(TSS + 4, RSP0)
        env[GDT_BASE], env[GDT_LIMIT] = GDT, 8 * len(gdt) - 1
        env[IDT_BASE], env[IDT_LIMIT] = IDT, 16 * 48 - 1
        env[TR], env[TR + 1], env[TR + 2], env[TR + 3] = TSS_SEL, TSS, 0x67, 0x8B00
        env[CR3] = 0x1000
        env[CR4] = 0x20 | 0x200 | 0x10000      # PAE, OSFXSR, FSGSBASE
        env[EFER] = 0xD01                      # SCE, LME, LMA, NXE
        env[CR0] = 0x80010033                  # PG, WP, NE, ET, MP, PE
        self.set_cpl(0)
        env[RIP] = CODE
        self.cpu.set_gpr(4, STACK)
        self.cpu.set_eflags(0x2, 0xFFFFFFFF)
        self.cpu.tlb_flush()

    def set_cpl(self, cpl: int):
        env = self.env
        cs, ds = (KCODE, KDATA) if cpl == 0 else (UCODE | 3, UDATA | 3)
        dpl = cpl << 13
        env[seg_slot(R_CS, 0)], env[seg_slot(R_CS, 1)] = cs, 0
        env[seg_slot(R_CS, 2)], env[seg_slot(R_CS, 3)] = 0xFFFFFFFF, 0xA09B00 | dpl
        for seg in (R_DS, R_ES, R_SS, R_FS, R_GS):
            env[seg_slot(seg, 0)], env[seg_slot(seg, 1)] = ds, 0
            env[seg_slot(seg, 2)], env[seg_slot(seg, 3)] = 0xFFFFFFFF, 0xCF9300 | dpl
        env[seg_slot(R_SS, 3)] = 0xCF9300 | dpl
        from qemu_py.target.i386.state import HFLAGS
        env[HFLAGS] = (env[HFLAGS] & ~3) | cpl
        self.cpu.update_hflags()

    def pte_addr(self, vaddr: int) -> int:
        assert vaddr < 4 << 20
        return 0x4000 + 8 * (vaddr >> 12)

    # -- running ---------------------------------------------------------------------------
    def load(self, code: bytes, at: int = CODE):
        self.write(at, code)
        self.env[RIP] = at

    def run(self, text: str | None = None, *, code: bytes | None = None, at: int = CODE,
            budget: int = 100000, **regs):
        """Load TEXT (assembly; 'hlt' appended) at AT, set REGS, run until HLT."""
        if text is not None:
            code = asm(text + ";hlt")
        if code is not None:
            self.load(code, at)
        for name, v in regs.items():
            self.set(name, v)
        n = self.cpu.exec(budget)
        assert self.cpu.halted, f"guest did not halt after {n} instructions at {self.env[RIP]:#x}"
        self.cpu.halted = False
        return n

    def set(self, name: str, v: int):
        if name in GPR_NAMES:
            self.cpu.set_gpr(GPR_NAMES.index(name), v)
        elif name == "rflags":
            self.cpu.set_eflags(v, 0xFFFFFFFF)
        elif name == "rip":
            self.env[RIP] = v
        else:
            raise KeyError(name)

    def state(self) -> dict:
        st = {n: self.cpu.gpr(i) for i, n in enumerate(GPR_NAMES)}
        st["rip"] = self.env[RIP]
        st["rflags"] = self.cpu.get_eflags()
        return st

    def exception_vector(self):
        """The vector reported by an exception stub, or None."""
        vs = [v for port, v, _ in self.io_log if port == 0xE1]
        return vs[-1] if vs else None


def decode_text(code: bytes, ip: int = CODE) -> list[str]:
    from iced_x86 import Formatter, FormatterSyntax
    f = Formatter(FormatterSyntax.INTEL)
    return [f.format(i) for i in Decoder(64, code, ip=ip)]


_ = EFLAGS
