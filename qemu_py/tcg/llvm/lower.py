"""IR -> LLVM IR text for one TB: one function ``i64 @name()``.

* Every non-constant temporary and every global the TB touches gets an
  ``alloca``; LLVM's mem2reg turns them into SSA values, so guest globals
  live in host registers inside the TB.
* Globals are loaded from ``env`` (its host address is a constant) on entry
  and stored back before every exit, before helpers that read globals and
  before slow-path memory accesses (which may raise a guest fault); they are
  reloaded after helpers that write globals, and the exit-request global after
  every slow path (device code may request an exit).
* ``qemu_ld``/``qemu_st`` probe the native TLB (:mod:`.tlb`) inline: an
  aligned little-endian access whose page tag matches goes straight to host
  RAM; anything else calls the slow-path trampoline.
* Trampolines (:mod:`.trampolines`) run Python code; a Python exception sets
  the fault word, and the TB returns ``RET_FAULT`` at once (globals are
  already in ``env``), for the wrapper to re-raise it precisely.
* Return value: an ``EXIT_*`` code, ``RET_LOOKUP`` for
  ``lookup_and_goto_ptr`` or ``RET_FAULT``.

Anything this module does not lower raises :class:`Unsupported`, and the
backend compiles that TB with the Python backend instead.
"""

from __future__ import annotations

from ..ir import BITS, Cond, I32, MemOp, TempKind

RET_LOOKUP = 0x100
RET_FAULT = 0x101

_ICMP = {Cond.EQ: "eq", Cond.NE: "ne", Cond.LT: "slt", Cond.GE: "sge", Cond.LE: "sle",
         Cond.GT: "sgt", Cond.LTU: "ult", Cond.GEU: "uge", Cond.LEU: "ule", Cond.GTU: "ugt"}
_BIN = {"add": "add", "sub": "sub", "mul": "mul", "and": "and", "or": "or", "xor": "xor"}
_LD = {"ld8u": (8, False), "ld8s": (8, True), "ld16u": (16, False), "ld16s": (16, True),
       "ld32u": (32, False), "ld32s": (32, True)}
_ST = {"st8": 8, "st16": 16, "st32": 32}


class Unsupported(Exception):
    """An op or shape the LLVM lowering does not handle (the TB falls back)."""


def _ty(t) -> str:
    return "i32" if t == I32 else "i64"


def _sv(v: int, bits: int) -> int:
    """V as the signed decimal LLVM's parser wants."""
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


