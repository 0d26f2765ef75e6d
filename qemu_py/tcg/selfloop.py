"""Self-loop specialisation: the loop body a backend runs after a TB's first pass.

A TB whose ``goto_tb`` jumps back to its own start (a guest loop that fits in
one TB) is run by the Python backend as its first iteration, the *peeled*
pass, followed by a loop over a *specialised* copy of the body. The peeled
pass enters the loop only through that ``goto_tb``, so the loop body may
assume what holds there (:func:`plan_self_loop` computes it) instead of
nothing:

* **facts at the back edge**: bits known to be zero in each value (e.g. a
  32-bit induction variable), and lower bounds taken from the branch that led
  to the back edge (``jnz`` after ``dec`` leaves the counter >= 1), so zero
  extensions and wrap-around masks become plain copies;
* **invariant definitions** are dropped: a pure op whose inputs are never
  written in the body, which is the only definition of its output and runs
  on every path to the back edge, already left its value in place during the
  peeled pass (flag bookkeeping such as ``cc_op = 0x10``, ``ext32u t, rdx``);
* **sunk definitions**: a pure op whose result is read by no op of the body
  (only by the TB's exits, which store every global), whose inputs are not
  written after it, and which runs before every exit, is computed only where
  the loop is left (dead condition-code inputs such as ``cc_dst = rcx -
  rdx``). Only done when nothing in the body may raise or call out, so the
  state seen by a fault or a helper never lacks a sunk value.

The instruction budget check moves to the back edge: the loop is left, with
EXIT_REQUESTED, when the budget cannot pay for another iteration, exactly as
the TB's own prologue would on re-entry. The budget global is reloaded after
anything with side effects, as everywhere, so exit requests and interrupts
are seen on every iteration.
"""

from __future__ import annotations

from .ir import Cond, OpFlags, TempKind
from .optimize import _zmask_of
from .semantics import PURE_BASES

_NO_MOVE = frozenset(["div", "divu", "rem", "remu", "mulu2", "muls2", "add2", "sub2"])
_EXITS = ("exit_tb", "goto_tb", "lookup_and_goto_ptr")
UNROLL = 4                 # passes per budget check in a pure loop body
UNROLL_MAX_OPS = 48        # (twice as many for bodies of at most UNROLL_SMALL_OPS ops)
UNROLL_SMALL_OPS = 24


class LoopPlan:
    """What a backend needs to emit the specialised loop body.

    ``ops``: the body (prologue branch, invariant and sunk ops removed);
    ``sunk``: ops to evaluate, in order, where the loop is left;
    ``unroll``: passes run per budget check (the fast path when the budget
    covers them all; an exit from an earlier pass gives back what it took
    ahead for the later ones); ``guard``: the loop counter's test, skipped in
    a round of passes when the head value of the counter shows that none of
    them can leave through it;
    ``invariant``: ids of the results the peeled pass must leave in locals;
    ``zmask``/``lower``: id(temp) -> possibly-set bits / unsigned lower bound
    at the loop head; ``budget``/``icount``: the budget global and the TB's
    instruction count.
    """

    def __init__(self, ops, sunk, zmask, lower, budget, icount, invariant):
        self.ops = ops
        self.invariant = invariant      # ids of the temps invariant ops leave in place
        self.sunk = sunk
        self.zmask = zmask
        self.lower = lower
        self.budget = budget
        self.icount = icount
        self.unroll = 1                 # passes per budget check
        self.guard = None               # (brcond, x, lim, step, width): see _counter_guard


def _ins(op):
    return op.args[op.nb_oargs:op.nb_oargs + op.nb_iargs]


def _outs(op):
    return op.args[:op.nb_oargs]


def _is_temp(t) -> bool:
    return getattr(t, "kind", None) in (TempKind.GLOBAL, TempKind.EBB, TempKind.TB)


def _movable(op) -> bool:
    b = op.opdef.base
    return b in PURE_BASES and b not in _NO_MOVE and op.nb_oargs == 1


def _merge(a, b):
    if a is None:
        return b
    if b is None:
        return a
    za, la = a
    zb, lb = b
    z = {k: za[k] | zb[k] for k in za.keys() & zb.keys()}
    lo = {k: min(la[k], lb[k]) for k in la.keys() & lb.keys()}
    return z, lo


