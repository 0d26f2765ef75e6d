"""Runs a batch on /dev/kvm: one KVM_RUN per batch, registers through KVM_CAP_SYNC_REGS.

The vCPU enters the runner at CPL3 (CS 0x33, SS/DS 0x2B, IOPL 3) in long
mode with the image's GDT, IDT and TSS. All cases run inside the guest; the
batch ends with ``out 0x10, al``, which is completed with ``immediate_exit``
before anything is read. Before every batch the CPL3 sregs and the entry
registers are written again through the sync-regs area (a fault leaves the
vCPU in the CPL0 handler only transiently, but a harness failure may not).
"""

from __future__ import annotations

import ctypes
import mmap
import time

from qemu_py.accel.kvm import abi
from qemu_py.accel.kvm.kick import RunTimer
from qemu_py.accel.kvm.kvm import KVM, dict_to_sregs

from . import image as im
from .case import Batch, Result


class HarnessError(RuntimeError):
    """The harness or the host failed (not a finding about the CPU under test)."""


def long_mode_sregs(cpl: int = 3) -> dict:
    code = {"base": 0, "limit": 0xFFFFFFFF, "type": 0xB, "present": 1, "s": 1, "l": 1,
            "db": 0, "g": 1, "avl": 0, "unusable": 0}
    data = {"base": 0, "limit": 0xFFFFFFFF, "type": 3, "present": 1, "s": 1, "l": 0,
            "db": 1, "g": 1, "avl": 0, "unusable": 0}
    cs_sel, ds_sel = (im.UCODE, im.UDATA) if cpl == 3 else (im.KCODE, im.KDATA)
    out = {"cs": dict(code, selector=cs_sel, dpl=cpl)}
    for seg in ("ds", "es", "fs", "gs", "ss"):
        out[seg] = dict(data, selector=ds_sel, dpl=cpl)
    out["tr"] = {"base": im.TSS, "limit": 0x67, "selector": im.TSS_SEL, "type": 0xB,
                 "present": 1, "s": 0, "dpl": 0, "db": 0, "l": 0, "g": 0, "avl": 0,
                 "unusable": 0}
    out["gdt"] = {"base": im.GDT, "limit": im.GDT_LIMIT}
    out["idt"] = {"base": im.IDT, "limit": im.IDT_LIMIT}
    out["cr3"] = im.PML4
    out["cr4"] = 0x20 | 0x200 | 0x400                   # PAE, OSFXSR, OSXMMEXCPT
    out["cr0"] = 0x80050033                             # PG AM WP NE ET MP PE
    out["efer"] = 0xD01                                 # NXE LMA LME SCE
    return out


