"""QEMU's KVM-HV HPTE accessors, and the HPT backend built on them.

:func:`kvmppc_read_hptes` is QEMU's function of the same name as of commit
1ad9f0a (identical in 7.2, spec section 2.2): open a read fd at ``ptex``, read
records, check each header's index, copy ``min(n_valid, n - i)`` entries,
zero-fill ``min(n_invalid, n - i)`` entries, skip by the *unclamped*
``n_valid``, and stop once ``n`` entries are filled.

Two deliberate differences from QEMU 7.2, because QEMU can spin forever
(spec section 2.3: with n = 1 its 24-byte buffer makes every ``read()``
return 0 bytes and it has no ``rc == 0`` check):

* the buffer is one byte larger than QEMU's ``8 + 16*min(n, 8)`` (the
  pre-2017 code's "one extra byte"), so the kernel's strict ``<`` still lets a
  full PTEG, or a single entry, through in one record (``spare_byte=False``
  restores QEMU's size);
* the loop is bounded: a ``read()`` returning 0 bytes, a read that makes no
  progress, or more than ``n + 1`` reads raise :class:`KvmHptError` instead of
  looping.

Other conditions where QEMU calls ``hw_error`` (unexpected index, a failing
``read()``) raise :class:`KvmHptError` too.  ``n < 1`` is a caller bug and
raises ``ValueError`` naming ``n``.

:func:`kvmppc_write_hpte` writes one 24-byte record
``{index=ptex, n_valid=1, n_invalid=0}`` + the two big-endian words on a fresh
write fd; anything but 24 bytes written is an error ("Unable to update KVM
HPT"), which includes EBUSY while vCPUs run and EINVAL for an invalid pte0.
QEMU has no way to *remove* an entry through the fd; :func:`kvmppc_remove_hpte`
adds one: the 8-byte record ``{index=ptex, n_valid=0, n_invalid=1}``.

:class:`KvmSimHPT` is the HPT backend QEMU uses when ``spapr->htab == NULL``.
Its ``write_hpte`` sends the valid record for a valid pte0 and the removal
record for an invalid one, so QEMU's hypercalls (which invalidate entries by
storing pte0 = 0x40) work on it.  Consequence, inherent to the stream: an
invalid entry's stored words are not kept, so reading one gives ``(0, 0)``
where :class:`~.hpt_backend.MemoryHPT` returns whatever was stored.
"""

from __future__ import annotations

import errno as errno_mod
from collections.abc import Callable

from .hpt_backend import HptBackend
from .hpte import HPTE64_V_VALID
from .kvm_htab_abi import (
    HTAB_HEADER_SIZE,
    HTAB_HPTE_SIZE,
    KVM_GET_HTAB_WRITE,
    ByteOrder,
    HtabHeader,
    pack_hpte,
    unpack_hpte,
)
from .kvm_htab_sim import HtabFd, KvmHtabSim

#: ``open_fd(flags, start_index) -> fd`` with ``read``/``write``/``close``.
OpenHtabFd = Callable[[int, int], HtabFd]

HPTES_PER_READ = 8


class KvmHptError(RuntimeError):
    """An HTAB fd access failed where QEMU would ``hw_error``/abort.

    ``errno`` is set when the failure came from the fd (e.g. EBUSY).
    """

    def __init__(self, message: str, errno: int | None = None):
        super().__init__(message)
        self.errno = errno


def _errname(code: int | None) -> str:
    return errno_mod.errorcode.get(code, str(code)) if code is not None else "?"


def kvmppc_read_hptes(
    open_fd: OpenHtabFd,
    ptex: int,
    n: int,
    *,
    host_byteorder: ByteOrder = "little",
    spare_byte: bool = True,
) -> list[tuple[int, int]]:
    """Exactly ``n`` ``(pte0, pte1)`` pairs from HPTE index ``ptex``; invalid ones are zero."""
    if n < 1:
        raise ValueError(f"kvmppc_read_hptes: n={n}, must be at least 1")
    if ptex < 0:
        raise ValueError(f"kvmppc_read_hptes: ptex={ptex} is negative")
    try:
        fd = open_fd(0, ptex)
    except OSError as e:
        raise KvmHptError(f"Unable to open KVM HPT fd at ptex {ptex:#x}: {e}", e.errno) from e
    bufsize = HTAB_HEADER_SIZE + HTAB_HPTE_SIZE * min(n, HPTES_PER_READ) + int(spare_byte)
    out: list[tuple[int, int]] = []
    max_reads = n + 1
    try:
        for _ in range(max_reads):
            if len(out) >= n:
                break
            try:
                buf = fd.read(bufsize)
            except OSError as e:
                raise KvmHptError(
                    f"kvmppc_read_hptes: read() at ptex {ptex + len(out):#x} failed: {e}", e.errno
                ) from e
            if not buf:
                raise KvmHptError(
                    f"kvmppc_read_hptes: read({bufsize}) returned 0 bytes at ptex "
                    f"{ptex + len(out):#x} with {n - len(out)} HPTEs missing "
                    f"(QEMU 7.2 loops forever here)"
                )
            before = len(out)
            _decode_records(buf, ptex, n, out, host_byteorder)
            if len(out) == before:
                raise KvmHptError(
                    f"kvmppc_read_hptes: read() at ptex {ptex + before:#x} made no progress"
                )
        else:
            if len(out) < n:
                raise KvmHptError(
                    f"kvmppc_read_hptes: {n - len(out)} HPTEs still missing after {max_reads} reads"
                )
    finally:
        fd.close()
    return out


