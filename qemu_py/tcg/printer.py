"""The canonical text form of the IR (``-d op`` / ``-d op_opt``).

The format is QEMU's ``tcg_dump_ops``: one op per line, a leading space,
the op name, then outputs, inputs and constant arguments separated by
commas; constants are ``$0x..``, labels ``$L<n>``, conditions and MemOps by
name. ``insn_start`` prints as `` ---- <pc> <word>`` with each word in 16
hex digits. Translator tests compare this text verbatim (golden text).
"""

from __future__ import annotations

from .ir import COND_NAMES, Cond, Helper, Label, MemOpIdx, Op, Temp, temp_name


def _carg(op: Op, c) -> str:
    if isinstance(c, Label):
        return str(c)
    if isinstance(c, Cond):
        return COND_NAMES[c]
    if isinstance(c, MemOpIdx):
        return str(c)
    if isinstance(c, Helper):
        return c.name
    return f"$0x{c:x}"


_ENV_OPS = {"ld8u", "ld8s", "ld16u", "ld16s", "ld32u", "ld32s", "ld", "st8", "st16", "st32", "st"}


def format_op(op: Op) -> str:
    name = op.opdef.name
    if name == "insn_start":
        return " ---- " + " ".join(f"{w & 0xFFFF_FFFF_FFFF_FFFF:016x}" for w in op.args)
    if name == "call":
        helper = op.args[-1]
        temps = [temp_name(t) for t in op.args[:-1]]
        parts = [helper.name, f"$0x{int(helper.flags):x}", f"${op.nb_oargs}"] + temps
        return " call " + ",".join(parts)
    parts = []
    for k, a in enumerate(op.args):
        if isinstance(a, Temp):
            parts.append(temp_name(a))
        elif op.opdef.base in _ENV_OPS:
            parts.append(f"env,$0x{a:x}")
        else:
            parts.append(_carg(op, a))
    return f" {name} " + ",".join(parts) if parts else f" {name}"


def format_ops(ops: list[Op]) -> str:
    return "\n".join(format_op(op) for op in ops) + "\n"
