"""The IR interpreter: the reference backend.

It executes a TB's ops one by one. Globals are read and written directly in
the CPU state (``env``), temporaries live in a per-execution list, pure ops
are evaluated by :func:`qemu_py.tcg.semantics.evaluate` (the same function
the optimizer folds constants with), and guest memory goes through the
softmmu slow path. It favours obviousness over speed; the Python-code
backend is checked against it.

When an op raises, the index of the current guest instruction (the last
``insn_start`` passed) is attached to the exception as ``tcg_insn`` so that
the execution loop can restore that instruction's state; globals are
already in ``env`` and were not yet written by the faulting instruction.
"""

from __future__ import annotations

from .ir import MASK, Cond, IRError, Label, MemOp, TempKind, eval_cond
from .semantics import PURE_BASES, evaluate
from .tb import Runtime, TranslationBlock

# op kinds of the preprocessed program
(K_PURE, K_LD, K_ST, K_QLD, K_QST, K_BR, K_BRCOND, K_LABEL, K_CALL, K_INSN, K_GOTO_TB,
 K_EXIT, K_LOOKUP, K_NOP) = range(14)

_LD_SIZE = {"ld8u": (1, False), "ld8s": (1, True), "ld16u": (2, False), "ld16s": (2, True),
            "ld32u": (4, False), "ld32s": (4, True)}
_ST_SIZE = {"st8": 1, "st16": 2, "st32": 4}


def _sext(v: int, bits: int) -> int:
    sign = 1 << (bits - 1)
    return (v ^ sign) - sign


class InterpBackend:
    name = "interp"

    def __init__(self):
        pass

    # -- preprocessing ------------------------------------------------------------
    def compile(self, tb: TranslationBlock, ops: list, rt: Runtime) -> None:
        slots: dict[int, int] = {}
        template: list[int] = []

        def loc(t):
            if t.kind == TempKind.GLOBAL:
                return -1 - (t.offset >> 3)
            s = slots.get(id(t))
            if s is None:
                s = slots[id(t)] = len(template)
                template.append(t.value if t.kind == TempKind.CONST else 0)
            return s

        prog = []
        label_pc: dict[int, int] = {}
        insn = -1
        for op in ops:
            d = op.opdef
            base = d.base
            outs = [loc(t) for t in op.args[:op.nb_oargs]]
            ins = [loc(t) for t in op.args[op.nb_oargs:op.nb_oargs + op.nb_iargs]]
            cargs = op.args[op.nb_oargs + op.nb_iargs:]
            if base in PURE_BASES:
                mask = MASK[d.type] if d.type is not None else MASK[op.args[0].type]
                prog.append((K_PURE, base, d.type, outs, ins, list(cargs), mask))
            elif base in ("ld8u", "ld8s", "ld16u", "ld16s", "ld32u", "ld32s", "ld"):
                size, sign = _LD_SIZE.get(base, (8 if d.type.name == "I64" else 4, False))
                prog.append((K_LD, outs[0], cargs[0], size, sign, MASK[d.type]))
            elif base in ("st8", "st16", "st32", "st"):
                size = _ST_SIZE.get(base, 8 if d.type.name == "I64" else 4)
                prog.append((K_ST, ins[0], cargs[0], size))
            elif base == "qemu_ld":
                oi = cargs[0]
                prog.append((K_QLD, outs[0], ins[0], oi.memop, oi.mmu_idx, MASK[d.type]))
            elif base == "qemu_st":
                oi = cargs[0]
                prog.append((K_QST, ins[0], ins[1], oi.memop, oi.mmu_idx))
            elif base == "br":
                prog.append((K_BR, cargs[0].id))
            elif base == "brcond":
                prog.append((K_BRCOND, ins[0], ins[1], Cond(cargs[0]), cargs[1].id, d.type))
            elif base == "set_label":
                label_pc[cargs[0].id] = len(prog)
                prog.append((K_LABEL,))
            elif base == "call":
                h = cargs[0]
                masks = [MASK[t.type] for t in op.args[:op.nb_oargs]]
                prog.append((K_CALL, h, outs, ins, masks))
            elif base == "insn_start":
                insn += 1
                prog.append((K_INSN, insn))
            elif base == "goto_tb":
                prog.append((K_GOTO_TB, cargs[0]))
            elif base == "exit_tb":
                prog.append((K_EXIT, cargs[0]))
            elif base == "lookup_and_goto_ptr":
                prog.append((K_LOOKUP,))
            elif base in ("mb", "discard"):
                prog.append((K_NOP,))
            else:
                raise IRError(f"interpreter: no lowering for op {d.name} (a backend bug)")
        # resolve label ids to program positions
        resolved = []
        for p in prog:
            if p[0] == K_BR:
                p = (K_BR, label_pc[p[1]])
            elif p[0] == K_BRCOND:
                p = (K_BRCOND, p[1], p[2], p[3], label_pc[p[4]], p[5])
            resolved.append(p)
        tb.ops = ops
        tb.fn = _make_runner(resolved, template, rt, tb)

    def restore_point(self, tb: TranslationBlock, exc: BaseException):
        """(instruction index, globals to write back or None) for EXC raised in TB."""
        return getattr(exc, "tcg_insn", -1), None


