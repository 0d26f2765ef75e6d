"""A simulated KVM-HV guest HPT and its ``KVM_PPC_GET_HTAB_FD`` stream.

:class:`KvmHtabSim` plays the host kernel's part for one VM: it owns the HPT
and exposes it only the way Linux does, through :meth:`KvmHtabSim.get_htab_fd`
returning an :class:`HtabFd`.  The read and write algorithms are those of
``kvm_htab_read`` / ``record_hpte`` / ``kvm_htab_write`` in
``arch/powerpc/kvm/book3s_64_mmu_hv.c`` (spec sections 1.2 to 1.6):

* read: records ``{index, n_valid, n_invalid}`` + ``n_valid`` big-endian HPTEs;
  the strict ``nb + 8 + 16 < count`` and ``nb + 16 < count`` tests (so a read
  of 24 bytes or less returns nothing); 0xFFFF caps on both counts; an empty
  record's header is taken back; reaching the end of the table ends the read
  and switches the fd to "dirty only" passes from index 0; BOLTED_ONLY;
  ABSENT reported as V; dword1 taken from the guest view (``guest_rpte``)
  with the MODIFIED bit (bit 62) cleared and hardware R/C harvested.
* write: EBUSY while vCPUs run (when the MMU is set up); per record EINVAL
  for a bad index or range, EINVAL for a valid HPTE without V or whose page
  size does not decode, delete-then-H_ENTER(H_EXACT) for valid entries (EIO
  if that fails) and delete for invalid ones; a VRMA HPTE written before the
  MMU is set up derives the VRMA SLB word.

Errors are raised as ``OSError`` with ``errno`` set (EINVAL, EBUSY, EIO,
EBADF, EFAULT), as ``os.read``/``os.write`` do for a real fd.

Modelling choices, all documented deviations from a real host:

* Single-threaded: the per-HPTE lock never contends.  While an entry is read
  the kernel holds ``HPTE_V_HVLOCK`` (0x40) and does not mask it out of the
  reported dword0, so valid entries come out with 0x40 set
  (``report_hvlock=True``, spec 1.3, derived).  QEMU's compare mask ignores it.
* The host side of an HPTE is kept in the pre-ISA-3.0 format (a POWER8 host):
  no new-to-old conversion is needed, and host physical addresses are not
  modelled, so the "hardware" dword1 is the guest's.  Emulated MMIO (an RPN
  outside ``is_ram``) is stored ABSENT with storage key 31, as the kernel does.
* WIMG fix-ups of the kernel's H_ENTER are not modelled (the guest view does
  not show them).
* Writing past the end of the caller's buffer: the kernel's test is
  ``nb + n_valid*16 > count`` *before* the header is counted, so it can read
  up to 8 bytes past ``count`` from user memory.  There is no such memory
  here, so that case raises EFAULT.
* :class:`KvmHtabSim` accepts any order >= 7 so tests can use tiny tables;
  :meth:`KvmHtabSim.allocate_htab` (``KVM_PPC_ALLOCATE_HTAB``) enforces the
  kernel's 18..46.

The ``poke``/``hw_set_rc``/``guest_view`` methods are the kernel's own view of
its memory, for tests; a backend must use only :meth:`get_htab_fd`.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable
from typing import Self

from .hpte import (
    HPTE64_R_C,
    HPTE64_R_KEY_HI,
    HPTE64_R_KEY_LO,
    HPTE64_R_R,
    HPTE64_R_RPN,
    HPTE64_V_BOLTED,
    HPTE64_V_LARGE,
    HPTE64_V_VALID,
    HPTE_V_ABSENT,
    HPTE_V_HVLOCK,
)
from .kvm_htab_abi import (
    HTAB_HEADER_SIZE,
    HTAB_HPTE_SIZE,
    HTAB_MAX_RUN,
    KVM_GET_HTAB_BOLTED_ONLY,
    KVM_GET_HTAB_FLAGS,
    KVM_GET_HTAB_WRITE,
    PPC_MAX_HPT_ORDER,
    PPC_MIN_HPT_ORDER,
    ByteOrder,
    HtabHeader,
    unpack_get_htab_fd,
    unpack_hpte,
)

HPTE_GR_MODIFIED = 1 << 62
_RC = HPTE64_R_R | HPTE64_R_C
_PRESENT = HPTE64_V_VALID | HPTE_V_ABSENT
VRMA_VSID = 0x1FFFFFF
HPTE_V_1TB_SEG = 0x4000000000000000
SLB_VSID_B_1T = 0x4000000000000000
SLB_VSID_SHIFT_1T = 24

# hcall status codes used inside the kernel model
_H_SUCCESS = 0
_H_PARAMETER = -4
_H_PTEG_FULL = -6
_H_NOT_FOUND = -7

# Per-entry class byte used to scan runs at C speed with ``re``.
_C_PRESENT = 1  # hardware V or ABSENT
_C_BOLTED = 2  # BOLTED software bit
_C_DIRTY = 4  # kernel's hpte_dirty()


def _oserror(code: int, what: str) -> OSError:
    return OSError(code, f"{os.strerror(code)}: {what}")


def kvm_hpte_page_shifts(v: int, r: int) -> int:
    """The kernel's ``kvmppc_hpte_page_shifts``: ``actual << 8 | base``, bare shift, or 0."""
    if not v & HPTE64_V_LARGE:
        return 12
    lphi = (r >> 16) & 0xF
    lp = (r >> 12) & 0xF
    if lp == 0:
        return 0 if lphi else 24
    if lp == 1:
        return 16
    if lp == 3:
        return 0 if lphi else 34
    if lp == 7:
        return (16 << 8) + 12
    if lp == 8:
        if lphi == 0:
            return (24 << 8) + 16
        if lphi == 3:
            return (24 << 8) + 12
    return 0


