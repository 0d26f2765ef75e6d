"""IR optimizer: constant folding, copy propagation, dead code elimination.

``optimize(ops)`` returns a new op list with the same behaviour:

1. *Forward pass* (per extended basic block; knowledge is dropped at labels):
   inputs are replaced by the value they are known to copy (a constant or an
   older temporary/global), pure ops whose inputs are all constant become
   ``mov`` of the folded value, a few identities are simplified (``x+0``,
   ``x&-1``, ``x*1``, ``x^x``, ...), and conditional branches on constants
   become ``br`` or disappear. A global's copies are forgotten when it is
   written or when a call may write globals.
2. *Unreachable code* after ``br``/``exit_tb``/``lookup_and_goto_ptr`` up to
   the next referenced label is removed.
3. *Backward liveness* over basic blocks (iterated to a fixed point):
   pure ops and side-effect-free helper calls whose outputs are dead are
   removed. Every global is live at TB exits, at ``goto_tb``, before ops that
   may raise (``qemu_ld``/``qemu_st``) and before calls that read or write
   globals, so a faulting instruction always finds the state of its start.
"""

from __future__ import annotations

from .ir import MASK, OPS, CallFlags, Cond, Op, OpFlags, TempKind, eval_cond
from .semantics import PURE_BASES, evaluate

# flags as plain ints (IntFlag arithmetic is slow and runs for every op translated)
_BB_END, _MAY_RAISE, _SIDE_EFFECTS = int(OpFlags.BB_END), int(OpFlags.MAY_RAISE), \
    int(OpFlags.SIDE_EFFECTS)
_NO_WRITE_GLOBALS, _NO_SIDE_EFFECTS, _NO_RWG = int(CallFlags.NO_WRITE_GLOBALS), \
    int(CallFlags.NO_SIDE_EFFECTS), int(CallFlags.NO_RWG)


def optimize(ops: list[Op], ctx, globals_) -> list[Op]:
    ops = _forward(ops, ctx)
    ops = _unreachable(ops)
    ops = _dce(ops, globals_)
    for _ in range(3):
        if not _bits(ops, ctx):
            break
        ops = _forward(ops, ctx)
        ops = _dce(ops, globals_)
    ops = _unreachable(ops)
    ops = _coalesce(ops)
    return ops


# ------------------------------------------------------ known and demanded bits


_SHIFT_CONST = ("shl", "shr", "sar")