def backedge_facts(ops, target: int, globals_ids: set):
    """(zmask, lower) holding whenever ops[TARGET] (a goto_tb) is reached, for
    any state on entry. Forward pass over forward-only ops; facts from both
    sides of a branch are merged at its label."""
    state = ({}, {})
    pending: dict[int, tuple] = {}
    found = None
    for i, op in enumerate(ops):
        b = op.opdef.base
        if b == "set_label":
            state = _merge(state, pending.pop(op.args[0].id, None))
            continue
        if state is None:
            continue
        z, lo = state
        if i == target:
            found = _merge(found, (dict(z), dict(lo)))
        if b in ("brcond", "br"):
            lab = op.args[-1].id
            if b == "br":
                pending[lab] = _merge(pending.get(lab), (dict(z), dict(lo)))
                state = None
                continue
            x, y, cond = op.args[0], op.args[1], Cond(op.args[2])
            taken = (dict(z), dict(lo))
            fall = (z, lo)
            if _is_temp(x) and y.is_const:
                c = y.value
                if cond == Cond.NE and c == 0 or cond == Cond.GTU:
                    taken[1][id(x)] = c + 1 if cond == Cond.GTU else 1
                elif cond == Cond.GEU or (cond == Cond.EQ and c > 0):
                    taken[1][id(x)] = c
                elif cond == Cond.LTU:
                    fall[1][id(x)] = c
                elif cond == Cond.EQ and c == 0:
                    fall[1][id(x)] = 1
                elif cond == Cond.LEU:
                    fall[1][id(x)] = c + 1
            pending[lab] = _merge(pending.get(lab), taken)
            continue
        if b in ("exit_tb", "lookup_and_goto_ptr"):
            state = None
            continue
        if b == "discard":
            z.pop(id(op.args[0]), None)
            lo.pop(id(op.args[0]), None)
            continue
        if b == "call" and not op.args[-1].flags & 2:
            for k in globals_ids:
                z.pop(k, None)
                lo.pop(k, None)
        for t in _outs(op):
            lo.pop(id(t), None)
            z.pop(id(t), None)
        if op.nb_oargs == 1 and b in PURE_BASES and op.opdef.type is not None:
            d = op.args[0]
            z[id(d)] = _zmask_of(op, lambda t, m, z=z: t.value if t.is_const else z.get(id(t), m))
        elif b == "qemu_ld" and not op.args[2].memop & 4:
            z[id(op.args[0])] = (1 << (8 << (op.args[2].memop & 3))) - 1
    return found if found is not None else ({}, {})


def _dominates(ops, i: int, j: int) -> bool:
    """ops[i] runs on every path from the TB start to ops[j] (i < j): no branch
    before i lands strictly after i and at or before j."""
    pos = {}
    for k, op in enumerate(ops):
        if op.opdef.base == "set_label":
            pos[op.args[0].id] = k
    for k in range(i):
        op = ops[k]
        if op.opdef.base in ("br", "brcond"):
            q = pos[op.args[-1].id]
            if i < q <= j:
                return False
    return True


def plan_self_loop(ops, target: int, budget, globals_ids: set) -> LoopPlan | None:
    """The loop plan for OPS whose ops[TARGET] is the goto_tb back to the TB
    start, or None when the TB does not start with the budget prologue
    (``brcond budget, N, ltu`` / ``sub budget, budget, N``)."""
    if (len(ops) < 2 or ops[0].opdef.base != "brcond" or ops[0].args[0] is not budget
            or not ops[0].args[1].is_const or Cond(ops[0].args[2]) != Cond.LTU
            or ops[1].opdef.base != "sub" or ops[1].args[0] is not budget
            or ops[1].args[1] is not budget or not ops[1].args[2].is_const
            or ops[1].args[2].value != ops[0].args[1].value):
        return None
    icount = ops[0].args[1].value
    prologue_label = ops[0].args[-1].id
    if any(op.opdef.base in ("br", "brcond") and op.args[-1].id == prologue_label
           for op in ops[1:]):
        return None
    zmask, lower = backedge_facts(ops, target, globals_ids)
    lower[id(budget)] = icount          # the back edge checks the budget
    # the loop body: no prologue branch, no unreachable tail after the back edge
    body = []
    skip = False
    for k in range(1, len(ops)):
        b = ops[k].opdef.base
        if b == "set_label":
            skip = ops[k].args[0].id == prologue_label   # the prologue's exit block
            if skip:
                continue
        if not skip:
            body.append(k)
        if k == target:
            skip = True
    writes: dict[int, list[int]] = {}
    calls_write_globals = False
    pure_body = True
    exits = []
    for k in body:
        op = ops[k]
        b = op.opdef.base
        if b != "discard":               # a discarded value is never read: no write
            for t in _outs(op):
                writes.setdefault(id(t), []).append(k)
        if b == "call":
            h = op.args[-1]
            if not h.flags & 2:
                calls_write_globals = True
            if (h.flags & 3) != 3:
                pure_body = False
        if op.opdef.flags & OpFlags.MAY_RAISE or b in ("qemu_ld", "qemu_st"):
            pure_body = False
        if b in _EXITS and k != target:
            exits.append(k)

    def written(t) -> bool:
        if not _is_temp(t):
            return False
        if t.kind == TempKind.GLOBAL and calls_write_globals:
            return True
        return id(t) in writes

    # invariant definitions
    invariant: set[int] = set()
    drop: set[int] = set()
    for k in body:
        op = ops[k]
        if not _movable(op) or k > target:
            continue
        d = op.args[0]
        if d is budget or len(writes.get(id(d), ())) != 1:
            continue
        if d.kind == TempKind.GLOBAL and calls_write_globals:
            continue
        if all(not _is_temp(t) or not written(t) or id(t) in invariant for t in _ins(op)) \
                and _dominates(ops, k, target):
            invariant.add(id(d))
            drop.add(k)
    # sunk definitions
    sunk: set[int] = set()
    if pure_body:
        first_exit = min(exits + [target])
        for k in body:
            op = ops[k]
            if k in drop or not _movable(op) or k > first_exit:
                continue
            d = op.args[0]
            if d is budget or len(writes.get(id(d), ())) != 1:
                continue
            if any(_is_temp(t) and any(w > k for w in writes.get(id(t), ())) for t in _ins(op)):
                continue
            if all(_dominates(ops, k, e) for e in exits + [target]):
                sunk.add(k)
        changed = True
        while changed:                  # a sunk result is read only by later sunk ops
            changed = False
            for k in sorted(sunk):
                d = ops[k].args[0]
                for j in body:
                    if any(t is d for t in _ins(ops[j])) and (j not in sunk or j <= k):
                        sunk.discard(k)
                        changed = True
                        break
    out = [ops[k] for k in body if k not in drop and k not in sunk]
    plan = LoopPlan(out, [ops[k] for k in sorted(sunk)], zmask, lower, budget, icount,
                    invariant)
    if pure_body and out[-1] is ops[target] and len(out) <= UNROLL_MAX_OPS:
        plan.unroll = UNROLL if len(out) > UNROLL_SMALL_OPS else 2 * UNROLL
        plan.guard = _counter_guard(ops, body, writes, target, invariant, zmask, out)
    return plan


