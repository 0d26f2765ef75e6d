"""Property tests: the HTAB stream reader equals a direct read of the table.

Random tables mix valid, ABSENT and invalid entries (invalid ones with junk
words), bolted and other software bits, secondary-hash (H) and large-page
entries, guest views that differ from the hardware R/C bits, and the MODIFIED
bit.  The expected value of every entry is computed here, independently of the
kernel model, from the spec's rules (1.3, 1.5): valid = V or ABSENT; reported
dword0 = hardware dword0 with HVLOCK set and ABSENT turned into V; reported
dword1 = guest view plus harvested hardware R/C, bit 62 cleared; invalid = 0.
"""

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ppc_hpt_testlib import parse_records

from qemu_py.target.ppc.guest_memory import RamMemory
from qemu_py.target.ppc.hpt_backend import MemoryHPT
from qemu_py.target.ppc.kvm_hptes import KvmSimHPT, kvmppc_read_hptes
from qemu_py.target.ppc.kvm_htab_abi import KVM_GET_HTAB_BOLTED_ONLY
from qemu_py.target.ppc.kvm_htab_sim import HPTE_GR_MODIFIED, KvmHtabSim

MASK64 = (1 << 64) - 1
RC = 0x180

SW_CHOICES = (0x0, 0x8, 0x10, 0x18, 0x40, 0x50)


def random_entry(rng: random.Random) -> tuple[int, int, int]:
    """(hardware v, hardware r, guest r) of one kernel-side HPTE."""
    kind = rng.choice(("valid", "valid", "absent", "junk"))
    v = (
        rng.choice((0, 0x4000000000000000))  # B: 256M or 1T
        | rng.getrandbits(55) << 7  # AVPN
        | rng.choice(SW_CHOICES)  # bolted, software, QEMU dirty
        | rng.choice((0, 0x4))  # L
        | rng.choice((0, 0x2))  # H: secondary-hash entry
    )
    if kind == "valid":
        v |= 0x1
    elif kind == "absent":
        v |= 0x20
    r = rng.getrandbits(64) & ~HPTE_GR_MODIFIED
    guest_r = r & ~RC | rng.choice((0, 0x100, 0x180))
    if rng.random() < 0.3:
        guest_r |= HPTE_GR_MODIFIED
    return v, r, guest_r


def expected_entry(v, r, guest_r, bolted_only=False):
    if not v & 0x21 or (bolted_only and not v & 0x10):
        return 0, 0
    out_v = v | 0x40
    if out_v & 0x20:
        out_v = (out_v & ~0x20) | 0x1
    out_r = guest_r | (r & RC if v & 0x1 else 0)
    return out_v, out_r & ~HPTE_GR_MODIFIED


def is_dirty(v, r, guest_r):
    return bool(guest_r & HPTE_GR_MODIFIED or (v & 0x1 and r & RC & ~guest_r))


@st.composite
def table_and_request(draw):
    """A random table (from a drawn seed, so one example costs a handful of
    draws) and a request ``(ptex, n)`` inside it."""
    order = draw(st.integers(7, 10))
    npte = 1 << (order - 4)
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    ptex = draw(st.integers(0, npte - 1))
    n = draw(st.integers(1, npte - ptex))
    density = rng.choice((0.0, 0.1, 0.5, 0.9, 1.0))
    entries = {k: random_entry(rng) for k in range(npte) if rng.random() < density}
    spare = n == 1 or rng.random() < 0.5
    byteorder = rng.choice(("little", "big"))
    return order, entries, ptex, n, spare, byteorder


def case_from_seed(seed: int):
    """The same kind of case from one drawn integer (one draw is much cheaper
    than several when running 10,000 examples).  ``ptex`` and ``n`` are biased
    towards the boundaries: the first and last HPTE, PTEG edges, n = 1 and
    ranges running to the end of the table."""
    rng = random.Random(seed)
    order = rng.randint(7, 10)
    npte = 1 << (order - 4)
    ptex = rng.choice(
        (
            0,
            npte - 1,
            npte - 8,
            rng.randrange(0, npte, 8) + 7,
            rng.randrange(npte),
            rng.randrange(npte),
        )
    )
    n = rng.choice(
        (
            1,
            npte - ptex,
            min(8, npte - ptex),
            rng.randint(1, npte - ptex),
            rng.randint(1, npte - ptex),
        )
    )
    density = rng.choice((0.0, 0.1, 0.5, 0.9, 1.0))
    entries = {k: random_entry(rng) for k in range(npte) if rng.random() < density}
    spare = n == 1 or rng.random() < 0.5
    return order, entries, ptex, n, spare, rng.choice(("little", "big"))