def _bits(ops: list[Op], ctx) -> bool:
    """Simplify ops whose result bits are never read (QEMU's z_mask/demanded bits).

    Per basic block: a forward pass computes which bits of each temporary may
    be non-zero (z), a backward pass which bits are read (demanded; every bit
    of a global, of a temporary read outside the block, and of any input of an
    op not modelled here). Then ``or``/``xor`` with an operand that cannot
    contribute a demanded bit becomes a ``mov`` of the other operand, and an
    op none of whose result bits are demanded becomes ``mov d, 0`` (its
    inputs usually die in the following DCE). Returns True if it changed ops.
    """
    changed = False
    uses_outside: dict[int, set[int]] = {}
    blocks = _blocks(ops)
    block_of = {}
    for bi, (st, en) in enumerate(blocks):
        for i in range(st, en):
            block_of[i] = bi
    ndefs: dict[int, int] = {}
    for i, op in enumerate(ops):
        for t in op.args[op.nb_oargs:op.nb_oargs + op.nb_iargs]:
            if getattr(t, "kind", None) in (TempKind.EBB, TempKind.TB):
                uses_outside.setdefault(id(t), set()).add(block_of.get(i, -1))
        for t in op.args[:op.nb_oargs]:
            ndefs[id(t)] = ndefs.get(id(t), 0) + 1
    for bi, (st, en) in enumerate(blocks):
        z: dict[int, int] = {}

        def zm(t, mask, z=z):
            if t.is_const:
                return t.value
            return z.get(id(t), mask)

        for i in range(st, en):
            op = ops[i]
            base = op.opdef.base
            if op.nb_oargs != 1 or op.opdef.type is None:
                for t in op.args[:op.nb_oargs]:
                    z.pop(id(t), None)
                continue
            m = MASK[op.opdef.type]
            ins = op.args[1:1 + op.nb_iargs]
            d = op.args[0]
            if base == "and":
                v = zm(ins[0], m) & zm(ins[1], m)
            elif base in ("or", "xor"):
                v = zm(ins[0], m) | zm(ins[1], m)
            elif base == "andc":
                v = zm(ins[0], m) & ~ins[1].value & m if ins[1].is_const else zm(ins[0], m)
            elif base == "mov":
                v = zm(ins[0], m)
            elif base == "shl" and ins[1].is_const:
                v = (zm(ins[0], m) << (ins[1].value & (m.bit_length() - 1))) & m
            elif base == "shr" and ins[1].is_const:
                v = zm(ins[0], m) >> (ins[1].value & (m.bit_length() - 1))
            elif base in ("ext8u", "ext16u", "ext32u"):
                v = zm(ins[0], m) & {"ext8u": 0xFF, "ext16u": 0xFFFF, "ext32u": 0xFFFFFFFF}[base]
            elif base == "extract":
                v = (1 << op.args[-1]) - 1
            elif base == "setcond":
                v = 1
            else:
                v = m
            if d.kind == TempKind.GLOBAL or ndefs.get(id(d), 0) != 1:
                z.pop(id(d), None)          # only single-definition temporaries are tracked
            else:
                z[id(d)] = v
        # backward: demanded bits
        dem: dict[int, int] = {}
        full = 0xFFFF_FFFF_FFFF_FFFF

        def demand(t, bits, dem=dem):
            if getattr(t, "kind", None) in (TempKind.EBB, TempKind.TB):
                dem[id(t)] = dem.get(id(t), 0) | bits

        for t_id, blks in uses_outside.items():
            if any(b != bi for b in blks):
                dem[t_id] = full
        rewrites = []
        for i in range(en - 1, st - 1, -1):
            op = ops[i]
            base = op.opdef.base
            ins = op.args[op.nb_oargs:op.nb_oargs + op.nb_iargs]
            if op.nb_oargs == 1 and op.opdef.type is not None and base in (
                    "and", "or", "xor", "andc", "shl", "shr", "extract", "mov"):
                d = op.args[0]
                m = MASK[op.opdef.type]
                dd = full if d.kind == TempKind.GLOBAL else dem.get(id(d), 0)
                dd &= m
                dem.pop(id(d), None) if d.kind != TempKind.GLOBAL else None
                if d.kind != TempKind.GLOBAL and dd == 0 and not (base == "mov" and ins[0].is_const):
                    rewrites.append((i, "zero"))
                    continue
                a = ins[0]
                b = ins[1] if len(ins) > 1 else None
                if base in ("or", "xor"):
                    if zm_final(z, b, m) & dd == 0:
                        rewrites.append((i, "a"))
                        demand(a, dd)
                        continue
                    if zm_final(z, a, m) & dd == 0:
                        rewrites.append((i, "b"))
                        demand(b, dd)
                        continue
                    demand(a, dd)
                    demand(b, dd)
                elif base == "and" and b.is_const and zm_final(z, a, m) & dd & ~b.value == 0:
                    rewrites.append((i, "a"))          # the mask clears nothing demanded
                    demand(a, dd)
                    continue
                elif base in ("and", "andc") and (zm_final(z, a, m) & dd & (
                        zm_final(z, b, m) if base == "and" else
                        (~b.value & m if b.is_const else m))) == 0:
                    rewrites.append((i, "zero"))
                    continue
                elif base == "and":
                    demand(a, dd & zm_final(z, b, m))
                    demand(b, dd & zm_final(z, a, m))
                elif base == "andc":
                    demand(a, dd)
                    demand(b, dd & zm_final(z, a, m))
                elif base == "mov":
                    demand(a, dd)
                elif base in ("shl", "shr") and b.is_const:
                    k = b.value & (m.bit_length() - 1)
                    demand(a, (dd >> k) if base == "shl" else (dd << k) & m)
                elif base == "extract":
                    pos, ln = op.args[-2], op.args[-1]
                    demand(a, (dd & ((1 << ln) - 1)) << pos)
                else:
                    for t in ins:
                        demand(t, full)
                continue
            for t in op.args[:op.nb_oargs]:
                if getattr(t, "kind", None) in (TempKind.EBB, TempKind.TB):
                    dem.pop(id(t), None)
            for t in ins:
                demand(t, full)
        for i, how in rewrites:
            op = ops[i]
            d = op.args[0]
            mov = OPS["mov" + _sfx(d)]
            if how == "zero":
                ops[i] = Op(mov, [d, ctx.const(0, d.type)])
            elif how == "a":
                ops[i] = Op(mov, [d, op.args[1]])
            else:
                ops[i] = Op(mov, [d, op.args[2]])
            changed = True
    return changed


