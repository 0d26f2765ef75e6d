"""SSE FP semantics (``insn_sse.fp_exec``) against the host CPU, lane for lane.

Every FP form (CMPcc with all 256 immediates) is compiled into a small C
library that loads XMM0/XMM1/RAX and MXCSR, runs the instruction and reports
XMM0, RAX, RFLAGS and MXCSR, or, when an unmasked exception traps (SIGFPE),
the MXCSR and XMM0 of the signal context. Random and boundary operands
(denormals, NaNs, results next to the underflow and overflow thresholds)
under random MXCSR values (rounding, FTZ, DAZ, masks) must give the same
result, flags and trap. Skipped off x86-64 or without a C compiler; the
seeds are fixed, so a failure names a reproducible case.
"""

from __future__ import annotations

import ctypes
import os
import platform
import random
import shutil
import subprocess
from fractions import Fraction

import pytest

from qemu_py.target.i386 import softfloat as sf
from qemu_py.target.i386.insn_sse import FP_SEMANTICS, fp_exec

pytestmark = pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64")
                                or shutil.which("cc") is None,
                                reason="needs an x86-64 host and a C compiler")

M64 = (1 << 64) - 1


def _att(form: str, imm: int) -> str:
    parts = form.split("_")
    m = parts[0].lower()
    if form.startswith("CMP"):
        return f"{m} ${imm}, %%xmm1, %%xmm0"
    if form.startswith("CVTSI2S"):
        wide = form.endswith("64")
        return f"{m}{'q' if wide else 'l'} %%{'rax' if wide else 'eax'}, %%xmm0"
    if "2SI_R" in form:
        return f"{m} %%xmm1, %%{'eax' if parts[1] == 'R32' else 'rax'}"
    return f"{m} %%xmm1, %%xmm0"


CASES = [(f, imm) for f in sorted(FP_SEMANTICS)
         for imm in (range(256) if f.startswith("CMP") else (0,))]
BY_FORM: dict[str, list[int]] = {}
for _i, (_f, _) in enumerate(CASES):
    BY_FORM.setdefault(_f, []).append(_i)

_C_HEAD = r"""
#define _GNU_SOURCE
#include <stdint.h>
#include <signal.h>
#include <setjmp.h>
#include <ucontext.h>
#include <string.h>
typedef struct { uint64_t a[2], b[2], out[2], rax, rflags, rax_in, trap;
                 uint32_t mxcsr_in, mxcsr_out; } io_t;
static sigjmp_buf jb; static io_t *cur;
static void handler(int sig, siginfo_t *si, void *p) {
  ucontext_t *uc = p;
  cur->mxcsr_out = uc->uc_mcontext.fpregs->mxcsr;
  memcpy(cur->out, &uc->uc_mcontext.fpregs->_xmm[0], 16);
  cur->trap = uc->uc_mcontext.gregs[REG_TRAPNO];
  siglongjmp(jb, 1);
}
int run(int op, io_t *io) {
  struct sigaction sa, old_fpe, old_ill; int r = 0; uint32_t d = 0x1f80;
  memset(&sa, 0, sizeof sa); sa.sa_sigaction = handler; sa.sa_flags = SA_SIGINFO;
  sigaction(SIGFPE, &sa, &old_fpe); sigaction(SIGILL, &sa, &old_ill);
  cur = io; io->trap = 0;
  if (sigsetjmp(jb, 1)) { r = 1; goto out; }
  switch (op) {
"""
_C_TAIL = r"""
  default: r = -1; }
out:
  asm volatile("ldmxcsr %0" :: "m"(d));
  sigaction(SIGFPE, &old_fpe, 0); sigaction(SIGILL, &old_ill, 0);
  return r;
}
"""
_PRO = r'"movdqu (%0), %%xmm0\n movdqu 16(%0), %%xmm1\n mov 64(%0), %%rax\n ldmxcsr 80(%0)\n '
_EPI = (r'\n stmxcsr 84(%0)\n movdqu %%xmm0, 32(%0)\n mov %%rax, 48(%0)\n pushfq\n'
        r' pop %%rcx\n mov %%rcx, 56(%0)\n"')