def _make_runner(prog, template, rt: Runtime, tb: TranslationBlock):
    env = rt.env_q
    envb = rt.env_b
    cpu = rt.cpu
    jmp_dest = tb.jmp_dest

    def get(t, a):
        return t[a] if a >= 0 else env[-1 - a]

    def put(t, a, v):
        if a >= 0:
            t[a] = v
        else:
            env[-1 - a] = v

    def run():
        t = list(template)
        pc = 0
        insn = -1
        try:
            while True:
                p = prog[pc]
                pc += 1
                k = p[0]
                if k == K_PURE:
                    _, base, type_, outs, ins, cargs, mask = p
                    vals = evaluate(base, type_, [get(t, a) for a in ins], cargs)
                    for o, v in zip(outs, vals):
                        put(t, o, v)
                elif k == K_INSN:
                    insn = p[1]
                elif k == K_QLD:
                    _, o, a, memop, mmu_idx, mask = p
                    v = rt.ld_slow(get(t, a), memop, mmu_idx)
                    if memop & MemOp.MO_SIGN:
                        v = _sext(v, 8 << (memop & 3)) & mask
                    put(t, o, v & mask)
                elif k == K_QST:
                    _, v, a, memop, mmu_idx = p
                    size = 1 << (memop & 3)
                    rt.st_slow(get(t, a), get(t, v) & ((1 << (8 * size)) - 1), memop, mmu_idx)
                elif k == K_BRCOND:
                    _, a, b, cond, target, type_ = p
                    if eval_cond(cond, get(t, a), get(t, b), type_):
                        pc = target
                elif k == K_BR:
                    pc = p[1]
                elif k == K_LABEL or k == K_NOP:
                    pass
                elif k == K_CALL:
                    _, h, outs, ins, masks = p
                    args = [get(t, a) for a in ins]
                    r = h.func(cpu, *args) if h.pass_cpu else h.func(*args)
                    if outs:
                        put(t, outs[0], r & masks[0])
                elif k == K_LD:
                    _, o, off, size, sign, mask = p
                    v = int.from_bytes(envb[off:off + size], "little")
                    if sign:
                        v = _sext(v, 8 * size) & mask
                    put(t, o, v)
                elif k == K_ST:
                    _, v, off, size = p
                    envb[off:off + size] = (get(t, v) & ((1 << (8 * size)) - 1)).to_bytes(
                        size, "little")
                elif k == K_GOTO_TB:
                    nxt = jmp_dest[p[1]]
                    if nxt is not None:
                        return nxt
                elif k == K_EXIT:
                    return p[1]
                elif k == K_LOOKUP:
                    return rt.lookup_tb()
                else:
                    raise AssertionError(f"bad interpreter op kind {k}")
        except Exception as e:
            if not hasattr(e, "tcg_insn"):
                e.tcg_insn = insn
            raise

    run.__qualname__ = f"interp_tb_{tb.pc:x}"
    return run


__all__ = ["InterpBackend", "Label"]
