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

    def __init__(self, env, fault, ld, st, helper, tlb, current):
        self.current = current
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
        self.current = ctypes.c_uint64(0)      # id of the native TB running (its entry writes it)
        self.tbs: dict[int, TranslationBlock] = {}
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
                            ctypes.cast(self._helper, ctypes.c_void_p).value, self.tlb,
                            ctypes.addressof(self.current))

    def sync_current(self):
        """Tell the engine which TB native code is running (a chain moves it on)."""
        eng = getattr(self.rt, "engine", None)
        if eng is not None:
            tb = self.tbs.get(self.current.value)
            if tb is not None:
                eng.current_tb = tb

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
            self.sync_current()
            v = self.rt.ld_slow(addr, memop, mmu_idx)
            self.tlb.fill(mmu_idx, addr >> 12)
            return v
        except BaseException as e:  # noqa: BLE001  (re-raised by the TB's wrapper)
            return self._raised(e, insn)

    def st(self, addr, value, memop_idx, insn):
        try:
            self.sync_current()
            mmu_idx = memop_idx >> 8
            self.rt.st_slow(addr, value, memop_idx & 0xFF, mmu_idx)
            self.tlb.fill(mmu_idx, addr >> 12)
            return 0
        except BaseException as e:  # noqa: BLE001
            return self._raised(e, insn)

    def helper(self, idx, argv, insn):
        try:
            self.sync_current()
            h = self.helpers[idx]
            args = [argv[k] & (0xFFFF_FFFF if ty == 0 else M64) for k, ty in enumerate(h.args)]
            r = h.func(self.rt.cpu, *args) if h.pass_cpu else h.func(*args)
            return (r or 0) & M64
        except BaseException as e:  # noqa: BLE001
            return self._raised(e, insn)


class LLVMBackend:
    """Compiles each TB into native code; falls back to the Python backend per TB.

    With ``tier_after`` set (the ``auto`` backend), a TB starts as Python code
    behind a counting wrapper and is compiled natively on its ``tier_after``-th
    execution; cold code never pays LLVM's compile time.
    """

    name = "llvm"

    def __init__(self, opt: int = 2, dump_dir: str | None = None, tier_after: int = 0):
        self.tier_after = tier_after
        if tier_after:
            self.name = "auto"
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
        if not self.tier_after:
            self.compile_native(tb, ops, rt)
            return
        self.fallback.compile(tb, ops, rt)
        pyfn = tb.fn
        chaining = rt.chaining
        n = self.tier_after

        def counting():
            tb.exec_count += 1
            if tb.exec_count >= n and not tb.invalid:
                saved = rt.chaining
                rt.chaining = chaining
                try:
                    self.compile_native(tb, ops, rt)
                finally:
                    rt.chaining = saved
                return tb.fn()
            return pyfn()

        counting.__qualname__ = f"tier_tb_{tb.pc:x}"
        tb.fn = counting

    def compile_native(self, tb: TranslationBlock, ops: list, rt: Runtime) -> None:
        t0 = time.process_time_ns()
        ln = self._link(rt)
        name = f"tb_{tb.pc:x}_{next(_seq)}"
        try:
            cell = ctypes.c_uint64(0)
            slots = (ctypes.c_uint64 * 2)()
            tb_id = next(_seq)
            low = Lowering(name, tb, ops, ln.addrs, rt.exit_global, ln.helper_index,
                           chain_self=rt.chaining, invalid_addr=ctypes.addressof(cell),
                           slots_addr=ctypes.addressof(slots) if rt.chaining else 0,
                           tb_id=tb_id)
            text = low.generate() + DECLS
            (addr,) = self.jit.compile(text, [name])
        except Unsupported as e:
            reason = str(e)
            self.fallbacks[reason] = self.fallbacks.get(reason, 0) + 1
            if not self.tier_after:
                self.fallback.compile(tb, ops, rt)
            self.compile_ns += time.process_time_ns() - t0
            return
        native = _NATIVE(addr)
        tb.fn = _wrapper(native, tb, rt, ln)
        tb.fn_native = native
        tb.invalid_cell = cell
        tb.native_slots = slots
        ln.tbs[tb_id] = tb
        tb.native_id = tb_id
        # links made while this TB was Python code (auto tier) become native ones
        for slot in (0, 1):
            self.link(tb, slot, tb.jmp_dest[slot])
        for src, slot in tb.incoming:
            self.link(src, slot, tb)
        tb.ops = ops
        tb.source = None
        tb.code_name = "llvm:" + name
        tb.llvm_ir = text
        self.compiled += 1
        self.compile_ns += time.process_time_ns() - t0

    @staticmethod
    def link(src: TranslationBlock, slot: int, dst: TranslationBlock | None):
        """The engine chained (or, with DST None, unchained) SRC's goto_tb SLOT."""
        slots = src.native_slots
        if slots is None:
            return
        if dst is None or dst.fn_native is None or dst.invalid:
            slots[slot] = 0
        else:
            slots[slot] = ctypes.cast(dst.fn_native, ctypes.c_void_p).value

    @staticmethod
    def retire(tb: TranslationBlock):
        """TB is invalid: its slots no longer lead anywhere."""
        if tb.native_slots is not None:
            tb.native_slots[0] = tb.native_slots[1] = 0

    def restore_point(self, tb: TranslationBlock, exc: BaseException):
        if not tb.code_name.startswith("llvm:"):
            return self.fallback.restore_point(tb, exc)
        return getattr(exc, "tcg_insn", -1), None

    def stats(self) -> dict:
        return {"compiled": self.compiled, "fallbacks": dict(self.fallbacks),
                "compile_ms": self.compile_ns / 1e6}


def _wrapper(native, tb: TranslationBlock, rt: Runtime, ln: _RuntimeLink):
    tbs = ln.tbs
    cur = ln.current
    engine = getattr(rt, "engine", None)

    def run():
        r = native()
        last = tbs[cur.value]          # a native chain may have ended in another TB
        if engine is not None:
            engine.current_tb = last
        if r == EXIT_SLOT0 or r == EXIT_SLOT1:
            d = last.jmp_dest[r - 1]
            return d if d is not None else r
        if r < RET_LOOKUP:
            return r
        if r == RET_LOOKUP:
            return rt.lookup_tb()
        if r == RET_FAULT:
            e, ln.exc = ln.exc, None
            if e is None:
                raise RuntimeError(f"llvm backend: TB at pc {last.pc:#x} reported a fault "
                                   "without an exception")
            ln.fault.value = 0
            raise e
        raise RuntimeError(f"llvm backend: TB at pc {last.pc:#x} returned {r:#x}")

    run.__qualname__ = f"llvm_tb_{tb.pc:x}"
    return run


__all__ = ["LLVMBackend"]
