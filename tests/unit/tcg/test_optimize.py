"""The optimizer: golden text of each transformation, and random programs
whose behaviour must not change."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rt import IRRuntime

from qemu_py.tcg.ir import I64, CallFlags, Cond, Helper, MemOp, MemOpIdx
from qemu_py.tcg.optimize import optimize
from qemu_py.tcg.printer import format_ops


def opt_text(rt, c):
    return format_ops(optimize(c.ops, c, rt.globals))


def test_constant_folding_and_copy_propagation():
    rt = IRRuntime()
    c = rt.ctx()
    t0, t1, t2 = c.temp_new(), c.temp_new(), c.temp_new()
    c.gen_mov_i64(t0, 6)
    c.gen_mul_i64(t1, t0, 7)            # folds to 42
    c.gen_mov_i64(t2, rt.r[1])          # t2 copies r1
    c.gen_add_i64(rt.r[0], t2, t1)      # uses r1 and $0x2a directly
    c.gen_add_i64(rt.r[2], rt.r[3], 0)  # x + 0 -> mov
    c.gen_xor_i64(rt.r[4], rt.r[5], rt.r[5])   # x ^ x -> 0
    c.exit_tb(0)
    assert opt_text(rt, c) == """\
 add_i64 r0,r1,$0x2a
 mov_i64 r2,r3
 mov_i64 r4,$0x0
 exit_tb $0x0
"""


def test_dead_global_writes_are_removed_unless_an_op_may_raise():
    rt = IRRuntime()
    c = rt.ctx()
    c.insn_start(0x10, 0)
    c.gen_mov_i64(rt.r[0], 1)           # dead: overwritten, nothing in between can fault
    c.insn_start(0x11, 0)
    c.gen_mov_i64(rt.r[0], 2)           # live: the load below may fault
    c.insn_start(0x12, 0)
    c.gen_qemu_ld_i64(rt.r[1], rt.r[2], MemOpIdx(MemOp.MO_UQ, 0))
    c.gen_mov_i64(rt.r[0], 3)
    c.exit_tb(0)
    assert opt_text(rt, c) == """\
 ---- 0000000000000010 0000000000000000
 ---- 0000000000000011 0000000000000000
 mov_i64 r0,$0x2
 ---- 0000000000000012 0000000000000000
 qemu_ld_i64 r1,r2,leq,0
 mov_i64 r0,$0x3
 exit_tb $0x0
"""


def test_constant_branches_and_unreachable_code():
    rt = IRRuntime()
    c = rt.ctx()
    t = c.temp_new()
    lab, lab2 = c.label(), c.label()
    c.gen_mov_i64(t, 0)
    c.gen_brcond_i64(t, 0, Cond.EQ, lab)    # always taken: br to the next label, dropped
    c.gen_mov_i64(rt.r[0], 1)               # unreachable
    c.exit_tb(0)
    c.set_label(lab)
    c.gen_mov_i64(t, 5)
    c.gen_brcond_i64(t, 1, Cond.EQ, lab2)   # never taken: removed with its label
    c.gen_mov_i64(rt.r[0], 2)
    c.set_label(lab2)
    c.exit_tb(0)
    assert opt_text(rt, c) == """\
 mov_i64 r0,$0x2
 exit_tb $0x0
"""


def test_pure_helpers_are_removed_when_unused_but_others_stay():
    rt = IRRuntime()
    c = rt.ctx()
    pure = Helper("pure", lambda cpu, a: a, I64, (I64,), CallFlags.NO_RWG_SE)
    effect = Helper("effect", lambda cpu, a: a, I64, (I64,), CallFlags.NO_RWG)
    t0, t1 = c.temp_new(), c.temp_new()
    c.call(pure, [t0], [rt.r[0]])
    c.call(effect, [t1], [rt.r[0]])
    c.exit_tb(0)
    assert opt_text(rt, c) == """\
 call effect,$0x3,$1,tmp1,r0
 exit_tb $0x0
