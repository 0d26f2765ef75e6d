"""The SSE3 and SSE4.1 floating point forms (ADDSUBPS/PD, HADDPS/PD, HSUBPS/PD,
ROUNDPS/PD/SS/SD with every meaningful imm8, DPPS/DPPD with every imm8) and
INSERTPS (every imm8; the differential generator skips it) against the host CPU,
lane for lane, with the oracle library of ``test_sse_fp_host`` (XMM0 op XMM1 under
MXCSR; an unmasked exception traps with the destination unchanged). Operands are
random and boundary lanes (denormals, NaNs, infinities, values next to 1 and to the
thresholds) under random MXCSR values. Skipped off x86-64 or without a C compiler;
the seeds are fixed, so a failure names a reproducible case.
"""

from __future__ import annotations

import ctypes
import random

import pytest
from test_sse_fp_host import _IO, M64, _lane, _mxcsr, build_oracle, pytestmark

from qemu_py.target.i386 import insn_sse3, insn_sse41
from qemu_py.target.i386 import softfloat as sf

SEMANTICS = {**insn_sse3._FP, **insn_sse41._FP}
FORMATS = {"ADDSUBPS": sf.F32, "ADDSUBPD": sf.F64, "HADDPS": sf.F32, "HADDPD": sf.F64,
           "HSUBPS": sf.F32, "HSUBPD": sf.F64, "ROUNDPS": sf.F32, "ROUNDPD": sf.F64,
           "ROUNDSS": sf.F32, "ROUNDSD": sf.F64, "DPPS": sf.F32, "DPPD": sf.F64,
           "INSERTPS": sf.F32}
CASES = ([(m, 0) for m in ("ADDSUBPS", "ADDSUBPD", "HADDPS", "HADDPD", "HSUBPS", "HSUBPD")] +
         [(m, imm) for m in ("ROUNDPS", "ROUNDPD", "ROUNDSS", "ROUNDSD") for imm in range(16)] +
         [(m, imm) for m in ("DPPS", "DPPD", "INSERTPS") for imm in range(256)])
BY_FORM: dict[str, list[int]] = {}
for _i, (_m, _) in enumerate(CASES):
    BY_FORM.setdefault(_m, []).append(_i)
_ = pytestmark


def _att(m: str, imm: int) -> str:
    if m in ("ADDSUBPS", "ADDSUBPD", "HADDPS", "HADDPD", "HSUBPS", "HSUBPD"):
        return f"{m.lower()} %%xmm1, %%xmm0"
    return f"{m.lower()} ${imm}, %%xmm1, %%xmm0"


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    so = build_oracle(str(tmp_path_factory.mktemp("sse41_host")),
                      [_att(m, imm) for m, imm in CASES])

    def run(op, mx, a, b):
        io = _IO()
        io.a[0], io.a[1], io.b[0], io.b[1] = a & M64, a >> 64, b & M64, b >> 64
        io.mxcsr_in = mx
        trapped = so.run(op, ctypes.byref(io))
        assert trapped in (0, 1)
        return bool(trapped), io.mxcsr_out, io.out[0] | (io.out[1] << 64), io.trap
    return run


def _model(m, mx, a, b, imm):
    """(trapped, MXCSR, XMM0) as the translator's helpers compute them."""
    if m == "INSERTPS":
        return False, mx, insn_sse41._OPS[m](a, b, imm, None)
    v, pre, post = SEMANTICS[m](a, b, imm, mx)
    unmasked = ~(mx >> sf.MASK_SHIFT) & 0x3F
    if pre & unmasked:
        return True, mx | pre, a
    mx |= pre | post
    if post & unmasked:
        return True, mx, a
    return False, mx, v


@pytest.mark.parametrize("seed", range(4))
def test_random_operands_match_the_host(host, seed):
    rng = random.Random(4100 + seed)
    forms = sorted(BY_FORM)
    for _ in range(3000):
        idx = rng.choice(BY_FORM[rng.choice(forms)])
        m, imm = CASES[idx]
        f = FORMATS[m]
        a = sum(_lane(rng, f) << (i * f.bits) for i in range(128 // f.bits))
        b = sum(_lane(rng, f) << (i * f.bits) for i in range(128 // f.bits))
        mx = _mxcsr(rng)
        trapped, hmx, out, trap = host(idx, mx, a, b)
        want = _model(m, mx, a, b, imm)
        case = f"{m} imm={imm:#x} mxcsr={mx:#06x} a={a:#034x} b={b:#034x}"
        assert (trapped, hmx, out) == want, case
        if trapped:
            assert trap == 19, case
