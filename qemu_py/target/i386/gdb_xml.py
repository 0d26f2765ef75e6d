"""target.xml for gdb: QEMU's x86-64 description (core and sse features)."""
from __future__ import annotations

from .gdb_regs import REGISTERS

_EFLAGS = ("CF", "", "PF", "", "AF", "", "ZF", "SF", "TF", "IF", "DF", "OF", "", "", "NT",
           "", "RF", "VM", "AC", "VIF", "VIP", "ID")
_MXCSR = ("IE", "DE", "ZE", "OE", "UE", "PE", "DAZ", "IM", "DM", "ZM", "OM", "UM", "PM", "FZ")
_TYPES_ONLY_HERE = {"i386_cr0": "int64", "i386_cr3": "int64", "i386_cr4": "int64",
                    "i386_efer": "int64"}


def _flags(name: str, size: int, bits) -> str:
    fields = "".join(f'<field name="{b}" start="{i}" end="{i}"/>' for i, b in enumerate(bits) if b)
    return f'<flags id="{name}" size="{size}">{fields}</flags>'


def _vec128() -> str:
    return ('<vector id="v8bf16" type="bfloat16" count="8"/>'
            '<vector id="v4f" type="ieee_single" count="4"/>'
            '<vector id="v2d" type="ieee_double" count="2"/>'
            '<vector id="v16i8" type="int8" count="16"/>'
            '<vector id="v8i16" type="int16" count="8"/>'
            '<vector id="v4i32" type="int32" count="4"/>'
            '<vector id="v2i64" type="int64" count="2"/>'
            '<union id="vec128"><field name="v8_bfloat16" type="v8bf16"/>'
            '<field name="v4_float" type="v4f"/><field name="v2_double" type="v2d"/>'
            '<field name="v16_int8" type="v16i8"/><field name="v8_int16" type="v8i16"/>'
            '<field name="v4_int32" type="v4i32"/><field name="v2_int64" type="v2i64"/>'
            '<field name="uint128" type="uint128"/></union>')


def _reg(n: int) -> str:
    name, size, typ, group = REGISTERS[n]
    typ = _TYPES_ONLY_HERE.get(typ, typ)
    extra = f' group="{group}"' if group in ("float", "vector") else ""
    return f'<reg name="{name}" bitsize="{size * 8}" type="{typ}"{extra}/>'


def target_xml() -> str:
    core = "".join(_reg(n) for n in range(49))
    sse = "".join(_reg(n) for n in range(49, 66))
    return ('<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd">'
            '<target><architecture>i386:x86-64</architecture>'
            '<feature name="org.gnu.gdb.i386.core">'
            + _flags("i386_eflags", 4, _EFLAGS) + core + '</feature>'
            '<feature name="org.gnu.gdb.i386.sse">'
            + _vec128() + _flags("i386_mxcsr", 4, _MXCSR) + sse + '</feature></target>')
