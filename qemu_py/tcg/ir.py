"""The TCG intermediate representation: types, temporaries, ops, labels, helpers.

The IR follows QEMU's TCG closely so that its text (``-d op``) reads the same
way and so that a native backend (LLVM) can consume it later:

* every value is typed, ``i32`` or ``i64``; an op's name carries the type of
  its operands (``add_i64``);
* a *global* is a temporary backed by a fixed byte offset of the CPU state
  (``env``), which lives in native memory; backends may cache globals in
  host registers (Python locals) between synchronisation points;
* *EBB* temporaries die at the end of their extended basic block, *TB*
  temporaries live across branches; constants are interned temporaries;
* ops take output temporaries, then input temporaries, then constant
  arguments (a condition, a :class:`MemOpIdx`, a :class:`Label`, a helper).

Helpers are Python callables declared with :class:`Helper`; their flags say
whether they read or write globals or have side effects, exactly QEMU's
``TCG_CALL_NO_READ_GLOBALS``, ``TCG_CALL_NO_WRITE_GLOBALS`` and
``TCG_CALL_NO_SIDE_EFFECTS``. A helper that may raise a guest exception must
not be ``NO_READ_GLOBALS`` (the faulting state must be in ``env``).
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

# --------------------------------------------------------------------------- types


class TCGType(IntEnum):
    I32 = 0
    I64 = 1


I32 = TCGType.I32
I64 = TCGType.I64
BITS = {I32: 32, I64: 64}
MASK = {I32: 0xFFFF_FFFF, I64: 0xFFFF_FFFF_FFFF_FFFF}
SUFFIX = {I32: "_i32", I64: "_i64"}


class TempKind(IntEnum):
    EBB = 0      # "tmp": dead at the end of its extended basic block
    TB = 1       # "loc": lives across branches inside one TB
    GLOBAL = 2   # a slot of the CPU state
    CONST = 3


class Temp:
    """A typed IR value. Globals carry ``offset`` (bytes into env)."""

    __slots__ = ("kind", "type", "index", "name", "value", "offset")

    def __init__(self, kind: TempKind, type_: TCGType, index: int, name: str = "",
                 value: int = 0, offset: int = -1):
        self.kind = kind
        self.type = type_
        self.index = index
        self.name = name
        self.value = value
        self.offset = offset

    @property
    def is_global(self) -> bool:
        return self.kind == TempKind.GLOBAL

    @property
    def is_const(self) -> bool:
        return self.kind == TempKind.CONST

    def __repr__(self) -> str:
        return f"<Temp {temp_name(self)}:{self.type.name.lower()}>"


def temp_name(t: Temp) -> str:
    if t.kind == TempKind.GLOBAL:
        return t.name
    if t.kind == TempKind.CONST:
        return f"$0x{t.value:x}"
    return t.name


class GlobalSet:
    """The globals of one target: names mapped onto byte offsets of env."""

    def __init__(self):
        self.temps: list[Temp] = []
        self.by_name: dict[str, Temp] = {}

    def add(self, type_: TCGType, offset: int, name: str) -> Temp:
        if name in self.by_name:
            raise ValueError(f"global {name!r} already defined")
        if offset % 8:
            raise ValueError(f"global {name!r}: offset {offset:#x} is not 8-byte aligned")
        t = Temp(TempKind.GLOBAL, type_, len(self.temps), name, offset=offset)
        self.temps.append(t)
        self.by_name[name] = t
        return t

    def __getitem__(self, name: str) -> Temp:
        return self.by_name[name]


# --------------------------------------------------------------------- conditions


class Cond(IntEnum):
    NEVER = 0
    ALWAYS = 1
    EQ = 8
    NE = 9
    LT = 10
    GE = 11
    LE = 12
    GT = 13
    LTU = 14
    GEU = 15
    LEU = 16
    GTU = 17


COND_NAMES = {Cond.NEVER: "never", Cond.ALWAYS: "always", Cond.EQ: "eq", Cond.NE: "ne",
              Cond.LT: "lt", Cond.GE: "ge", Cond.LE: "le", Cond.GT: "gt", Cond.LTU: "ltu",
              Cond.GEU: "geu", Cond.LEU: "leu", Cond.GTU: "gtu"}

_INVERT = {Cond.NEVER: Cond.ALWAYS, Cond.ALWAYS: Cond.NEVER, Cond.EQ: Cond.NE, Cond.NE: Cond.EQ,
           Cond.LT: Cond.GE, Cond.GE: Cond.LT, Cond.LE: Cond.GT, Cond.GT: Cond.LE,
           Cond.LTU: Cond.GEU, Cond.GEU: Cond.LTU, Cond.LEU: Cond.GTU, Cond.GTU: Cond.LEU}

_SWAP = {Cond.NEVER: Cond.NEVER, Cond.ALWAYS: Cond.ALWAYS, Cond.EQ: Cond.EQ, Cond.NE: Cond.NE,
         Cond.LT: Cond.GT, Cond.GT: Cond.LT, Cond.LE: Cond.GE, Cond.GE: Cond.LE,
         Cond.LTU: Cond.GTU, Cond.GTU: Cond.LTU, Cond.LEU: Cond.GEU, Cond.GEU: Cond.LEU}


def invert_cond(c: Cond) -> Cond:
    return _INVERT[c]


def swap_cond(c: Cond) -> Cond:
    return _SWAP[c]


def eval_cond(c: Cond, a: int, b: int, type_: TCGType) -> bool:
    """Evaluate C on the unsigned representations A and B of TYPE."""
    if c == Cond.EQ:
        return a == b
    if c == Cond.NE:
        return a != b
    if c == Cond.LTU:
        return a < b
    if c == Cond.GEU:
        return a >= b
    if c == Cond.LEU:
        return a <= b
    if c == Cond.GTU:
        return a > b
    if c == Cond.ALWAYS:
        return True
    if c == Cond.NEVER:
        return False
    bits = BITS[type_]
    sign = 1 << (bits - 1)
    sa = (a ^ sign) - sign
    sb = (b ^ sign) - sign
    if c == Cond.LT:
        return sa < sb
    if c == Cond.GE:
        return sa >= sb
    if c == Cond.LE:
        return sa <= sb
    return sa > sb          # GT


# -------------------------------------------------------------------------- MemOp


class MemOp(IntFlag):
    """Size, sign, byte order and alignment of a guest memory access."""

    MO_8 = 0
    MO_16 = 1
    MO_32 = 2
    MO_64 = 3
    MO_SIZE = 3
    MO_SIGN = 4
    MO_BE = 8            # big-endian (a byte swap on a little-endian guest)
    MO_ALIGN = 0x10      # must be aligned to its size, else an alignment fault

    MO_UB = 0
    MO_SB = 4
    MO_UW = 1
    MO_SW = 5
    MO_UL = 2
    MO_SL = 6
    MO_UQ = 3


def memop_size(mop: int) -> int:
    return 1 << (mop & MemOp.MO_SIZE)


def memop_name(mop: int) -> str:
    """QEMU's text: ``ub sb leuw lesw leul lesl leq`` (``be`` forms), ``al+`` prefix."""
    size = mop & 3
    sign = bool(mop & MemOp.MO_SIGN)
    if size == 0:
        base = "sb" if sign else "ub"
    else:
        endian = "be" if mop & MemOp.MO_BE else "le"
        base = endian + {1: "sw" if sign else "uw", 2: "sl" if sign else "ul", 3: "q"}[size]
    return ("al+" if mop & MemOp.MO_ALIGN else "") + base