def kvm_base_page_shift(v: int, r: int) -> int:
    return kvm_hpte_page_shifts(v, r) & 0xFF


def kvm_actual_page_shift(v: int, r: int) -> int:
    shifts = kvm_hpte_page_shifts(v, r)
    return shifts >> 8 if shifts >= 0x100 else shifts


def _slb_pgsize_encoding(shift: int) -> int:
    return {12: 0x000, 16: 0x110, 24: 0x100, 34: 0x120}.get(shift, 0)


def _class_regex(pred: Callable[[int], bool]) -> re.Pattern[bytes]:
    values = b"".join(re.escape(bytes([c])) for c in range(8) if pred(c))
    return re.compile(b"[" + values + b"]*") if values else re.compile(b"")


def _is_valid_class(c: int, bolted_only: bool) -> bool:
    if bolted_only:
        return c & (_C_PRESENT | _C_BOLTED) == (_C_PRESENT | _C_BOLTED)
    return bool(c & _C_PRESENT)


# (bolted_only, first_pass) -> regex matching a run of invalid entries that
# record_hpte(want_valid=0) accepts.
_INVALID_RUN = {
    (bo, fp): _class_regex(
        lambda c, bo=bo, fp=fp: not _is_valid_class(c, bo) and (fp or bool(c & _C_DIRTY))
    )
    for bo in (False, True)
    for fp in (False, True)
}
_CLEAN_RUN = _class_regex(lambda c: not c & _C_DIRTY)
_DIRTY_ONE = re.compile(b"[" + b"".join(re.escape(bytes([c])) for c in range(4, 8)) + b"]")