def zm_final(z, t, m):
    if t.is_const:
        return t.value
    return z.get(id(t), m)


# --------------------------------------------------------- result coalescing


def _coalesce(ops: list[Op]) -> list[Op]:
    """``t = op ...; mov g, t`` -> ``g = op ...`` with later reads of t renamed to g.

    Done when t is an EBB temporary written only by that op, the mov follows it
    directly, and every later read of t (up to the end of the basic block)
    comes before g is written again; t must not be live out of the block.
    """
    out = list(ops)
    n = len(out)
    writes: dict[int, int] = {}
    for op in out:
        for t in op.args[:op.nb_oargs]:
            writes[id(t)] = writes.get(id(t), 0) + 1
    i = 1
    while i < n:
        mv = out[i]
        prev = out[i - 1]
        if mv is not None and mv.opdef.base == "mov" and (
                prev is None or prev.args[:1] != [mv.args[1]]):
            j = _find_def(out, i, mv.args[1], mv.args[0])
            if j is not None:
                # move the definition next to the mov (nothing in between reads or
                # writes the temporary or the destination, nor may raise)
                out.insert(i - 1, out.pop(j))
                prev = out[i - 1]
                mv = out[i]
        if (mv is None or prev is None or mv.opdef.base != "mov" or prev.nb_oargs != 1
                or prev.opdef.base in ("call", "qemu_ld", "insn_start")):
            i += 1
            continue
        t = mv.args[1]
        g = mv.args[0]
        if (prev.args[0] is not t or t.kind != TempKind.EBB or writes.get(id(t)) != 1
                or g is t):
            i += 1
            continue
        # scan forward: reads of t must precede the next write of g, inside the block
        ok = True
        renames = []
        g_written = False
        for j in range(i + 1, n):
            op = out[j]
            if op is None:
                continue
            base = op.opdef.base
            if base == "set_label":
                break
            ins = op.args[op.nb_oargs:op.nb_oargs + op.nb_iargs]
            if any(a is t for a in ins):
                if g_written:
                    ok = False
                    break
                renames.append(j)
            if any(a is g for a in op.args[:op.nb_oargs]):
                g_written = True
            if op.opdef.flags & _BB_END and base != "set_label":
                break
        if ok and not _used_after_block(out, t, i):
            prev.args[0] = g
            out[i] = None
            for j in renames:
                op = out[j]
                for k in range(op.nb_oargs, op.nb_oargs + op.nb_iargs):
                    if op.args[k] is t:
                        op.args[k] = g
        i += 1
    return [op for op in out if op is not None]


def _find_def(ops, i, t, g):
    """Index of the pure op defining T that may move down to just before ops[i]."""
    if getattr(t, "kind", None) != TempKind.EBB:
        return None
    for j in range(i - 1, max(-1, i - 12), -1):
        op = ops[j]
        if op is None:
            continue
        base = op.opdef.base
        if base in ("set_label", "insn_start") or op.opdef.flags & (
                _BB_END | _MAY_RAISE | _SIDE_EFFECTS) or base == "call":
            return None
        if op.nb_oargs == 1 and op.args[0] is t:
            if base not in PURE_BASES or base in ("mulu2", "muls2", "add2", "sub2"):
                return None
            # its inputs must not be redefined between j and i
            ins = op.args[1:1 + op.nb_iargs]
            for k in range(j + 1, i):
                o = ops[k]
                if o is not None and any(a is x for a in o.args[:o.nb_oargs] for x in ins):
                    return None
            return j
        args_io = op.args[:op.nb_oargs + op.nb_iargs]
        if any(a is t or a is g for a in args_io):
            return None
    return None