class MemOpIdx:
    """A MemOp together with the MMU index of the access (QEMU's MemOpIdx)."""

    __slots__ = ("memop", "mmu_idx")

    def __init__(self, memop: int, mmu_idx: int):
        self.memop = int(memop)
        self.mmu_idx = mmu_idx

    def __eq__(self, other):
        return (isinstance(other, MemOpIdx) and self.memop == other.memop
                and self.mmu_idx == other.mmu_idx)

    def __hash__(self):
        return hash((self.memop, self.mmu_idx))

    def __str__(self) -> str:
        return f"{memop_name(self.memop)},{self.mmu_idx}"

    __repr__ = __str__


# -------------------------------------------------------------------------- labels


class Label:
    __slots__ = ("id", "refs", "present")

    def __init__(self, id_: int):
        self.id = id_
        self.refs = 0
        self.present = False

    def __str__(self) -> str:
        return f"$L{self.id}"

    __repr__ = __str__


# ------------------------------------------------------------------------- helpers


class CallFlags(IntFlag):
    NONE = 0
    NO_READ_GLOBALS = 1
    NO_WRITE_GLOBALS = 2
    NO_SIDE_EFFECTS = 4
    NO_RWG = 3
    NO_WG_SE = 6
    NO_RWG_SE = 7