def _decode_records(
    buf: bytes, ptex: int, n: int, out: list[tuple[int, int]], order: ByteOrder
) -> None:
    pos = 0
    while len(out) < n and pos < len(buf):
        if pos + HTAB_HEADER_SIZE > len(buf):
            raise KvmHptError(f"kvmppc_read_hptes: truncated record header at offset {pos}")
        hdr = HtabHeader.unpack_from(buf, pos, order)
        expected = ptex + len(out)
        if hdr.index != expected:
            raise KvmHptError(f"Unexpected HPTE index {hdr.index:#x}, expected {expected:#x}")
        data = pos + HTAB_HEADER_SIZE
        if data + hdr.n_valid * HTAB_HPTE_SIZE > len(buf):
            raise KvmHptError(
                f"kvmppc_read_hptes: record at index {hdr.index:#x} claims {hdr.n_valid} "
                f"HPTEs but the read returned only {len(buf)} bytes"
            )
        valid = min(hdr.n_valid, n - len(out))
        for k in range(valid):
            out.append(unpack_hpte(buf, data + k * HTAB_HPTE_SIZE))
        invalid = min(hdr.n_invalid, n - len(out))
        out.extend([(0, 0)] * invalid)
        pos = data + hdr.n_valid * HTAB_HPTE_SIZE


def _write_record(open_fd: OpenHtabFd, record: bytes, ptex: int, what: str) -> None:
    try:
        fd = open_fd(KVM_GET_HTAB_WRITE, 0)
    except OSError as e:
        raise KvmHptError(f"Unable to open KVM HPT write fd: {e}", e.errno) from e
    try:
        rc = fd.write(record)
    except OSError as e:
        raise KvmHptError(
            f"{what}: Unable to update KVM HPT at ptex {ptex:#x} ({_errname(e.errno)})", e.errno
        ) from e
    finally:
        fd.close()
    if rc != len(record):
        raise KvmHptError(
            f"{what}: Unable to update KVM HPT at ptex {ptex:#x} "
            f"(wrote {rc} of {len(record)} bytes)"
        )


def kvmppc_write_hpte(
    open_fd: OpenHtabFd, ptex: int, pte0: int, pte1: int, *, host_byteorder: ByteOrder = "little"
) -> None:
    """Replace entry ``ptex`` with one valid-entry record (QEMU's function)."""
    record = HtabHeader(ptex, 1, 0).pack(host_byteorder) + pack_hpte(pte0, pte1)
    _write_record(open_fd, record, ptex, "kvmppc_write_hpte")


def kvmppc_remove_hpte(
    open_fd: OpenHtabFd, ptex: int, *, host_byteorder: ByteOrder = "little"
) -> None:
    """Invalidate entry ``ptex`` with one ``{ptex, 0, 1}`` record (not in QEMU)."""
    record = HtabHeader(ptex, 0, 1).pack(host_byteorder)
    _write_record(open_fd, record, ptex, "kvmppc_remove_hpte")


class KvmSimHPT(HptBackend):
    """An HPT owned by a (simulated) KVM-HV kernel, reached only through HTAB fds."""

    def __init__(
        self,
        open_fd: OpenHtabFd,
        htab_shift: int,
        *,
        host_byteorder: ByteOrder = "little",
        spare_byte: bool = True,
    ):
        super().__init__(htab_shift)
        self.open_fd = open_fd
        self.host_byteorder: ByteOrder = host_byteorder
        self.spare_byte = spare_byte

    @classmethod
    def for_sim(cls, kvm: KvmHtabSim, **kwargs: object) -> KvmSimHPT:
        """A backend on ``kvm``'s fd, with its order and header byte order."""
        return cls(kvm.get_htab_fd, kvm.order, host_byteorder=kvm.host_byteorder, **kwargs)

    def read_hptes(self, ptex: int, n: int) -> list[tuple[int, int]]:
        self.check_range(ptex, n)
        return kvmppc_read_hptes(
            self.open_fd, ptex, n, host_byteorder=self.host_byteorder, spare_byte=self.spare_byte
        )

    def write_hpte(self, ptex: int, pte0: int, pte1: int) -> None:
        self.check_range(ptex, 1, "write_hpte")
        if pte0 & HPTE64_V_VALID:
            kvmppc_write_hpte(self.open_fd, ptex, pte0, pte1, host_byteorder=self.host_byteorder)
        else:
            kvmppc_remove_hpte(self.open_fd, ptex, host_byteorder=self.host_byteorder)