def _single_def(ops, body, writes, t):
    ks = writes.get(id(t), ())
    return ops[ks[0]] if len(ks) == 1 and ops[ks[0]].nb_oargs == 1 else None


def _counter_guard(ops, body, writes, target, invariant, zmask, out):
    """The loop's counter test, when the number of passes it lets through can be
    told at the loop head: ``brcond x, lim, ne`` continuing the loop, where x
    is a global stepped by +1 or -1 (modulo 2**32 or 2**64) exactly once per
    pass, before the test, and lim does not change in the loop. Returns
    (brcond op, x, lim, step, width) or None."""
    in_out = {id(op) for op in out}
    for k in body:
        op = ops[k]
        if (op.opdef.base != "brcond" or id(op) not in in_out or Cond(op.args[2]) != Cond.NE
                or op.args[0].kind != TempKind.GLOBAL):
            continue
        x, lim = op.args[0], op.args[1]
        if _is_temp(lim) and id(lim) in writes and id(lim) not in invariant:
            continue
        w_op = _single_def(ops, body, writes, x)
        if w_op is None:
            continue
        wk = writes[id(x)][0]
        if wk > k or not _dominates(ops, wk, target):
            continue
        step = _step_of(ops, body, writes, w_op, x)
        if step is None:
            continue
        c, width = step
        if width == 32 and zmask.get(id(x), -1) & ~0xFFFF_FFFF:
            continue                    # the head value may not be a 32-bit one
        return op, x, lim, c, width
    return None


def _step_of(ops, body, writes, w_op, x):
    """(+1 or -1, width) when W_OP computes x +- 1 modulo 2**width."""
    b = w_op.opdef.base
    if b in ("add", "sub") and w_op.args[1] is x and w_op.args[2].is_const:
        width = 64 if w_op.opdef.type.name == "I64" else 32
        c = w_op.args[2].value
        c = c if b == "add" else -c
        c = (c + (1 << (width - 1))) % (1 << width) - (1 << (width - 1))
        return (c, width) if c in (1, -1) else None
    if b == "ext32u" or (b == "and" and w_op.args[2].is_const
                         and w_op.args[2].value == 0xFFFF_FFFF):
        t_op = _single_def(ops, body, writes, w_op.args[1])
        if t_op is None or t_op.opdef.base not in ("add", "sub") or not t_op.args[2].is_const:
            return None
        src = t_op.args[1]
        if src is not x:
            s_op = _single_def(ops, body, writes, src)
            if s_op is None or s_op.args[1] is not x or not (
                    s_op.opdef.base in ("mov", "ext32u") or (
                        s_op.opdef.base == "and" and s_op.args[2].is_const
                        and s_op.args[2].value == 0xFFFF_FFFF)):
                return None
        c = t_op.args[2].value if t_op.opdef.base == "add" else -t_op.args[2].value
        c = (c + (1 << 31)) % (1 << 32) - (1 << 31)
        return (c, 32) if c in (1, -1) else None
    return None


__all__ = ["LoopPlan", "plan_self_loop", "backedge_facts"]