class Helper:
    """A helper function callable from IR.

    ``func(cpu, *args)`` receives the CPU object first when ``pass_cpu`` is
    set (the ``env`` argument of QEMU helpers) and returns an int (or None
    for void helpers). ``ret`` is the result type or None; ``args`` the
    argument types.
    """

    __slots__ = ("name", "func", "flags", "ret", "args", "pass_cpu")

    def __init__(self, name: str, func, ret: TCGType | None, args: tuple,
                 flags: int = CallFlags.NONE, pass_cpu: bool = True):
        self.name = name
        self.func = func
        self.flags = int(CallFlags(flags))     # a plain int: tested on every translation
        self.ret = ret
        self.args = tuple(args)
        self.pass_cpu = pass_cpu

    def __repr__(self) -> str:
        return f"<Helper {self.name}>"


# ------------------------------------------------------------------------- op defs


class OpFlags(IntFlag):
    NONE = 0
    BB_END = 1          # ends a basic block (branches, exits)
    BB_EXIT = 2         # leaves the TB
    SIDE_EFFECTS = 4    # never removed as dead code
    MAY_RAISE = 8       # may raise a guest exception: every global must be in env
    COND_BRANCH = 16


class OpDef:
    __slots__ = ("name", "nb_oargs", "nb_iargs", "nb_cargs", "flags", "type", "base")

    def __init__(self, base: str, type_: TCGType | None, nb_oargs: int, nb_iargs: int,
                 nb_cargs: int, flags: OpFlags):
        self.base = base
        self.name = base + (SUFFIX[type_] if type_ is not None else "")
        self.type = type_
        self.nb_oargs = nb_oargs
        self.nb_iargs = nb_iargs
        self.nb_cargs = nb_cargs
        self.flags = int(flags)                # a plain int: tested on every translation

    def __repr__(self) -> str:
        return f"<OpDef {self.name}>"


OPS: dict[str, OpDef] = {}

_F = OpFlags
# (base name, out, in, const, flags, types); types: "both", "i64", or None (untyped)
_TYPED = [
    ("mov", 1, 1, 0, _F.NONE),
    ("add", 1, 2, 0, _F.NONE), ("sub", 1, 2, 0, _F.NONE), ("mul", 1, 2, 0, _F.NONE),
    ("and", 1, 2, 0, _F.NONE), ("or", 1, 2, 0, _F.NONE), ("xor", 1, 2, 0, _F.NONE),
    ("andc", 1, 2, 0, _F.NONE), ("orc", 1, 2, 0, _F.NONE), ("eqv", 1, 2, 0, _F.NONE),
    ("nand", 1, 2, 0, _F.NONE), ("nor", 1, 2, 0, _F.NONE),
    ("shl", 1, 2, 0, _F.NONE), ("shr", 1, 2, 0, _F.NONE), ("sar", 1, 2, 0, _F.NONE),
    ("rotl", 1, 2, 0, _F.NONE), ("rotr", 1, 2, 0, _F.NONE),
    ("div", 1, 2, 0, _F.NONE), ("divu", 1, 2, 0, _F.NONE),
    ("rem", 1, 2, 0, _F.NONE), ("remu", 1, 2, 0, _F.NONE),
    ("neg", 1, 1, 0, _F.NONE), ("not", 1, 1, 0, _F.NONE),
    ("mulu2", 2, 2, 0, _F.NONE), ("muls2", 2, 2, 0, _F.NONE),
    ("add2", 2, 4, 0, _F.NONE), ("sub2", 2, 4, 0, _F.NONE),
    ("ext8s", 1, 1, 0, _F.NONE), ("ext8u", 1, 1, 0, _F.NONE),
    ("ext16s", 1, 1, 0, _F.NONE), ("ext16u", 1, 1, 0, _F.NONE),
    ("bswap16", 1, 1, 0, _F.NONE), ("bswap32", 1, 1, 0, _F.NONE),
    ("clz", 1, 2, 0, _F.NONE), ("ctz", 1, 2, 0, _F.NONE), ("ctpop", 1, 1, 0, _F.NONE),
    ("extract", 1, 1, 2, _F.NONE), ("sextract", 1, 1, 2, _F.NONE),
    ("deposit", 1, 2, 2, _F.NONE), ("extract2", 1, 2, 1, _F.NONE),
    ("setcond", 1, 2, 1, _F.NONE), ("movcond", 1, 4, 1, _F.NONE),
    ("brcond", 0, 2, 2, _F.BB_END | _F.COND_BRANCH),
    ("ld8u", 1, 0, 1, _F.NONE), ("ld8s", 1, 0, 1, _F.NONE),
    ("ld16u", 1, 0, 1, _F.NONE), ("ld16s", 1, 0, 1, _F.NONE), ("ld", 1, 0, 1, _F.NONE),
    ("st8", 0, 1, 1, _F.SIDE_EFFECTS), ("st16", 0, 1, 1, _F.SIDE_EFFECTS),
    ("st", 0, 1, 1, _F.SIDE_EFFECTS),
    ("qemu_ld", 1, 1, 1, _F.SIDE_EFFECTS | _F.MAY_RAISE),
    ("qemu_st", 0, 2, 1, _F.SIDE_EFFECTS | _F.MAY_RAISE),
]
_I64_ONLY = [
    ("ext32s", 1, 1, 0, _F.NONE), ("ext32u", 1, 1, 0, _F.NONE), ("bswap64", 1, 1, 0, _F.NONE),
    ("ld32u", 1, 0, 1, _F.NONE), ("ld32s", 1, 0, 1, _F.NONE),
    ("st32", 0, 1, 1, _F.SIDE_EFFECTS),
]
_UNTYPED = [
    ("ext_i32_i64", 1, 1, 0, _F.NONE), ("extu_i32_i64", 1, 1, 0, _F.NONE),
    ("extrl_i64_i32", 1, 1, 0, _F.NONE), ("extrh_i64_i32", 1, 1, 0, _F.NONE),
    ("set_label", 0, 0, 1, _F.BB_END),
    ("br", 0, 0, 1, _F.BB_END),
    ("call", 0, 0, 1, _F.NONE),                 # argument counts live in the Op
    ("insn_start", 0, 0, 2, _F.NONE),
    ("goto_tb", 0, 0, 1, _F.SIDE_EFFECTS),
    ("exit_tb", 0, 0, 1, _F.BB_END | _F.BB_EXIT | _F.SIDE_EFFECTS),
    ("lookup_and_goto_ptr", 0, 0, 0, _F.BB_END | _F.BB_EXIT | _F.SIDE_EFFECTS),
    ("mb", 0, 0, 1, _F.SIDE_EFFECTS),
    ("discard", 1, 0, 0, _F.NONE),
]

