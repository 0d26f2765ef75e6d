"""The Python-code backend: each TB becomes one Python function.

Generated shape (``-d out_asm`` prints it; ``dump_dir`` writes it to files)::

    def tb_401000():
        rax = env[0]; rcx = env[1]; budget = env[36]      # globals -> locals
        while True:                                      # only for self-loops
            if budget < 3:                               # brcond ... ltu
                env[0] = rax; ...; return 3              # exit_tb
            budget = (budget - 3) & M
            ...                                          # one statement per op
            return J[1] or store-and-exit                # goto_tb / exit_tb

* Guest globals live in Python locals while the TB runs; every exit stores
  the globals the TB assigns. Helpers that read globals get them stored
  first; helpers that write globals are followed by a reload.
* ``qemu_ld``/``qemu_st`` inline the softmmu fast path (a dict lookup in the
  TLB of the access's MMU index and an indexed access to a page-sized
  memoryview of guest RAM); misses, unaligned and MMIO accesses call the
  slow path, after which the exit-request global is reloaded.
* Control flow: when the branches of a TB nest (the usual case) they become
  nested ``if`` statements; otherwise the TB is emitted as a block
  dispatcher (``while True`` over ``if _L == n`` blocks). A ``goto_tb``
  whose known target is the TB itself keeps the guest registers in locals
  across iterations: a structured TB runs a peeled first pass and then a
  ``while True`` over a body specialised by :mod:`.selfloop` (known bits and
  bounds at the back edge, invariant definitions dropped, dead flag inputs
  computed only at the exits, pure bodies unrolled with one budget check per
  round); a dispatcher TB becomes ``continue`` of a loop around its body.
* Precise exceptions: the source is registered with :mod:`linecache` under
  ``<tcg-tb-...>``, tracebacks show it, and the faulting line maps to the
  guest instruction; the frame's locals hold the globals to write back.
"""

from __future__ import annotations

import itertools
import linecache
import os

from .ir import BITS, EXIT_REQUESTED, MASK, Cond, I64, IRError, MemOp, TempKind
from .optimize import _zmask_of
from .selfloop import plan_self_loop
from .semantics import PURE_BASES, evaluate
from .tb import Runtime, TranslationBlock

_seq = itertools.count()
FUSE_DISTANCE = 4          # ops between an expression and its single reader


def _c(v: int) -> str:
    return hex(v) if v > 9 else str(v)