class Lowering:
    def __init__(self, name: str, tb, ops: list, addrs, exit_global, helper_index,
                 chain_self: bool = False, invalid_addr: int = 0, slots_addr: int = 0,
                 tb_id: int = 0):
        self.name = name
        self.tb = tb
        self.ops = ops
        self.a = addrs                 # host addresses: env, fault word, trampolines, TLBs
        self.eg = exit_global
        self.helper_index = helper_index   # Helper -> index for the helper trampoline
        self.lines: list[str] = []
        self.n = 0
        self.insn = -1
        self.allocas: dict[int, tuple[str, str]] = {}
        self.used_g: dict[int, object] = {}     # offset -> Temp
        self.assigned_g: dict[int, object] = {}
        self.dead = False
        self.chain_self = chain_self     # goto_tb to the TB's own start: a native loop
        self.invalid_addr = invalid_addr  # the TB's invalid word (checked at a back edge)
        self.self_loop = False
        self.slots_addr = slots_addr      # two native successor pointers (goto_tb links)
        self.tb_id = tb_id                # written to the current-TB word on entry

    # -- values ------------------------------------------------------------------------
    def tmp(self) -> str:
        self.n += 1
        return f"%v{self.n}"

    def emit(self, s: str):
        if not self.dead:
            self.lines.append("  " + s)

    def slot(self, t) -> str:
        if t.kind == TempKind.GLOBAL:
            return f"%g{t.offset}"
        return f"%t{t.index}"

    def get(self, t) -> str:
        if t.kind == TempKind.CONST:
            return str(_sv(t.value, BITS[t.type]))
        v = self.tmp()
        self.emit(f"{v} = load {_ty(t.type)}, ptr {self.slot(t)}")
        return v

    def put(self, t, v: str):
        self.emit(f"store {_ty(t.type)} {v}, ptr {self.slot(t)}")

    def label(self, name: str):
        if not self.dead:
            self.lines.append(f"  br label %{name}")
        self.lines.append(f"{name}:")
        self.dead = False

    def new_block(self) -> str:
        self.n += 1
        return f"b{self.n}"

    def ptr(self, addr: int) -> str:
        return f"inttoptr (i64 {addr} to ptr)"

    # -- globals -------------------------------------------------------------------------
    def scan(self):
        for op in self.ops:
            if op.opdef.base == "call" or op.opdef.base == "insn_start":
                ts = op.args[:op.nb_oargs + op.nb_iargs]
            else:
                ts = op.args[:op.nb_oargs + op.nb_iargs]
            for k, t in enumerate(ts):
                if getattr(t, "kind", None) is None:
                    continue
                if t.kind == TempKind.GLOBAL:
                    self.used_g[t.offset] = t
                    if k < op.nb_oargs:
                        self.assigned_g[t.offset] = t
                elif t.kind != TempKind.CONST:
                    self.allocas[t.index] = (f"%t{t.index}", _ty(t.type))
        if any(op.opdef.base in ("qemu_ld", "qemu_st") for op in self.ops) and self.eg is not None:
            self.used_g[self.eg.offset] = self.eg
            self.assigned_g[self.eg.offset] = self.eg

    def env_ptr(self, off: int) -> str:
        v = self.tmp()
        self.emit(f"{v} = getelementptr i8, ptr %env, i64 {off}")
        return v

    def load_globals(self, which):
        for off, t in which.items():
            p = self.env_ptr(off)
            v = self.tmp()
            ty = _ty(t.type)
            self.emit(f"{v} = load {ty}, ptr {p}")
            self.emit(f"store {ty} {v}, ptr %g{off}")

    def store_globals(self):
        for off, t in self.assigned_g.items():
            ty = _ty(t.type)
            v = self.tmp()
            self.emit(f"{v} = load {ty}, ptr %g{off}")
            p = self.env_ptr(off)
            self.emit(f"store {ty} {v}, ptr {p}")

    def ret(self, code: int):
        self.store_globals()
        self.emit(f"ret i64 {code}")
        self.dead = True

    def check_fault(self):
        f = self.tmp()
        c = self.tmp()
        self.emit(f"{f} = load volatile i64, ptr {self.ptr(self.a.fault)}")
        self.emit(f"{c} = icmp ne i64 {f}, 0")
        ok = self.new_block()
        self.emit(f"br i1 {c}, label %fault, label %{ok}")
        self.lines.append(f"{ok}:")

    # -- whole function ----------------------------------------------------------------------
    def generate(self) -> str:
        self.scan()
        body = self.lines
        head = [f"define i64 @{self.name}() {{", "entry:",
                f"  %env = inttoptr i64 {self.a.env} to ptr"]
        for name, ty in self.allocas.values():
            head.append(f"  {name} = alloca {ty}")
        for off, t in self.used_g.items():
            head.append(f"  %g{off} = alloca {_ty(t.type)}")
        head.append("  %argv = alloca [8 x i64]")
        self.load_globals(self.used_g)
        self.lines.append(f"  store volatile i64 {self.tb_id}, ptr {self.ptr(self.a.current)}")
        self.lines.append("  br label %top")
        self.lines.append("top:")
        for op in self.ops:
            self.op(op)
        if not self.dead:
            raise Unsupported("the TB falls off its end")
        tail = ["fault:", f"  ret i64 {RET_FAULT}", "}"]
        return "\n".join(head + body + tail) + "\n"

    # -- ops -------------------------------------------------------------------------------
    def op(self, op):
        d = op.opdef
        base = d.base
        a = op.args
        if base == "set_label":
            self.label(f"L{a[0].id}")
            return
        if self.dead:
            return              # unreachable up to the next label
        if base == "insn_start":
            self.insn += 1
            return
        if base in ("mb", "discard"):
            return
        if base == "br":
            self.emit(f"br label %L{a[0].id}")
            self.dead = True
            return
        if base == "brcond":
            c = self.cond(Cond(a[2]), a[0], a[1], d.type)
            nxt = self.new_block()
            self.emit(f"br i1 {c}, label %L{a[3].id}, label %{nxt}")
            self.lines.append(f"{nxt}:")
            return
        if base == "exit_tb":
            self.ret(a[0])
            return
        if base == "goto_tb":
            # linking happens outside: goto_tb n must be followed by its exit_tb n+1
            i = self.ops.index(op)
            nxt = self.ops[i + 1] if i + 1 < len(self.ops) else None
            if nxt is None or nxt.opdef.base != "exit_tb" or nxt.args[0] != a[0] + 1:
                raise Unsupported("goto_tb not followed by its exit_tb")
            if self.chain_self and self.tb.jmp_target[a[0]] == self.tb.pc:
                # chained to itself: the globals stay in registers, the TB's own budget
                # test runs again; device code run by this pass may have invalidated it
                self.self_loop = True
                if self.side_effects():
                    w, c = self.tmp(), self.tmp()
                    self.emit(f"{w} = load volatile i64, ptr {self.ptr(self.invalid_addr)}")
                    self.emit(f"{c} = icmp eq i64 {w}, 0")
                    leave = self.new_block()
                    self.emit(f"br i1 {c}, label %top, label %{leave}")
                    self.lines.append(f"{leave}:")
                    return               # the exit_tb that follows leaves
                self.emit("br label %top")
                self.dead = True
                return
            if self.slots_addr:
                # a linked successor runs at once, in place of this frame
                self.store_globals()
                sp, fp, c = self.tmp(), self.tmp(), self.tmp()
                self.emit(f"{sp} = getelementptr i64, ptr {self.ptr(self.slots_addr)}, i64 {a[0]}")
                self.emit(f"{fp} = load volatile ptr, ptr {sp}")
                self.emit(f"{c} = icmp ne ptr {fp}, null")
                go, stay = self.new_block(), self.new_block()
                self.emit(f"br i1 {c}, label %{go}, label %{stay}")
                self.lines.append(f"{go}:")
                r = self.tmp()
                self.emit(f"{r} = musttail call i64 {fp}()")
                self.emit(f"ret i64 {r}")
                self.lines.append(f"{stay}:")
            return
        if base == "lookup_and_goto_ptr":
            self.ret(RET_LOOKUP)
            return
        if base == "call":
            self.call(op)
            return
        if base == "qemu_ld":
            self.qemu_ld(op)
            return
        if base == "qemu_st":
            self.qemu_st(op)
            return
        if base in _LD or base == "ld":
            self.env_ld(op)
            return
        if base in _ST or base == "st":
            self.env_st(op)
            return
        self.pure(op)

    def side_effects(self) -> bool:
        return any(op.opdef.base in ("qemu_ld", "qemu_st", "call") for op in self.ops)

    def cond(self, cond: Cond, x, y, type_) -> str:
        if cond == Cond.ALWAYS:
            return "true"
        if cond == Cond.NEVER:
            return "false"
        xv, yv = self.get(x), self.get(y)
        c = self.tmp()
        self.emit(f"{c} = icmp {_ICMP[cond]} {_ty(type_)} {xv}, {yv}")
        return c

    def un(self, fn: str, ty: str, x: str, extra: str = "") -> str:
        v = self.tmp()
        self.emit(f"{v} = call {ty} @llvm.{fn}.{ty}({ty} {x}{extra})")
        return v

    def bin(self, opc: str, ty: str, x: str, y: str) -> str:
        v = self.tmp()
        self.emit(f"{v} = {opc} {ty} {x}, {y}")
        return v

    def pure(self, op):
        d = op.opdef
        base = d.base
        a = op.args
        no, ni = op.nb_oargs, op.nb_iargs
        cargs = a[no + ni:]
        if base == "setcond":
            c = self.cond(Cond(cargs[0]), a[1], a[2], d.type)
            v = self.tmp()
            self.emit(f"{v} = zext i1 {c} to {_ty(d.type)}")
            self.put(a[0], v)
            return
        if base == "movcond":
            c = self.cond(Cond(cargs[0]), a[1], a[2], d.type)
            t, f = self.get(a[3]), self.get(a[4])
            v = self.tmp()
            ty = _ty(d.type)
            self.emit(f"{v} = select i1 {c}, {ty} {t}, {ty} {f}")
            self.put(a[0], v)
            return
        if base in ("ext_i32_i64", "extu_i32_i64", "extrl_i64_i32", "extrh_i64_i32"):
            x = self.get(a[1])
            v = self.tmp()
            if base == "ext_i32_i64":
                self.emit(f"{v} = sext i32 {x} to i64")
            elif base == "extu_i32_i64":
                self.emit(f"{v} = zext i32 {x} to i64")
            elif base == "extrl_i64_i32":
                self.emit(f"{v} = trunc i64 {x} to i32")
            else:
                s = self.bin("lshr", "i64", x, "32")
                self.emit(f"{v} = trunc i64 {s} to i32")
            self.put(a[0], v)
            return
        ty = _ty(d.type)
        bits = BITS[d.type]
        ins = [self.get(t) for t in a[no:no + ni]]
        x = ins[0] if ins else None
        y = ins[1] if len(ins) > 1 else None
        if base in ("mulu2", "muls2", "add2", "sub2"):
            w = f"i{2 * bits}"
            if base in ("mulu2", "muls2"):
                ext = "zext" if base == "mulu2" else "sext"
                xw, yw = self.tmp(), self.tmp()
                self.emit(f"{xw} = {ext} {ty} {x} to {w}")
                self.emit(f"{yw} = {ext} {ty} {y} to {w}")
                p = self.bin("mul", w, xw, yw)
            else:
                def pair(lo, hi):
                    lw, hw = self.tmp(), self.tmp()
                    self.emit(f"{lw} = zext {ty} {lo} to {w}")
                    self.emit(f"{hw} = zext {ty} {hi} to {w}")
                    s = self.bin("shl", w, hw, str(bits))
                    return self.bin("or", w, lw, s)
                p = self.bin("add" if base == "add2" else "sub", w, pair(ins[0], ins[1]),
                             pair(ins[2], ins[3]))
            lo, hs, hi = self.tmp(), None, self.tmp()
            self.emit(f"{lo} = trunc {w} {p} to {ty}")
            hs = self.bin("lshr", w, p, str(bits))
            self.emit(f"{hi} = trunc {w} {hs} to {ty}")
            self.put(a[0], lo)
            self.put(a[1], hi)
            return
        m = str(_sv(-1, bits))
        if base == "mov":
            e = x
        elif base in _BIN:
            e = self.bin(_BIN[base], ty, x, y)
        elif base == "andc":
            e = self.bin("and", ty, x, self.bin("xor", ty, y, m))
        elif base == "orc":
            e = self.bin("or", ty, x, self.bin("xor", ty, y, m))
        elif base == "eqv":
            e = self.bin("xor", ty, self.bin("xor", ty, x, y), m)
        elif base == "nand":
            e = self.bin("xor", ty, self.bin("and", ty, x, y), m)
        elif base == "nor":
            e = self.bin("xor", ty, self.bin("or", ty, x, y), m)
        elif base in ("shl", "shr", "sar"):
            n = self.bin("and", ty, y, str(bits - 1))
            e = self.bin({"shl": "shl", "shr": "lshr", "sar": "ashr"}[base], ty, x, n)
        elif base in ("rotl", "rotr"):
            fn = "fshl" if base == "rotl" else "fshr"
            e = self.un(fn, ty, x, f", {ty} {x}, {ty} {y}")
        elif base in ("div", "divu", "rem", "remu"):
            # TCG leaves division by zero undefined (front ends test first): no UB here
            z = self.tmp()
            self.emit(f"{z} = icmp eq {ty} {y}, 0")
            safe = self.tmp()
            self.emit(f"{safe} = select i1 {z}, {ty} 1, {ty} {y}")
            if base in ("div", "rem"):
                mn = self.tmp()
                self.emit(f"{mn} = icmp eq {ty} {x}, {_sv(1 << (bits - 1), bits)}")
                m1 = self.tmp()
                self.emit(f"{m1} = icmp eq {ty} {safe}, -1")
                both = self.bin("and", "i1", mn, m1)
                s2 = self.tmp()
                self.emit(f"{s2} = select i1 {both}, {ty} 1, {ty} {safe}")
                r = self.bin("sdiv" if base == "div" else "srem", ty, x, s2)
                e = self.tmp()
                if base == "div":
                    self.emit(f"{e} = select i1 {both}, {ty} {x}, {ty} {r}")
                else:
                    self.emit(f"{e} = select i1 {both}, {ty} 0, {ty} {r}")
            else:
                e = self.bin("udiv" if base == "divu" else "urem", ty, x, safe)
        elif base == "neg":
            e = self.bin("sub", ty, "0", x)
        elif base == "not":
            e = self.bin("xor", ty, x, m)
        elif base in ("ext8s", "ext8u", "ext16s", "ext16u", "ext32s", "ext32u"):
            w = 8 if "8" in base else 16 if "16" in base else 32
            t = self.tmp()
            self.emit(f"{t} = trunc {ty} {x} to i{w}")
            e = self.tmp()
            self.emit(f"{e} = {'sext' if base.endswith('s') else 'zext'} i{w} {t} to {ty}")
        elif base in ("bswap16", "bswap32", "bswap64"):
            w = int(base[5:])
            if w == bits:
                e = self.un("bswap", ty, x)
            else:
                t = self.tmp()
                self.emit(f"{t} = trunc {ty} {x} to i{w}")
                s = self.un("bswap", f"i{w}", t)
                e = self.tmp()
                self.emit(f"{e} = zext i{w} {s} to {ty}")
        elif base in ("clz", "ctz"):
            r = self.un("ctlz" if base == "clz" else "cttz", ty, x, ", i1 false")
            z = self.tmp()
            self.emit(f"{z} = icmp eq {ty} {x}, 0")
            e = self.tmp()
            self.emit(f"{e} = select i1 {z}, {ty} {y}, {ty} {r}")
        elif base == "ctpop":
            e = self.un("ctpop", ty, x)
        elif base == "extract":
            pos, ln = cargs
            s = self.bin("lshr", ty, x, str(pos)) if pos else x
            e = self.bin("and", ty, s, str(_sv((1 << ln) - 1, bits))) if ln < bits else s
        elif base == "sextract":
            pos, ln = cargs
            s = self.bin("shl", ty, x, str(bits - pos - ln)) if bits - pos - ln else x
            e = self.bin("ashr", ty, s, str(bits - ln)) if bits - ln else s
        elif base == "deposit":
            pos, ln = cargs
            fm = (((1 << ln) - 1) << pos) & ((1 << bits) - 1)
            keep = self.bin("and", ty, x, str(_sv(~fm, bits)))
            sh = self.bin("shl", ty, y, str(pos)) if pos else y
            ins_ = self.bin("and", ty, sh, str(_sv(fm, bits)))
            e = self.bin("or", ty, keep, ins_)
        elif base == "extract2":
            (pos,) = cargs
            if pos == 0:
                e = x
            elif pos >= bits:
                e = y
            else:
                e = self.bin("or", ty, self.bin("lshr", ty, x, str(pos)),
                             self.bin("shl", ty, y, str(bits - pos)))
        else:
            raise Unsupported(f"op {d.name}")
        self.put(a[0], e)

    # -- env loads and stores ------------------------------------------------------------------
    def env_ld(self, op):
        d = op.opdef
        ty = _ty(d.type)
        w, sign = _LD.get(d.base, (BITS[d.type], False))
        off = op.args[1]
        p = self.env_ptr(off)
        v = self.tmp()
        self.emit(f"{v} = load i{w}, ptr {p}")
        if w < BITS[d.type]:
            e = self.tmp()
            self.emit(f"{e} = {'sext' if sign else 'zext'} i{w} {v} to {ty}")
            v = e
        self.put(op.args[0], v)

    def env_st(self, op):
        d = op.opdef
        ty = _ty(d.type)
        w = _ST.get(d.base, BITS[d.type])
        x = self.get(op.args[0])
        if w < BITS[d.type]:
            t = self.tmp()
            self.emit(f"{t} = trunc {ty} {x} to i{w}")
            x = t
        p = self.env_ptr(op.args[1])
        self.emit(f"store i{w} {x}, ptr {p}")

    # -- helpers ---------------------------------------------------------------------------------
    def call(self, op):
        h = op.args[-1]
        ins = op.args[op.nb_oargs:op.nb_oargs + op.nb_iargs]
        if len(ins) > 8:
            raise Unsupported(f"helper {h.name} with {len(ins)} arguments")
        for k, t in enumerate(ins):
            x = self.get(t)
            if t.type == I32:
                z = self.tmp()
                self.emit(f"{z} = zext i32 {x} to i64")
                x = z
            p = self.tmp()
            self.emit(f"{p} = getelementptr [8 x i64], ptr %argv, i64 0, i64 {k}")
            self.emit(f"store i64 {x}, ptr {p}")
        if (h.flags & 3) != 3:
            self.store_globals()
        r = self.tmp()
        idx = self.helper_index(h)
        self.emit(f"{r} = call i64 {self.ptr(self.a.helper)}(i64 {idx}, ptr %argv, i64 {self.insn})")
        self.check_fault()
        if not h.flags & 2:
            self.load_globals(self.used_g)
        if op.nb_oargs:
            o = op.args[0]
            if o.type == I32:
                t = self.tmp()
                self.emit(f"{t} = trunc i64 {r} to i32")
                r = t
            self.put(o, r)

    # -- guest memory ------------------------------------------------------------------------------
    def tlb_probe(self, addr: str, size: int, mmu_idx: int, write: bool):
        """Branch to (fast, slow) blocks; in fast, the host pointer."""
        base = self.a.tlb(mmu_idx)
        vpn = self.bin("lshr", "i64", addr, "12")
        idx = self.bin("and", "i64", vpn, str(self.a.tlb_size - 1))
        ent = self.tmp()
        self.emit(f"{ent} = getelementptr [3 x i64], ptr {self.ptr(base)}, i64 {idx}, "
                  f"i64 {1 if write else 0}")
        tag = self.tmp()
        self.emit(f"{tag} = load i64, ptr {ent}")
        hit = self.tmp()
        self.emit(f"{hit} = icmp eq i64 {tag}, {vpn}")
        if size > 1:
            al = self.bin("and", "i64", addr, str(size - 1))
            z = self.tmp()
            self.emit(f"{z} = icmp eq i64 {al}, 0")
            hit = self.bin("and", "i1", hit, z)
        fast, slow = self.new_block(), self.new_block()
        self.emit(f"br i1 {hit}, label %{fast}, label %{slow}, !prof !0")
        self.lines.append(f"{fast}:")
        ap = self.tmp()
        self.emit(f"{ap} = getelementptr [3 x i64], ptr {self.ptr(base)}, i64 {idx}, i64 2")
        add = self.tmp()
        self.emit(f"{add} = load i64, ptr {ap}")
        host = self.bin("add", "i64", addr, add)
        hp = self.tmp()
        self.emit(f"{hp} = inttoptr i64 {host} to ptr")
        return hp, slow

    def reload_exit(self):
        if self.eg is not None:
            self.load_globals({self.eg.offset: self.eg})

    def qemu_ld(self, op):
        o, at, oi = op.args
        memop = oi.memop
        size = 1 << (memop & 3)
        w = 8 * size
        addr = self.get(at)
        done = self.new_block()
        raw = f"%r{self.n + 1}"
        self.n += 1
        if not memop & MemOp.MO_BE:
            hp, slow = self.tlb_probe(addr, size, oi.mmu_idx, False)
            fv = self.tmp()
            self.emit(f"{fv} = load i{w}, ptr {hp}, align 1")
            fz = fv
            if w < 64:
                fz = self.tmp()
                self.emit(f"{fz} = zext i{w} {fv} to i64")
            fast_label = self.current_block()
            self.emit(f"br label %{done}")
            self.lines.append(f"{slow}:")
        else:
            fast_label = None
        self.store_globals()
        sv = self.tmp()
        self.emit(f"{sv} = call i64 {self.ptr(self.a.ld)}(i64 {addr}, i64 {memop}, "
                  f"i64 {oi.mmu_idx}, i64 {self.insn})")
        self.check_fault()
        self.reload_exit()
        slow_label = self.current_block()
        self.emit(f"br label %{done}")
        self.lines.append(f"{done}:")
        if fast_label is not None:
            self.emit(f"{raw} = phi i64 [{fz}, %{fast_label}], [{sv}, %{slow_label}]")
        else:
            raw = sv
        t = self.tmp()
        self.emit(f"{t} = trunc i64 {raw} to i{w}" if w < 64 else f"{t} = add i64 {raw}, 0")
        ty = _ty(o.type)
        bits = BITS[o.type]
        if w < bits:
            e = self.tmp()
            self.emit(f"{e} = {'sext' if memop & MemOp.MO_SIGN else 'zext'} i{w} {t} to {ty}")
        elif w > bits:
            e = self.tmp()
            self.emit(f"{e} = trunc i{w} {t} to {ty}")
        else:
            e = t
        self.put(o, e)

    def current_block(self) -> str:
        for ln in reversed(self.lines):
            if ln.endswith(":") and not ln.startswith(" "):
                return ln[:-1]
        return "entry"

    def qemu_st(self, op):
        vt, at, oi = op.args
        memop = oi.memop
        size = 1 << (memop & 3)
        w = 8 * size
        addr = self.get(at)
        val = self.get(vt)
        ty = _ty(vt.type)
        if vt.type == I32:
            z = self.tmp()
            self.emit(f"{z} = zext i32 {val} to i64")
            v64 = z
        else:
            v64 = val
        done = self.new_block()
        if not memop & MemOp.MO_BE:
            hp, slow = self.tlb_probe(addr, size, oi.mmu_idx, True)
            if w == BITS[vt.type]:
                nv = val
            else:
                nv = self.tmp()
                self.emit(f"{nv} = trunc {ty} {val} to i{w}")
            self.emit(f"store i{w} {nv}, ptr {hp}, align 1")
            self.emit(f"br label %{done}")
            self.lines.append(f"{slow}:")
        mv = self.bin("and", "i64", v64, str(_sv((1 << w) - 1, 64))) if w < 64 else v64
        self.store_globals()
        r = self.tmp()
        self.emit(f"{r} = call i64 {self.ptr(self.a.st)}(i64 {addr}, i64 {mv}, "
                  f"i64 {memop | (oi.mmu_idx << 8)}, i64 {self.insn})")
        self.check_fault()
        self.reload_exit()
        self.emit(f"br label %{done}")
        self.lines.append(f"{done}:")


DECLS = """
declare i32 @llvm.fshl.i32(i32, i32, i32)
declare i64 @llvm.fshl.i64(i64, i64, i64)
declare i32 @llvm.fshr.i32(i32, i32, i32)
declare i64 @llvm.fshr.i64(i64, i64, i64)
declare i16 @llvm.bswap.i16(i16)
declare i32 @llvm.bswap.i32(i32)
declare i64 @llvm.bswap.i64(i64)
declare i32 @llvm.ctlz.i32(i32, i1)
declare i64 @llvm.ctlz.i64(i64, i1)
declare i32 @llvm.cttz.i32(i32, i1)
declare i64 @llvm.cttz.i64(i64, i1)
declare i32 @llvm.ctpop.i32(i32)
declare i64 @llvm.ctpop.i64(i64)
!0 = !{!"branch_weights", i32 1000, i32 1}
"""