for _name, _o, _i, _c, _fl in _TYPED:
    for _t in (I32, I64):
        _d = OpDef(_name, _t, _o, _i, _c, _fl)
        OPS[_d.name] = _d
for _name, _o, _i, _c, _fl in _I64_ONLY:
    _d = OpDef(_name, I64, _o, _i, _c, _fl)
    OPS[_d.name] = _d
for _name, _o, _i, _c, _fl in _UNTYPED:
    _d = OpDef(_name, None, _o, _i, _c, _fl)
    OPS[_d.name] = _d

# Argument types of the untyped conversions: (outputs, inputs).
CONV_TYPES = {"ext_i32_i64": (I64, I32), "extu_i32_i64": (I64, I32),
              "extrl_i64_i32": (I32, I64), "extrh_i64_i32": (I32, I64)}

# exit_tb values (QEMU encodes "tb | n"; ours are symbolic and stable).
EXIT_NOCHAIN = 0        # plain exit, nothing to chain
EXIT_SLOT0 = 1          # left through goto_tb 0 unchained
EXIT_SLOT1 = 2          # left through goto_tb 1 unchained
EXIT_REQUESTED = 3      # budget exhausted or exit requested before the TB ran


class Op:
    """One IR operation. ``args``: outputs, inputs, then constant arguments."""

    __slots__ = ("opdef", "args", "nb_oargs", "nb_iargs")

    def __init__(self, opdef: OpDef, args: list, nb_oargs: int | None = None,
                 nb_iargs: int | None = None):
        self.opdef = opdef
        self.args = args
        self.nb_oargs = opdef.nb_oargs if nb_oargs is None else nb_oargs
        self.nb_iargs = opdef.nb_iargs if nb_iargs is None else nb_iargs

    @property
    def name(self) -> str:
        return self.opdef.name

    @property
    def outputs(self) -> list:
        return self.args[:self.nb_oargs]

    @property
    def inputs(self) -> list:
        return self.args[self.nb_oargs:self.nb_oargs + self.nb_iargs]

    @property
    def cargs(self) -> list:
        return self.args[self.nb_oargs + self.nb_iargs:]

    def __repr__(self) -> str:
        # the dump text (``-d op``) is qemu_py.tcg.printer.format_op's, a layer above
        return f"<Op {self.opdef.name} {', '.join(map(str, self.args))}>"


# --------------------------------------------------------------------------- context


class IRError(Exception):
    """An ill-formed op (wrong type or argument count) or one a backend cannot
    lower: a translator bug, never caused by guest code or user input."""


