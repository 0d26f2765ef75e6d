"""SMMUv3 configuration structures: stream table lookup, STE and CD decode
(spec §2.1-2.3), with QEMU 7.2's checks.

:func:`decode_config` turns a StreamID into a :class:`~.smmu_walk.TransCfg`
or raises :class:`ConfigError` carrying the event to record (C_BAD_STREAMID,
F_STE_FETCH, C_BAD_STE, F_CD_FETCH, C_BAD_CD). All structures are read as
little-endian words through the SMMU's DMA address space.

QEMU deviations, architectural under ``strict``: a 2-level L2 array holds
2^Span STEs (architecture: 2^(Span-1)) and an out-of-span SID is C_BAD_STE
(architecture: C_BAD_STREAMID). Only stage 1 is implemented; STE configs
asking for stage 2 are C_BAD_STE, as in QEMU 7.2.
"""

from __future__ import annotations

import struct

from qemu_py.memory import MemTxResult

from . import smmuv3_events as ev
from .smmu_walk import TransCfg
from .smmuv3_queue import BASE_ADDR_MASK

SIDSIZE = 16
OAS_BITS = 44
MASK64 = (1 << 64) - 1

# CD.IPS -> bits. QEMU asserts (master) or computes nonsense (7.2) for 6 and 7;
# qemu-py reads them as 52 bits, which the OAS cap brings back to 44.
IPS_BITS = (32, 36, 40, 42, 44, 48, 52, 52)


class ConfigError(Exception):
    def __init__(self, etype: int, addr: int = 0, addr2: int = 0):
        super().__init__(ev.EVENT_NAMES.get(etype, hex(etype)))
        self.etype = etype
        self.addr = addr
        self.addr2 = addr2


def bits(value: int, lsb: int, width: int) -> int:
    return (value >> lsb) & ((1 << width) - 1)


def _read_words(dma_as, addr: int, nwords: int):
    data, res = dma_as.read(addr & MASK64, 4 * nwords)
    if res != MemTxResult.OK:
        return None
    return struct.unpack(f"<{nwords}I", data)


def find_ste(smmu, sid: int):
    """smmu_find_ste: the 16 STE words for SID."""
    regs = smmu
    log2size = regs.strtab_base_cfg & 0x3F
    if sid >= 1 << min(log2size, SIDSIZE):
        raise ConfigError(ev.C_BAD_STREAMID)
    if regs.two_level:
        split = regs.sid_split
        shift = max(5, log2size - split - 1 + 3)
        base = regs.strtab_base & BASE_ADDR_MASK & ~((1 << min(shift, 64)) - 1)
        l1_index = sid >> split
        l2_index = sid & ((1 << split) - 1)
        l1ptr = (base + l1_index * 8) & MASK64
        w = _read_words(regs.dma_as, l1ptr, 2)
        if w is None:
            raise ConfigError(ev.F_STE_FETCH, addr2=l1ptr)
        l1std = w[0] | w[1] << 32
        span = l1std & 0x1F
        if span == 0:
            raise ConfigError(ev.C_BAD_STREAMID)
        if regs.strict:
            if span > split + 1 or l2_index >= 1 << (span - 1):
                raise ConfigError(ev.C_BAD_STREAMID)
            l2ptr = l1std & 0x000F_FFFF_FFFF_FFC0
        else:
            if l2_index > (1 << span) - 1:
                raise ConfigError(ev.C_BAD_STE)
            l2ptr = l1std & ~0x1F & MASK64
        addr = (l2ptr + l2_index * 64) & MASK64
    else:
        shift = min(log2size + 5, 64)
        base = regs.strtab_base & BASE_ADDR_MASK & ~((1 << shift) - 1)
        addr = (base + sid * 64) & MASK64
    ste = _read_words(regs.dma_as, addr, 16)
    if ste is None:
        raise ConfigError(ev.F_STE_FETCH, addr2=addr)
    return ste


