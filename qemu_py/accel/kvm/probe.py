"""What the host's KVM does with a guest's user -> kernel transitions, found by
running a tiny guest.

On a PVM host (``host.py``) guest CPL3 code runs on the CPU and guest CPL0
code in the kernel's instruction emulator. Measured on the reference host:
an exception raised at CPL3 enters the CPL0 handler as it should, but

* ``SYSCALL`` at CPL3 loads RIP from LSTAR, RCX/R11 and masks RFLAGS, yet
  stays at CPL3 (CS 0x33): the handler then runs as user code and its
  ``SYSRETQ`` raises #GP;
* ``INT n`` at CPL3 through a DPL-3 gate raises #UD.

:func:`user_to_kernel` checks both on a fresh VM (one vCPU per probe, each
started at CPL0, dropped to CPL3 with SYSRETQ, which works, and asked to come
back): a handler at the transition's target reports CS on port 0x12,
exception stubs report their vector on port 0x11. A few milliseconds.
"""

from __future__ import annotations

import ctypes
import mmap
import struct
from dataclasses import dataclass

from . import abi
from .kick import RunTimer
from .kvm import KVM, KVMError

RAM_SIZE = 2 << 20
PML4, PDPT, PD, GDT, IDT, TSS = 0x1000, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000
STUBS, KERNEL, USER, REPORT = 0x8000, 0x10000, 0x11000, 0x12000
KERNEL_STACK, USER_STACK = 0x70000, 0x60000
KCODE, KDATA, UCODE, UDATA, TSS_SEL = 0x10, 0x18, 0x33, 0x2B, 0x38
PORT_FAULT, PORT_REPORT = 0x11, 0x12
INT_VECTOR = 0x80
RUN_LIMIT_NS = 500_000_000

# GDT in Linux's layout (PVM runs guest user code with the host's CS/SS)
GDT_ENTRIES = (0, 0x00CF9B000000FFFF, 0x00AF9B000000FFFF, 0x00CF93000000FFFF,
               0x00CFFB000000FFFF, 0x00CFF3000000FFFF, 0x00AFFB000000FFFF)


@dataclass(frozen=True)
class Transition:
    name: str            # "SYSCALL" or "INT 0x80"
    ok: bool             # reached CPL0 at its target
    detail: str          # what happened instead ("" when ok)


def _image() -> bytes:
    ram = bytearray(RAM_SIZE)

    def put(addr, data):
        ram[addr:addr + len(data)] = data

    put(PML4, struct.pack("<Q", PDPT | 7))
    put(PDPT, struct.pack("<Q", PD | 7))
    put(PD, struct.pack("<Q", 0x87))                            # 2 MiB at 0, user, writable
    tss_desc = 0x67 | ((TSS & 0xFFFFFF) << 16) | (0x89 << 40)
    put(GDT, b"".join(struct.pack("<Q", d) for d in GDT_ENTRIES + (tss_desc, 0)))
    put(TSS + 4, struct.pack("<Q", KERNEL_STACK))               # RSP0
    idt = bytearray(256 * 16)
    for v in list(range(32)) + [INT_VECTOR]:
        if v == INT_VECTOR:
            handler, kind = REPORT, 0xEE                         # DPL 3 interrupt gate
        else:
            handler, kind = STUBS + 16 * v, 0x8E
            put(handler, bytes([0xB0, v, 0xE6, PORT_FAULT, 0xF4]))   # mov al,v; out; hlt
        struct.pack_into("<HHBBHII", idt, 16 * v, handler & 0xFFFF, KCODE, 0, kind,
                         handler >> 16, 0, 0)
    put(IDT, idt)
    put(REPORT, bytes([0x8C, 0xC8, 0xE6, PORT_REPORT, 0xF4]))   # mov eax,cs; out 0x12,al; hlt
    # CPL0 entry: mov rcx, USER+n; mov r11, 2; sysretq
    for n in range(2):
        put(KERNEL + 32 * n, b"\x48\xC7\xC1" + struct.pack("<I", USER + 16 * n) +
            b"\x49\xC7\xC3\x02\x00\x00\x00" + b"\x48\x0F\x07")
    put(USER, b"\x0F\x05\xF4")                                  # syscall; hlt
    put(USER + 16, bytes([0xCD, INT_VECTOR, 0xF4]))             # int 0x80; hlt
    return bytes(ram)


