"""Self-looping TBs (a guest loop inside one TB): the Python backend runs a
peeled first pass and a specialised loop body (qemu_py/tcg/selfloop.py).
Every guest-visible rule is checked against the IR interpreter, which runs
the same loop one TB execution at a time through the engine's chaining:
instruction budgets ending anywhere in the loop, flags whose inputs were
sunk to the loop exits, exit requests from device code, stores into the loop
body (by the CPU and from outside), precise faults in the middle of a pass.

Guest code is given as bytes (disassembly alongside) so no assembler runs.
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "target", "i386"))

from harness import CODE, X86Bed  # noqa: E402

from qemu_py.memory import MemoryRegion, MemoryRegionOps  # noqa: E402
from qemu_py.target.i386.state import CR2  # noqa: E402
from qemu_py.tcg.interp import InterpBackend  # noqa: E402
from qemu_py.tcg.ir import Cond, MemOp, MemOpIdx  # noqa: E402
from qemu_py.tcg.pybackend import PyBackend  # noqa: E402
from qemu_py.tcg.selfloop import plan_self_loop  # noqa: E402
from qemu_py.tcg.tb import TranslationBlock  # noqa: E402
from rt import IRRuntime  # noqa: E402

# 1: add rsi, rcx; lea edi, [rcx+rcx*2]; xor eax, edi; add ecx, 1; cmp ecx, edx; jne 1b; hlt
COUNT = bytes.fromhex("4801ce 8d3c49 31f8 83c101 39d1 75f1 f4")
# 1: add rsi, rax; xor rax, rdx; rol rsi, 7; lea rax, [rsi+rax+3]; dec rdx; jnz 1b; hlt
MIX = bytes.fromhex("4801c6 4831d0 48c1c607 488d440603 48ffca 75ec f4")
# 1: add rsi, rcx; shr rax, 1; jnz 1b; hlt      (leaves on a value that is not a counter)
SHIFT = bytes.fromhex("4801ce 48d1e8 75f8 f4")
# 1: add eax, 1; mov byte ptr [rip-8], 5 (the add's immediate); dec ecx; jnz 1b; hlt
SMC = bytes.fromhex("83c001 c605f8ffffff05 ffc9 75f2 f4")
# 1: add eax, 1; out 0xe8, al; dec ecx; jnz 1b; hlt
OUT_LOOP = bytes.fromhex("83c001 e6e8 ffc9 75f7 f4")
# 1: add rsi, rcx; mov rdi, [rbx]; add rbx, 0x1000; dec ecx; jnz 1b; hlt
LOAD_LOOP = bytes.fromhex("4801ce 488b3b 4881c300100000 ffc9 75ef f4")


def _loop_tb(bed):
    return bed.cpu.engine.jmp_cache.get(CODE)


def _sliced_run(backend, code, regs, slices):
    """Run CODE with exact instruction budgets; the state after every slice."""
    bed = X86Bed(backend)
    bed.cpu.icount_exact = True
    bed.load(code)
    for k, v in regs.items():
        bed.set(k, v)
    seen = []
    i = 0
    while not bed.cpu.halted:
        n = bed.cpu.exec(slices[i % len(slices)])
        i += 1
        seen.append((n, bed.state()))
    return bed, seen


@pytest.mark.parametrize("code,regs", [
    (COUNT, dict(rdx=500, rax=0x9E3779B97F4A7C15, rcx=0xFFFF_FFFF_0000_0000)),
    (MIX, dict(rdx=400, rax=0x9E3779B97F4A7C15, rsi=1)),
], ids=["count", "mix"])
def test_budgets_ending_anywhere_in_the_loop_stop_at_the_exact_instruction(code, regs):
    slices = [7, 13, 1, 37, 600, 5, 2]
    bed, python = _sliced_run("python", code, regs, slices)
    _, interp = _sliced_run("interp", code, regs, slices)
    assert python == interp                   # registers, rip and flags after every slice
    tb = _loop_tb(bed)
    assert tb is not None and tb.icount == 6 and "while True:" in tb.source


def test_flags_computed_only_at_the_loop_exits_are_exact():
    """The mix loop's cc_dst/cc_src are sunk out of the loop body: every way
    out (budget at the back edge, the loop's end) still gives exact flags."""
    bed, python = _sliced_run("python", MIX, dict(rdx=3000, rsi=5), [4099, 6, 6, 11])
    _, interp = _sliced_run("interp", MIX, dict(rdx=3000, rsi=5), [4099, 6, 6, 11])
    assert [s["rflags"] for _, s in python] == [s["rflags"] for _, s in interp]
    assert python == interp
    loop_body = _loop_tb(bed).source.split("while True:")[1]
    assert "g_cc_dst = g_rdx" in loop_body.split("if not (g_rdx):")[1]   # at the exit only


@pytest.mark.parametrize("passes", [41, 42, 43, 44, 45, 46, 47, 48])
def test_a_loop_leaving_in_any_unrolled_pass_retires_exactly_its_instructions(passes):
    """Pure loop bodies run several passes per budget check; leaving the loop in
    any of them gives back the budget taken ahead for the others."""
    runs = []
    for backend in ("interp", "python"):
        bed = X86Bed(backend)
        bed.load(SHIFT)
        bed.set("rax", (1 << passes) - 1)
        bed.set("rcx", 3)
        n = bed.cpu.exec(100000)
        runs.append((n, bed.state()))
    assert runs[0] == runs[1] and runs[0][0] == 3 * passes + 1
    assert "if g_budget >= 24:" in _loop_tb(bed).source      # 8 passes per check


@pytest.mark.parametrize("code,regs,passes,guard", [
    (MIX, dict(rdx=45), 45, "g_rdx > 8"),                          # counts down to zero
    (MIX, dict(rdx=48), 48, "g_rdx > 8"),
    (COUNT, dict(rcx=0xFFFF_FFF0, rdx=5), 0x15, "(tmp12 - g_rcx) & 0xffffffff > 8"),  # wraps
    (COUNT, dict(rcx=7, rdx=7 + 40), 40, "(tmp12 - g_rcx) & 0xffffffff > 8"),
], ids=["down-45", "down-48", "up-wrapping", "up-40"])
def test_counter_tests_are_skipped_only_in_rounds_that_cannot_leave(code, regs, passes, guard):
    """A round of passes without the loop counter's test runs only when the
    counter's head value shows none of them can leave through it."""
    runs = []
    for backend in ("interp", "python"):
        bed = X86Bed(backend)
        bed.load(code)
        for k, v in regs.items():
            bed.set(k, v)
        n = bed.cpu.exec(100000)
        runs.append((n, bed.state()))
    assert runs[0] == runs[1] and runs[0][0] == 6 * passes + 1
    assert guard in _loop_tb(bed).source


def _bed_with_port(backend, on_write):
    bed = X86Bed(backend)
    ops = MemoryRegionOps(read=lambda off, size: 0, write=lambda off, v, size: on_write(bed, v),
                          valid_min=1, valid_max=4, impl_min=1, impl_max=4)
    bed.io_root.add_subregion(0xE8, MemoryRegion.io("loop-test", 4, ops))
    return bed


@pytest.mark.parametrize("backend", ["interp", "python"])
def test_an_exit_request_from_device_code_ends_the_loop_at_that_pass(backend):
    def on_write(bed, v):
        if v == 3:
            bed.cpu.request_exit()            # a timer firing, an interrupt being raised
    bed = _bed_with_port(backend, on_write)
    bed.load(OUT_LOOP)
    bed.set("rcx", 100)
    n = bed.cpu.exec(10000)
    assert n == 3 * 4                        # the third pass finishes, no fourth starts
    assert bed.cpu.gpr(0) == 3 and bed.cpu.gpr(1) == 97 and bed.env[16] == CODE
    assert bed.cpu.exec(10000) == 97 * 4 + 1 and bed.cpu.halted


@pytest.mark.parametrize("backend", ["interp", "python"])
def test_a_store_into_the_loop_body_takes_effect_on_the_next_pass(backend):
    bed = X86Bed(backend)
    bed.run(code=SMC, rcx=4)
    assert bed.cpu.gpr(0) == 1 + 3 * 5       # "add eax, 1" became "add eax, 5" after pass 1
    assert bed.cpu.engine.invalidations >= 1


@pytest.mark.parametrize("backend", ["interp", "python"])
def test_a_foreign_write_into_the_running_loop_takes_effect_on_the_next_pass(backend):
    def on_write(bed, v):
        if v == 3:                           # device code (DMA-like) patches the loop
            bed.write(CODE + 2, b"\x05")     # the memory API write + code invalidation
    bed = _bed_with_port(backend, on_write)
    bed.run(code=OUT_LOOP, rcx=6)
    assert bed.cpu.gpr(0) == 3 + 3 * 5
    if backend == "python":
        assert "TB.invalid" in _loop_tb(bed).source


@pytest.mark.parametrize("backend", ["interp", "python"])
def test_a_page_fault_in_a_later_pass_restores_that_instruction_exactly(backend):
    bed = X86Bed(backend)
    bed.wq(bed.pte_addr(0x3FF000), 0)
    bed.cpu.tlb_flush()
    bed.load(LOAD_LOOP)
    bed.set("rbx", 0x3FC000)
    bed.set("rcx", 10)
    bed.cpu.exec(1000)
    assert bed.exception_vector() == 14 and bed.env[CR2] == 0x3FF000
    rsp = bed.cpu.gpr(4)
    err, rip, cs, rflags, old_rsp = (bed.rq(rsp + 8 * i) for i in range(5))
    assert rip == CODE + 3                   # the load of the fourth pass
    st = bed.state()
    assert (st["rsi"], st["rbx"], st["rcx"]) == (10 + 9 + 8 + 7, 0x3FF000, 7)
    assert rflags & 0x8D5 == 0x14            # of the fourth pass's "add rsi, rcx" (27 + 7): AF, PF


# -- the plan itself, on IR --------------------------------------------------------------------


def _ir_loop(rt, with_load=False):
    """budget prologue; r0 += r1; flag-like r5 = r0 - r2; r6 = 7; r1 -= 1; jnz-like exit."""
    c = rt.ctx()
    done, back = c.label(), c.label()
    c.gen_brcond_i64(rt.budget, 3, Cond.LTU, done)
    c.gen_sub_i64(rt.budget, rt.budget, 3)
    c.insn_start(0x1000, 0)
    c.gen_add_i64(rt.r[0], rt.r[0], rt.r[1])
    if with_load:
        c.gen_qemu_ld_i64(rt.r[3], rt.r[4], MemOpIdx(MemOp.MO_UQ, 0))
    c.insn_start(0x1004, 0)
    c.gen_sub_i64(rt.r[5], rt.r[0], rt.r[2])
    c.gen_mov_i64(rt.r[6], 7)
    c.insn_start(0x1008, 0)
    c.gen_sub_i64(rt.r[1], rt.r[1], 1)
    c.gen_brcond_i64(rt.r[1], 0, Cond.NE, back)
    c.goto_tb(0)
    c.exit_tb(1)
    c.set_label(back)
    c.goto_tb(1)
    c.exit_tb(2)
    c.set_label(done)
    c.exit_tb(3)
    return c


def _plan(rt, c):
    target = [i for i, op in enumerate(c.ops) if op.opdef.base == "goto_tb"][1]
    return plan_self_loop(c.ops, target, rt.budget, {id(t) for t in rt.globals.temps})


def test_plan_drops_invariant_defs_sinks_dead_ones_and_knows_the_counter_bound():
    rt = IRRuntime()
    c = _ir_loop(rt)
    plan = _plan(rt, c)
    assert [op.args[0].name for op in plan.sunk] == ["r5"]
    assert id(rt.r[6]) in plan.invariant
    assert plan.lower[id(rt.r[1])] == 1 and plan.lower[id(rt.budget)] == 3
    assert plan.ops[0].opdef.base == "sub"             # no prologue branch in the loop body


def test_nothing_is_sunk_past_an_op_that_may_fault():
    rt = IRRuntime()
    plan = _plan(rt, _ir_loop(rt, with_load=True))
    assert plan.sunk == [] and id(rt.r[6]) in plan.invariant


@pytest.mark.parametrize("budget", [0, 2, 3, 4, 9, 3 * 40, 3 * 41 + 2])
def test_ir_self_loop_matches_the_interpreter_for_any_budget(budget):
    results = []
    for backend in ("interp", "python"):
        rt = IRRuntime()
        c = _ir_loop(rt)
        tb = TranslationBlock(0x1000, 0, 0, 0, 0x1000)
        tb.jmp_target[1] = 0x1000
        tb.jmp_dest[1] = tb if backend == "interp" else None   # the interpreter chains
        (InterpBackend() if backend == "interp" else PyBackend()).compile(tb, c.ops, rt)
        rt.set(rt.r[1], 40)
        rt.set(rt.r[2], 5)
        rt.set(rt.budget, budget)
        r = tb.fn()
        while r is tb:
            r = tb.fn()
        results.append((r, [rt.reg(t) for t in rt.r], rt.reg(rt.budget)))
    assert results[0] == results[1]

