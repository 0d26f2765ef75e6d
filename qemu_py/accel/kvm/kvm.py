"""/dev/kvm objects: the system fd, a VM, a vCPU; registers as Python dicts.

All ioctls go through :func:`ioctl` (libc via ctypes, errno kept). A failed
ioctl raises :class:`KVMError` naming the ioctl and the errno text, e.g.
``KVM_SET_SREGS: Invalid argument``.

Register dicts: ``get_regs()`` gives ``{"rax": ..., ..., "rip": ...,
"rflags": ...}``; ``get_sregs()`` gives one dict per segment (``base``,
``limit``, ``selector``, ``type``, ``present``, ``dpl``, ``db``, ``s``, ``l``,
``g``, ``avl``, ``unusable``), ``gdt``/``idt`` as ``{"base", "limit"}``, the
control registers, ``efer``, ``apic_base`` and ``interrupt_bitmap`` (a list
of four u64). ``set_regs``/``set_sregs`` accept partial dicts and merge them
into the current state.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os

from . import abi

_libc = ctypes.CDLL(None, use_errno=True)
_libc_ioctl = _libc.ioctl
_libc_ioctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)
_libc_ioctl.restype = ctypes.c_int

_IOCTL_NAMES = {v: k for k, v in vars(abi).items() if k.startswith("KVM_") and
                isinstance(v, int) and k not in ("KVM_EXIT_IO_IN", "KVM_EXIT_IO_OUT")
                and not k.startswith(("KVM_EXIT", "KVM_CAP", "KVM_SYNC", "KVM_INTERNAL",
                                      "KVM_SYSTEM", "KVM_CPUID"))}

GPR_ORDER = tuple(n for n, _ in abi.kvm_regs._fields_)
SEG_FIELDS = tuple(n for n, _ in abi.kvm_segment._fields_ if n != "padding")


class KVMError(OSError):
    """An ioctl or open on /dev/kvm failed; ``errno`` and ``strerror`` as OSError."""

    def __init__(self, err: int, what: str):
        super().__init__(err, os.strerror(err))
        self.what = what

    def __str__(self):
        return f"{self.what}: {self.strerror}"


def ioctl(fd: int, request: int, arg=None) -> int:
    """ioctl(2); ARG is None/an int (passed by value) or a ctypes object (by reference)."""
    if arg is None:
        r = _libc_ioctl(fd, request, None)
    elif isinstance(arg, int):
        r = _libc_ioctl(fd, request, ctypes.c_void_p(arg))
    else:
        r = _libc_ioctl(fd, request, ctypes.byref(arg))
    if r < 0:
        err = ctypes.get_errno()
        raise KVMError(err, _IOCTL_NAMES.get(request, f"ioctl {request:#x}"))
    return r


def _seg_to_dict(seg: abi.kvm_segment) -> dict:
    return {n: getattr(seg, n) for n in SEG_FIELDS}


def _dict_to_seg(d: dict, seg: abi.kvm_segment):
    for k, v in d.items():
        setattr(seg, k, v)


def sregs_to_dict(s: abi.kvm_sregs) -> dict:
    out = {n: _seg_to_dict(getattr(s, n)) for n in abi.SEGMENT_NAMES}
    out["gdt"] = {"base": s.gdt.base, "limit": s.gdt.limit}
    out["idt"] = {"base": s.idt.base, "limit": s.idt.limit}
    for n in ("cr0", "cr2", "cr3", "cr4", "cr8", "efer", "apic_base"):
        out[n] = getattr(s, n)
    out["interrupt_bitmap"] = list(s.interrupt_bitmap)
    return out


def dict_to_sregs(d: dict, s: abi.kvm_sregs):
    for k, v in d.items():
        if k in abi.SEGMENT_NAMES:
            _dict_to_seg(v, getattr(s, k))
        elif k in ("gdt", "idt"):
            t = getattr(s, k)
            t.base, t.limit = v.get("base", t.base), v.get("limit", t.limit)
        elif k == "interrupt_bitmap":
            for i, w in enumerate(v):
                s.interrupt_bitmap[i] = w
        else:
            setattr(s, k, v)


def regs_to_dict(r: abi.kvm_regs) -> dict:
    return {n: getattr(r, n) for n in GPR_ORDER}


def dict_to_regs(d: dict, r: abi.kvm_regs):
    for k, v in d.items():
        if k not in GPR_ORDER:
            raise KeyError(f"unknown register '{k}'")
        setattr(r, k, v & 0xFFFF_FFFF_FFFF_FFFF)


class KVM:
    """The /dev/kvm system fd."""

    def __init__(self, path: str = "/dev/kvm"):
        try:
            self.fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except OSError as e:
            raise KVMError(e.errno or errno.ENOENT, f"open {path}") from None
        try:
            version = ioctl(self.fd, abi.KVM_GET_API_VERSION)
            if version != abi.API_VERSION:
                raise KVMError(errno.EINVAL, f"KVM API version {version}, expected "
                                             f"{abi.API_VERSION}")
            self.vcpu_mmap_size = ioctl(self.fd, abi.KVM_GET_VCPU_MMAP_SIZE)
        except KVMError:
            os.close(self.fd)
            raise
        self._supported_cpuid = None

    def check_extension(self, cap: int) -> int:
        try:
            return ioctl(self.fd, abi.KVM_CHECK_EXTENSION, cap)
        except KVMError:
            return 0

    def supported_cpuid(self) -> list[dict]:
        """KVM_GET_SUPPORTED_CPUID as a list of dicts (function, index, flags, eax..edx)."""
        if self._supported_cpuid is None:
            n = 64
            while True:
                c = abi.kvm_cpuid2(n)
                c.nent = n
                try:
                    ioctl(self.fd, abi.KVM_GET_SUPPORTED_CPUID, c)
                    break
                except KVMError as e:
                    if e.errno != errno.E2BIG or n > 4096:
                        raise
                    n *= 2
            self._supported_cpuid = [
                {k: getattr(c.entries[i], k) for k in ("function", "index", "flags", "eax",
                                                       "ebx", "ecx", "edx")}
                for i in range(c.nent)]
        return [dict(e) for e in self._supported_cpuid]

    def create_vm(self) -> "VM":
        return VM(self)

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class VM:
    def __init__(self, kvm: KVM):
        self.kvm = kvm
        self.fd = ioctl(kvm.fd, abi.KVM_CREATE_VM, 0)
        self.vcpus: list[VCPU] = []
        self.slots: dict[int, tuple[int, int, int, int]] = {}   # slot -> gpa, size, hva, flags

    def check_extension(self, cap: int) -> int:
        try:
            return ioctl(self.fd, abi.KVM_CHECK_EXTENSION, cap)
        except KVMError:
            return 0

    def set_user_memory_region(self, slot: int, gpa: int, size: int, hva: int,
                               flags: int = 0):
        """Map SIZE bytes at host address HVA to guest-physical GPA (size 0 deletes)."""
        r = abi.kvm_userspace_memory_region(slot, flags, gpa, size, hva)
        ioctl(self.fd, abi.KVM_SET_USER_MEMORY_REGION, r)
        if size:
            self.slots[slot] = (gpa, size, hva, flags)
        else:
            self.slots.pop(slot, None)

    def set_tss_addr(self, addr: int = abi.TSS_ADDR):
        ioctl(self.fd, abi.KVM_SET_TSS_ADDR, addr)

    def set_identity_map_addr(self, addr: int = abi.IDENTITY_MAP_ADDR):
        ioctl(self.fd, abi.KVM_SET_IDENTITY_MAP_ADDR, ctypes.c_uint64(addr))

    def create_vcpu(self, vcpu_id: int = 0) -> "VCPU":
        vcpu = VCPU(self, vcpu_id)
        self.vcpus.append(vcpu)
        return vcpu

    def close(self):
        for v in self.vcpus:
            v.close()
        self.vcpus = []
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class VCPU:
    def __init__(self, vm: VM, vcpu_id: int):
        self.vm = vm
        self.id = vcpu_id
        self.fd = ioctl(vm.fd, abi.KVM_CREATE_VCPU, vcpu_id)
        self.mmap = mmap.mmap(self.fd, vm.kvm.vcpu_mmap_size, mmap.MAP_SHARED,
                              mmap.PROT_READ | mmap.PROT_WRITE)
        self.run_struct = abi.kvm_run.from_buffer(self.mmap)
        self._run_addr = ctypes.addressof(self.run_struct)
        self.sync_regs_supported = vm.check_extension(abi.KVM_CAP_SYNC_REGS)

    # -- running ----------------------------------------------------------------------------------
    def run(self) -> int:
        """One KVM_RUN; returns the exit reason (KVM_EXIT_INTR when interrupted by a signal)."""
        r = _libc_ioctl(self.fd, abi.KVM_RUN, None)
        if r < 0:
            err = ctypes.get_errno()
            if err == errno.EINTR or err == errno.EAGAIN:
                self.run_struct.immediate_exit = 0
                return abi.KVM_EXIT_INTR
            raise KVMError(err, "KVM_RUN")
        return self.run_struct.exit_reason

    def complete_io(self):
        """Finish a pending IO/MMIO exit without running guest code (immediate_exit)."""
        self.run_struct.immediate_exit = 1
        self.run()
        self.run_struct.immediate_exit = 0

    def io_data(self, size: int, count: int = 1) -> memoryview:
        off = self.run_struct.u.io.data_offset
        return memoryview(self.mmap)[off:off + size * count]

    # -- registers --------------------------------------------------------------------------------
    def get_regs(self) -> dict:
        r = abi.kvm_regs()
        ioctl(self.fd, abi.KVM_GET_REGS, r)
        return regs_to_dict(r)

    def set_regs(self, values: dict):
        r = abi.kvm_regs()
        if set(values) != set(GPR_ORDER):
            ioctl(self.fd, abi.KVM_GET_REGS, r)
        dict_to_regs(values, r)
        ioctl(self.fd, abi.KVM_SET_REGS, r)

    def get_sregs(self) -> dict:
        s = abi.kvm_sregs()
        ioctl(self.fd, abi.KVM_GET_SREGS, s)
        return sregs_to_dict(s)

    def set_sregs(self, values: dict):
        s = abi.kvm_sregs()
        ioctl(self.fd, abi.KVM_GET_SREGS, s)
        dict_to_sregs(values, s)
        ioctl(self.fd, abi.KVM_SET_SREGS, s)

    def get_fpu(self) -> dict:
        f = abi.kvm_fpu()
        ioctl(self.fd, abi.KVM_GET_FPU, f)
        return {"fcw": f.fcw, "fsw": f.fsw, "ftwx": f.ftwx, "mxcsr": f.mxcsr,
                "xmm": [bytes(f.xmm[i]) for i in range(16)],
                "fpr": [bytes(f.fpr[i]) for i in range(8)]}

    def set_fpu(self, values: dict):
        f = abi.kvm_fpu()
        ioctl(self.fd, abi.KVM_GET_FPU, f)
        for k in ("fcw", "fsw", "ftwx", "mxcsr"):
            if k in values:
                setattr(f, k, values[k])
        for i, b in enumerate(values.get("xmm", ())):
            ctypes.memmove(f.xmm[i], bytes(b), 16)
        ioctl(self.fd, abi.KVM_SET_FPU, f)

    def get_xsave(self) -> bytes:
        x = abi.kvm_xsave()
        ioctl(self.fd, abi.KVM_GET_XSAVE, x)
        return bytes(x)

    def set_xsave(self, image: bytes):
        x = abi.kvm_xsave.from_buffer_copy(bytes(image).ljust(4096, b"\0")[:4096])
        ioctl(self.fd, abi.KVM_SET_XSAVE, x)

    def get_xcrs(self) -> dict[int, int]:
        x = abi.kvm_xcrs()
        ioctl(self.fd, abi.KVM_GET_XCRS, x)
        return {x.xcrs[i].xcr: x.xcrs[i].value for i in range(x.nr_xcrs)}

    def set_xcrs(self, values: dict[int, int]):
        x = abi.kvm_xcrs()
        x.nr_xcrs = len(values)
        for i, (k, v) in enumerate(sorted(values.items())):
            x.xcrs[i].xcr, x.xcrs[i].value = k, v
        ioctl(self.fd, abi.KVM_SET_XCRS, x)

    def get_vcpu_events(self) -> abi.kvm_vcpu_events:
        e = abi.kvm_vcpu_events()
        ioctl(self.fd, abi.KVM_GET_VCPU_EVENTS, e)
        return e

    def get_msrs(self, indexes) -> dict[int, int]:
        idx = list(indexes)
        m = abi.kvm_msrs(len(idx))
        m.nmsrs = len(idx)
        for i, n in enumerate(idx):
            m.entries[i].index = n
        got = ioctl(self.fd, abi.KVM_GET_MSRS, m)
        return {m.entries[i].index: m.entries[i].data for i in range(got)}

    def set_msrs(self, values: dict[int, int]) -> int:
        m = abi.kvm_msrs(len(values))
        m.nmsrs = len(values)
        for i, (n, v) in enumerate(values.items()):
            m.entries[i].index, m.entries[i].data = n, v
        return ioctl(self.fd, abi.KVM_SET_MSRS, m)

    # -- CPUID and events -------------------------------------------------------------------------
    def set_cpuid(self, entries: list[dict]):
        c = abi.kvm_cpuid2(len(entries))
        c.nent = len(entries)
        for i, e in enumerate(entries):
            for k, v in e.items():
                setattr(c.entries[i], k, v)
        ioctl(self.fd, abi.KVM_SET_CPUID2, c)

    def get_cpuid(self, capacity: int = 256) -> list[dict]:
        c = abi.kvm_cpuid2(capacity)
        c.nent = capacity
        ioctl(self.fd, abi.KVM_GET_CPUID2, c)
        return [{k: getattr(c.entries[i], k) for k in ("function", "index", "flags", "eax",
                                                        "ebx", "ecx", "edx")}
                for i in range(c.nent)]

    def interrupt(self, vector: int):
        """KVM_INTERRUPT: inject external interrupt VECTOR (no in-kernel irqchip)."""
        ioctl(self.fd, abi.KVM_INTERRUPT, abi.kvm_interrupt(vector))

    def nmi(self):
        """KVM_NMI: queue an NMI (no in-kernel irqchip)."""
        ioctl(self.fd, abi.KVM_NMI)

    def set_signal_mask(self, blocked: set[int] | None):
        """Signals blocked while in KVM_RUN (None: keep the thread's mask)."""
        if blocked is None:
            ioctl(self.fd, abi.KVM_SET_SIGNAL_MASK, None)
            return
        bits = 0
        for sig in blocked:
            bits |= 1 << (int(sig) - 1)
        ioctl(self.fd, abi.KVM_SET_SIGNAL_MASK, abi.kvm_signal_mask_8(8, bits))

    def close(self):
        if self.fd < 0:
            return
        self.run_struct = None
        try:
            self.mmap.close()
        except BufferError:
            pass
        os.close(self.fd)
        self.fd = -1
