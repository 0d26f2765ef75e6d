"""Flag instructions: CLC STC CMC CLD STD CLI STI LAHF SAHF."""

from __future__ import annotations

from .state import CC_A, CC_C, CC_P, CC_S, CC_Z, EXCP0D_GPF, IF_MASK
from .translate import G_CC_SRC, G_DF, G_EFLAGS, G_REGS, insn
from .state import M64



@insn("CLC")
def gen_CLC(s, insn):
    s.compute_eflags()
    s.c.gen_andc_i64(G_CC_SRC, G_CC_SRC, CC_C)


@insn("STC")
def gen_STC(s, insn):
    s.compute_eflags()
    s.c.gen_or_i64(G_CC_SRC, G_CC_SRC, CC_C)


@insn("CMC")
def gen_CMC(s, insn):
    s.compute_eflags()
    s.c.gen_xor_i64(G_CC_SRC, G_CC_SRC, CC_C)


@insn("CLD")
def gen_CLD(s, insn):
    s.c.gen_mov_i64(G_DF, 1)


@insn("STD")
def gen_STD(s, insn):
    s.c.gen_mov_i64(G_DF, M64)


def _if_allowed(s) -> bool:
    if s.pe and s.cpl > s.iopl:
        s.gen_exception(EXCP0D_GPF, 0)
        return False
    return True


@insn("CLI")
def gen_CLI(s, insn):
    if _if_allowed(s):
        s.c.gen_andc_i64(G_EFLAGS, G_EFLAGS, IF_MASK)


@insn("STI")
def gen_STI(s, insn):
    if _if_allowed(s):
        s.c.gen_or_i64(G_EFLAGS, G_EFLAGS, IF_MASK)
        s.gen_update_eip_next()
        s.gen_eob(inhibit=True)           # one more instruction before interrupts


@insn("LAHF")
def gen_LAHF(s, insn):
    s.compute_eflags()
    t = s.tmp()
    s.c.gen_and_i64(t, G_CC_SRC, CC_S | CC_Z | CC_A | CC_P | CC_C)
    s.c.gen_or_i64(t, t, 2)
    s.st_gpr(0, 0, t, high=True)


@insn("SAHF")
def gen_SAHF(s, insn):
    c = s.c
    s.compute_eflags()
    ah = s.tmp()
    c.gen_extract_i64(ah, G_REGS[0], 8, 8)
    c.gen_and_i64(ah, ah, CC_S | CC_Z | CC_A | CC_P | CC_C)
    c.gen_andc_i64(G_CC_SRC, G_CC_SRC, CC_S | CC_Z | CC_A | CC_P | CC_C)
    c.gen_or_i64(G_CC_SRC, G_CC_SRC, ah)
