"""Garbage in tables, commands and queue pointers never raises.

Each program fills the STE, the CD, a page-table page and the command queue
with random words, points PROD/CONS/bases anywhere, runs commands and DMAs,
and then checks what the spec says the SMMU may do about it: every event
record has a type QEMU can generate (spec §2.6), only CMDQ_ERR and
EVENTQ_ABT_ERR ever appear in GERROR, CMDQ_CONS.ERR holds 0, ILL or ABT, and
no Python exception escapes the model. 10,000 programs run in the slow
campaign; the default run does 1,000 per mode.
"""

import random

import pytest

from qemu_py.hw.arm import smmuv3_events as ev

from . import guest as G
from .rig import CD_ADDR, CMDQ, EVENTQ, STRTAB, Setup

GENERATED = {ev.C_BAD_STREAMID, ev.F_STE_FETCH, ev.C_BAD_STE, ev.F_CD_FETCH, ev.C_BAD_CD,
             ev.F_WALK_EABT, ev.F_TRANSLATION, ev.F_ADDR_SIZE, ev.F_ACCESS, ev.F_PERMISSION}
OPCODES = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x10, 0x11, 0x12, 0x13, 0x18, 0x1A,
           0x20, 0x21, 0x22, 0x23, 0x28, 0x2A, 0x30, 0x40, 0x41, 0x44, 0x45, 0x46, 0x47, 0xFF]


def word(rng):
    pick = rng.random()
    if pick < 0.3:
        return rng.getrandbits(32)
    if pick < 0.5:
        return rng.choice([0, 0xFFFF_FFFF, 1, 0x8000_0000, 0x4000_0000])
    return rng.getrandbits(rng.randint(1, 32))


def words(rng, n):
    return b"".join(word(rng).to_bytes(4, "little") for _ in range(n))


def one_program(seed: int, strict: bool):
    rng = random.Random(seed)
    s = Setup(strict=strict)
    # a plausible STE/CD half the time, garbage otherwise
    if rng.random() < 0.5:
        s.rig.write_mem(STRTAB + 64 * 8, words(rng, 16))
    if rng.random() < 0.5:
        s.rig.write_mem(CD_ADDR, words(rng, 16))
    else:
        s.pt.map(0x1000, 0x4100_0000)
    s.rig.write_mem(s.pt.root, words(rng, 64))
    # commands: random opcodes with random fields
    cmds = []
    for _ in range(rng.randint(1, 8)):
        raw = bytearray(words(rng, 4))
        if rng.random() < 0.8:
            raw[0] = rng.choice(OPCODES)
        cmds.append(bytes(raw))
    s.drv.submit(*cmds, sync=rng.random() < 0.5)
    # queue pointers and bases anywhere
    regs = [(G.CMDQ_PROD, word(rng)), (G.CMDQ_CONS, word(rng)), (G.EVENTQ_PROD, word(rng)),
            (G.EVENTQ_CONS, word(rng)), (G.STRTAB_BASE_CFG, word(rng)), (G.GERRORN, word(rng)),
            (G.CR0, word(rng) | 0xD), (G.IRQ_CTRL, word(rng))]
    rng.shuffle(regs)
    cons_written = False
    for off, value in regs[:rng.randint(0, len(regs))]:
        s.wreg(off, value)
        cons_written |= off == G.CMDQ_CONS
    if rng.random() < 0.3:
        s.rig.writeq(G.SMMU_BASE + G.CMDQ_BASE, (CMDQ if rng.random() < 0.5 else
                                                  rng.getrandbits(52)) | rng.getrandbits(5))
    if rng.random() < 0.3:
        s.rig.writeq(G.SMMU_BASE + G.EVENTQ_BASE, (EVENTQ if rng.random() < 0.5 else
                                                    rng.getrandbits(52)) | rng.getrandbits(5))
    if rng.random() < 0.2:
        s.rig.writeq(G.SMMU_BASE + G.STRTAB_BASE, rng.getrandbits(64))
    s.wreg(G.CMDQ_PROD, word(rng))
    for _ in range(rng.randint(1, 4)):
        iova = rng.choice([0x1000, rng.getrandbits(64), rng.getrandbits(48), 0x212345])
        if rng.random() < 0.5:
            s.rig.dma_write(iova, b"\0" * rng.choice([1, 4, 8]))
        else:
            s.rig.dma_read(iova, rng.choice([1, 4, 8]))
    check(s, cons_written)


def check(s, cons_written=False):
    smmu = s.smmu
    assert smmu.gerror & ~0x5 == 0, hex(smmu.gerror)
    if not cons_written:                     # software may write any ERR value itself
        assert (smmu.cmdq.cons >> 24) & 0x7F in (0, 1, 2)
    q = smmu.eventq
    # read back whatever the event queue holds where it is (it may point anywhere)
    n = 0
    cons = q.cons
    while not q.empty() and n < 64:
        data, _ = s.rig.as_.read(q.entry_addr(cons), 32)
        rec = ev.EventRecord.decode(data)
        if data != bytes(32):
            assert rec.type in GENERATED, hex(rec.type)
        cons = q._incr(cons, q.log2size)
        if q._idx(cons) == q._idx(q.prod) and q._wrap(cons) == q._wrap(q.prod):
            break
        n += 1


@pytest.mark.parametrize("strict", [False, True], ids=["qemu", "strict"])
def test_garbage_programs_short(strict):
    for seed in range(1000):
        one_program(seed, strict)


@pytest.mark.slow
@pytest.mark.parametrize("strict", [False, True], ids=["qemu", "strict"])
def test_garbage_programs_10k(strict):
    for seed in range(10_000):
        one_program(1_000_000 + seed, strict)


def test_event_types_recorded_for_garbage_are_the_documented_ones():
    """Events recorded through the model's own hook, not read back from memory."""
    seen = set()
    for seed in range(200):
        rng = random.Random(seed)
        s = Setup()
        if seed % 2:
            s.rig.write_mem(STRTAB + 64 * 8, words(rng, 16))
        s.rig.write_mem(CD_ADDR, words(rng, 16))
        recorded = []
        orig = s.smmu.record_event
        s.smmu.record_event = lambda info, orig=orig, rec=recorded: (rec.append(info.type),
                                                                       orig(info))
        s.rig.dma_write(rng.getrandbits(48), b"\0" * 8)
        seen |= set(recorded)
    assert seen <= GENERATED
    assert {ev.C_BAD_STE, ev.C_BAD_CD} <= seen