class _Gen:
    def __init__(self, tb: TranslationBlock, ops: list, rt: Runtime, chain_self: bool):
        self.tb = tb
        self.ops = ops
        self.rt = rt
        self.lines: list[str] = []
        self.line_insn: list[int] = []
        self.insn = -1
        self.ns: dict = {}
        self.helpers: dict[int, str] = {}
        self.names: dict[int, str] = {}
        self.used_globals: dict[str, object] = {}
        self.assigned_globals: dict[str, object] = {}
        self.chain_self = chain_self
        self.self_loop = False
        self.exit_name = None
        self.ge_known: dict[str, int] = {}
        self.store_plan: dict[int, set] | None = None
        self.inline: dict[int, str] = {}
        # fused temps: id -> ids of every temp their inline expression reads (through
        # fused inputs too), so nothing between the definition and its reader writes them
        self.inline_reads: dict[int, frozenset] = {}
        self._fuse_reads: frozenset = frozenset()
        self.cur = None
        self.use_count = self.count_uses(ops)
        self.loop = None               # LoopPlan when the TB is peeled into a loop
        self.in_loop = False           # emitting the specialised loop body
        self.zk: dict[str, int] | None = None   # loop body: bits that may be set, by name
        self.assign_log: list[str] = []
        self.no_fuse: set[int] = set()
        self.shifted: dict[int, tuple] = {}    # fused shl results: id -> (input, count)
        self.budget_fix = 0            # unrolled pass: budget taken ahead for later passes
        self.skip_guard = False        # unrolled pass: the counter test cannot leave

    @staticmethod
    def count_uses(ops) -> dict[int, int]:
        uses: dict[int, int] = {}
        for op in ops:
            for t in op.args[op.nb_oargs:op.nb_oargs + op.nb_iargs]:
                uses[id(t)] = uses.get(id(t), 0) + 1
        return uses

    # -- naming -----------------------------------------------------------------------
    def v(self, t) -> str:
        if t.kind == TempKind.CONST:
            return _c(t.value)
        e = self.inline.pop(id(t), None)
        if e is not None:
            return f"({e})"
        n = self.names.get(id(t))
        if n is None:
            if t.kind == TempKind.GLOBAL:
                n = "g_" + "".join(ch if ch.isalnum() else "_" for ch in t.name)
                self.used_globals[n] = t
            else:
                n = t.name
            self.names[id(t)] = n
        return n

    def out(self, t) -> str:
        n = self.v(t)
        if t.kind == TempKind.GLOBAL:
            self.assigned_globals[n] = t
        self.forget(n)
        return n

    def forget(self, n: str):
        """N is assigned: facts about its old value no longer hold."""
        self.ge_known.pop(n, None)
        if self.zk is not None:
            self.zk.pop(n, None)
        self.assign_log.append(n)

    def zget(self, t, m: int) -> int:
        if t.kind == TempKind.CONST:
            return t.value
        return self.zk.get(self.names.get(id(t), ""), m)

    def mask_needed(self, op) -> bool:
        """False when the result of add/sub OP may stay unmasked: it is an
        unsigned subtraction known not to wrap, or a temporary consumed only by
        the next op, itself an add/sub that masks its own result."""
        d = op.args[0]
        a, b = op.args[1], op.args[2]
        base = op.opdef.base
        if (base == "sub" and b.kind == TempKind.CONST and a is d
                and self.ge_known.get(self.v(a), -1) >= b.value):
            return False
        if d.kind == TempKind.GLOBAL or self.cur is None or self.cur + 1 >= len(self.ops):
            return True
        nxt = self.ops[self.cur + 1]
        nb = nxt.opdef.base
        if nb in ("add", "sub", "mul") and nxt.opdef.type == op.opdef.type:
            uses = nxt.args[1:3]
        elif nb in ("ext8u", "ext16u", "ext32u", "extrl_i64_i32") or (
                nb == "and" and nxt.args[2].kind == TempKind.CONST):
            uses = nxt.args[1:2]           # the consumer keeps only low bits
        else:
            return True
        if not any(x is d for x in uses):
            return True
        return not (self.use_count.get(id(d), 0) == 1 or nxt.args[0] is d)

    def exit_after_goto(self, i: int) -> bool:
        """ops[i] is the exit_tb of the slot of the goto_tb just before it."""
        ops = self.ops
        return (0 < i < len(ops) and ops[i].opdef.base == "exit_tb"
                and ops[i - 1].opdef.base == "goto_tb" and ops[i].args[0] == ops[i - 1].args[0] + 1)

    def emit(self, indent: int, text: str):
        self.lines.append("    " * indent + text)
        self.line_insn.append(self.insn)

    def helper(self, h) -> str:
        n = self.helpers.get(id(h))
        if n is None:
            n = f"H_{h.name}_{len(self.helpers)}"
            self.helpers[id(h)] = n
            self.ns[n] = h.func
        return n

    # -- global synchronisation ---------------------------------------------------------
    def store_globals(self, ind: int):
        plan = self.store_plan.get(self.cur) if self.store_plan is not None else None
        for n, t in self.assigned_globals_all.items():
            if plan is None or n in plan:
                self.emit(ind, f"env[{t.offset >> 3}] = {n}")

    def sync_plan(self):
        """Which globals each exit/sync point must store, and which must be loaded.

        A forward pass over the (forward-only) ops: ``may`` holds the globals
        assigned on some path so far, ``must`` those assigned on every path.
        A point that stores globals stores ``may``; a global read, or stored,
        where it is not in ``must`` needs its value loaded on entry.
        Returns (loads, {op index: store set}).
        """
        gname = self.v
        allg = set(self.used_globals)
        may: set = set()
        must: set = set()
        reach = True
        pend: dict[int, tuple[set, set]] = {}
        loads: set = set()
        plan: dict[int, set] = {}
        eg = self.v(self.rt.exit_global) if self.rt.exit_global is not None else None

        def point(i):
            plan[i] = set(may) & set(self.assigned_globals_all)
            loads.update(plan[i] - must)

        for i, op in enumerate(self.ops):
            b = op.opdef.base
            if b == "set_label":
                lab = op.args[0].id
                pm, pmu = pend.pop(lab, (set(), None))
                if reach:
                    may |= pm
                    must = must & pmu if pmu is not None else must
                else:
                    may, must = set(pm), set(pmu) if pmu is not None else set()
                reach = True
                continue
            if not reach or b in ("insn_start", "discard", "mb"):
                continue
            for t in op.args[op.nb_oargs:op.nb_oargs + op.nb_iargs]:
                if getattr(t, "kind", None) == TempKind.GLOBAL and gname(t) not in must:
                    loads.add(gname(t))
            if b == "call":
                h = op.args[-1]
                if (h.flags & 3) != 3:
                    point(i)
                if not h.flags & 2:
                    may |= allg
                    must |= allg
                    loads.update(allg)
            elif b in ("qemu_ld", "qemu_st") and eg is not None:
                if eg not in must:
                    loads.add(eg)
            for t in op.args[:op.nb_oargs]:
                if getattr(t, "kind", None) == TempKind.GLOBAL:
                    may.add(gname(t))
                    must.add(gname(t))
            if b in ("brcond", "br"):
                lab = op.args[-1].id
                pm, pmu = pend.get(lab, (set(), None))
                pend[lab] = (pm | may, set(must) if pmu is None else pmu & must)
                if b == "br":
                    reach = False
            elif b in ("exit_tb", "lookup_and_goto_ptr"):
                point(i)
                reach = False
            elif b == "goto_tb":
                point(i)
        return loads, plan

    def load_globals(self, ind: int, which=None):
        for n, t in (which if which is not None else self.used_globals).items():
            self.emit(ind, f"{n} = env[{t.offset >> 3}]")
            self.forget(n)

    # -- expressions --------------------------------------------------------------------
    def cmp(self, cond: Cond, a: str, b: str, type_) -> str:
        s = 1 << (BITS[type_] - 1)
        if b == "0" and cond in (Cond.EQ, Cond.NE):     # a truth test: no comparison
            return a if cond == Cond.NE else f"not {a}"
        if cond == Cond.EQ:
            return f"{a} == {b}"
        if cond == Cond.NE:
            return f"{a} != {b}"
        if cond == Cond.LTU:
            return f"{a} < {b}"
        if cond == Cond.GEU:
            return f"{a} >= {b}"
        if cond == Cond.LEU:
            return f"{a} <= {b}"
        if cond == Cond.GTU:
            return f"{a} > {b}"
        if cond == Cond.ALWAYS:
            return "True"
        if cond == Cond.NEVER:
            return "False"
        sym = {Cond.LT: "<", Cond.GE: ">=", Cond.LE: "<=", Cond.GT: ">"}[cond]
        sa = f"({a} ^ {_c(s)})" if not a.isdigit() and not a.startswith("0x") else _c(int(a, 0) ^ s)
        sb = f"({b} ^ {_c(s)})" if not b.isdigit() and not b.startswith("0x") else _c(int(b, 0) ^ s)
        return f"{sa} {sym} {sb}"

    def op_stmt(self, op, ind: int):
        d = op.opdef
        base = d.base
        ty = d.type
        a = op.args
        if base == "insn_start":
            self.insn += 1
            self.emit(ind, "# ---- " + " ".join(f"{w & MASK[I64]:016x}" for w in a))
            return
        if base in ("set_label", "mb", "discard"):
            return
        if base == "call":
            self.call(op, ind)
            return
        if base == "qemu_ld":
            self.qemu_ld(op, ind)
            return
        if base == "qemu_st":
            self.qemu_st(op, ind)
            return
        if base == "goto_tb":
            n = a[0]
            if self.loop is not None and op is self.loop_goto:
                if self.budget_fix > 0:
                    return                   # an unrolled pass: the next one follows
                if self.budget_fix < 0:
                    self.emit(ind, "continue")   # the head checks the budget again
                    return
                self.budget_exit(ind)
                if self.in_loop:
                    self.emit(ind, "continue")
                else:
                    self.emit_loop(ind)
            elif self.loop is None and self.chain_self and self.tb.jmp_target[n] == self.tb.pc:
                self.self_loop = True
                self.self_loop_exit(n, ind)
                self.emit(ind, "continue")
            else:
                if self.in_loop:
                    self.materialize(ind)
                self.store_globals(ind)
                if self.exit_after_goto(self.cur + 1):
                    self.emit(ind, f"return J[{n}] or {n + 1}")     # linked, else unlinked exit
                else:
                    self.emit(ind, f"_n = J[{n}]")
                    self.emit(ind, "if _n is not None:")
                    self.emit(ind + 1, "return _n")
            return
        if base == "exit_tb":
            if self.cur is not None and self.exit_after_goto(self.cur):
                return                               # emitted with its goto_tb
            if self.in_loop:
                self.materialize(ind)
            self.store_globals(ind)
            self.emit(ind, f"return {a[0]}")
            return
        if base == "lookup_and_goto_ptr":
            if self.in_loop:
                self.materialize(ind)
            self.store_globals(ind)
            self.emit(ind, "return LOOKUP()")
            return
        if base in ("ld8u", "ld8s", "ld16u", "ld16s", "ld32u", "ld32s", "ld"):
            self.env_ld(op, ind)
            return
        if base in ("st8", "st16", "st32", "st"):
            self.env_st(op, ind)
            return
        # pure ops
        if all(t.kind == TempKind.CONST for t in a[op.nb_oargs:op.nb_oargs + op.nb_iargs]):
            vals = evaluate(base, ty, [t.value for t in a[op.nb_oargs:op.nb_oargs + op.nb_iargs]],
                            a[op.nb_oargs + op.nb_iargs:])
            for o, val in zip(a[:op.nb_oargs], vals):
                self.emit(ind, f"{self.out(o)} = {_c(val)}")
            return
        self.pure(op, ind)

    def pure(self, op, ind: int):
        d = op.opdef
        base = d.base
        ty = d.type if d.type is not None else I64
        a = op.args
        no, ni = op.nb_oargs, op.nb_iargs
        scaled = self.scaled_add(op) if base == "add" else None
        ins = [self.v(t) for t in a[no:no + ni]]
        cargs = a[no + ni:]
        m = MASK[ty]
        M = _c(m)
        bits = BITS[ty]
        S = _c(1 << (bits - 1))
        x = ins[0] if ins else None
        y = ins[1] if len(ins) > 1 else None
        e = None
        if base == "mov" or (self.zk is not None and self.redundant_mask(op, m)):
            e = x
        elif base == "add":
            s = scaled or f"{x} + {y}"
            e = f"({s}) & {M}" if self.mask_needed(op) else s
        elif base == "sub":
            e = f"({x} - {y}) & {M}" if self.mask_needed(op) else f"{x} - {y}"
        elif base == "mul":
            e = f"({x} * {y}) & {M}" if self.mask_needed(op) else f"{x} * {y}"
        elif base == "and":
            e = f"{x} & {y}"
        elif base == "or":
            e = f"{x} | {y}"
        elif base == "xor":
            e = f"{x} ^ {y}"
        elif base == "andc":
            e = f"{x} & ~{y}"
        elif base == "orc":
            e = f"({x} | ~{y}) & {M}"
        elif base == "eqv":
            e = f"~({x} ^ {y}) & {M}"
        elif base == "nand":
            e = f"~({x} & {y}) & {M}"
        elif base == "nor":
            e = f"~({x} | {y}) & {M}"
        elif base in ("shl", "shr", "sar", "rotl", "rotr"):
            const = a[no + 1].kind == TempKind.CONST
            n = _c(a[no + 1].value & (bits - 1)) if const else f"({y} & {bits - 1})"
            if base == "shl":
                e = f"({x} << {n}) & {M}" if self.mask_needed(op) else f"{x} << {n}"
            elif base == "shr":
                e = f"{x} >> {n}"
            elif base == "sar":
                e = f"((({x} ^ {S}) - {S}) >> {n}) & {M}"
            elif const:
                k = a[no + 1].value & (bits - 1)
                if k == 0:
                    e = x
                elif base == "rotl":
                    e = f"(({x} << {k}) | ({x} >> {bits - k})) & {M}"
                else:
                    e = f"(({x} >> {k}) | ({x} << {bits - k})) & {M}"
            else:
                fn = self.pure_fn(base, ty)
                e = f"{fn}({x}, {y})"
        elif base == "neg":
            e = f"-{x} & {M}"
        elif base == "not":
            e = f"{x} ^ {M}"
        elif base in ("mulu2", "muls2", "add2", "sub2"):
            lo, hi = self.out(a[0]), self.out(a[1])
            if base == "mulu2":
                self.emit(ind, f"_p = {x} * {y}")
            elif base == "muls2":
                self.emit(ind, f"_p = (({x} ^ {S}) - {S}) * (({y} ^ {S}) - {S})")
            else:
                sym = "+" if base == "add2" else "-"
                self.emit(ind, f"_p = ({ins[0]} | ({ins[1]} << {bits})) {sym} "
                               f"({ins[2]} | ({ins[3]} << {bits}))")
            self.emit(ind, f"{lo} = _p & {M}")
            self.emit(ind, f"{hi} = (_p >> {bits}) & {M}")
            return
        elif base == "ext8s":
            e = f"((({x} & 0xff) ^ 0x80) - 0x80) & {M}"
        elif base == "ext8u":
            e = f"{x} & 0xff"
        elif base == "ext16s":
            e = f"((({x} & 0xffff) ^ 0x8000) - 0x8000) & {M}"
        elif base == "ext16u":
            e = f"{x} & 0xffff"
        elif base in ("ext32s", "ext_i32_i64"):
            e = f"((({x} & 0xffffffff) ^ 0x80000000) - 0x80000000) & {_c(MASK[I64])}"
        elif base in ("ext32u", "extrl_i64_i32"):
            e = f"{x} & 0xffffffff"
        elif base == "extu_i32_i64":
            e = x
        elif base == "extrh_i64_i32":
            e = f"{x} >> 32"
        elif base == "bswap16":
            e = f"(({x} & 0xff) << 8) | (({x} >> 8) & 0xff)"
        elif base == "bswap32":
            e = f"int.from_bytes(({x} & 0xffffffff).to_bytes(4, 'little'), 'big')"
        elif base == "bswap64":
            e = f"int.from_bytes(({x}).to_bytes(8, 'little'), 'big')"
        elif base == "clz":
            e = f"({bits} - ({x}).bit_length()) if {x} else {y}"
        elif base == "ctz":
            e = f"(({x} & -{x}).bit_length() - 1) if {x} else {y}"
        elif base == "ctpop":
            e = f"({x}).bit_count()"
        elif base == "extract":
            pos, ln = cargs
            e = f"({x} >> {pos}) & {_c((1 << ln) - 1)}" if pos else f"{x} & {_c((1 << ln) - 1)}"
        elif base == "sextract":
            pos, ln = cargs
            sb = _c(1 << (ln - 1))
            e = f"(((({x} >> {pos}) & {_c((1 << ln) - 1)}) ^ {sb}) - {sb}) & {M}"
        elif base == "deposit":
            pos, ln = cargs
            fm = ((1 << ln) - 1) << pos
            e = f"({x} & {_c(m ^ fm)}) | (({y} << {pos}) & {_c(fm)})"
        elif base == "extract2":
            (pos,) = cargs
            e = f"((({y} << {bits}) | {x}) >> {pos}) & {M}"
        elif base == "setcond":
            e = f"1 if {self.cmp(Cond(cargs[0]), x, y, ty)} else 0"
        elif base == "movcond":
            e = f"{ins[2]} if {self.cmp(Cond(cargs[0]), x, y, ty)} else {ins[3]}"
        elif base in ("div", "divu", "rem", "remu"):
            fn = self.pure_fn(base, ty)
            e = f"{fn}({x}, {y})"
        if e is None:
            raise IRError(f"python backend: no lowering for op {d.name} (a backend bug)")
        if self.fusable(op):
            self.inline[id(a[0])] = e          # evaluated inside the next op's statement
            self.inline_reads[id(a[0])] = self._fuse_reads
            if base == "shl" and a[2].kind == TempKind.CONST and a[1].kind != TempKind.CONST:
                self.shifted[id(a[0])] = (a[1], a[2].value & (bits - 1))
        else:
            self.inline_reads.pop(id(a[0]), None)
            self.emit(ind, f"{self.out(a[0])} = {e}")
        if self.zk is not None:
            self.zk[self.names.get(id(a[0]), "")] = _zmask_of(op, self.zget)

    def scaled_add(self, op) -> str | None:
        """add(x, shl(x, k)) with the shift fused into the add (LEA's base+index*2**k
        with base == index): x * (2**k + 1), one Python operation instead of two."""
        for t, other in ((op.args[2], op.args[1]), (op.args[1], op.args[2])):
            src = self.shifted.get(id(t))
            if src is not None and src[0] is other and id(t) in self.inline:
                del self.inline[id(t)]
                return f"{self.v(other)} * {(1 << src[1]) + 1}"
        return None

    def redundant_mask(self, op, m: int) -> bool:
        """A zero extension or an AND with a constant that clears no bit that may be set."""
        base = op.opdef.base
        ext = {"ext8u": 0xFF, "ext16u": 0xFFFF, "ext32u": 0xFFFF_FFFF}.get(base)
        if base == "and" and op.args[2].kind == TempKind.CONST:
            ext = op.args[2].value
        return ext is not None and self.zget(op.args[1], m) & ~ext & m == 0

    # ops whose emitted code mentions each input exactly once
    _ONCE = frozenset(["mov", "add", "sub", "mul", "and", "or", "xor", "andc", "orc", "eqv",
                       "nand", "nor", "shl", "shr", "sar", "neg", "not", "ext8s", "ext8u",
                       "ext16s", "ext16u", "ext32s", "ext32u", "ext_i32_i64", "extu_i32_i64",
                       "extrl_i64_i32", "extrh_i64_i32", "extract", "sextract", "deposit",
                       "extract2", "setcond", "movcond", "brcond", "st8", "st16", "st32", "st"])

    def fusable(self, op) -> bool:
        """OP's result is a temporary read once, by a later op of the same
        straight-line code whose code mentions it once, and nothing in between
        writes OP's inputs (only pure ops): emit OP's expression inline there."""
        d = op.args[0]
        if d.kind not in (TempKind.EBB, TempKind.TB) or self.use_count.get(id(d), 0) != 1:
            return False
        if id(d) in self.no_fuse or self.cur is None:
            return False
        ins = set()
        for t in op.args[op.nb_oargs:op.nb_oargs + op.nb_iargs]:
            ins.add(id(t))
            ins |= self.inline_reads.get(id(t), frozenset())   # read by a fused input
        self._fuse_reads = frozenset(ins)
        ins.add(id(d))
        ops = self.ops
        between = 0
        for j in range(self.cur + 1, len(ops)):
            nxt = ops[j]
            nb = nxt.opdef.base
            if any(x is d for x in nxt.args[nxt.nb_oargs:nxt.nb_oargs + nxt.nb_iargs]):
                if nb not in self._ONCE:
                    return False
                if nb in ("shl", "shr", "sar") and nxt.args[2] is d and nxt.args[1] is d:
                    return False
                return not any(x is d for x in nxt.args[:nxt.nb_oargs])
            if nb in ("insn_start", "discard"):     # no code
                continue
            between += 1
            if (between > FUSE_DISTANCE or nb not in PURE_BASES
                    or any(id(x) in ins for x in nxt.args[:nxt.nb_oargs])):
                return False
        return False

    def pure_fn(self, base: str, ty) -> str:
        name = f"P_{base}_{BITS[ty]}"
        if name not in self.ns:
            self.ns[name] = lambda x, y, _b=base, _t=ty: evaluate(_b, _t, [x, y], [])[0]
        return name

    # -- env ld/st --------------------------------------------------------------------
    _VIEW = {1: "envb", 2: "envw", 4: "envl", 8: "env"}

    def env_ld(self, op, ind: int):
        d = op.opdef
        base = d.base
        off = op.args[1]
        size = {"ld8u": 1, "ld8s": 1, "ld16u": 2, "ld16s": 2, "ld32u": 4, "ld32s": 4}.get(
            base, 8 if d.type == I64 else 4)
        if off % size:
            raise ValueError(f"{d.name}: env offset {off:#x} is not aligned")
        e = f"{self._VIEW[size]}[{off // size}]"
        if base.endswith("s") and size < 8:
            sb = _c(1 << (8 * size - 1))
            e = f"(({e} ^ {sb}) - {sb}) & {_c(MASK[d.type])}"
        self.emit(ind, f"{self.out(op.args[0])} = {e}")

    def env_st(self, op, ind: int):
        d = op.opdef
        off = op.args[1]
        size = {"st8": 1, "st16": 2, "st32": 4}.get(d.base, 8 if d.type == I64 else 4)
        if off % size:
            raise ValueError(f"{d.name}: env offset {off:#x} is not aligned")
        val = self.v(op.args[0])
        if size < BITS[d.type] // 8:
            val = f"{val} & {_c((1 << (8 * size)) - 1)}"
        self.emit(ind, f"{self._VIEW[size]}[{off // size}] = {val}")

    # -- calls ------------------------------------------------------------------------
    def call(self, op, ind: int):
        h = op.args[-1]
        fn = self.helper(h)
        args = [self.v(t) for t in op.args[op.nb_oargs:op.nb_oargs + op.nb_iargs]]
        if h.pass_cpu:
            args.insert(0, "cpu")
        if (h.flags & 3) != 3:     # reads or writes globals: env must be current
            self.store_globals(ind)
        call = f"{fn}({', '.join(args)})"
        writes = not h.flags & 2
        if op.nb_oargs:
            o = op.args[0]
            if writes:
                self.emit(ind, f"_r = {call}")
                self.load_globals(ind)
                self.emit(ind, f"{self.out(o)} = _r & {_c(MASK[o.type])}")
            else:
                self.emit(ind, f"{self.out(o)} = {call} & {_c(MASK[o.type])}")
        else:
            self.emit(ind, call)
            if writes:
                self.load_globals(ind)

    # -- guest memory -------------------------------------------------------------------
    def reload_exit(self, ind: int):
        eg = self.rt.exit_global
        if eg is not None:
            n = self.v(eg)
            self.emit(ind, f"{n} = env[{eg.offset >> 3}]")
            self.forget(n)

    def sync_exit(self, ind: int):
        eg = self.rt.exit_global
        if eg is not None:
            n = self.v(eg)
            self.emit(ind, f"env[{eg.offset >> 3}] = {n}")

    def qemu_ld(self, op, ind: int):
        o, addr_t, oi = op.args
        addr = self.v(addr_t)
        memop = oi.memop
        size = 1 << (memop & 3)
        dst = self.out(o)
        mask = MASK[o.type]
        tlb = f"R{oi.mmu_idx}"
        self.ns.setdefault(tlb, self.rt.tlb_read[oi.mmu_idx].get)
        sign = memop & MemOp.MO_SIGN
        fast = not (memop & MemOp.MO_BE)
        if fast:
            view = {8: 0, 4: 1, 2: 2, 1: 3}[size]
            shift = {8: 3, 4: 2, 2: 1, 1: 0}[size]
            idx = f"({addr} & 4095) >> {shift}" if shift else f"{addr} & 4095"
            align = f" and not {addr} & {size - 1}" if size > 1 else ""
            self.emit(ind, f"_e = {tlb}({addr} >> 12)")
            self.emit(ind, f"if _e is not None{align}:")
            self.emit(ind + 1, f"{dst} = _e[{view}][{idx}]")
            self.emit(ind, "else:")
            ind2 = ind + 1
        else:
            ind2 = ind
        self.sync_exit(ind2)
        self.emit(ind2, f"{dst} = LD({addr}, {memop}, {oi.mmu_idx})")
        self.reload_exit(ind2)
        if sign:
            sb = _c(1 << (8 * size - 1))
            self.emit(ind, f"{dst} = (({dst} ^ {sb}) - {sb}) & {_c(mask)}")

    def qemu_st(self, op, ind: int):
        val_t, addr_t, oi = op.args
        addr = self.v(addr_t)
        val = self.v(val_t)
        memop = oi.memop
        size = 1 << (memop & 3)
        if size * 8 < BITS[val_t.type]:
            if val_t.kind == TempKind.CONST:
                val = _c(val_t.value & ((1 << (8 * size)) - 1))
            else:
                val = f"{val} & {_c((1 << (8 * size)) - 1)}"
        tlb = f"W{oi.mmu_idx}"
        self.ns.setdefault(tlb, self.rt.tlb_write[oi.mmu_idx].get)
        if not (memop & MemOp.MO_BE):
            view = {8: 0, 4: 1, 2: 2, 1: 3}[size]
            shift = {8: 3, 4: 2, 2: 1, 1: 0}[size]
            idx = f"({addr} & 4095) >> {shift}" if shift else f"{addr} & 4095"
            align = f" and not {addr} & {size - 1}" if size > 1 else ""
            self.emit(ind, f"_e = {tlb}({addr} >> 12)")
            self.emit(ind, f"if _e is not None{align}:")
            self.emit(ind + 1, f"_e[{view}][{idx}] = {val}")
            self.emit(ind, "else:")
            ind += 1
        self.sync_exit(ind)
        self.emit(ind, f"ST({addr}, {val}, {memop}, {oi.mmu_idx})")
        self.reload_exit(ind)

    # -- control flow -------------------------------------------------------------------
    def structured(self) -> bool:
        """True when every branch is forward and branch spans nest."""
        ops = self.ops
        pos = {}
        for i, op in enumerate(ops):
            if op.opdef.base == "set_label":
                pos[op.args[0].id] = i
        spans = []
        for i, op in enumerate(ops):
            b = op.opdef.base
            if b in ("br", "brcond"):
                lab = op.args[-1]
                q = pos[lab.id]
                if q < i:
                    return False
                spans.append((i, q))
        spans.sort()
        stack: list[int] = []
        for s, e in spans:
            while stack and stack[-1] < s:
                stack.pop()
            if stack and e > stack[-1]:
                return False
            stack.append(e)
        self.label_pos = pos
        return True

    def emit_range(self, i: int, j: int, ind: int):
        ops = self.ops
        start = len(self.lines)
        k = i
        while k < j:
            op = ops[k]
            b = op.opdef.base
            if b in ("brcond", "br"):
                q = self.label_pos[op.args[-1].id]
                if self.skip_guard and op is self.loop.guard[0]:
                    k = q                    # always taken in this round
                    continue
                if b == "brcond":
                    x, y = self.v(op.args[0]), self.v(op.args[1])
                    cond = Cond(op.args[2])
                    self.emit(ind, f"if not ({self.cmp(cond, x, y, op.opdef.type)}):")
                    saved = dict(self.ge_known)
                    saved_zk = dict(self.zk) if self.zk is not None else None
                    mark = len(self.assign_log)
                    if cond == Cond.LTU and op.args[1].kind == TempKind.CONST:
                        self.ge_known[x] = op.args[1].value      # fall-through: x >= c
                    self.emit_range(k + 1, q, ind + 1)
                    # at the label: what held before the branch, less what the block assigned
                    assigned = set(self.assign_log[mark:])
                    self.ge_known = {n: v for n, v in saved.items() if n not in assigned}
                    if saved_zk is not None:
                        self.zk = {n: v for n, v in saved_zk.items() if n not in assigned}
                # br: the ops up to the label are unreachable
                k = q
                continue
            self.cur = k
            self.op_stmt(op, ind)
            k += 1
        if len(self.lines) == start:
            self.emit(ind, "pass")

    def emit_dispatch(self, ind: int):
        """Unstructured control flow: one ``if _L == n`` block per label."""
        ops = self.ops
        self.emit(ind, "_L = -1")
        self.emit(ind, "while True:")
        ind += 1
        self.emit(ind, "if _L == -1:")
        cur = ind + 1
        body_start = len(self.lines)
        for k, op in enumerate(ops):
            self.cur = k
            b = op.opdef.base
            if b == "set_label":
                lab = op.args[0].id
                if len(self.lines) == body_start:
                    self.emit(cur, "pass")
                self.emit(cur, f"_L = {lab}")
                self.emit(ind, f"if _L == {lab}:")
                body_start = len(self.lines)
            elif b == "br":
                self.emit(cur, f"_L = {op.args[0].id}")
                self.emit(cur, "continue")
            elif b == "brcond":
                x, y = self.v(op.args[0]), self.v(op.args[1])
                cond = self.cmp(Cond(op.args[2]), x, y, op.opdef.type)
                self.emit(cur, f"if {cond}:")
                self.emit(cur + 1, f"_L = {op.args[3].id}")
                self.emit(cur + 1, "continue")
            elif b == "goto_tb" and self.chain_self and self.tb.jmp_target[op.args[0]] == self.tb.pc:
                self.self_loop = True
                self.self_loop_exit(op.args[0], cur)
                self.emit(cur, "_L = -1")
                self.emit(cur, "continue")
            else:
                self.op_stmt(op, cur)
        if len(self.lines) == body_start:
            self.emit(cur, "pass")
        self.emit(ind, "raise RuntimeError('TB fell off its end')")

    # -- self-loops: peeled first pass, specialised loop body ----------------------------
    def side_effects(self) -> bool:
        """The TB may run device code (slow paths, helpers), which may invalidate it."""
        for op in self.ops:
            b = op.opdef.base
            if b in ("qemu_ld", "qemu_st") or (b == "call" and not op.args[-1].flags & 4):
                return True
        return False

    def budget_exit(self, ind: int):
        """At the back edge: leave when the budget cannot pay for another pass, or
        when device code run by this pass invalidated the TB (a foreign write)."""
        plan = self.loop
        inval = " or TB.invalid" if self.side_effects() else ""
        self.emit(ind, f"if {self.v(plan.budget)} < {plan.icount}{inval}:")
        if self.in_loop:
            self.materialize(ind + 1)
        self.store_globals(ind + 1)
        self.emit(ind + 1, f"return {EXIT_REQUESTED}")

    def self_loop_exit(self, slot: int, ind: int):
        """Unpeeled self-loop: leave through the slot when device code run by this
        pass invalidated the TB (the budget is checked at the top)."""
        if self.side_effects():
            self.emit(ind, "if TB.invalid:")
            self.store_globals(ind + 1)
            self.emit(ind + 1, f"return {slot + 1}")

    def materialize(self, ind: int):
        """Compute the loop body's sunk definitions where the loop is left."""
        if self.budget_fix > 0:
            b = self.v(self.loop.budget)
            self.emit(ind, f"{b} = {b} + {self.budget_fix}")
        cur, self.cur = self.cur, None
        for op in self.loop.sunk:
            self.op_stmt(op, ind)
        self.cur = cur

    def emit_loop(self, ind: int):
        plan = self.loop
        saved = (self.ops, self.use_count, self.label_pos, self.insn, self.ge_known, self.zk,
                 self.store_plan, self.cur)
        self.ops = plan.ops
        self.use_count = self.count_uses(plan.ops + plan.sunk)
        if not self.structured():
            raise IRError("python backend: a self-loop body lost its structure (a backend bug)")
        self.store_plan = None
        self.in_loop = True
        self.emit(ind, "while True:")
        u, n = plan.unroll, plan.icount
        if u > 1:
            # enough budget for U passes: one check and one subtraction for all of them
            b = self.v(plan.budget)
            guard = self.guard_expr(u)
            self.emit(ind + 1, f"if {b} >= {u * n}{guard}:")
            self.emit(ind + 2, f"{b} = {b} - {u * n}")
            self.skip_guard = bool(guard)
            for j in range(1, u + 1):
                # a pass taken ahead gives back the budget of the later ones when it
                # leaves; the last one goes straight back to the head (-1)
                self.budget_fix = (u - j) * n if j < u else -1
                self.loop_pass(1, ind + 2)
            self.skip_guard = False
            self.head_facts()
            self.budget_exit(ind + 1)    # the budget cannot pay for a single pass
            self.budget_fix = -1         # a single pass, back to the head
        self.loop_pass(0, ind + 1)
        self.in_loop = False
        (self.ops, self.use_count, self.label_pos, self.insn, self.ge_known, self.zk,
         self.store_plan, self.cur) = saved

    def guard_expr(self, u: int) -> str:
        """' and <the counter cannot reach its limit in U passes>', or ''."""
        if self.loop.guard is None:
            return ""
        _, x, lim, step, width = self.loop.guard
        xs, ls = self.v(x), self.v(lim)
        if ls == "0" and step == -1:
            return f" and {xs} > {u}"                 # x counts down to zero
        a, b = (ls, xs) if step == 1 else (xs, ls)
        return f" and ({a} - {b}) & {_c((1 << width) - 1)} > {u}"

    def loop_pass(self, start: int, ind: int):
        """One pass over the loop body from the facts at its head."""
        self.insn = -1
        self.head_facts()
        self.emit_range(start, len(self.loop.ops), ind)
        self.budget_fix = 0

    def head_facts(self):
        """What holds at the loop head: the plan's back-edge facts, nothing derived
        while emitting (the peeled pass enters the loop too)."""
        plan, names = self.loop, self.names
        self.ge_known = {names[i]: v for i, v in plan.lower.items() if i in names}
        self.zk = {names[i]: v for i, v in plan.zmask.items() if i in names}

    def plan_loop(self):
        """Peel a structured TB with one goto_tb back to its start."""
        eg = self.rt.exit_global
        if not self.chain_self or eg is None:
            return
        gotos = [i for i, op in enumerate(self.ops) if op.opdef.base == "goto_tb"
                 and self.tb.jmp_target[op.args[0]] == self.tb.pc]
        if len(gotos) != 1:
            return
        gids = {id(t) for t in self.used_globals.values()}
        plan = plan_self_loop(self.ops, gotos[0], eg, gids)
        if plan is not None:
            self.loop = plan
            self.loop_goto = self.ops[gotos[0]]
            self.no_fuse = set(plan.invariant)

    # -- whole function -----------------------------------------------------------------
    def generate(self) -> str:
        tb = self.tb
        for op in self.ops:            # name every global first: loads, stores
            if op.opdef.base == "discard":
                continue
            for t in op.args[:op.nb_oargs]:
                if hasattr(t, "kind"):
                    self.out(t)
            for t in op.args[op.nb_oargs:op.nb_oargs + op.nb_iargs]:
                if hasattr(t, "kind"):
                    self.v(t)
            if op.opdef.base == "call":
                h = op.args[-1]
                if not h.flags & 2:
                    pass
        if self.rt.exit_global is not None and any(
                op.opdef.base in ("qemu_ld", "qemu_st") for op in self.ops):
            n = self.v(self.rt.exit_global)
            self.assigned_globals[n] = self.rt.exit_global
        self.assigned_globals_all = dict(self.assigned_globals)
        body_lines_start = len(self.lines)
        structured = self.structured()
        will_loop = self.chain_self and any(
            op.opdef.base == "goto_tb" and self.tb.jmp_target[op.args[0]] == self.tb.pc
            for op in self.ops)
        loads = None
        if structured and will_loop:
            self.plan_loop()
        if structured and (not will_loop or self.loop is not None):
            loads, self.store_plan = self.sync_plan()
        if self.loop is not None:
            loads = None                 # the loop's exits store every assigned global
        # The body is generated at indent 2 (inside a potential while loop).
        if structured:
            self.emit_range(0, len(self.ops), 2)
        else:
            self.emit_dispatch(2)
        body = self.lines[body_lines_start:]
        body_insn = self.line_insn[body_lines_start:]
        name = f"tb_{tb.pc:x}_{next(_seq)}"
        head = [f"def {name}():"]
        head_insn = [-1]
        for n, t in self.used_globals.items():
            if loads is None or n in loads:
                head.append(f"    {n} = env[{t.offset >> 3}]")
                head_insn.append(-1)
        if self.self_loop:
            head.append("    while True:")
            head_insn.append(-1)
            lines = head + body
            insns = head_insn + body_insn
        else:
            lines = head + [ln[4:] for ln in body]
            insns = head_insn + body_insn
        self.func_name = name
        self.line_insn = [-1] + insns       # 1-based line numbers
        return "\n".join(lines) + "\n"