def build(order, entries, byteorder):
    kvm = KvmHtabSim(order, host_byteorder=byteorder)
    for k, (v, r, guest_r) in entries.items():
        kvm.poke(k, v, r, guest_r)
    return kvm


def check_reader(case):
    order, entries, ptex, n, spare, byteorder = case
    kvm = build(order, entries, byteorder)
    expected = [
        expected_entry(*entries[k]) if k in entries else (0, 0) for k in range(ptex, ptex + n)
    ]
    direct = [kvm.guest_view(k) for k in range(ptex, ptex + n)]
    got = kvmppc_read_hptes(kvm.get_htab_fd, ptex, n, host_byteorder=byteorder, spare_byte=spare)
    assert got == expected
    assert direct == expected
    assert kvm.hpte_mod_interest == 0


@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**64 - 1))
def test_stream_reader_equals_direct_read_10000_examples(seed):
    """10,000 random tables and requests; about 20 s, so not marked slow."""
    check_reader(case_from_seed(seed))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table_and_request())
def test_stream_reader_equals_direct_read_structured(case):
    """Fewer examples, but with ptex and n drawn (and shrunk) by hypothesis."""
    check_reader(case)


@settings(max_examples=300, deadline=None)
@given(
    table_and_request(),
    st.integers(0, 400),
    st.booleans(),
)
def test_raw_stream_first_pass_reports_every_entry_once(case, count, bolted_only):
    """Read the stream with any buffer size and flags until the first pass ends;
    the records tile [start, npte) exactly and carry the expected words."""
    order, entries, start, _n, _spare, byteorder = case
    kvm = build(order, entries, byteorder)
    npte = kvm.npte
    fd = kvm.get_htab_fd(KVM_GET_HTAB_BOLTED_ONLY if bolted_only else 0, start)
    seen = {}
    pos = start
    for _ in range(npte + 2):
        data = fd.read(count)
        if count <= 24:
            assert data == b""
            return
        for index, n_valid, n_invalid, hptes in parse_records(data, byteorder):
            assert index == pos and n_valid + n_invalid > 0
            assert len(data) < count
            for k, words in enumerate(hptes):
                seen[index + k] = words
            for k in range(n_invalid):
                seen[index + n_valid + k] = (0, 0)
            pos = index + n_valid + n_invalid
        if not fd.first_pass:
            break
    assert pos == npte and not fd.first_pass
    for k in range(start, npte):
        want = expected_entry(*entries[k], bolted_only) if k in entries else (0, 0)
        assert seen[k] == want
    # Dirty passes: only entries before ``start`` can still be dirty, since the
    # first pass cleaned what it reported; they come back once, then nothing.
    dirty = {k for k, e in entries.items() if k < start and is_dirty(*e)}
    reported = set()
    for _ in range(npte + 2):
        data = fd.read(count)
        if not data:
            break
        for index, n_valid, n_invalid, _hptes in parse_records(data, byteorder):
            reported.update(range(index, index + n_valid + n_invalid))
    assert reported == dirty
    assert fd.read(count) == b""


VALID_LP = (0x0, 0x1000, 0x7000, 0x38000)


@st.composite
def write_ops(draw):
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    ops = []
    for _ in range(draw(st.integers(1, 40))):
        ptex = rng.randrange(32)
        if rng.random() < 0.25:
            ops.append((ptex, rng.getrandbits(64) & ~0x1, rng.getrandbits(64)))
            continue
        large = rng.choice((0, 0x4))
        pte0 = rng.getrandbits(57) << 7 | rng.choice(SW_CHOICES) | large | rng.choice((0, 2)) | 1
        pte1 = rng.getrandbits(64) & ~0xFF000 & ~HPTE_GR_MODIFIED
        pte1 |= rng.choice(VALID_LP) if large else 0
        ops.append((ptex, pte0, pte1))
    return ops


@settings(max_examples=300, deadline=None)
@given(write_ops())
def test_write_path_round_trips(ops):
    kvm = KvmHtabSim(9)
    sim = KvmSimHPT.for_sim(kvm)
    mem = MemoryHPT(RamMemory(1 << 9), 0, 9)
    for ptex, pte0, pte1 in ops:
        sim.write_hpte(ptex, pte0, pte1)
        mem.write_hpte(ptex, pte0, pte1)
    for (m0, m1), (s0, s1) in zip(mem.read_hptes(0, 32), sim.read_hptes(0, 32)):
        if m0 & 1:
            assert (s0, s1) == (m0 & ~0x20 | 0x40, m1)
        else:
            assert (s0, s1) == (0, 0)
