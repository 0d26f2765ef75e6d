"""The LLVM backend: each TB becomes one native function compiled by MCJIT.

``compile`` lowers a TB (:mod:`.lower`) and compiles it; a TB the lowering
does not handle is compiled by the Python backend instead, and counted by
reason in ``fallbacks``. ``tb.fn`` is a small Python wrapper around the
native function: it follows ``goto_tb`` links (``tb.jmp_dest``), runs
``lookup_and_goto_ptr`` and re-raises a Python exception raised by a helper
or a slow path inside the native code, with the index of the guest
instruction that raised it (``restore_point``), so faults stay precise.
"""

from __future__ import annotations

import ctypes
import itertools
import time

from ..ir import EXIT_SLOT0, EXIT_SLOT1
from ..pybackend import PyBackend
from ..tb import Runtime, TranslationBlock
from .jit import JIT
from .lower import DECLS, RET_FAULT, RET_LOOKUP, Lowering, Unsupported
from .tlb import TLB_SIZE, NativeTLB

_seq = itertools.count()
_TRAMP = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64,
                          ctypes.c_uint64)
_HELPER = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint64),
                           ctypes.c_uint64)
_NATIVE = ctypes.CFUNCTYPE(ctypes.c_uint64)
M64 = 0xFFFF_FFFF_FFFF_FFFF


class _Addrs:
    """Host addresses the generated code is built against (one runtime)."""

    def __init__(self, env, fault, ld, st, helper, tlb):
        self.env = env
        self.fault = fault
        self.ld = ld
        self.st = st
        self.helper = helper
        self._tlb = tlb
        self.tlb_size = TLB_SIZE

    def tlb(self, mmu_idx: int) -> int:
        return self._tlb.address(mmu_idx)


class _RuntimeLink:
    """Trampolines, fault word and native TLB of one Runtime."""

    def __init__(self, rt: Runtime):
        self.rt = rt
        self.tlb = NativeTLB(rt)
        self.fault = ctypes.c_uint64(0)
        self.exc: BaseException | None = None
        self.helpers: list = []
        self.helper_ids: dict[int, int] = {}
        self._ld = _TRAMP(self.ld)
        self._st = _TRAMP(self.st)
        self._helper = _HELPER(self.helper)
        env = ctypes.addressof(ctypes.c_char.from_buffer(rt.env_b))
        self.addrs = _Addrs(env, ctypes.addressof(self.fault),
                            ctypes.cast(self._ld, ctypes.c_void_p).value,
                            ctypes.cast(self._st, ctypes.c_void_p).value,
                            ctypes.cast(self._helper, ctypes.c_void_p).value, self.tlb)

    def helper_index(self, h) -> int:
        k = self.helper_ids.get(id(h))
        if k is None:
            k = self.helper_ids[id(h)] = len(self.helpers)
            self.helpers.append(h)
        return k

    def _raised(self, e: BaseException, insn: int):
        if not hasattr(e, "tcg_insn"):
            e.tcg_insn = insn if insn < (1 << 63) else -1
        self.exc = e
        self.fault.value = 1
        return 0

    def ld(self, addr, memop, mmu_idx, insn):
        try:
            v = self.rt.ld_slow(addr, memop, mmu_idx)
            self.tlb.fill(mmu_idx, addr >> 12)
            return v
        except BaseException as e:  # noqa: BLE001  (re-raised by the TB's wrapper)
            return self._raised(e, insn)

    def st(self, addr, value, memop_idx, insn):
        try:
            mmu_idx = memop_idx >> 8
            self.rt.st_slow(addr, value, memop_idx & 0xFF, mmu_idx)
            self.tlb.fill(mmu_idx, addr >> 12)
            return 0
        except BaseException as e:  # noqa: BLE001
            return self._raised(e, insn)

    def helper(self, idx, argv, insn):
        try:
            h = self.helpers[idx]
            args = [argv[k] & (0xFFFF_FFFF if ty == 0 else M64) for k, ty in enumerate(h.args)]
            r = h.func(self.rt.cpu, *args) if h.pass_cpu else h.func(*args)
            return (r or 0) & M64
        except BaseException as e:  # noqa: BLE001
            return self._raised(e, insn)


class LLVMBackend:
    """Compiles each TB into native code; falls back to the Python backend per TB."""

    name = "llvm"

    def __init__(self, opt: int = 2, dump_dir: str | None = None):
        self.jit = JIT(opt)
        self.fallback = PyBackend(dump_dir=dump_dir)
        self.links: dict[int, _RuntimeLink] = {}
        self.compiled = 0
        self.fallbacks: dict[str, int] = {}
        self.compile_ns = 0

    def _link(self, rt: Runtime) -> _RuntimeLink:
        ln = self.links.get(id(rt))
        if ln is None or ln.rt is not rt:
            ln = self.links[id(rt)] = _RuntimeLink(rt)
        return ln

    def compile(self, tb: TranslationBlock, ops: list, rt: Runtime) -> None:
        t0 = time.perf_counter_ns()
        ln = self._link(rt)
        name = f"tb_{tb.pc:x}_{next(_seq)}"
        try:
            cell = ctypes.c_uint64(0)
            low = Lowering(name, tb, ops, ln.addrs, rt.exit_global, ln.helper_index,
                           chain_self=rt.chaining, invalid_addr=ctypes.addressof(cell))
            text = low.generate() + DECLS
            (addr,) = self.jit.compile(text, [name])
        except Unsupported as e:
            reason = str(e)
            self.fallbacks[reason] = self.fallbacks.get(reason, 0) + 1
            self.fallback.compile(tb, ops, rt)
            tb.code_name = tb.code_name or "python"
            self.compile_ns += time.perf_counter_ns() - t0
            return
        native = _NATIVE(addr)
        tb.fn = _wrapper(native, tb, rt, ln)
        tb.fn_native = native
        tb.invalid_cell = cell
        tb.ops = ops
        tb.source = None
        tb.code_name = "llvm:" + name
        tb.llvm_ir = text
        self.compiled += 1
        self.compile_ns += time.perf_counter_ns() - t0

    def restore_point(self, tb: TranslationBlock, exc: BaseException):
        if not tb.code_name.startswith("llvm:"):
            return self.fallback.restore_point(tb, exc)
        return getattr(exc, "tcg_insn", -1), None

    def stats(self) -> dict:
        return {"compiled": self.compiled, "fallbacks": dict(self.fallbacks),
                "compile_ms": self.compile_ns / 1e6}


def _wrapper(native, tb: TranslationBlock, rt: Runtime, ln: _RuntimeLink):
    jmp = tb.jmp_dest

    def run():
        r = native()
        if r == EXIT_SLOT0 or r == EXIT_SLOT1:
            d = jmp[r - 1]
            return d if d is not None else r
        if r < RET_LOOKUP:
            return r
        if r == RET_LOOKUP:
            return rt.lookup_tb()
        if r == RET_FAULT:
            e, ln.exc = ln.exc, None
            ln.fault.value = 0
            raise e
        raise RuntimeError(f"llvm backend: TB at pc {tb.pc:#x} returned {r:#x}")

    run.__qualname__ = f"llvm_tb_{tb.pc:x}"
    return run


__all__ = ["LLVMBackend"]