def _used_after_block(ops, t, start) -> bool:
    """True if T is read after the basic block that contains START: past a
    label, or on the fall-through path of a conditional branch (copy
    propagation keeps an EBB temporary as a value's representative across a
    ``brcond``, so such a read is common)."""
    seen_end = False
    for op in ops[start + 1:]:
        if op is None:
            continue
        if seen_end:
            if any(a is t for a in op.args[op.nb_oargs:op.nb_oargs + op.nb_iargs]):
                return True
        elif op.opdef.base == "set_label" or (op.opdef.flags & _BB_END):
            seen_end = True
    return False


# ----------------------------------------------------------------------- forward pass


def _forward(ops: list[Op], ctx) -> list[Op]:
    out: list[Op] = []
    copy: dict[int, object] = {}          # id(temp) -> representative temp
    users: dict[int, set[int]] = {}       # id(rep) -> ids of temps copying it
    temps: dict[int, object] = {}

    def rep(t):
        r = copy.get(id(t))
        return t if r is None else r

    def forget(t):
        """T is being redefined: nothing is a copy of it, it copies nothing."""
        tid = id(t)
        old = copy.pop(tid, None)
        if old is not None:
            s = users.get(id(old))
            if s is not None:
                s.discard(tid)
        for u in users.pop(tid, ()):
            copy.pop(u, None)

    def forget_globals():
        for tid in [k for k, t in temps.items() if t.kind == TempKind.GLOBAL]:
            forget(temps[tid])

    def set_copy(dst, src):
        forget(dst)
        if src is dst:
            return
        copy[id(dst)] = src
        temps[id(dst)] = dst
        temps[id(src)] = src
        users.setdefault(id(src), set()).add(id(dst))

    zmask: dict[int, int] = {}            # id(temp or global) -> bits that may be set

    def zget(t, m):
        if t.is_const:
            return t.value
        return zmask.get(id(t), m)

    def emit(o):
        out.append(o)
        if o.nb_oargs == 1 and o.opdef.base in PURE_BASES:
            zmask[id(o.args[0])] = _zmask_of(o, zget)
        elif o.opdef.base == "qemu_ld" and not o.args[2].memop & 4:
            zmask[id(o.args[0])] = (1 << (8 << (o.args[2].memop & 3))) - 1
        else:
            for t in o.args[:o.nb_oargs]:
                zmask.pop(id(t), None)

    for op in ops:
        d = op.opdef
        base = d.base
        no, ni = op.nb_oargs, op.nb_iargs
        if base == "set_label":
            copy.clear()
            users.clear()
            zmask.clear()
            emit(op)
            continue
        if base == "call" and not op.args[-1].flags & _NO_WRITE_GLOBALS:
            for k in [k for k, t in temps.items() if t.kind == TempKind.GLOBAL]:
                zmask.pop(k, None)
        # known-zero bits: redundant zero extensions and masks become moves
        if d.type is not None and no == 1 and ni >= 1:
            m = MASK[d.type]
            a0 = copy.get(id(op.args[1]), op.args[1])
            ext = {"ext8u": 0xFF, "ext16u": 0xFFFF, "ext32u": 0xFFFF_FFFF}.get(base)
            if ext is None and base == "and" and op.args[2].is_const:
                ext = op.args[2].value
            if ext is not None and zget(a0, m) & ~ext & m == 0:
                op = Op(OPS["mov" + _sfx(op.args[0])], [op.args[0], op.args[1]])
                d = op.opdef
                base = "mov"
                ni = 1
        if base == "insn_start":
            emit(op)
            continue
        args = list(op.args)
        for k in range(no, no + ni):
            args[k] = rep(args[k])
        ins = args[no:no + ni]
        cargs = args[no + ni:]
        if base == "brcond" and ins[0].is_const and ins[1].is_const:
            if eval_cond(Cond(cargs[0]), ins[0].value, ins[1].value, d.type):
                emit(Op(OPS["br"], [cargs[1]]))
            else:
                cargs[1].refs -= 1
            continue
        if base == "brcond" and ins[0] is ins[1]:
            c = Cond(cargs[0])
            if c in (Cond.EQ, Cond.GE, Cond.LE, Cond.GEU, Cond.LEU):
                emit(Op(OPS["br"], [cargs[1]]))
            else:
                cargs[1].refs -= 1
            continue
        if base in PURE_BASES:
            outs = args[:no]
            if all(t.is_const for t in ins):
                try:
                    vals = evaluate(base, d.type, [t.value for t in ins], cargs)
                except ZeroDivisionError:
                    vals = None
                if vals is not None and no == 1:
                    c = ctx.const(vals[0], outs[0].type)
                    emit(Op(OPS["mov" + _sfx(outs[0])], [outs[0], c]))
                    set_copy(outs[0], c)
                    continue
            simp = _simplify(base, d.type, ins, cargs, ctx)
            if simp is not None and no == 1:
                dst = outs[0]
                if simp is dst:
                    continue
                forget(dst)
                emit(Op(OPS["mov" + _sfx(dst)], [dst, simp]))
                set_copy(dst, simp)
                continue
            for t in outs:
                forget(t)
            new = Op(d, args, no, ni)
            emit(new)
            if base == "mov":
                src = ins[0]
                if src is outs[0]:
                    out.pop()
                else:
                    set_copy(outs[0], src)
            continue
        # non-pure op: outputs are redefined
        for t in args[:no]:
            forget(t)
        if base == "call":
            h = cargs[0]
            if not h.flags & _NO_WRITE_GLOBALS:
                forget_globals()
        emit(Op(d, args, no, ni))
    return out


