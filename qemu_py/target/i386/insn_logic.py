"""Logical operations: AND OR XOR TEST NOT."""

from __future__ import annotations

from .insn_arith import alu_binary, mem_ea
from .translate import insn


@insn("AND_RM*_R*", "AND_R*_RM*", "AND_AL_IMM8", "AND_AX_IMM16", "AND_EAX_IMM32",
      "AND_RAX_IMM32", "AND_RM*_IMM*")
def gen_AND(s, insn):
    alu_binary(s, insn, "and")


@insn("OR_RM*_R*", "OR_R*_RM*", "OR_AL_IMM8", "OR_AX_IMM16", "OR_EAX_IMM32",
      "OR_RAX_IMM32", "OR_RM*_IMM*")
def gen_OR(s, insn):
    alu_binary(s, insn, "or")


@insn("XOR_RM*_R*", "XOR_R*_RM*", "XOR_AL_IMM8", "XOR_AX_IMM16", "XOR_EAX_IMM32",
      "XOR_RAX_IMM32", "XOR_RM*_IMM*")
def gen_XOR(s, insn):
    alu_binary(s, insn, "xor")


@insn("TEST_RM*_R*", "TEST_AL_IMM8", "TEST_AX_IMM16", "TEST_EAX_IMM32", "TEST_RAX_IMM32",
      "TEST_RM*_IMM*")
def gen_TEST(s, insn):
    alu_binary(s, insn, "test")


@insn("NOT_RM8", "NOT_RM16", "NOT_RM32", "NOT_RM64")
def gen_NOT(s, insn):
    ot = s.op_ot(insn, 0)
    ea = mem_ea(s, insn)
    a = s.ld_op(insn, 0, ot, ea)
    r = s.tmp()
    s.c.gen_not_i64(r, a)
    s.st_op(insn, 0, ot, r, ea)
