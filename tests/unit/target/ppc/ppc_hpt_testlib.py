"""Shared helpers for the target/ppc tests: backends and the spec's test vectors."""

from __future__ import annotations

from dataclasses import dataclass

from qemu_py.target.ppc.guest_memory import RamMemory
from qemu_py.target.ppc.hpt_backend import HptBackend, MemoryHPT
from qemu_py.target.ppc.kvm_hptes import KvmSimHPT
from qemu_py.target.ppc.kvm_htab_sim import KvmHtabSim
from qemu_py.target.ppc.slb import Slb

BACKENDS = ("memory", "kvm-sim")
RAM_512M = 512 << 20


def make_backend(kind: str, htab_shift: int, **kvm_kwargs) -> tuple[HptBackend, KvmHtabSim | None]:
    if kind == "memory":
        return MemoryHPT(RamMemory(1 << htab_shift), 0, htab_shift), None
    kvm = KvmHtabSim(htab_shift, **kvm_kwargs)
    return KvmSimHPT.for_sim(kvm), kvm


@dataclass(frozen=True)
class Vector:
    """One row of spec section 3.7 (QEMU 7.2 TCG, 512 MiB pseries, mask 0x7FFF)."""

    name: str
    slbv: int
    esid: int
    ea: int
    ptex: int
    pte0: int
    pte1: int
    raddr: int
    page_shift: int


VECTORS = (
    Vector(
        "A-256M-4K-primary",
        0x123456000,
        0x18000000,
        0x10003000,
        0x1A2A8,
        0x123456001,
        0x5012,
        0x5000,
        12,
    ),
    Vector(
        "B-256M-4K-secondary-exact-slot3",
        0x123456000,
        0x18000000,
        0x10007000,
        0x25D73,
        0x123456003,
        0x6012,
        0x6000,
        12,
    ),
    Vector(
        "C-64K-segment-64K-page",
        0x55AA110,
        0x38000000,
        0x30021230,
        0x2AD40,
        0x55AA005,
        0x71012,
        0x71230,
        16,
    ),
    Vector(
        "D-1T-segment-4K-page",
        0x4000001234000000,
        0x20008000000,
        0x20000009000,
        0x91E8,
        0x4000001234000001,
        0x9012,
        0x9000,
        12,
    ),
)
VECTOR_HTAB_SHIFT = 22  # 512 MiB of RAM -> 4 MiB table, mask 0x7FFF


def vector_slb() -> Slb:
    slb = Slb()
    for slot, v in enumerate(VECTORS):
        if slb.lookup(v.ea) is None:
            slb.slbmte(v.slbv, v.esid | slot)
    return slb


def load_vectors(backend: HptBackend) -> None:
    """Store the four HPTEs as QEMU's H_ENTER would (pte0 | 0x40)."""
    for v in VECTORS:
        backend.write_hpte(v.ptex, v.pte0 | 0x40, v.pte1)


# --- the 16-entry table of spec section 1.7 -------------------------------

SPEC17_PATTERN = "VIIVVIII" + "VVVVVVVV"


def spec17_words(k: int) -> tuple[int, int]:
    """Entry k has tag k: AVPN k, RPN k."""
    return (k << 7) | 0x1, (k << 12) | 0x10


def spec17_kvm(host_byteorder: str = "little") -> KvmHtabSim:
    kvm = KvmHtabSim(8, host_byteorder=host_byteorder)  # 256 bytes = 16 HPTEs
    for k, c in enumerate(SPEC17_PATTERN):
        if c == "V":
            kvm.poke(k, *spec17_words(k))
    return kvm


def spec17_expected(ptex: int, n: int, hvlock: bool = True) -> list[tuple[int, int]]:
    out = []
    for k in range(ptex, ptex + n):
        if SPEC17_PATTERN[k] == "V":
            v, r = spec17_words(k)
            out.append((v | (0x40 if hvlock else 0), r))
        else:
            out.append((0, 0))
    return out


def parse_records(buf: bytes, byteorder: str = "little"):
    """[(index, n_valid, n_invalid, [(pte0, pte1), ...]), ...] from one read()."""
    from qemu_py.target.ppc.kvm_htab_abi import HtabHeader, unpack_hpte

    out, pos = [], 0
    while pos < len(buf):
        hdr = HtabHeader.unpack_from(buf, pos, byteorder)
        pos += 8
        hptes = [unpack_hpte(buf, pos + 16 * k) for k in range(hdr.n_valid)]
        pos += 16 * hdr.n_valid
        out.append((hdr.index, hdr.n_valid, hdr.n_invalid, hptes))
    assert pos == len(buf)
    return out


def records(buf: bytes, byteorder: str = "little"):
    return [(i, v, n) for i, v, n, _ in parse_records(buf, byteorder)]


class RecordingOpener:
    """Wraps ``kvm.get_htab_fd`` and remembers every fd and read size."""

    def __init__(self, kvm: KvmHtabSim):
        self.kvm = kvm
        self.fds = []
        self.read_sizes = []

    def __call__(self, flags: int, start_index: int):
        fd = self.kvm.get_htab_fd(flags, start_index)
        real_read = fd.read

        def read(count, _real=real_read):
            self.read_sizes.append(count)
            return _real(count)

        fd.read = read
        self.fds.append(fd)
        return fd
