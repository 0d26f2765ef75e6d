"""Register access for the gdbstub: QEMU's x86-64 layout (gdb-xml/i386-64bit.xml).

The order and sizes are the remote protocol's register numbers: 16 GPRs, rip,
eflags (4 bytes), the six segment selectors (4 bytes each), fs_base, gs_base,
k_gs_base, cr0, cr2, cr3, cr4, cr8, efer, st0-7 (10 bytes), the eight x87
control registers (4 bytes each), xmm0-15 (16 bytes) and mxcsr (4 bytes).
"""
from __future__ import annotations

import struct

from . import gdb_mem
from .seg_helper import get_seg_base, get_seg_limit, load_seg_cache
from .state import (CR0_PE, DESC_A_MASK, DESC_DPL_SHIFT, DESC_P_MASK, DESC_S_MASK,
                    DESC_W_MASK, EFLAGS, GDT_BASE, GDT_LIMIT, LDT, VM_MASK)
from .state import (CR0, CR2, CR3, CR4, CR8, EFER, FPDP, FPIP, FPOP, FPREGS, FPTAGS, FPUC,
                    FPUS, FPSTT, KERNEL_GS_BASE, MXCSR, R_FS, R_GS, REGS, RIP, SEG_BASE, SEG_SEL,
                    XMM, seg_slot)

GPR_ORDER = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
             "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15")
_GPR_INDEX = (0, 3, 1, 2, 6, 7, 5, 4, 8, 9, 10, 11, 12, 13, 14, 15)   # gdb order -> x86 number
SEG_ORDER = ("cs", "ss", "ds", "es", "fs", "gs")
_SEG_INDEX = (1, 2, 3, 0, 4, 5)
X87_CTRL = ("fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop")

# (name, bytes, gdb type, group) in register-number order
REGISTERS: list[tuple[str, int, str, str]] = (
    [(n, 8, "int64", "general") for n in GPR_ORDER]
    + [("rip", 8, "code_ptr", "general"), ("eflags", 4, "i386_eflags", "general")]
    + [(n, 4, "int32", "general") for n in SEG_ORDER]
    + [("fs_base", 8, "int64", "general"), ("gs_base", 8, "int64", "general"),
       ("k_gs_base", 8, "int64", "general")]
    + [("cr0", 8, "i386_cr0", "system"), ("cr2", 8, "int64", "system"),
       ("cr3", 8, "i386_cr3", "system"), ("cr4", 8, "i386_cr4", "system"),
       ("cr8", 8, "int64", "system"), ("efer", 8, "i386_efer", "system")]
    + [(f"st{i}", 10, "i387_ext", "float") for i in range(8)]
    + [(n, 4, "int", "float") for n in X87_CTRL]
    + [(f"xmm{i}", 16, "vec128", "vector") for i in range(16)]
    + [("mxcsr", 4, "i386_mxcsr", "vector")]
)
NUM_REGS = len(REGISTERS)


def _x87_tag_word(env) -> int:
    """The full 16-bit tag word gdb expects, from the abridged empty/valid tags."""
    tags = env[FPTAGS]           # bit i set: st register i (physical) empty
    word = 0
    for i in range(8):
        if tags >> i & 1:
            word |= 3 << (2 * i)
        else:
            exp = env[FPREGS + 2 * i + 1] & 0x7FFF
            mant = env[FPREGS + 2 * i]
            if exp == 0x7FFF:
                tag = 2
            elif exp == 0 and mant == 0:
                tag = 1
            elif exp == 0 or not mant >> 63:
                tag = 2
            else:
                tag = 0
            word |= tag << (2 * i)
    return word


def read_register(cpu, n: int) -> bytes | None:
    env = cpu.env_q
    if n < 16:
        return struct.pack("<Q", env[REGS + _GPR_INDEX[n]])
    if n == 16:
        return struct.pack("<Q", env[RIP])
    if n == 17:
        return struct.pack("<I", cpu.get_eflags() & 0xFFFFFFFF)
    if n < 24:
        return struct.pack("<I", env[seg_slot(_SEG_INDEX[n - 18], SEG_SEL)] & 0xFFFF)
    if n == 24:
        return struct.pack("<Q", env[seg_slot(R_FS, SEG_BASE)])
    if n == 25:
        return struct.pack("<Q", env[seg_slot(R_GS, SEG_BASE)])
    if n == 26:
        return struct.pack("<Q", env[KERNEL_GS_BASE])
    if n < 33:
        return struct.pack("<Q", env[(CR0, CR2, CR3, CR4, CR8, EFER)[n - 27]])
    if n < 41:
        phys = (env[FPSTT] + n - 33) & 7
        return struct.pack("<QH", env[FPREGS + 2 * phys], env[FPREGS + 2 * phys + 1] & 0xFFFF)
    if n < 49:
        i = n - 41
        if i == 0:
            v = env[FPUC]
        elif i == 1:
            v = (env[FPUS] & ~0x3800) | (env[FPSTT] & 7) << 11
        elif i == 2:
            v = _x87_tag_word(env)
        elif i == 4:
            v = env[FPIP]
        elif i == 6:
            v = env[FPDP]
        elif i == 7:
            v = env[FPOP]
        else:
            v = 0                  # fiseg/foseg: 0 in 64-bit mode, as QEMU
        return struct.pack("<I", v & 0xFFFFFFFF)
    if n < 65:
        i = n - 49
        return struct.pack("<QQ", env[XMM + 2 * i], env[XMM + 2 * i + 1])
    if n == 65:
        return struct.pack("<I", env[MXCSR] & 0xFFFFFFFF)
    return None