def _sregs() -> dict:
    seg = {"base": 0, "limit": 0xFFFFFFFF, "present": 1, "s": 1, "g": 1, "avl": 0,
           "unusable": 0, "dpl": 0}
    out = {"cs": dict(seg, selector=KCODE, type=0xB, l=1, db=0)}
    for n in ("ds", "es", "fs", "gs", "ss"):
        out[n] = dict(seg, selector=KDATA, type=3, l=0, db=1)
    out["tr"] = {"base": TSS, "limit": 0x67, "selector": TSS_SEL, "type": 0xB, "present": 1,
                 "s": 0, "dpl": 0, "db": 0, "l": 0, "g": 0, "avl": 0, "unusable": 0}
    out["gdt"] = {"base": GDT, "limit": 8 * (len(GDT_ENTRIES) + 2) - 1}
    out["idt"] = {"base": IDT, "limit": 256 * 16 - 1}
    out.update(cr3=PML4, cr4=0x20, cr0=0x80050033, efer=0xD01)
    return out


def _run(vcpu, timer) -> tuple[int, int | None]:
    """(exit reason, byte written by an OUT) of one bounded KVM_RUN."""
    timer.arm(RUN_LIMIT_NS)
    try:
        reason = vcpu.run()
    finally:
        timer.disarm()
    if reason == abi.KVM_EXIT_IO and vcpu.run_struct.u.io.direction == abi.KVM_EXIT_IO_OUT:
        return reason, vcpu.io_data(1)[0]
    return reason, None


def _describe(name: str, reason: int, value: int | None, port: int | None) -> Transition:
    if reason == abi.KVM_EXIT_IO and port == PORT_REPORT:
        if value & 3 == 0:
            return Transition(name, True, "")
        return Transition(name, False, f"stays at CPL{value & 3} (CS {value:#x})")
    if reason == abi.KVM_EXIT_IO and port == PORT_FAULT:
        names = {6: "#UD", 13: "#GP", 14: "#PF"}
        return Transition(name, False, f"raises {names.get(value, f'exception {value}')}")
    return Transition(name, False, f"ends with exit {abi.EXIT_REASONS.get(reason, reason)}")


def user_to_kernel(device: str = "/dev/kvm") -> tuple[Transition, ...]:
    """Run the SYSCALL and INT 0x80 probes on DEVICE. Raises KVMError when the
    VM cannot be built."""
    kvm = KVM(device)
    vm = None
    ram = mmap.mmap(-1, RAM_SIZE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        vm = kvm.create_vm()
        ram[:] = _image()
        hva = ctypes.addressof(ctypes.c_char.from_buffer(ram))
        vm.set_user_memory_region(0, 0, RAM_SIZE, hva)
        cpuid = kvm.supported_cpuid()
        out = []
        for n, name in enumerate(("SYSCALL", f"INT {INT_VECTOR:#x}")):
            vcpu = vm.create_vcpu(n)
            timer = RunTimer(vcpu)
            try:
                vcpu.set_cpuid(cpuid)
                vcpu.set_sregs(_sregs())
                vcpu.set_msrs({0xC0000081: (0x20 << 48) | (KCODE << 32),   # STAR
                               0xC0000082: REPORT, 0xC0000084: 0x200})     # LSTAR, FMASK
                vcpu.set_regs({"rip": KERNEL + 32 * n, "rsp": USER_STACK, "rflags": 2})
                reason, value = _run(vcpu, timer)
                port = vcpu.run_struct.u.io.port if reason == abi.KVM_EXIT_IO else None
                out.append(_describe(name, reason, value, port))
            finally:
                timer.close()
                vcpu.close()
        return tuple(out)
    finally:
        if vm is not None:
            vm.close()
        kvm.close()
        try:
            ram.close()
        except BufferError:
            pass


_cache: dict[str, tuple[Transition, ...] | None] = {}


def cached_user_to_kernel(device: str = "/dev/kvm") -> tuple[Transition, ...] | None:
    """:func:`user_to_kernel` once per process and device (None if it could not run)."""
    if device not in _cache:
        try:
            _cache[device] = user_to_kernel(device)
        except KVMError:
            _cache[device] = None
    return _cache[device]


def limitations(transitions) -> list[str]:
    """'SYSCALL stays at CPL3 (CS 0x33)'-style texts for the failed probes."""
    return [f"{t.name} from guest user mode {t.detail}" for t in transitions or () if not t.ok]