class _IO(ctypes.Structure):
    _fields_ = [("a", ctypes.c_uint64 * 2), ("b", ctypes.c_uint64 * 2),
                ("out", ctypes.c_uint64 * 2), ("rax", ctypes.c_uint64),
                ("rflags", ctypes.c_uint64), ("rax_in", ctypes.c_uint64),
                ("trap", ctypes.c_uint64), ("mxcsr_in", ctypes.c_uint32),
                ("mxcsr_out", ctypes.c_uint32)]


def build_oracle(d: str, instructions: list[str]):
    """Compile a host library whose ``run(i, io)`` executes INSTRUCTIONS[i] (AT&T text,
    xmm0/xmm1/rax/MXCSR from and into the _IO record) natively."""
    body = "".join(f'  case {i}: asm volatile({_PRO}{text}{_EPI} :: "r"(io) : "xmm0", '
                   f'"xmm1", "rax", "rcx", "memory", "cc"); break;\n'
                   for i, text in enumerate(instructions))
    src, lib = os.path.join(d, "oracle.c"), os.path.join(d, "oracle.so")
    with open(src, "w") as fh:
        fh.write(_C_HEAD + body + _C_TAIL)
    subprocess.check_call(["cc", "-O1", "-shared", "-fPIC", "-o", lib, src])
    so = ctypes.CDLL(lib)
    so.run.argtypes = [ctypes.c_int, ctypes.POINTER(_IO)]
    return so


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    so = build_oracle(str(tmp_path_factory.mktemp("sse_host")),
                      [_att(f, imm) for f, imm in CASES])

    def run(op, mx, a, b, rax):
        io = _IO()
        io.a[0], io.a[1], io.b[0], io.b[1] = a & M64, a >> 64, b & M64, b >> 64
        io.rax_in, io.mxcsr_in = rax, mx
        trapped = so.run(op, ctypes.byref(io))
        assert trapped in (0, 1)
        return (bool(trapped), io.mxcsr_out, io.out[0] | (io.out[1] << 64), io.rax,
                io.rflags, io.trap)
    return run


def _compare(host, idx, mx, a, b, rax):
    form, imm = CASES[idx]
    trapped, hmx, out, hrax, rflags, trap = host(idx, mx, a, b, rax)
    v, mxo = fp_exec(form, mx, a, rax if form.startswith("CVTSI2S") else b, imm)
    case = f"{form} imm={imm} mxcsr={mx:#06x} a={a:#034x} b={b:#034x} rax={rax:#x}"
    assert (trapped, hmx) == (v is None, mxo), case
    if trapped:
        assert trap == 19, case                   # #XM
        assert out == a, case                     # the destination is unchanged
    elif form.startswith(("COMIS", "UCOMIS")):
        assert rflags & 0x8D5 == v, case
    elif "2SI_R" in form:
        assert hrax == v, case
    else:
        assert out == v, case