def _descriptor_debug(cpu, selector: int):
    """(base, limit, flags) of SELECTOR's GDT/LDT descriptor, read as the
    debugger reads memory; None when it lies past the table or is unreadable."""
    env = cpu.env_q
    if selector & 4:
        base, limit = env[LDT + 1], env[LDT + 2]
    else:
        base, limit = env[GDT_BASE], env[GDT_LIMIT]
    index = selector & ~7
    if index + 7 > limit:
        return None
    raw = gdb_mem.memory_rw_debug(cpu, base + index, 8)
    if raw is None:
        return None
    e1, e2 = struct.unpack("<II", raw)
    return get_seg_base(e1, e2), get_seg_limit(e1, e2), e2


def load_segment(cpu, seg: int, selector: int):
    """A selector written by the debugger reloads the segment's cache: from the
    descriptor tables in protected mode, as ``selector << 4`` in real and vm86
    mode. An unchanged selector or an unreadable descriptor changes nothing (as
    QEMU's x86_cpu_gdb_load_seg)."""
    env = cpu.env_q
    if selector == env[seg_slot(seg, SEG_SEL)] & 0xFFFF:
        return
    if not env[CR0] & CR0_PE or env[EFLAGS] & VM_MASK:
        dpl = 3 if env[EFLAGS] & VM_MASK else 0
        load_seg_cache(cpu, seg, selector, selector << 4, 0xFFFF,
                       DESC_P_MASK | DESC_S_MASK | DESC_W_MASK | DESC_A_MASK
                       | dpl << DESC_DPL_SHIFT)
        return
    desc = _descriptor_debug(cpu, selector)
    if desc is not None:
        load_seg_cache(cpu, seg, selector, *desc)


def write_register(cpu, n: int, data: bytes) -> int:
    """Store DATA into register N; returns the bytes used (0: unknown register)."""
    if not 0 <= n < NUM_REGS:
        return 0
    size = REGISTERS[n][1]
    if len(data) < size:
        return 0
    env = cpu.env_q
    if n < 16:
        cpu.set_gpr(_GPR_INDEX[n], struct.unpack_from("<Q", data)[0])
    elif n == 16:
        env[RIP] = struct.unpack_from("<Q", data)[0]
    elif n == 17:
        cpu.set_eflags(struct.unpack_from("<I", data)[0], 0xFFFFFFFF)
    elif n < 24:
        load_segment(cpu, _SEG_INDEX[n - 18], struct.unpack_from("<I", data)[0] & 0xFFFF)
    elif n < 27:
        v = struct.unpack_from("<Q", data)[0]
        slot = (seg_slot(R_FS, SEG_BASE), seg_slot(R_GS, SEG_BASE), KERNEL_GS_BASE)[n - 24]
        env[slot] = v
    elif n < 33:
        v = struct.unpack_from("<Q", data)[0]
        if n == 27:
            cpu.set_cr0(v)
        elif n == 28:
            env[CR2] = v
        elif n == 29:
            cpu.set_cr3(v)
        elif n == 30:
            cpu.set_cr4(v)
        elif n == 31:
            env[CR8] = v
        else:
            cpu.set_efer(v)
    elif n < 41:
        phys = (env[FPSTT] + n - 33) & 7
        mant, se = struct.unpack_from("<QH", data)
        env[FPREGS + 2 * phys], env[FPREGS + 2 * phys + 1] = mant, se
    elif n < 49:
        v = struct.unpack_from("<I", data)[0]
        i = n - 41
        if i == 0:
            env[FPUC] = v & 0xFFFF
        elif i == 1:
            env[FPUS] = v & ~0x3800 & 0xFFFF
            env[FPSTT] = (v >> 11) & 7
        elif i == 2:
            env[FPTAGS] = sum(1 << k for k in range(8) if (v >> (2 * k)) & 3 == 3)
        elif i == 4:
            env[FPIP] = v
        elif i == 6:
            env[FPDP] = v
        elif i == 7:
            env[FPOP] = v & 0x7FF
    elif n < 65:
        i = n - 49
        env[XMM + 2 * i], env[XMM + 2 * i + 1] = struct.unpack_from("<QQ", data)
    else:
        env[MXCSR] = struct.unpack_from("<I", data)[0]
    return size


def read_all(cpu) -> bytes:
    return b"".join(read_register(cpu, n) for n in range(NUM_REGS))


def write_all(cpu, data: bytes) -> bool:
    off = 0
    for n in range(NUM_REGS):
        size = REGISTERS[n][1]
        if off + size > len(data):
            return off > 0
        write_register(cpu, n, data[off:off + size])
        off += size
    return True