"""


def test_copies_of_globals_are_dropped_when_a_call_writes_globals():
    rt = IRRuntime()
    c = rt.ctx()
    h = Helper("clobber", lambda cpu: None, None, ())
    t = c.temp_new()
    c.gen_mov_i64(t, rt.r[0])
    c.call(h, [], [])
    c.gen_mov_i64(rt.r[1], t)
    c.exit_tb(0)
    assert opt_text(rt, c) == """\
 mov_i64 tmp0,r0
 call clobber,$0x0,$0
 mov_i64 r1,tmp0
 exit_tb $0x0
"""


OPS2 = ["add", "sub", "mul", "and", "or", "xor", "shl", "shr", "sar", "rotl", "andc"]
_step = st.tuples(st.sampled_from(OPS2 + ["mov", "brskip"]), st.integers(0, 7),
                  st.integers(0, 9), st.integers(0, 9), st.integers(0, 2**64 - 1))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prog=st.lists(_step, min_size=1, max_size=25),
       init=st.lists(st.integers(0, 2**64 - 1), min_size=8, max_size=8))
def test_random_programs_behave_the_same_after_optimization(backend, prog, init):
    results = []
    for do_opt in (False, True):
        rt = IRRuntime()
        c = rt.ctx()
        temps = [c.temp_local() for _ in range(2)]
        pool = [*rt.r, *temps]
        srcs = lambda k, imm, pool=pool: (pool[k] if k < 10 else imm)  # noqa: E731
        for tt in temps:
            c.gen_mov_i64(tt, 3)
        pending = None
        for name, dst, a, b, imm in prog:
            x = srcs(a, imm)
            y = srcs(b, imm & 63) if name in ("shl", "shr", "sar", "rotl") else srcs(b, imm)
            if name in ("shl", "shr", "sar", "rotl") and b < 10:
                y = imm & 63
            d = ([*rt.r, *temps])[dst]
            if name == "mov":
                c.gen_mov_i64(d, x if a < 9 else imm)
            elif name == "brskip":
                if pending is None:
                    pending = c.label()
                    c.gen_brcond_i64(x, imm & 3, Cond.LTU, pending)
            else:
                c.emit(name + "_i64", d, x, y)
        if pending is not None:
            c.set_label(pending)
        c.exit_tb(0)
        ops = optimize(c.ops, c, rt.globals) if do_opt else c.ops
        for k, v in enumerate(init):
            rt.set(rt.r[k], v)
        c.ops = ops
        rt.run(backend, c)
        results.append([rt.reg(r) for r in rt.r])
    assert results[0] == results[1]


def test_nameerror_tmp3_coalesce_keeps_a_temp_read_after_a_conditional_branch(backend):
    """The Linux PVH entry's ``shr ecx, 2; rep movsl``: t = r1 >> 2 moved to r0,
    a brcond on it, then r2 = t - 1 on the fall-through path. Coalescing
    ``t = ...; mov r0, t`` into ``r0 = ...`` dropped t's definition while the
    read after the brcond still named it (NameError: name 'tmp3' in the
    generated code)."""
    rt = IRRuntime()
    c = rt.ctx()
    t = c.temp_new()
    skip = c.label()
    c.gen_shr_i64(t, rt.r[1], 2)
    c.gen_mov_i64(rt.r[0], t)
    c.gen_brcond_i64(t, 0, Cond.EQ, skip)
    c.gen_sub_i64(rt.r[2], t, 1)
    c.exit_tb(0)
    c.set_label(skip)
    c.exit_tb(1)
    c.ops = optimize(c.ops, c, rt.globals)
    defined = {id(g) for g in rt.globals.by_name.values()}
    for op in c.ops:
        for a in op.args[op.nb_oargs:op.nb_oargs + op.nb_iargs]:
            assert a.is_const or id(a) in defined, f"{format_ops([op])} reads an undefined temp"
        defined.update(id(a) for a in op.args[:op.nb_oargs])
    rt.set(rt.r[1], 0x40)
    rt.run(backend, c)
    assert (rt.reg(rt.r[0]), rt.reg(rt.r[2])) == (0x10, 0xF)
