"""Both backends against the reference semantics and against each other.

Every test runs once per backend (the ``backend`` fixture); pure ops are
also checked with random operands against ``semantics.evaluate``.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rt import RAM_SIZE, Fault, IRRuntime, make_backend

from qemu_py.tcg.ir import (BITS, I32, I64, MASK, CallFlags, Cond, Helper, MemOp, MemOpIdx)
from qemu_py.tcg.semantics import evaluate
from qemu_py.tcg.tb import TranslationBlock

BIN = ["add", "sub", "mul", "and", "or", "xor", "andc", "orc", "eqv", "nand", "nor",
       "shl", "shr", "sar", "rotl", "rotr"]
UN = ["neg", "not", "ext8s", "ext8u", "ext16s", "ext16u", "bswap16", "bswap32", "ctpop"]
U64 = st.integers(0, 2**64 - 1)
EDGE = st.sampled_from([0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0x7FFFFFFF, 0x80000000,
                        0xFFFFFFFF, 2**63 - 1, 2**63, 2**64 - 1, 63, 64, 31, 32])
VAL = st.one_of(U64, EDGE)


def run_op(backend, name, type_, ins, cargs=()):
    rt = IRRuntime()
    c = rt.ctx()
    regs = rt.r if type_ == I64 else rt.w
    m = MASK[type_]
    for k, v in enumerate(ins):
        rt.set(regs[k], v & m)
    d = name + ("_i64" if type_ == I64 else "_i32")
    from qemu_py.tcg.ir import OPS
    n_out = OPS[d].nb_oargs
    outs = [rt.r[4 + k] if type_ == I64 else rt.w[2 + k] for k in range(n_out)]
    c.emit(d, *outs, *regs[:len(ins)], *cargs)
    c.exit_tb(0)
    assert rt.run(backend, c) == 0
    return tuple(rt.reg(o) for o in outs)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(BIN), t=st.sampled_from([I32, I64]), a=VAL, b=VAL)
def test_binary_ops_match_reference(backend, name, t, a, b):
    m = MASK[t]
    assert run_op(backend, name, t, [a, b]) == evaluate(name, t, [a & m, b & m], [])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(UN), t=st.sampled_from([I32, I64]), a=VAL)
def test_unary_ops_match_reference(backend, name, t, a):
    m = MASK[t]
    assert run_op(backend, name, t, [a]) == evaluate(name, t, [a & m], [])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(t=st.sampled_from([I32, I64]), a=VAL, b=VAL, c=VAL, d=VAL,
       cond=st.sampled_from([x for x in Cond]))
def test_setcond_movcond_match_reference(backend, t, a, b, c, d, cond):
    m = MASK[t]
    assert run_op(backend, "setcond", t, [a, b], [cond]) == \
        evaluate("setcond", t, [a & m, b & m], [cond])
    assert run_op(backend, "movcond", t, [a, b, c, d], [cond]) == \
        evaluate("movcond", t, [a & m, b & m, c & m, d & m], [cond])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(t=st.sampled_from([I32, I64]), a=VAL, b=VAL, c=VAL, d=VAL, data=st.data())
def test_multiword_and_bitfield_ops_match_reference(backend, t, a, b, c, d, data):
    m = MASK[t]
    bits = BITS[t]
    for name, ins in (("mulu2", [a, b]), ("muls2", [a, b]), ("add2", [a, b, c, d]),
                      ("sub2", [a, b, c, d]), ("clz", [a, b]), ("ctz", [a, b])):
        assert run_op(backend, name, t, ins) == evaluate(name, t, [x & m for x in ins], [])
    pos = data.draw(st.integers(0, bits - 1))
    ln = data.draw(st.integers(1, bits - pos))
    for name, ins, cargs in (("extract", [a], [pos, ln]), ("sextract", [a], [pos, ln]),
                             ("deposit", [a, b], [pos, ln]), ("extract2", [a, b], [pos])):
        assert run_op(backend, name, t, ins, cargs) == \
            evaluate(name, t, [x & m for x in ins], cargs), (name, pos, ln)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=VAL, b=st.integers(1, 2**64 - 1))
def test_division_ops_match_reference(backend, a, b):
    for name in ("div", "divu", "rem", "remu"):
        for t in (I32, I64):
            m = MASK[t]
            if b & m == 0:
                continue
            assert run_op(backend, name, t, [a, b]) == evaluate(name, t, [a & m, b & m], [])


def test_conversions(backend):
    rt = IRRuntime()
    c = rt.ctx()
    rt.set(rt.w[0], 0x80000001)
    rt.set(rt.r[0], 0x1234567880000000)
    c.gen_ext_i32_i64(rt.r[1], rt.w[0])
    c.gen_extu_i32_i64(rt.r[2], rt.w[0])
    c.gen_extrl_i64_i32(rt.w[1], rt.r[0])
    c.gen_extrh_i64_i32(rt.w[2], rt.r[0])
    c.gen_ext32s_i64(rt.r[3], rt.r[0])
    c.gen_bswap64_i64(rt.r[4], rt.r[0])
    c.exit_tb(0)
    rt.run(backend, c)
    assert rt.reg(rt.r[1]) == 0xFFFFFFFF80000001
    assert rt.reg(rt.r[2]) == 0x80000001
    assert rt.reg(rt.w[1]) == 0x80000000
    assert rt.reg(rt.w[2]) == 0x12345678
    assert rt.reg(rt.r[3]) == 0xFFFFFFFF80000000
    assert rt.reg(rt.r[4]) == 0x0000008078563412


@pytest.mark.parametrize("memop,expect", [
    (MemOp.MO_UB, 0xF8), (MemOp.MO_SB, 0xFFFFFFFFFFFFFFF8), (MemOp.MO_UW, 0xF7F8),
    (MemOp.MO_SW, 0xFFFFFFFFFFFFF7F8), (MemOp.MO_UL, 0xF5F6F7F8),
    (MemOp.MO_SL, 0xFFFFFFFFF5F6F7F8), (MemOp.MO_UQ, 0xF1F2F3F4F5F6F7F8),
    (MemOp.MO_UL | MemOp.MO_BE, 0xF8F7F6F5)])
@pytest.mark.parametrize("addr", [0x2000, 0x2004, 0x2001, 0x2FFC])
def test_qemu_ld_sizes_signs_endianness_alignment(backend, memop, expect, addr):
    rt = IRRuntime()
    rt.ram[addr:addr + 8] = bytes.fromhex("f8f7f6f5f4f3f2f1")
    c = rt.ctx()
    c.gen_qemu_ld_i64(rt.r[1], rt.r[0], MemOpIdx(memop, 0))
    c.exit_tb(0)
    rt.set(rt.r[0], addr)
    rt.run(backend, c)
    assert rt.reg(rt.r[1]) == expect


@pytest.mark.parametrize("memop,data", [
    (MemOp.MO_UB, "88"), (MemOp.MO_UW, "8877"), (MemOp.MO_UL, "88776655"),
    (MemOp.MO_UQ, "8877665544332211"), (MemOp.MO_UL | MemOp.MO_BE, "55667788")])
@pytest.mark.parametrize("addr", [0x3000, 0x3003, 0x3FFE])
def test_qemu_st_sizes_endianness(backend, memop, data, addr):
    rt = IRRuntime()
    c = rt.ctx()
    c.gen_qemu_st_i64(rt.r[1], rt.r[0], MemOpIdx(memop, 0))
    c.exit_tb(0)
    rt.set(rt.r[0], addr)
    rt.set(rt.r[1], 0x1122334455667788)
    rt.run(backend, c)
    n = len(data) // 2
    assert rt.ram[addr:addr + n].hex() == data
    assert rt.ram[addr + n] == 0


def test_fast_path_misses_go_to_the_slow_path(backend):
    rt = IRRuntime()
    rt.tlb_read[0].pop(5)
    rt.ram[0x5008:0x5010] = (42).to_bytes(8, "little")
    c = rt.ctx()
    c.gen_qemu_ld_i64(rt.r[1], 0x5008, MemOpIdx(MemOp.MO_UQ, 0))
    c.gen_qemu_ld_i64(rt.r[2], 0x6008, MemOpIdx(MemOp.MO_UQ, 0))
    c.exit_tb(0)
    rt.run(backend, c)
    assert rt.reg(rt.r[1]) == 42
    assert rt.slow_calls == (2 if backend == "interp" else 1)


def test_env_loads_and_stores(backend):
    rt = IRRuntime()
    c = rt.ctx()
    rt.env_q[20] = 0x80_7F_FF_01_8000_0102
    c.gen_ld8s_i64(rt.r[0], 20 * 8 + 7)
    c.gen_ld16u_i64(rt.r[1], 20 * 8)
    c.gen_ld32s_i64(rt.r[2], 20 * 8 + 4)
    c.gen_ld_i64(rt.r[3], 20 * 8)
    c.gen_st16_i64(rt.r[3], 21 * 8 + 2)
    c.gen_st_i32(rt.w[0], 22 * 8)
    c.exit_tb(0)
    rt.set(rt.w[0], 0xCAFEF00D)
    rt.run(backend, c)
    assert rt.reg(rt.r[0]) == 0xFFFFFFFFFFFFFF80
    assert rt.reg(rt.r[1]) == 0x0102
    assert rt.reg(rt.r[2]) == 0xFFFFFFFF807FFF01
    assert rt.reg(rt.r[3]) == 0x807FFF0180000102
    assert rt.env_q[21] == 0x0102 << 16
    assert rt.env_q[22] == 0xCAFEF00D


def _loop_program(rt, c):
    """r0 = sum of 1..r1 using a backward branch (unstructured flow)."""
    top = c.label()
    out = c.label()
    c.gen_mov_i64(rt.r[0], 0)
    c.set_label(top)
    c.gen_brcond_i64(rt.r[1], 0, Cond.EQ, out)
    c.gen_add_i64(rt.r[0], rt.r[0], rt.r[1])
    c.gen_sub_i64(rt.r[1], rt.r[1], 1)
    c.br(top)
    c.set_label(out)
    c.exit_tb(0)


def test_backward_branches(backend):
    rt = IRRuntime()
    c = rt.ctx()
    _loop_program(rt, c)
    rt.set(rt.r[1], 100)
    rt.run(backend, c)
    assert rt.reg(rt.r[0]) == 5050


def test_crossing_forward_branches(backend):
    """Branch spans that do not nest: a -> L1 over b -> L2 with L1 < L2."""
    for a, b, expect in ((0, 0, 0b111), (1, 0, 0b100), (0, 1, 0b001), (1, 1, 0b100)):
        rt = IRRuntime()
        c = rt.ctx()
        l1, l2 = c.label(), c.label()
        c.gen_mov_i64(rt.r[3], 0)
        c.gen_brcond_i64(rt.r[0], 0, Cond.NE, l1)
        c.gen_or_i64(rt.r[3], rt.r[3], 1)
        c.gen_brcond_i64(rt.r[1], 0, Cond.NE, l2)
        c.gen_or_i64(rt.r[3], rt.r[3], 2)
        c.set_label(l1)
        c.gen_or_i64(rt.r[3], rt.r[3], 4)
        c.set_label(l2)
        c.exit_tb(0)
        rt.set(rt.r[0], a)
        rt.set(rt.r[1], b)
        rt.run(backend, c)
        assert rt.reg(rt.r[3]) == expect, (a, b)


def test_helper_calls_sync_globals(backend):
    rt = IRRuntime()
    seen = []

    def reads(cpu, x):
        seen.append(cpu.env_q[0])          # r0 must be in env
        return x + 1

    def writes(cpu):
        cpu.env_q[1] = 99                  # r1 must be reloaded afterwards

    c = rt.ctx()
    c.gen_mov_i64(rt.r[0], 7)
    c.call(Helper("reads", reads, I64, (I64,)), [rt.r[2]], [rt.r[0]])
    c.call(Helper("writes", writes, None, (), CallFlags.NO_READ_GLOBALS), [], [])
    c.gen_add_i64(rt.r[3], rt.r[1], 1)
    c.exit_tb(0)
    rt.run(backend, c)
    assert seen == [7]
    assert (rt.reg(rt.r[2]), rt.reg(rt.r[1]), rt.reg(rt.r[3])) == (8, 99, 100)


def test_goto_tb_chains_and_falls_back_to_exit(backend):
    rt = IRRuntime()
    c = rt.ctx()
    c.gen_add_i64(rt.r[0], rt.r[0], 1)
    c.goto_tb(0)
    c.exit_tb(1)
    tb, _ = rt.compile(backend, c, pc=0x1000)
    assert tb.fn() == 1                      # unchained: exit through slot 0
    other = TranslationBlock(0x2000, 0, 0, 0, 0x2000)
    tb.jmp_dest[0] = other
    assert tb.fn() is other                  # chained: the successor is returned
    assert rt.reg(rt.r[0]) == 2              # and globals were stored on both paths


def test_self_chaining_loops_inside_one_call(backend):
    """A goto_tb whose known target is the TB itself keeps running it."""
    rt = IRRuntime()
    c = rt.ctx()
    done = c.label()
    c.gen_brcond_i64(rt.budget, 2, Cond.LTU, done)
    c.gen_sub_i64(rt.budget, rt.budget, 2)
    c.gen_add_i64(rt.r[0], rt.r[0], rt.r[1])
    c.gen_sub_i64(rt.r[1], rt.r[1], 1)
    c.goto_tb(0)
    c.exit_tb(1)
    c.set_label(done)
    c.exit_tb(3)
    tb = TranslationBlock(0x1000, 0, 0, 0, 0x1000)
    tb.jmp_target[0] = 0x1000
    be = make_backend(backend)
    be.compile(tb, c.ops, rt)
    rt.set(rt.r[1], 1000)
    rt.set(rt.budget, 2 * 10)
    if backend in ("python", "llvm"):
        if backend == "python":
            assert "continue" in tb.source
        else:
            assert "br label %top" in tb.llvm_ir     # a native loop
        assert tb.fn() == 3                  # ran 10 iterations, then the budget ran out
    else:
        tb.jmp_dest[0] = tb                  # the interpreter chains through the loop
        r = tb.fn()
        n = 1
        while r is tb:
            r = tb.fn()
            n += 1
        assert r == 3 and n == 11
    assert rt.reg(rt.r[1]) == 990
    assert rt.reg(rt.r[0]) == sum(range(991, 1001))


def test_fault_reports_the_instruction_and_state(backend):
    rt = IRRuntime()
    c = rt.ctx()
    c.insn_start(0x1000, 0)
    c.gen_add_i64(rt.r[0], rt.r[0], 5)
    c.insn_start(0x1004, 0)
    c.gen_qemu_ld_i64(rt.r[1], rt.r[2], MemOpIdx(MemOp.MO_UQ, 0))   # faults
    c.gen_mov_i64(rt.r[0], 1234)
    c.exit_tb(0)
    tb, be = rt.compile(backend, c)
    rt.set(rt.r[2], RAM_SIZE + 0x100)
    with pytest.raises(Fault) as ei:
        tb.fn()
    insn, values = be.restore_point(tb, ei.value)
    assert insn == 1
    if values is None:                       # interpreter: globals live in env
        assert rt.reg(rt.r[0]) == 5
    else:
        by_name = {t.name: v for t, v in values.items()}
        assert by_name["r0"] == 5 and rt.reg(rt.r[0]) == 0


def test_generated_source_is_visible_in_tracebacks():
    import traceback
    rt = IRRuntime()
    c = rt.ctx()
    c.gen_qemu_ld_i64(rt.r[1], rt.r[2], MemOpIdx(MemOp.MO_UQ, 0))
    c.exit_tb(0)
    tb, _ = rt.compile("python", c)
    rt.set(rt.r[2], RAM_SIZE + 8)
    with pytest.raises(Fault) as ei:
        tb.fn()
    text = "".join(traceback.format_exception(ei.value))
    assert "<tcg-tb-1000-" in text and "LD(g_r2, 3, 0)" in text
