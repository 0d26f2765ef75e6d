"""Guest-driven device programs: random MMIO, port, PCI-config, DMA-buffer and clock
sequences for a machine, run over the qtest protocol in process.

A program is a list of operations (tuples) drawn by :func:`programs`; :func:`run`
executes one against an :class:`~qemu_py.qtest.libqos.inproc.InProcessQTest` and checks
what must hold whatever a guest does: every request is answered ``OK`` (no Python
exception escapes the server), no request takes longer than ``STALL_S`` of CPU time (in process: a loaded
machine does not count),
and the RAM sentinels are intact. Sentinels sit in pages that no value of a program
can name: every number a program writes anywhere (a register, a DMA buffer, a PFN
list) comes from ``values()``, which never produces an address or PFN of a sentinel
page, so a device can only reach them through a bug.

Reused by the fuzz targets: ``MACHINES`` names each machine's command line and
windows; ``programs(name)`` is the hypothesis strategy; ``run(q, name, program)``
raises ``ProgramFailure`` with the failing step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from hypothesis import strategies as st

from qemu_py.qtest.libqos.inproc import InProcessQTest

STALL_S = 1.0
SENTINEL = bytes(range(0xA0, 0xB0))
SCRATCH = 0x0100_0000                 # programs' DMA buffers and descriptor tables
SCRATCH_SIZE = 0x10_0000


@dataclass(frozen=True)
class Machine:
    target: str
    argv: tuple[str, ...]
    mmio: tuple[int, ...]              # bases of windows a program pokes
    ports: tuple[int, ...]             # I/O ports (empty: no port space)
    ecam: int | None                   # PCI config through ECAM MMIO; None: 0xcf8/0xcfc or none
    cf8: bool                          # PCI config through ports 0xcf8/0xcfc
    sentinels: tuple[int, ...]         # guest-physical addresses of sentinel blocks


MACHINES = {
    "pc": Machine("x86_64", ("-M", "pc", "-m", "128M", "-device", "edu,addr=04.0",
                             "-device", "virtio-balloon-pci,addr=05.0"),
                  (0xfe800000, 0xfe000000, 0xfec00000, 0xfed00000, 0xfee00000, 0xe0000000),
                  (0x40, 0x43, 0x61, 0x70, 0x71, 0x510, 0x511, 0x514, 0x518, 0xc000, 0xc010,
                   0xc040, 0xc050),
                  None, True, (0x0780_0000, 0x07ff_f000)),
    "microvm": Machine("x86_64", ("-M", "microvm", "-m", "128M", "-device", "virtio-balloon-device"),
                       (0xfeb00000, 0xfeb00200, 0xfec00000, 0xfee00000),
                       (0x40, 0x43, 0x61, 0x70, 0x71, 0x510, 0x511, 0x514, 0x518),
                       None, False, (0x0780_0000, 0x07ff_f000)),
    "virt": Machine("aarch64", ("-M", "virt,highmem=off,iommu=smmuv3", "-m", "128M",
                                "-nodefaults", "-device", "edu"),
                    (0x10000000, 0x09050000, 0x09000000, 0x08000000, 0x08010000),
                    (), 0x3f000000, False, (0x4780_0000, 0x47ff_f000)),
    "pseries": Machine("ppc64", ("-M", "pseries", "-m", "256M", "-nodefaults"),
                       (0x200000000000, 0x200080000000),
                       (), None, False, (0x0780_0000, 0x0fff_f000)),
}


def _sentinel_pages(name: str) -> set[int]:
    return {a >> 12 for a in MACHINES[name].sentinels}


def values(name: str, bits: int = 32):
    """Numbers a program writes: small ones, register-ish ones, scratch and window
    addresses, never one that names a sentinel page as an address or a PFN."""
    m = MACHINES[name]
    pages = _sentinel_pages(name)
    mask = (1 << bits) - 1
    pool = st.one_of(
        st.integers(0, 0xfff),
        st.integers(SCRATCH, SCRATCH + SCRATCH_SIZE - 1),
        st.sampled_from([mask, 1 << (bits - 1), 0x80, 0x8000_0000 & mask, 0xffff, 0x1234_5678 & mask]),
        st.sampled_from(m.mmio).map(lambda b: b & mask),
    )
    return pool.filter(lambda v: v >> 12 not in pages and v not in pages)


def _ops(name: str):
    m = MACHINES[name]
    size = st.sampled_from([1, 2, 4, 8])
    offset = st.one_of(st.integers(0, 0xff), st.integers(0, 0xfff).map(lambda o: o & ~3))
    mmio = st.tuples(st.just("mmio"), st.sampled_from(m.mmio), offset, size, values(name, 64))
    mmio_read = st.tuples(st.just("mmio_read"), st.sampled_from(m.mmio), offset, size, st.just(0))
    scratch = st.tuples(st.just("ram"), st.integers(0, SCRATCH_SIZE // 4 - 4).map(lambda i: i * 4),
                        st.just(4), st.just(0), values(name))
    clock = st.tuples(st.just("clock"), st.integers(0, 200_000_000), st.just(0), st.just(0), st.just(0))
    choices = [mmio, mmio_read, scratch, clock]
    if m.ports:
        choices.append(st.tuples(st.just("out"), st.sampled_from(m.ports), st.integers(0, 3),
                                 st.sampled_from([1, 2, 4]), values(name)))
        choices.append(st.tuples(st.just("in"), st.sampled_from(m.ports), st.integers(0, 3),
                                 st.sampled_from([1, 2, 4]), st.just(0)))
    if m.ecam is not None or m.cf8:
        choices.append(st.tuples(st.just("cfg"), st.integers(0, 31), st.integers(0, 0xff),
                                 st.sampled_from([1, 2, 4]), values(name)))
    return st.one_of(choices)


def programs(name: str, max_size: int = 30):
    """The hypothesis strategy of device programs for machine NAME."""
    return st.lists(_ops(name), min_size=1, max_size=max_size)


def start(name: str) -> InProcessQTest:
    m = MACHINES[name]
    q = InProcessQTest(list(m.argv), target=m.target)
    for addr in m.sentinels:
        q.memwrite(addr, SENTINEL)
    return q


class ProgramFailure(AssertionError):
    pass


_WIDTH = {1: "b", 2: "w", 4: "l", 8: "q"}


def _lines(m: Machine, op) -> list[str]:
    kind, a, b, size, value = op
    if kind == "mmio":
        value &= (1 << 8 * size) - 1
        return [f"write{_WIDTH[size]} {a + (b & ~(size - 1)):#x} {value:#x}"]
    if kind == "mmio_read":
        return [f"read{_WIDTH[size]} {a + (b & ~(size - 1)):#x}"]
    if kind == "ram":
        return [f"writel {SCRATCH + a:#x} {value & 0xffffffff:#x}"]
    if kind == "clock":
        return [f"clock_step {a}"]
    if kind in ("out", "in"):
        port = a + (b & ~(size - 1) & 3)
        w = _WIDTH[size]
        return [f"out{w} {port:#x} {value & (1 << 8 * size) - 1:#x}" if kind == "out" else f"in{w} {port:#x}"]
    # PCI config of device A (bus 0), register B
    reg = b & ~(size - 1)
    value &= (1 << 8 * size) - 1
    if m.ecam is not None:
        return [f"write{_WIDTH[size]} {m.ecam + (a << 15) + reg:#x} {value:#x}"]
    return ["outl 0xcf8 %#x" % (0x8000_0000 | a << 11 | reg & 0xfc),
            f"out{_WIDTH[size]} {0xcfc + (reg & 3):#x} {value:#x}"]


def run(q: InProcessQTest, name: str, program) -> None:
    """Execute PROGRAM; raise ProgramFailure naming the step that broke an invariant."""
    m = MACHINES[name]
    for step, op in enumerate(program):
        for line in _lines(m, op):
            t = time.process_time()
            reply = q.cmd(line, check=False)
            took = time.process_time() - t
            if not reply.startswith("OK"):
                raise ProgramFailure(f"step {step} {line!r}: {reply!r}")
            if took > STALL_S:
                raise ProgramFailure(f"step {step} {line!r}: took {took:.2f} s of CPU time")
    for addr in m.sentinels:
        if q.memread(addr, len(SENTINEL)) != SENTINEL:
            raise ProgramFailure(f"RAM sentinel at {addr:#x} changed")