def _zmask_of(op, zget) -> int:
    """Bits of OP's single result that may be non-zero."""
    d = op.opdef
    m = MASK[d.type] if d.type is not None else 0xFFFF_FFFF_FFFF_FFFF
    base = d.base
    ins = op.args[op.nb_oargs:op.nb_oargs + op.nb_iargs]
    if base == "mov":
        return zget(ins[0], m)
    if base == "and":
        return zget(ins[0], m) & zget(ins[1], m)
    if base in ("or", "xor"):
        return zget(ins[0], m) | zget(ins[1], m)
    if base in ("ext8u", "ext16u", "ext32u", "extrl_i64_i32"):
        return zget(ins[0], m) & {"ext8u": 0xFF, "ext16u": 0xFFFF}.get(base, 0xFFFF_FFFF)
    if base == "extu_i32_i64":
        return zget(ins[0], 0xFFFF_FFFF)
    if base == "shr" and ins[1].is_const:
        return zget(ins[0], m) >> (ins[1].value & (m.bit_length() - 1))
    if base == "extract":
        return (1 << op.args[-1]) - 1
    if base in ("setcond", "ctpop"):
        return 1 if base == "setcond" else 127
    if base in ("ld8u", "ld16u", "ld32u"):
        return {"ld8u": 0xFF, "ld16u": 0xFFFF, "ld32u": 0xFFFF_FFFF}[base]
    return m


def _sfx(t) -> str:
    return "_i64" if t.type.name == "I64" else "_i32"


def _simplify(base: str, type_, ins, cargs, ctx):
    """A temp or constant equal to the op's result, or None."""
    if type_ is None or len(ins) != 2:
        return None
    a, b = ins
    m = MASK[type_]
    if base in ("add", "or", "xor", "sub", "shl", "shr", "sar", "rotl", "rotr") \
            and b.is_const and b.value == 0:
        return a
    if base in ("add", "or", "xor") and a.is_const and a.value == 0:
        return b
    if base == "and":
        if b.is_const and b.value == m:
            return a
        if a.is_const and a.value == m:
            return b
        if (b.is_const and b.value == 0) or (a.is_const and a.value == 0):
            return ctx.const(0, type_)
        if a is b:
            return a
    if base == "or" and a is b:
        return a
    if base in ("xor", "sub") and a is b:
        return ctx.const(0, type_)
    if base == "mul":
        if b.is_const and b.value == 1:
            return a
        if a.is_const and a.value == 1:
            return b
        if (b.is_const and b.value == 0) or (a.is_const and a.value == 0):
            return ctx.const(0, type_)
    return None


# ----------------------------------------------------------------- unreachable code


