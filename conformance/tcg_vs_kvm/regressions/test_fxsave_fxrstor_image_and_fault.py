"""Regression: fxsave_fxrstor_image_and_fault (fixed).

Found by the differential campaign once every case started from its own
x87/SSE state. TCG's FXSAVE wrote all 512 bytes (the CPU leaves bytes
416-511 alone), checked alignment before canonicality (#GP where the CPU
raises #SS for an RBP base), faulted on the image's first byte where the CPU
probes its last byte first (CR2 = base + 511), loaded FCW from FXRSTOR
without forcing its reserved bits as FLDCW does, and left XMM8-15 out of the
non-REX.W forms in 64-bit mode. MXCSR_MASK (0x0000FFFF on TCG, 0x0002FFFF on
AMD CPUs with MisAlignSse) is a model property the comparison leaves out.
"""

import struct
from dataclasses import replace

import pytest

from .cases import Code, Instruction, R, case, mem, run_pair


def _image(fcw=0x037F, mxcsr=0x1F80, xmm=()):
    img = bytearray(512)
    struct.pack_into("<HHBxH", img, 0, fcw, 0, 0, 0)
    struct.pack_into("<I", img, 24, mxcsr)
    for i, v in enumerate(xmm):
        img[160 + 16 * i:176 + 16 * i] = v.to_bytes(16, "little")
    return bytes(img)


@pytest.mark.conformance
@pytest.mark.parametrize("code", [Code.FXSAVE64_M512BYTE, Code.FXSAVE_M512BYTE])
def test_fxsave_image_leaves_bytes_416_to_511(differ, code):
    c = case(Instruction.create_mem(code, mem(R.R14, 0)), pointers=("rsp", "r14"), r14=0x200)
    c = replace(c, data=bytes(range(256)) * 16, xmm=tuple((i + 1) * 0x0101 for i in range(16)))
    a, b, mismatch = run_pair(differ, c)
    assert a.data[0x200 + 416:0x200 + 512] == c.data[0x200 + 416:0x200 + 512]
    assert mismatch is None, mismatch.report("fxsave_fxrstor_image_and_fault")


@pytest.mark.conformance
@pytest.mark.parametrize("code", [Code.FXSAVE64_M512BYTE, Code.FXRSTOR64_M512BYTE])
def test_fx_image_crossing_into_the_guard_page_faults_on_its_last_byte(differ, code):
    c = case(Instruction.create_mem(code, mem(R.R14, 0)), pointers=("rsp", "r14"), r14=0xF00)
    c = replace(c, data=_image().rjust(0x1000, b"\0") if code == Code.FXRSTOR64_M512BYTE
                else b"")
    a, b, mismatch = run_pair(differ, c)
    assert a.kind == 14
    assert mismatch is None, mismatch.report("fxsave_fxrstor_image_and_fault")


@pytest.mark.conformance
def test_fxrstor_noncanonical_rbp_is_ss_before_alignment(differ):
    c = case(Instruction.create_mem(Code.FXRSTOR_M512BYTE, mem(R.RBP, -0x268)),
             rbp=0x8000_0000_0000_0800)
    a, b, mismatch = run_pair(differ, c)
    assert mismatch is None, mismatch.report("fxsave_fxrstor_image_and_fault")


@pytest.mark.conformance
@pytest.mark.parametrize("fcw", [0, 0xFFFF, 0x1234, 0xE080])
def test_fxrstor_fcw_reserved_bits(differ, fcw):
    c = case(Instruction.create_mem(Code.FXRSTOR64_M512BYTE, mem(R.R14, 0)),
             pointers=("rsp", "r14"), r14=0)
    a, b, mismatch = run_pair(differ, replace(c, data=_image(fcw=fcw)))
    assert struct.unpack_from("<H", b.fx, 0)[0] == fcw & 0x1F7F | 0x40
    assert mismatch is None, mismatch.report("fxsave_fxrstor_image_and_fault")


@pytest.mark.conformance
def test_fxrstor_without_rex_w_loads_xmm8_to_15_in_64_bit_mode(differ):
    c = case(Instruction.create_mem(Code.FXRSTOR_M512BYTE, mem(R.R14, 0)),
             pointers=("rsp", "r14"), r14=0)
    xmm = tuple(0x1111_2222_3333_4444_5555_6666_7777_8888 * (i + 1) % (1 << 128)
                for i in range(16))
    a, b, mismatch = run_pair(differ, replace(c, data=_image(xmm=xmm)))
    assert b.xmm(15) == xmm[15]
    assert mismatch is None, mismatch.report("fxsave_fxrstor_image_and_fault")