class KVMEngine:
    name = "kvm"

    def __init__(self, image: im.Image, timeout: float = 5.0):
        self.image = image
        self.timeout = timeout
        self.kvm = KVM()
        try:
            self.vm = self.kvm.create_vm()
            self.ram = mmap.mmap(-1, im.GUEST_RAM, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
            self._ram_char = ctypes.c_char.from_buffer(self.ram)
            self.vm.set_user_memory_region(0, 0, im.GUEST_RAM, ctypes.addressof(self._ram_char))
            self.vcpu = self.vm.create_vcpu(0)
            self.vcpu.set_cpuid(self.kvm.supported_cpuid())
            self.vcpu.set_sregs(long_mode_sregs())
            if not self.vcpu.sync_regs_supported & (abi.KVM_SYNC_X86_REGS |
                                                    abi.KVM_SYNC_X86_SREGS):
                raise HarnessError("KVM_CAP_SYNC_REGS (regs+sregs) is not supported")
            # the sync-regs template: current sregs with the CPL3 entry state
            self._sregs = abi.kvm_sregs()
            from qemu_py.accel.kvm.kvm import ioctl
            ioctl(self.vcpu.fd, abi.KVM_GET_SREGS, self._sregs)
            dict_to_sregs(long_mode_sregs(), self._sregs)
            self.timer = RunTimer(self.vcpu)
        except BaseException:
            self.close()
            raise
        image.write_to(self.write)
        self.write(im.VAR_DONE, image.labels["vm_done"].to_bytes(8, "little"))
        self.kvm_time = 0.0
        self.runs = 0

    # -- guest memory ---------------------------------------------------------------------------------
    def write(self, addr: int, data: bytes):
        self.ram[addr:addr + len(data)] = data

    def read(self, addr: int, n: int) -> bytes:
        return self.ram[addr:addr + n]

    # -- running ------------------------------------------------------------------------------------------
    def run(self, batch: Batch) -> list[Result]:
        batch.write_to(self.write)
        run = self.vcpu.run_struct
        s = run.s.regs
        ctypes.memset(ctypes.addressof(s.regs), 0, ctypes.sizeof(s.regs))
        s.regs.rip = self.image.labels["next_case"]
        s.regs.rsp = im.RUNNER_STACK_TOP
        s.regs.rflags = 0x3202
        ctypes.memmove(ctypes.addressof(s.sregs), ctypes.addressof(self._sregs),
                       ctypes.sizeof(self._sregs))
        run.kvm_valid_regs = abi.KVM_SYNC_X86_REGS | abi.KVM_SYNC_X86_SREGS
        run.kvm_dirty_regs = abi.KVM_SYNC_X86_REGS | abi.KVM_SYNC_X86_SREGS
        t0 = time.perf_counter()
        deadline = t0 + self.timeout
        try:
            while True:
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise HarnessError(f"KVM: batch did not finish within {self.timeout} s "
                                       f"(case {self._index()})")
                self.timer.arm(int(left * 1e9))
                reason = self.vcpu.run()
                self.timer.disarm()
                self.runs += 1
                if reason == abi.KVM_EXIT_IO:
                    port = run.u.io.port
                    if port == im.DOORBELL_PORT:
                        self.vcpu.complete_io()
                        break
                    if port == im.KFAULT_PORT:
                        raise HarnessError(f"KVM: fault at CPL0 in the harness: vector "
                                           f"{self.read(im.scr(im.OUT_KIND), 1)[0]} at "
                                           f"{int.from_bytes(self.read(im.scr(im.OUT_FRIP), 8), 'little'):#x}"
                                           f" (case {self._index()})")
                    raise HarnessError(f"KVM: unexpected I/O to port {port:#x}")
                if reason == abi.KVM_EXIT_INTR:
                    continue
                raise HarnessError(self._describe_exit(reason))
        finally:
            self.kvm_time += time.perf_counter() - t0
        return batch.results(self.read)

    def _index(self) -> int:
        return int.from_bytes(self.read(im.VAR_INDEX, 8), "little")

    def _describe_exit(self, reason: int) -> str:
        run = self.vcpu.run_struct
        name = abi.EXIT_REASONS.get(reason, str(reason))
        text = f"KVM: unexpected exit {name} in case {self._index()}"
        if reason == abi.KVM_EXIT_INTERNAL_ERROR:
            sub = run.u.internal.suberror
            text += f" (suberror {sub}"
            if sub == abi.KVM_INTERNAL_ERROR_EMULATION and run.u.internal.ndata >= 3:
                raw = b"".join(run.u.internal.data[i].to_bytes(8, "little") for i in (1, 2))
                text += f", instruction bytes {raw[1:1 + raw[0]].hex()}"
            text += ")"
        elif reason == abi.KVM_EXIT_MMIO:
            text += f" at {run.u.mmio.phys_addr:#x}"
        text += f", rip={run.s.regs.regs.rip:#x}"
        return text

    def close(self):
        for name in ("timer", "vm", "kvm"):
            obj = getattr(self, name, None)
            if obj is not None:
                obj.close()
                setattr(self, name, None)
        if getattr(self, "ram", None) is not None:
            del self._ram_char
            self.ram.close()
            self.ram = None