def _lane(rng, f):
    s = rng.getrandbits(1) << (f.bits - 1)
    e, mb, r = f.emask, f.mbits, rng.randrange(12)
    if r == 0:
        return s
    if r == 1:
        return s | (rng.getrandbits(mb) or 1)                              # denormal
    if r == 2:
        return s | f.inf
    if r == 3:
        return s | f.inf | rng.choice([f.quiet_bit, rng.getrandbits(mb) or 1])  # NaNs
    if r == 4:
        return s | (rng.choice([1, 2, e - 1, e - 2]) << mb) | rng.getrandbits(mb)
    if r == 5:                                                             # near 1
        return s | ((f.bias + rng.randint(-3, 3)) << mb) | (rng.getrandbits(4) << (mb - 4))
    if r == 6:                                                             # near 2**31, 2**63
        x = rng.choice([30, 31, 32, 62, 63, 64, rng.randint(0, 70)])
        return s | ((f.bias + x) << mb) | rng.getrandbits(mb)
    if r == 7:                                                             # squares underflow
        return s | ((f.bias - f.bias // 2 + rng.randint(-30, 30)) << mb) | rng.getrandbits(mb)
    return rng.getrandbits(f.bits)


def _fmt(form):
    mn = form.split("_")[0]
    return sf.F64 if mn.endswith(("PD", "SD")) or "PD2" in mn or "SD2" in mn else sf.F32


def _mxcsr(rng):
    r = rng.randrange(3)
    if r == 0:
        return 0x1F80 | rng.getrandbits(2) << 13
    if r == 1:
        return (0x1F80 & ~(rng.getrandbits(6) << 7)) | rng.getrandbits(2) << 13 | \
            rng.choice([0, 0x40, 0x8000, 0x8040])
    return rng.getrandbits(16)


@pytest.mark.parametrize("seed", range(4))
def test_random_operands_match_the_host(host, seed):
    rng = random.Random(seed)
    forms = sorted(BY_FORM)
    for _ in range(2500):
        idx = rng.choice(BY_FORM[rng.choice(forms)])       # every form equally often
        f = _fmt(CASES[idx][0])
        a = sum(_lane(rng, f) << (i * f.bits) for i in range(128 // f.bits))
        b = sum(_lane(rng, f) << (i * f.bits) for i in range(128 // f.bits))
        rax = rng.choice([rng.getrandbits(64), rng.getrandbits(32), 1 << 63, 1 << 31,
                          (-rng.getrandbits(20)) & M64])
        _compare(host, idx, _mxcsr(rng), a, b, rax)


def _nearest(v: Fraction, f) -> int:
    s, v = int(v < 0), abs(v)
    k = max(0, f.p + 8 + v.denominator.bit_length() - v.numerator.bit_length())
    q, r = divmod(v.numerator << k, v.denominator)
    return sf.round_pack(s, q, -k, r != 0, f, 0x1F80)[0]


@pytest.mark.parametrize("seed", range(2))
def test_results_next_to_the_underflow_and_overflow_thresholds_match_the_host(host, seed):
    rng = random.Random(1000 + seed)
    idxs = [BY_FORM[form][0] for form in BY_FORM
            if form.startswith(("MUL", "DIV", "ADD", "SUB", "CVTSD2SS", "CVTPD2PS"))]
    for _ in range(2500):
        idx = rng.choice(idxs)
        form = CASES[idx][0]
        f = _fmt(form)
        narrow = form.startswith(("CVTSD2SS", "CVTPD2PS"))
        edge = Fraction(2) ** (sf.F32.emin if narrow else f.emin) if rng.random() < 0.7 else \
            Fraction(2) ** ((sf.F32.emax if narrow else f.emax) + 1)
        la, lb = [], []
        for _ in range(128 // f.bits):
            p = sf.F32.p if narrow else f.p
            t = edge * (1 + Fraction(rng.randint(-64, 64), 2 ** (p + rng.choice([-2, 0, 1, 2]))))
            t = -t if rng.getrandbits(1) else t
            if narrow:
                la.append(rng.getrandbits(64))
                lb.append(_nearest(t, sf.F64))
                continue
            x = _nearest(Fraction(rng.randint(1, 1 << 10), 1 << rng.randint(0, 10)), f)
            x |= rng.getrandbits(1) << (f.bits - 1)
            xv = sf.to_fraction(x, f)
            y = {"MUL": t / xv, "DIV": xv / t, "ADD": t - xv, "SUB": xv - t}[form[:3]]
            la.append(x)
            lb.append(_nearest(y, f))
        a = sum(x << (i * f.bits) for i, x in enumerate(la))
        b = sum(x << (i * f.bits) for i, x in enumerate(lb))
        _compare(host, idx, _mxcsr(rng), a, b, 0)