class TCGContext:
    """Builds the op list of one translation block.

    ``gen_<op>(...)`` methods exist for every op; input temporaries may be
    given as Python ints, which become constants of the op's type.
    """

    def __init__(self, globals_: GlobalSet):
        self.globals = globals_
        self.ops: list[Op] = []
        self.temps: list[Temp] = []
        self.labels: list[Label] = []
        self._consts: dict[tuple, Temp] = {}
        self._nb_tmp = 0
        self._nb_loc = 0

    # -- temporaries --------------------------------------------------------------
    def temp_new(self, type_: TCGType = I64) -> Temp:
        t = Temp(TempKind.EBB, type_, len(self.temps), f"tmp{self._nb_tmp}")
        self._nb_tmp += 1
        self.temps.append(t)
        return t

    def temp_local(self, type_: TCGType = I64) -> Temp:
        t = Temp(TempKind.TB, type_, len(self.temps), f"loc{self._nb_loc}")
        self._nb_loc += 1
        self.temps.append(t)
        return t

    def const(self, value: int, type_: TCGType = I64) -> Temp:
        value &= MASK[type_]
        key = (type_, value)
        t = self._consts.get(key)
        if t is None:
            t = Temp(TempKind.CONST, type_, len(self.temps), value=value)
            self.temps.append(t)
            self._consts[key] = t
        return t

    def label(self) -> Label:
        lab = Label(len(self.labels))
        self.labels.append(lab)
        return lab

    # -- emission -----------------------------------------------------------------
    def _as_temp(self, x, type_: TCGType, opname: str) -> Temp:
        if isinstance(x, Temp):
            if x.type != type_:
                raise IRError(f"{opname}: operand {temp_name(x)} is "
                              f"{x.type.name.lower()}, expected {type_.name.lower()}")
            return x
        if isinstance(x, int):
            return self.const(x, type_)
        raise IRError(f"{opname}: operand {x!r} is not a temporary or an int")

    def emit(self, name: str, *args) -> Op:
        d = OPS[name]
        n_t = d.nb_oargs + d.nb_iargs
        if len(args) != n_t + d.nb_cargs:
            raise IRError(f"{name}: expected {n_t + d.nb_cargs} arguments, got {len(args)}")
        targs: list = []
        if d.name in CONV_TYPES:
            ot, it = CONV_TYPES[d.name]
            targs.append(self._as_temp(args[0], ot, name))
            targs.append(self._as_temp(args[1], it, name))
        else:
            for k in range(n_t):
                a = args[k]
                if k < d.nb_oargs:
                    if not isinstance(a, Temp) or a.is_const:
                        raise IRError(f"{name}: output {a!r} must be a non-constant temporary")
                targs.append(self._as_temp(a, d.type, name) if d.type is not None else a)
        targs.extend(args[n_t:])
        for c in args[n_t:]:
            if isinstance(c, Label):
                c.refs += name != "set_label"
                if name == "set_label":
                    c.present = True
        op = Op(d, targs)
        self.ops.append(op)
        return op

    def call(self, helper: Helper, outs=(), ins=()) -> Op:
        outs = list(outs)
        ins = list(ins)
        if (helper.ret is None) != (len(outs) == 0) or len(outs) > 1:
            raise IRError(f"call {helper.name}: result count does not match its declaration")
        if len(ins) != len(helper.args):
            raise IRError(f"call {helper.name}: expected {len(helper.args)} arguments, "
                          f"got {len(ins)}")
        targs = []
        for o in outs:
            targs.append(self._as_temp(o, helper.ret, "call " + helper.name))
        for a, ty in zip(ins, helper.args):
            targs.append(self._as_temp(a, ty, "call " + helper.name))
        targs.append(helper)
        op = Op(OPS["call"], targs, len(outs), len(ins))
        self.ops.append(op)
        return op

    def insn_start(self, *words: int) -> Op:
        op = Op(OPS["insn_start"], list(words), 0, 0)
        self.ops.append(op)
        return op

    def set_label(self, lab: Label) -> Op:
        return self.emit("set_label", lab)

    def br(self, lab: Label) -> Op:
        return self.emit("br", lab)

    def goto_tb(self, n: int) -> Op:
        return self.emit("goto_tb", n)

    def exit_tb(self, val: int) -> Op:
        return self.emit("exit_tb", val)

    def lookup_and_goto_ptr(self) -> Op:
        return self.emit("lookup_and_goto_ptr")

    def mb(self, kind: int = 0) -> Op:
        return self.emit("mb", kind)

    def discard(self, t: Temp) -> Op:
        return self.emit("discard", t)


def _make_gen(name: str):
    def gen(self, *args):
        return self.emit(name, *args)
    gen.__name__ = "gen_" + name
    gen.__doc__ = f"Emit ``{name}``."
    return gen


for _opname in OPS:
    if _opname not in ("call", "insn_start"):
        setattr(TCGContext, "gen_" + _opname, _make_gen(_opname))