class PyBackend:
    """Compiles each TB's ops into one Python function."""

    name = "python"

    def __init__(self, dump_dir: str | None = None, chain_self: bool = True):
        self.dump_dir = dump_dir
        self.chain_self = chain_self

    def compile(self, tb: TranslationBlock, ops: list, rt: Runtime) -> None:
        g = _Gen(tb, ops, rt, self.chain_self and rt.chaining)
        src = g.generate()
        filename = f"<tcg-tb-{tb.pc:x}-{next(_seq)}>"
        ns = g.ns
        ns.update(env=rt.env_q, envl=rt.env_l, envw=rt.env_w, envb=rt.env_b, cpu=rt.cpu,
                  J=tb.jmp_dest, LOOKUP=rt.lookup_tb, LD=rt.ld_slow, ST=rt.st_slow)
        if "TB.invalid" in src:
            ns["TB"] = tb                # (a reference cycle only where it is needed)
        code = compile(src, filename, "exec")
        linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
        exec(code, ns)
        tb.fn = ns[g.func_name]
        tb.source = src
        tb.line_insn = g.line_insn
        tb.code_name = filename
        tb.ops = ops
        if self.dump_dir:
            os.makedirs(self.dump_dir, exist_ok=True)
            with open(os.path.join(self.dump_dir, f"{g.func_name}.py"), "w") as f:
                f.write(src)

    def restore_point(self, tb: TranslationBlock, exc: BaseException):
        """(instruction index, {global Temp: value}) for EXC raised inside TB's code."""
        tbk = exc.__traceback__
        frame_tb = None
        while tbk is not None:
            if tbk.tb_frame.f_code.co_filename == tb.code_name:
                frame_tb = tbk
            tbk = tbk.tb_next
        if frame_tb is None:
            return -1, None
        line = frame_tb.tb_lineno
        insn = tb.line_insn[line] if line < len(tb.line_insn) else -1
        f_locals = frame_tb.tb_frame.f_locals
        values = {}
        for op in tb.ops:
            for t in op.args[:op.nb_oargs + op.nb_iargs]:
                if getattr(t, "kind", None) == TempKind.GLOBAL:
                    n = "g_" + "".join(ch if ch.isalnum() else "_" for ch in t.name)
                    if n in f_locals:
                        values[t] = f_locals[n]
        return insn, values


__all__ = ["PyBackend"]