class HtabFd:
    """An open HTAB fd: ``read(count) -> bytes``, ``write(data) -> int``, ``close()``.

    Created by :meth:`KvmHtabSim.get_htab_fd`.  A read fd carries the kernel's
    context ``{index, flags, first_pass}``.  Reading a write fd, writing a read
    fd, or using a closed fd raises ``OSError(EBADF)``.
    """

    def __init__(self, kvm: KvmHtabSim, flags: int, start_index: int):
        self.kvm = kvm
        self.flags = flags
        self.index = start_index
        self.first_pass = True
        self.closed = False
        self.reads = 0
        self.writes = 0

    @property
    def writable(self) -> bool:
        return bool(self.flags & KVM_GET_HTAB_WRITE)

    def read(self, count: int) -> bytes:
        if self.closed or self.writable:
            raise _oserror(errno.EBADF, "HTAB fd not open for reading")
        if count < 0:
            raise _oserror(errno.EINVAL, f"read count {count}")
        self.reads += 1
        return self.kvm._htab_read(self, count)

    def write(self, data: bytes) -> int:
        if self.closed or not self.writable:
            raise _oserror(errno.EBADF, "HTAB fd not open for writing")
        self.writes += 1
        return self.kvm._htab_write(bytes(data))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if not self.writable:
                self.kvm.hpte_mod_interest -= 1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class KvmHtabSim:
    """The kernel side of one VM's HPT.  See the module docstring."""

    def __init__(
        self,
        order: int,
        *,
        host_byteorder: ByteOrder = "little",
        is_ram: Callable[[int], bool] | None = None,
        report_hvlock: bool = True,
        reject_reserved_segment_size: bool = False,
    ):
        if order < 7:
            raise ValueError(f"order={order}: an HPT needs at least one 128-byte PTEG")
        if host_byteorder not in ("little", "big"):
            raise ValueError(f"host_byteorder={host_byteorder!r}: expected 'little' or 'big'")
        self.host_byteorder: ByteOrder = host_byteorder
        self.is_ram = is_ram if is_ram is not None else (lambda gpa: True)
        self.report_hvlock = report_hvlock
        self.reject_reserved_segment_size = reject_reserved_segment_size
        self.vcpus_running = 0
        self.mmu_ready = True
        self.radix = False
        self.hpte_mod_interest = 0
        self.vrma_slb_v: int | None = None
        self.fds_opened = 0
        self._reset(order)

    def _reset(self, order: int) -> None:
        self.order = order
        self.npte = 1 << (order - 4)
        self.hw_v = [0] * self.npte
        self.hw_r = [0] * self.npte
        self.guest_rpte = [0] * self.npte
        self._cls = bytearray(self.npte)

    # ----------------------------------------------------------- ioctls
    def allocate_htab(self, order: int) -> int:
        """``KVM_PPC_ALLOCATE_HTAB``: (re)allocate a cleared table; returns the order."""
        if not PPC_MIN_HPT_ORDER <= order <= PPC_MAX_HPT_ORDER:
            raise _oserror(errno.EINVAL, f"HPT order {order} outside 18..46")
        if self.mmu_ready and self.vcpus_running:
            raise _oserror(errno.EBUSY, "vCPUs running")
        self._reset(order)
        return order

    def get_htab_fd(self, flags: int, start_index: int = 0) -> HtabFd:
        """``KVM_PPC_GET_HTAB_FD``: EINVAL for unknown flag bits."""
        if flags & ~KVM_GET_HTAB_FLAGS:
            raise _oserror(errno.EINVAL, f"KVM_PPC_GET_HTAB_FD flags {flags:#x}")
        fd = HtabFd(self, flags, start_index)
        if not fd.writable:
            self.hpte_mod_interest += 1
        self.fds_opened += 1
        return fd

    def ioctl_get_htab_fd(self, arg: bytes) -> HtabFd:
        """The same, taking the 32-byte ``struct kvm_get_htab_fd`` in host order."""
        flags, start = unpack_get_htab_fd(arg, self.host_byteorder)
        return self.get_htab_fd(flags, start)

    # ---------------------------------------------------- entry state
    def _dirty(self, i: int) -> bool:
        if self.guest_rpte[i] & HPTE_GR_MODIFIED:
            return True
        unset = ~self.guest_rpte[i] & _RC
        return bool(self.hw_v[i] & HPTE64_V_VALID and self.hw_r[i] & unset)

    def _refresh(self, i: int) -> None:
        v = self.hw_v[i]
        c = 0
        if v & _PRESENT:
            c |= _C_PRESENT
        if v & HPTE64_V_BOLTED:
            c |= _C_BOLTED
        if self._dirty(i):
            c |= _C_DIRTY
        self._cls[i] = c

    def _note_modification(self, i: int) -> None:
        if self.hpte_mod_interest:
            self.guest_rpte[i] |= HPTE_GR_MODIFIED

    # ------------------------------------------------ test-side access
    def poke(self, index: int, v: int, r: int, guest_r: int | None = None) -> None:
        """Set the kernel's copy of entry ``index`` directly (tests only).

        ``guest_r`` (default ``r``) is stored as the reverse-map guest view,
        bit 62 included: the kernel uses that bit as HPTE_GR_MODIFIED.
        """
        self.hw_v[index] = v
        self.hw_r[index] = r
        self.guest_rpte[index] = r if guest_r is None else guest_r
        self._refresh(index)

    def hw_set_rc(self, index: int, bits: int) -> None:
        """Hardware sets R and/or C in a hardware entry (tests only)."""
        self.hw_r[index] |= bits & _RC
        self._refresh(index)

    def guest_view(self, index: int, flags: int = 0) -> tuple[int, int]:
        """What a first-pass read reports for ``index``: ``(0, 0)`` if invalid.  No side effects."""
        if not _is_valid_class(self._cls[index], bool(flags & KVM_GET_HTAB_BOLTED_ONLY)):
            return 0, 0
        v = self.hw_v[index] | (HPTE_V_HVLOCK if self.report_hvlock else 0)
        if v & HPTE_V_ABSENT:
            v = (v & ~HPTE_V_ABSENT) | HPTE64_V_VALID
        r = self.guest_rpte[index]
        if self.hw_v[index] & HPTE64_V_VALID:
            r |= self.hw_r[index] & _RC
        return v, r & ~HPTE_GR_MODIFIED

    def is_dirty(self, index: int) -> bool:
        return bool(self._cls[index] & _C_DIRTY)

    # ------------------------------------------------------ read side
    def _record_valid(self, i: int) -> tuple[int, int]:
        """``record_hpte(want_valid=1)`` for an entry known to qualify."""
        v = self.hw_v[i] | (HPTE_V_HVLOCK if self.report_hvlock else 0)
        hr = self.hw_r[i]
        dirty = bool(self.guest_rpte[i] & HPTE_GR_MODIFIED)
        unset = ~self.guest_rpte[i] & _RC
        if v & HPTE64_V_VALID and unset & hr:
            self.guest_rpte[i] |= (hr & _RC) | HPTE_GR_MODIFIED
            dirty = True
        if v & HPTE_V_ABSENT:
            v = (v & ~HPTE_V_ABSENT) | HPTE64_V_VALID
        r = self.guest_rpte[i]
        if dirty:
            r &= ~HPTE_GR_MODIFIED
            self.guest_rpte[i] = r
        self._refresh(i)
        return v, r

    def _record_invalid_dirty(self, i: int) -> None:
        """``record_hpte(want_valid=0)`` side effects for a dirty invalid entry."""
        hr = self.hw_r[i]
        unset = ~self.guest_rpte[i] & _RC
        if self.hw_v[i] & HPTE64_V_VALID and unset & hr:
            self.guest_rpte[i] |= hr & _RC
        self.guest_rpte[i] &= ~HPTE_GR_MODIFIED
        self._refresh(i)

    def _htab_read(self, fd: HtabFd, count: int) -> bytes:
        if self.radix:
            return b""
        npte = self.npte
        bolted_only = bool(fd.flags & KVM_GET_HTAB_BOLTED_ONLY)
        first_pass = fd.first_pass
        invalid_run = _INVALID_RUN[(bolted_only, first_pass)]
        cls = self._cls
        order = self.host_byteorder
        out = bytearray()
        nb = 0
        i = fd.index
        while nb + HTAB_HEADER_SIZE + HTAB_HPTE_SIZE < count:
            hdr_at = len(out)
            out += bytes(HTAB_HEADER_SIZE)
            nb += HTAB_HEADER_SIZE
            if not first_pass and i < npte:
                i = _CLEAN_RUN.match(cls, i, npte).end()
            index = i
            n_valid = 0
            while (
                i < npte
                and n_valid < HTAB_MAX_RUN
                and nb + HTAB_HPTE_SIZE < count
                and _is_valid_class(cls[i], bolted_only)
                and (first_pass or cls[i] & _C_DIRTY)
            ):
                v, r = self._record_valid(i)
                out += v.to_bytes(8, "big") + r.to_bytes(8, "big")
                nb += HTAB_HPTE_SIZE
                i += 1
                n_valid += 1
            n_invalid = 0
            if i < npte:
                end = invalid_run.match(cls, i, min(npte, i + HTAB_MAX_RUN)).end()
                for m in list(_DIRTY_ONE.finditer(cls, i, end)):
                    self._record_invalid_dirty(m.start())
                n_invalid = end - i
                i = end
            if n_valid or n_invalid:
                out[hdr_at : hdr_at + HTAB_HEADER_SIZE] = HtabHeader(
                    index, n_valid, n_invalid
                ).pack(order)
            else:
                del out[hdr_at:]
                nb -= HTAB_HEADER_SIZE
            if i >= npte:
                i = 0
                first_pass = False
                break
        fd.index = i
        fd.first_pass = first_pass
        return bytes(out)

    # ----------------------------------------------------- write side
    def _h_remove(self, i: int) -> int:
        """In-kernel H_REMOVE with no flags (the write path's delete)."""
        v = self.hw_v[i]
        if not v & _PRESENT:
            return _H_NOT_FOUND
        if v & HPTE64_V_VALID:
            self.guest_rpte[i] |= self.hw_r[i] & _RC
        self._note_modification(i)
        self.hw_v[i] = 0
        self._refresh(i)
        return _H_SUCCESS

    def _h_enter_exact(self, i: int, pteh: int, ptel: int) -> int:
        """In-kernel H_ENTER with H_EXACT at index ``i``."""
        if self.reject_reserved_segment_size and (pteh >> 62) & 0x2:
            return _H_PARAMETER
        shift = kvm_actual_page_shift(pteh, ptel)
        if not shift:
            return _H_PARAMETER
        pteh &= ~(HPTE_V_HVLOCK | HPTE_V_ABSENT | HPTE64_V_VALID)
        ptel &= ~HPTE_GR_MODIFIED
        g_ptel = ptel
        gpa = (ptel & HPTE64_R_RPN) & ~((1 << shift) - 1)
        if self.is_ram(gpa):
            pteh |= HPTE64_V_VALID
        else:
            pteh |= HPTE_V_ABSENT
            ptel |= HPTE64_R_KEY_HI | HPTE64_R_KEY_LO
        if i >= self.npte:
            return _H_PARAMETER
        if self.hw_v[i] & (_PRESENT | HPTE_V_HVLOCK):
            return _H_PTEG_FULL
        self.hw_r[i] = ptel
        self.guest_rpte[i] = g_ptel
        self._note_modification(i)
        self.hw_v[i] = pteh
        self._refresh(i)
        return _H_SUCCESS

    def _htab_write(self, data: bytes) -> int:
        if self.radix:
            raise _oserror(errno.EINVAL, "radix guest has no HPT")
        if self.mmu_ready and self.vcpus_running:
            raise _oserror(errno.EBUSY, f"{self.vcpus_running} vCPU(s) running")
        nb, err = self._apply_records(data)
        if err:
            raise _oserror(err, f"HTAB write stopped after {nb} bytes")
        return nb

    def _apply_records(self, data: bytes) -> tuple[int, int]:
        """Apply write records; returns ``(bytes consumed, errno or 0)``."""
        count = len(data)
        nb = 0
        while nb + HTAB_HEADER_SIZE <= count:
            hdr = HtabHeader.unpack_from(data, nb, self.host_byteorder)
            if nb + hdr.n_valid * HTAB_HPTE_SIZE > count:
                break
            nb += HTAB_HEADER_SIZE
            i = hdr.index
            if i >= self.npte or i + hdr.n_valid + hdr.n_invalid > self.npte:
                return nb, errno.EINVAL
            for _ in range(hdr.n_valid):
                if nb + HTAB_HPTE_SIZE > count:
                    return nb, errno.EFAULT
                v, r = unpack_hpte(data, nb)
                if not v & HPTE64_V_VALID or kvm_base_page_shift(v, r) <= 0:
                    return nb, errno.EINVAL
                nb += HTAB_HPTE_SIZE
                if self.hw_v[i] & _PRESENT:
                    self._h_remove(i)
                if self._h_enter_exact(i, v, r) != _H_SUCCESS:
                    return nb, errno.EIO
                if not self.mmu_ready and _is_vrma_hpte(v):
                    senc = _slb_pgsize_encoding(kvm_base_page_shift(v, r))
                    self.vrma_slb_v = senc | SLB_VSID_B_1T | (VRMA_VSID << SLB_VSID_SHIFT_1T)
                    self.mmu_ready = True
                i += 1
            for _ in range(hdr.n_invalid):
                if self.hw_v[i] & _PRESENT:
                    self._h_remove(i)
                i += 1
        return nb, 0


def _is_vrma_hpte(v: int) -> bool:
    return (v & ~0xFFFFFF) == (HPTE_V_1TB_SEG | (VRMA_VSID << (40 - 16)))
