"""MMX: the MM-register forms through the translator, and their lane arithmetic
against the host CPU (a C library of one function per instruction, random and
boundary operands with fixed seeds).  The host half is skipped off x86-64 or
without a C compiler."""

from __future__ import annotations

import ctypes
import platform
import random
import shutil
import subprocess

import pytest

from checks import run_case
from harness import DATA, X86Bed

from qemu_py.target.i386 import insn_mmx
from qemu_py.target.i386.state import FPREGS, FPSTT, FPTAGS

M64 = 2**64 - 1


@pytest.fixture
def bed(backend):
    return X86Bed(backend, fp=True)


def test_moves_arithmetic_and_fpu_state(bed):
    run_case(bed, "mov rax, 0x0102030405060708; mov rbx, 0x10ff10ff10ff10ff; movq mm0, rax; "
             "movq mm1, rbx; paddb mm0, mm1; movq rcx, mm0; punpckhbw mm0, mm1; movq rdx, mm0; "
             "movd mm2, eax; pxor mm3, mm3; movq [rdi], mm2", {"rdi": DATA},
             {"rcx": 0x1101130315051707, "rdx": 0x1011ff011013ff03,
              "rax": 0x0102030405060708, "rbx": 0x10ff10ff10ff10ff})
    env = bed.cpu.env_q
    assert env[FPSTT] == 0 and env[FPTAGS] == 0              # top 0, every tag valid
    assert env[FPREGS + 2 * 2] == 0x05060708 and env[FPREGS + 2 * 2 + 1] == 0xFFFF
    assert bed.read(DATA, 8) == (0x05060708).to_bytes(8, "little")
    run_case(bed, "emms", {}, {})
    assert env[FPTAGS] == 0xFF                                # EMMS: every register empty


def test_pshufw_pextrw_pinsrw_pmovmskb(bed):
    run_case(bed, "mov rax, 0x8000400020001000; movq mm0, rax; pshufw mm1, mm0, 0x1b; "
             "movq rbx, mm1; pextrw ecx, mm0, 2; mov edx, 0xbeef; pinsrw mm0, edx, 0; "
             "movq rsi, mm0; pmovmskb r8d, mm0",
             {}, {"rax": 0x8000400020001000, "rbx": 0x1000200040008000, "rcx": 0x4000,
                  "rdx": 0xBEEF, "rsi": 0x800040002000BEEF, "r8": 0x83})


def test_mmx_under_cr0_em_is_ud(bed):
    from qemu_py.target.i386.state import CR0
    bed.cpu.set_cr0(bed.cpu.env_q[CR0] | 4)
    bed.run("paddb mm0, mm1")
    assert bed.exception_vector() == 6


# -- against the host CPU ------------------------------------------------------------------------
OPS = list(insn_mmx.MMX_BINARY)
SHIFTS = list(insn_mmx.MMX_SHIFTS)
BOUNDARY = [0, M64, 0x8000_0000_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8080_8080_8080_8080,
            0x7F7F_7F7F_7F7F_7F7F, 0x0001_0001_0001_0001, 0xFFFF_0000_FFFF_0000, 63, 64, 15, 16]


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    if platform.machine() != "x86_64" or shutil.which("gcc") is None:
        pytest.skip("needs an x86-64 host with gcc for the MMX oracle")
    d = tmp_path_factory.mktemp("mmx_host")
    src = ["#include <stdint.h>"]
    for i, name in enumerate(OPS + SHIFTS):
        src.append(f"void op{i}(uint64_t *a, const uint64_t *b) {{ __asm__ volatile("
                   f"\"movq (%0), %%mm0; movq (%1), %%mm1; {name.lower()} %%mm1, %%mm0; "
                   f"movq %%mm0, (%0); emms\" :: \"r\"(a), \"r\"(b) : \"memory\"); }}")
    (d / "mmx.c").write_text("\n".join(src) + "\n")
    so = str(d / "mmx.so")
    subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-o", so, str(d / "mmx.c")], check=True,
                   capture_output=True)
    lib = ctypes.CDLL(so)
    a, b = ctypes.c_uint64(), ctypes.c_uint64()

    def run(i, x, y):
        a.value, b.value = x, y
        getattr(lib, f"op{i}")(ctypes.byref(a), ctypes.byref(b))
        return a.value
    return run


@pytest.mark.parametrize("name", OPS + SHIFTS)
def test_lane_arithmetic_matches_host(host, name):
    i = (OPS + SHIFTS).index(name)
    fn = insn_mmx._mmx_fn(name) if name in OPS else \
        (lambda x, y: insn_mmx._SHIFTS[name](x, y) & M64)
    rng = random.Random(i)
    pairs = [(x, y) for x in BOUNDARY for y in BOUNDARY] + \
        [(rng.getrandbits(64), rng.getrandbits(64) if name in OPS else rng.randrange(80))
         for _ in range(300)]
    for x, y in pairs:
        assert fn(x, y) == host(i, x, y), f"{name.lower()} mm0={x:#x} mm1={y:#x}"