def _unreachable(ops: list[Op]) -> list[Op]:
    refs: dict[int, int] = {}
    for op in ops:
        if op.opdef.base in ("br", "brcond"):
            lab = op.args[-1]
            refs[lab.id] = refs.get(lab.id, 0) + 1
    out = []
    dead = False
    for op in ops:
        base = op.opdef.base
        if base == "set_label":
            if refs.get(op.args[0].id, 0) == 0:
                continue            # unreferenced label: no block starts here
            dead = False
        if dead and base != "insn_start":
            if base in ("br", "brcond"):
                refs[op.args[-1].id] -= 1
            continue
        if dead:
            continue
        out.append(op)
        if base in ("br", "exit_tb", "lookup_and_goto_ptr"):
            dead = True
    # a br to the label right after it is a fall-through
    kept = []
    for i, op in enumerate(out):
        if (op.opdef.base == "br" and i + 1 < len(out) and out[i + 1].opdef.base == "set_label"
                and out[i + 1].args[0] is op.args[0]):
            refs[op.args[0].id] -= 1
            continue
        kept.append(op)
    # second pass: labels whose only references were removed
    final = []
    for op in kept:
        if op.opdef.base == "set_label" and refs.get(op.args[0].id, 0) == 0:
            continue
        final.append(op)
    for op in final:
        if op.opdef.base == "set_label":
            op.args[0].refs = refs.get(op.args[0].id, 0)
    return final


# ---------------------------------------------------------------------- liveness/DCE


def _blocks(ops):
    """Split OPS into basic blocks: list of (start, end) index ranges."""
    starts = {0}
    for i, op in enumerate(ops):
        base = op.opdef.base
        if base == "set_label":
            starts.add(i)
        if op.opdef.flags & _BB_END and base != "set_label":
            starts.add(i + 1)
    s = sorted(x for x in starts if x <= len(ops))
    blocks = []
    for k, st in enumerate(s):
        en = s[k + 1] if k + 1 < len(s) else len(ops)
        if st < en:
            blocks.append((st, en))
    return blocks


def _dce(ops: list[Op], globals_) -> list[Op]:
    if not ops:
        return ops
    all_globals = frozenset(id(t) for t in globals_.temps)
    blocks = _blocks(ops)
    label_block = {}
    for bi, (st, en) in enumerate(blocks):
        if ops[st].opdef.base == "set_label":
            label_block[ops[st].args[0].id] = bi
    live_in = [set() for _ in blocks]
    # with forward branches only, one backward sweep sees every successor first
    forward_only = all(label_block[op.args[-1].id] > bi
                       for bi, (st, en) in enumerate(blocks)
                       for op in (ops[en - 1],) if op.opdef.base in ("br", "brcond"))
    changed = True
    dead_ops: set[int] = set()
    while changed:
        changed = False
        dead_ops = set()
        for bi in range(len(blocks) - 1, -1, -1):
            st, en = blocks[bi]
            last = ops[en - 1]
            lb = last.opdef.base
            live: set = set()
            if lb not in ("br", "exit_tb", "lookup_and_goto_ptr") and bi + 1 < len(blocks):
                live |= live_in[bi + 1]
            for i in range(en - 1, st - 1, -1):
                op = ops[i]
                live = _step(op, live, all_globals, live_in, label_block, dead_ops, i)
            if live != live_in[bi]:
                live_in[bi] = live
                changed = not forward_only
    return [op for i, op in enumerate(ops) if i not in dead_ops]


def _step(op, live: set, all_globals, live_in, label_block, dead_ops, i):
    """Liveness before OP from LIVE after it. LIVE belongs to the block being
    scanned and is updated in place; sets in LIVE_IN are never modified."""
    d = op.opdef
    base = d.base
    no, ni = op.nb_oargs, op.nb_iargs
    if base in ("exit_tb", "lookup_and_goto_ptr", "goto_tb"):
        return live | all_globals
    if base == "br":
        return set(live_in[label_block[op.args[0].id]])
    if base == "brcond":
        live |= live_in[label_block[op.args[-1].id]]
    outs = op.args[:no]
    ins = op.args[no:no + ni]
    removable = base in PURE_BASES
    if base == "call":
        h = op.args[-1]
        removable = (h.flags & _NO_WRITE_GLOBALS) and (h.flags & _NO_SIDE_EFFECTS)
    if base == "discard":
        live.discard(id(op.args[0]))
        return live
    if removable and outs and not any(id(t) in live for t in outs):
        dead_ops.add(i)
        return live
    for t in outs:
        live.discard(id(t))
    for t in ins:
        if not t.is_const:
            live.add(id(t))
    if d.flags & _MAY_RAISE:
        live |= all_globals
    if base == "call" and (op.args[-1].flags & _NO_RWG) != _NO_RWG:
        live |= all_globals
    return live
