"""The /dev/kvm ABI as used from Python: ioctl numbers, ctypes structures, constants.

Values follow ``linux/kvm.h`` (x86-64, API version 12); the offsets that
matter (``kvm_run`` exit union at 32, sync-regs area at 304, ...) are checked
by ``tests/unit/accel/kvm/test_kvm_abi.py``. An ioctl number is
``dir << 30 | size << 16 | 0xAE << 8 | nr`` with dir 1 = write, 2 = read.
"""

from __future__ import annotations

import ctypes

KVMIO = 0xAE
_IOC_WRITE, _IOC_READ = 1, 2


def _io(nr: int) -> int:
    return (KVMIO << 8) | nr


def _ioc(direction: int, nr: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (KVMIO << 8) | nr


def _iow(nr: int, size: int) -> int:
    return _ioc(_IOC_WRITE, nr, size)


def _ior(nr: int, size: int) -> int:
    return _ioc(_IOC_READ, nr, size)


def _iowr(nr: int, size: int) -> int:
    return _ioc(_IOC_READ | _IOC_WRITE, nr, size)


API_VERSION = 12

# -- structures -----------------------------------------------------------------------------------


class kvm_regs(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in (
        "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp",
        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags")]


class kvm_segment(ctypes.Structure):
    _fields_ = [("base", ctypes.c_uint64), ("limit", ctypes.c_uint32),
                ("selector", ctypes.c_uint16), ("type", ctypes.c_uint8),
                ("present", ctypes.c_uint8), ("dpl", ctypes.c_uint8), ("db", ctypes.c_uint8),
                ("s", ctypes.c_uint8), ("l", ctypes.c_uint8), ("g", ctypes.c_uint8),
                ("avl", ctypes.c_uint8), ("unusable", ctypes.c_uint8),
                ("padding", ctypes.c_uint8)]


class kvm_dtable(ctypes.Structure):
    _fields_ = [("base", ctypes.c_uint64), ("limit", ctypes.c_uint16),
                ("padding", ctypes.c_uint16 * 3)]


SEGMENT_NAMES = ("cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt")


class kvm_sregs(ctypes.Structure):
    _fields_ = [(n, kvm_segment) for n in SEGMENT_NAMES] + [
        ("gdt", kvm_dtable), ("idt", kvm_dtable),
        ("cr0", ctypes.c_uint64), ("cr2", ctypes.c_uint64), ("cr3", ctypes.c_uint64),
        ("cr4", ctypes.c_uint64), ("cr8", ctypes.c_uint64), ("efer", ctypes.c_uint64),
        ("apic_base", ctypes.c_uint64), ("interrupt_bitmap", ctypes.c_uint64 * 4)]


class kvm_userspace_memory_region(ctypes.Structure):
    _fields_ = [("slot", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("guest_phys_addr", ctypes.c_uint64), ("memory_size", ctypes.c_uint64),
                ("userspace_addr", ctypes.c_uint64)]


class kvm_fpu(ctypes.Structure):
    _fields_ = [("fpr", (ctypes.c_uint8 * 16) * 8), ("fcw", ctypes.c_uint16),
                ("fsw", ctypes.c_uint16), ("ftwx", ctypes.c_uint8), ("pad1", ctypes.c_uint8),
                ("last_opcode", ctypes.c_uint16), ("last_ip", ctypes.c_uint64),
                ("last_dp", ctypes.c_uint64), ("xmm", (ctypes.c_uint8 * 16) * 16),
                ("mxcsr", ctypes.c_uint32), ("pad2", ctypes.c_uint32)]


class kvm_cpuid_entry2(ctypes.Structure):
    _fields_ = [("function", ctypes.c_uint32), ("index", ctypes.c_uint32),
                ("flags", ctypes.c_uint32), ("eax", ctypes.c_uint32), ("ebx", ctypes.c_uint32),
                ("ecx", ctypes.c_uint32), ("edx", ctypes.c_uint32),
                ("padding", ctypes.c_uint32 * 3)]


KVM_CPUID_FLAG_SIGNIFCANT_INDEX = 1


def kvm_cpuid2(nent: int):
    """A ``kvm_cpuid2`` with room for NENT entries (the struct ends in a flexible array)."""
    class _cpuid2(ctypes.Structure):
        _fields_ = [("nent", ctypes.c_uint32), ("padding", ctypes.c_uint32),
                    ("entries", kvm_cpuid_entry2 * nent)]
    return _cpuid2()


class kvm_xcr(ctypes.Structure):
    _fields_ = [("xcr", ctypes.c_uint32), ("reserved", ctypes.c_uint32),
                ("value", ctypes.c_uint64)]


class kvm_xcrs(ctypes.Structure):
    _fields_ = [("nr_xcrs", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("xcrs", kvm_xcr * 16), ("padding", ctypes.c_uint64 * 16)]


class kvm_xsave(ctypes.Structure):
    _fields_ = [("region", ctypes.c_uint32 * 1024)]


class kvm_interrupt(ctypes.Structure):
    _fields_ = [("irq", ctypes.c_uint32)]


class kvm_enable_cap(ctypes.Structure):
    _fields_ = [("cap", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("args", ctypes.c_uint64 * 4), ("pad", ctypes.c_uint8 * 64)]


class kvm_msr_entry(ctypes.Structure):
    _fields_ = [("index", ctypes.c_uint32), ("reserved", ctypes.c_uint32),
                ("data", ctypes.c_uint64)]


def kvm_msrs(nmsrs: int):
    class _msrs(ctypes.Structure):
        _fields_ = [("nmsrs", ctypes.c_uint32), ("pad", ctypes.c_uint32),
                    ("entries", kvm_msr_entry * nmsrs)]
    return _msrs()


class kvm_signal_mask_8(ctypes.Structure):
    """``kvm_signal_mask`` with the kernel's 8-byte sigset appended."""
    _fields_ = [("len", ctypes.c_uint32), ("sigset", ctypes.c_uint64)]


# vcpu events (64 bytes)
class _ev_exception(ctypes.Structure):
    _fields_ = [("injected", ctypes.c_uint8), ("nr", ctypes.c_uint8),
                ("has_error_code", ctypes.c_uint8), ("pending", ctypes.c_uint8),
                ("error_code", ctypes.c_uint32)]


class _ev_interrupt(ctypes.Structure):
    _fields_ = [("injected", ctypes.c_uint8), ("nr", ctypes.c_uint8), ("soft", ctypes.c_uint8),
                ("shadow", ctypes.c_uint8)]


class _ev_nmi(ctypes.Structure):
    _fields_ = [("injected", ctypes.c_uint8), ("pending", ctypes.c_uint8),
                ("masked", ctypes.c_uint8), ("pad", ctypes.c_uint8)]


class _ev_smi(ctypes.Structure):
    _fields_ = [("smm", ctypes.c_uint8), ("pending", ctypes.c_uint8),
                ("smm_inside_nmi", ctypes.c_uint8), ("latched_init", ctypes.c_uint8)]


class kvm_vcpu_events(ctypes.Structure):
    _fields_ = [("exception", _ev_exception), ("interrupt", _ev_interrupt),
                ("nmi", _ev_nmi), ("sipi_vector", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("smi", _ev_smi), ("triple_fault_pending", ctypes.c_uint8),
                ("reserved", ctypes.c_uint8 * 26), ("exception_has_payload", ctypes.c_uint8),
                ("exception_payload", ctypes.c_uint64)]


# kvm_run and its exit union
class _exit_io(ctypes.Structure):
    _fields_ = [("direction", ctypes.c_uint8), ("size", ctypes.c_uint8),
                ("port", ctypes.c_uint16), ("count", ctypes.c_uint32),
                ("data_offset", ctypes.c_uint64)]


class _exit_mmio(ctypes.Structure):
    _fields_ = [("phys_addr", ctypes.c_uint64), ("data", ctypes.c_uint8 * 8),
                ("len", ctypes.c_uint32), ("is_write", ctypes.c_uint8)]


class _exit_fail_entry(ctypes.Structure):
    _fields_ = [("hardware_entry_failure_reason", ctypes.c_uint64), ("cpu", ctypes.c_uint32)]


class _exit_internal(ctypes.Structure):
    _fields_ = [("suberror", ctypes.c_uint32), ("ndata", ctypes.c_uint32),
                ("data", ctypes.c_uint64 * 16)]


class _exit_ex(ctypes.Structure):
    _fields_ = [("exception", ctypes.c_uint32), ("error_code", ctypes.c_uint32)]


class _exit_system_event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint32), ("ndata", ctypes.c_uint32),
                ("data", ctypes.c_uint64 * 16)]


class _exit_union(ctypes.Union):
    _fields_ = [("io", _exit_io), ("mmio", _exit_mmio), ("fail_entry", _exit_fail_entry),
                ("internal", _exit_internal), ("ex", _exit_ex),
                ("system_event", _exit_system_event), ("padding", ctypes.c_char * 256)]


class kvm_sync_regs(ctypes.Structure):
    _fields_ = [("regs", kvm_regs), ("sregs", kvm_sregs), ("events", kvm_vcpu_events)]


class _sync_union(ctypes.Union):
    _fields_ = [("regs", kvm_sync_regs), ("padding", ctypes.c_char * 2048)]


class kvm_run(ctypes.Structure):
    _fields_ = [("request_interrupt_window", ctypes.c_uint8),
                ("immediate_exit", ctypes.c_uint8), ("padding1", ctypes.c_uint8 * 6),
                ("exit_reason", ctypes.c_uint32),
                ("ready_for_interrupt_injection", ctypes.c_uint8),
                ("if_flag", ctypes.c_uint8), ("flags", ctypes.c_uint16),
                ("cr8", ctypes.c_uint64), ("apic_base", ctypes.c_uint64),
                ("u", _exit_union),
                ("kvm_valid_regs", ctypes.c_uint64), ("kvm_dirty_regs", ctypes.c_uint64),
                ("s", _sync_union)]


# -- ioctl numbers --------------------------------------------------------------------------------

KVM_GET_API_VERSION = _io(0x00)
KVM_CREATE_VM = _io(0x01)
KVM_CHECK_EXTENSION = _io(0x03)
KVM_GET_VCPU_MMAP_SIZE = _io(0x04)
KVM_GET_SUPPORTED_CPUID = _iowr(0x05, 8)
KVM_CREATE_VCPU = _io(0x41)
KVM_SET_USER_MEMORY_REGION = _iow(0x46, ctypes.sizeof(kvm_userspace_memory_region))
KVM_SET_TSS_ADDR = _io(0x47)
KVM_SET_IDENTITY_MAP_ADDR = _iow(0x48, 8)
KVM_CREATE_IRQCHIP = _io(0x60)
KVM_RUN = _io(0x80)
KVM_GET_REGS = _ior(0x81, ctypes.sizeof(kvm_regs))
KVM_SET_REGS = _iow(0x82, ctypes.sizeof(kvm_regs))
KVM_GET_SREGS = _ior(0x83, ctypes.sizeof(kvm_sregs))
KVM_SET_SREGS = _iow(0x84, ctypes.sizeof(kvm_sregs))
KVM_INTERRUPT = _iow(0x86, ctypes.sizeof(kvm_interrupt))
KVM_NMI = _io(0x9A)
KVM_GET_MSRS = _iowr(0x88, 8)
KVM_SET_MSRS = _iow(0x89, 8)
KVM_SET_SIGNAL_MASK = _iow(0x8B, 4)
KVM_GET_FPU = _ior(0x8C, ctypes.sizeof(kvm_fpu))
KVM_SET_FPU = _iow(0x8D, ctypes.sizeof(kvm_fpu))
KVM_SET_CPUID2 = _iow(0x90, 8)
KVM_GET_CPUID2 = _iowr(0x91, 8)
KVM_GET_VCPU_EVENTS = _ior(0x9F, ctypes.sizeof(kvm_vcpu_events))
KVM_SET_VCPU_EVENTS = _iow(0xA0, ctypes.sizeof(kvm_vcpu_events))
KVM_ENABLE_CAP = _iow(0xA3, ctypes.sizeof(kvm_enable_cap))
KVM_GET_XSAVE = _ior(0xA4, ctypes.sizeof(kvm_xsave))
KVM_SET_XSAVE = _iow(0xA5, ctypes.sizeof(kvm_xsave))
KVM_GET_XCRS = _ior(0xA6, ctypes.sizeof(kvm_xcrs))
KVM_SET_XCRS = _iow(0xA7, ctypes.sizeof(kvm_xcrs))

# -- capabilities ------------------------------------------------------------------------------------

KVM_CAP_IRQCHIP = 0
KVM_CAP_HLT = 1
KVM_CAP_USER_MEMORY = 3
KVM_CAP_SET_TSS_ADDR = 4
KVM_CAP_EXT_CPUID = 7
KVM_CAP_NR_MEMSLOTS = 10
KVM_CAP_SET_IDENTITY_MAP_ADDR = 37
KVM_CAP_XSAVE = 55
KVM_CAP_XCRS = 56
KVM_CAP_SYNC_REGS = 74
KVM_CAP_IMMEDIATE_EXIT = 136
KVM_CAP_XSAVE2 = 208

KVM_SYNC_X86_REGS = 1
KVM_SYNC_X86_SREGS = 2
KVM_SYNC_X86_EVENTS = 4

# -- exit reasons ------------------------------------------------------------------------------------

EXIT_REASONS = {
    0: "UNKNOWN", 1: "EXCEPTION", 2: "IO", 3: "HYPERCALL", 4: "DEBUG", 5: "HLT", 6: "MMIO",
    7: "IRQ_WINDOW_OPEN", 8: "SHUTDOWN", 9: "FAIL_ENTRY", 10: "INTR", 11: "SET_TPR",
    12: "TPR_ACCESS", 17: "INTERNAL_ERROR", 24: "SYSTEM_EVENT", 29: "X86_RDMSR",
    30: "X86_WRMSR",
}
KVM_EXIT_UNKNOWN = 0
KVM_EXIT_EXCEPTION = 1
KVM_EXIT_IO = 2
KVM_EXIT_HYPERCALL = 3
KVM_EXIT_DEBUG = 4
KVM_EXIT_HLT = 5
KVM_EXIT_MMIO = 6
KVM_EXIT_IRQ_WINDOW_OPEN = 7
KVM_EXIT_SHUTDOWN = 8
KVM_EXIT_FAIL_ENTRY = 9
KVM_EXIT_INTR = 10
KVM_EXIT_SET_TPR = 11
KVM_EXIT_INTERNAL_ERROR = 17
KVM_EXIT_SYSTEM_EVENT = 24

KVM_EXIT_IO_IN = 0
KVM_EXIT_IO_OUT = 1

KVM_INTERNAL_ERROR_EMULATION = 1
KVM_INTERNAL_ERROR_SIMUL_EX = 2
KVM_INTERNAL_ERROR_DELIVERY_EV = 3

KVM_SYSTEM_EVENT_SHUTDOWN = 1
KVM_SYSTEM_EVENT_RESET = 2

# Where QEMU puts the vm86-support pages on Intel hosts (kvm_arch_init).
IDENTITY_MAP_ADDR = 0xFEFFC000
TSS_ADDR = 0xFEFFD000
