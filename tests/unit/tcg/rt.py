"""A tiny target-free runtime for IR tests: 32 u64 globals, 64 KiB of RAM."""

from __future__ import annotations

import ctypes
import mmap

from qemu_py.tcg.interp import InterpBackend
from qemu_py.tcg.ir import I32, I64, GlobalSet, TCGContext
from qemu_py.tcg.pybackend import PyBackend
from qemu_py.tcg.tb import Runtime, TranslationBlock

RAM_SIZE = 0x10000


def make_backend(name):
    if name == "interp":
        return InterpBackend()
    if name == "llvm":
        from qemu_py.tcg.llvm import LLVMBackend
        return LLVMBackend()
    return PyBackend()


class Fault(Exception):
    def __init__(self, addr):
        super().__init__(f"fault at {addr:#x}")
        self.addr = addr


class IRRuntime(Runtime):
    def __init__(self):
        super().__init__()
        self.state = (ctypes.c_uint64 * 32)()
        raw = memoryview(self.state).cast("B")
        self.env_b = raw
        self.env_w = raw.cast("H")
        self.env_l = raw.cast("I")
        self.env_q = raw.cast("Q")
        self.ram = mmap.mmap(-1, RAM_SIZE)
        self.ramv = memoryview(self.ram)
        self.cpu = self
        self.tlb_read = [{}]
        self.tlb_write = [{}]
        self.slow_calls = 0
        for vpn in range(RAM_SIZE >> 12):
            page = self.ramv[vpn << 12:(vpn + 1) << 12]
            entry = (page.cast("Q"), page.cast("I"), page.cast("H"), page)
            self.tlb_read[0][vpn] = entry
            self.tlb_write[0][vpn] = entry
        self.ld_slow = self._ld
        self.st_slow = self._st
        self.lookup_tb = lambda: 0
        g = self.globals = GlobalSet()
        self.r = [g.add(I64, 8 * i, f"r{i}") for i in range(8)]
        self.w = [g.add(I32, 8 * (8 + i), f"w{i}") for i in range(4)]
        self.budget = g.add(I64, 8 * 12, "budget")
        self.exit_global = self.budget

    def _ld(self, addr, memop, mmu_idx):
        self.slow_calls += 1
        size = 1 << (memop & 3)
        if addr + size > RAM_SIZE:
            raise Fault(addr)
        return int.from_bytes(self.ram[addr:addr + size], "big" if memop & 8 else "little")

    def _st(self, addr, value, memop, mmu_idx):
        self.slow_calls += 1
        size = 1 << (memop & 3)
        if addr + size > RAM_SIZE:
            raise Fault(addr)
        self.ram[addr:addr + size] = value.to_bytes(size, "big" if memop & 8 else "little")

    def ctx(self):
        return TCGContext(self.globals)

    def compile(self, backend_name, ctx, pc=0x1000):
        tb = TranslationBlock(pc, 0, 0, 0, pc)
        backend = make_backend(backend_name)
        backend.compile(tb, ctx.ops, self)
        return tb, backend

    def run(self, backend_name, ctx, pc=0x1000):
        tb, _ = self.compile(backend_name, ctx, pc)
        return tb.fn()

    def reg(self, t):
        return self.env_q[t.offset >> 3]

    def set(self, t, v):
        self.env_q[t.offset >> 3] = v