def decode_ste(cfg: TransCfg, ste) -> None:
    """decode_ste: validity, Config, and the stage-1 fields QEMU checks."""
    if not ste[0] & 1:
        raise ConfigError(ev.C_BAD_STE)
    config = bits(ste[0], 1, 3)
    if not config & 4:
        cfg.aborted = True
        return
    if config == 4:
        cfg.bypassed = True
        return
    if config & 2:                       # stage 2 / nested: not in QEMU 7.2
        raise ConfigError(ev.C_BAD_STE)
    if bits(ste[1], 27, 5):              # S1CDMax: one CD only
        raise ConfigError(ev.C_BAD_STE)
    if bits(ste[2], 27, 1):              # S1STALLD
        raise ConfigError(ev.C_BAD_STE)


def ste_ctxptr(ste) -> int:
    return (ste[0] & 0xFFFF_FFC0) | bits(ste[1], 0, 24) << 32


def get_cd(smmu, ste):
    addr = ste_ctxptr(ste)
    cd = _read_words(smmu.dma_as, addr, 16)
    if cd is None:
        if smmu.strict:
            raise ConfigError(ev.F_CD_FETCH, addr2=addr)
        raise ConfigError(ev.F_CD_FETCH, addr=addr)      # QEMU: in InputAddr
    return cd


def tg2granule(tg: int, tt: int) -> int:
    if tt:
        return {1: 14, 2: 12, 3: 16}.get(tg, 0)
    return {0: 12, 1: 16, 2: 14}.get(tg, 0)


def decode_cd(cfg: TransCfg, cd) -> None:
    w0, w1 = cd[0], cd[1]
    if not bits(w0, 31, 1) or not bits(w1, 9, 1):       # V, AA64
        raise ConfigError(ev.C_BAD_CD)
    if not bits(w1, 14, 1):                             # A: TERM_MODEL == 1
        raise ConfigError(ev.C_BAD_CD)
    if bits(w1, 12, 1):                                 # S: STALL_MODEL == 1
        raise ConfigError(ev.C_BAD_CD)
    if bits(w1, 10, 1) or bits(w1, 11, 1):              # HD/HA: no HTTU
        raise ConfigError(ev.C_BAD_CD)
    cfg.stage = 1
    cfg.oas = min(IPS_BITS[bits(w1, 0, 3)], OAS_BITS)
    cfg.tbi = bits(w1, 6, 2)
    cfg.asid = bits(w1, 16, 16)
    cfg.affd = bool(bits(w1, 3, 1))
    for i in (0, 1):
        tt = cfg.tt[i]
        tt.disabled = bool(bits(w0, 16 * i + 14, 1))
        if tt.disabled:
            continue
        tsz = bits(w0, 16 * i, 6)
        if tsz < 16 or tsz > 39:
            raise ConfigError(ev.C_BAD_CD)
        granule = tg2granule(bits(w0, 16 * i + 6, 2), i)
        if granule == 0 or bits(w0, 15, 1):             # bad TG or ENDI=1
            raise ConfigError(ev.C_BAD_CD)
        tt.granule_sz = granule
        tt.tsz = tsz
        tt.ttb = (cd[2 * i + 2] & ~0xF) | bits(cd[2 * i + 3], 0, 20) << 32
        if tt.ttb >> cfg.oas:
            raise ConfigError(ev.C_BAD_CD)
        tt.had = bool(bits(cd[2 * i + 2], 1, 1))
    cfg.record_faults = bool(bits(w1, 13, 1))


def decode_config(smmu, sid: int) -> TransCfg:
    """smmuv3_decode_config: STE, then (for stage-1 STEs) its CD."""
    cfg = TransCfg()
    ste = find_ste(smmu, sid)
    decode_ste(cfg, ste)
    if cfg.aborted or cfg.bypassed:
        return cfg
    decode_cd(cfg, get_cd(smmu, ste))
    return cfg
