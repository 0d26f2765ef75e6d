"""Runs a batch on qemu-py's TCG x86-64 CPU (``qemu_py.target.i386.cpu.X86CPU``).

An adapter over the TCG engineer's API, kept here so their files stay
theirs: RAM in a memory-API AddressSpace, an I/O space whose port 0x10
(the doorbell the image's CPL0 handler rings) stops the CPU, and the same
long-mode CPL3 entry state as the KVM engine, written into the CPU's state
slots. Code pages rewritten between batches are invalidated in the TB cache
(``cpu.invalidate_code``) because the memory API does not report host
writes to the translator.

``flag_fault`` is a test hook: a callable ``(cpu) -> None`` run before each
batch, used by the self-test that injects a wrong flag computation.
"""

from __future__ import annotations

import time

from qemu_py.memory import UNASSIGNED_IO_OPS, AddressSpace, MemoryRegion, MemoryRegionOps

from . import image as im
from .case import Batch, Result
from .kvm_engine import HarnessError


def host_vendor() -> str:
    """The host CPU's vendor string (``vendor_id`` of /proc/cpuinfo), '' if unknown."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


class TCGEngine:
    name = "tcg"

    def __init__(self, image: im.Image, backend: str = "python", budget: int = 50_000_000):
        from qemu_py.target.i386 import state as st
        from qemu_py.target.i386.cpu import X86CPU
        self.st = st
        self.image = image
        self.budget = budget
        self.root = MemoryRegion("system", 1 << 64)
        self.ram = MemoryRegion.ram("ram", im.GUEST_RAM)
        self.root.add_subregion(0, self.ram)
        self.mem = AddressSpace(self.root, "memory")
        self.io_root = MemoryRegion.io("io", 0x10000, UNASSIGNED_IO_OPS)
        ops = MemoryRegionOps(read=lambda off, size: 0, write=self._port_write,
                              valid_min=1, valid_max=4, impl_min=1, impl_max=4)
        self.io_root.add_subregion(im.DOORBELL_PORT, MemoryRegion.io("doorbell", 4, ops))
        self.io = AddressSpace(self.io_root, "I/O")
        self.cpu = X86CPU(self.mem, self.io, backend=backend)
        # vendor-defined behaviour (cpuid.VENDOR_*) follows the oracle CPU's vendor
        self.cpu.vendor = host_vendor() or self.cpu.vendor
        self.host = self.ram.host
        image.write_to(self.write)
        self.write(im.VAR_DONE, image.labels["vm_done"].to_bytes(8, "little"))
        self.rang = None
        self.kvm_time = 0.0
        self.instructions = 0

    def _port_write(self, offset: int, value: int, size: int):
        self.rang = im.DOORBELL_PORT + offset
        self.cpu.stop_request = True
        self.cpu.request_exit()

    # -- memory ----------------------------------------------------------------------------------------
    def write(self, addr: int, data: bytes):
        self.host[addr:addr + len(data)] = data
        self.cpu.invalidate_code(addr, len(data))

    def read(self, addr: int, n: int) -> bytes:
        return bytes(self.host[addr:addr + n])

    # -- state -------------------------------------------------------------------------------------------
    def _enter(self):
        st, cpu = self.st, self.cpu
        env = cpu.env_q
        env[st.GDT_BASE], env[st.GDT_LIMIT] = im.GDT, im.GDT_LIMIT
        env[st.IDT_BASE], env[st.IDT_LIMIT] = im.IDT, im.IDT_LIMIT
        env[st.TR], env[st.TR + 1], env[st.TR + 2], env[st.TR + 3] = im.TSS_SEL, im.TSS, 0x67, \
            st.DESC_P_MASK | (0xB << 8)
        env[st.CR3] = im.PML4
        cpu.enter_long_mode_cpl3(im.UCODE, im.UDATA)
        for i in range(16):
            cpu.set_gpr(i, 0)
        cpu.set_gpr(4, im.RUNNER_STACK_TOP)
        env[st.RIP] = self.image.labels["next_case"]
        cpu.set_eflags(0x3202, 0xFFFFFFFF)
        cpu.update_hflags()
        cpu.halted = False
        cpu.stop_request = False
        cpu.tlb_flush()

    # -- running -------------------------------------------------------------------------------------------
    def run(self, batch: Batch) -> list[Result]:
        batch.write_to(self.write)
        self._enter()
        self.rang = None
        t0 = time.perf_counter()
        left = self.budget
        try:
            while self.rang is None and left > 0:
                n = self.cpu.exec(min(left, 1_000_000))
                self.instructions += n
                left -= n
                if self.cpu.halted and self.rang is None:
                    raise HarnessError(f"TCG: CPU halted at {self.cpu.rip:#x} before the "
                                       f"end of the batch (case "
                                       f"{int.from_bytes(self.read(im.VAR_INDEX, 8), 'little')})")
                if n == 0 and self.rang is None:
                    raise HarnessError(f"TCG: no progress at {self.cpu.rip:#x}")
        finally:
            self.kvm_time += time.perf_counter() - t0
        if self.rang is None:
            raise HarnessError(f"TCG: batch did not finish within {self.budget} instructions "
                               f"(case {int.from_bytes(self.read(im.VAR_INDEX, 8), 'little')})")
        self.cpu.stop_request = False
        return batch.results(self.read)

    def close(self):
        pass
