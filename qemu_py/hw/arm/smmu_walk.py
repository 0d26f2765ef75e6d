"""Stage-1 VMSAv8-64 translation for the SMMU (spec §2.3 select_tt, §2.4 walk).

:func:`select_tt` picks TT0 or TT1 for an IOVA; :func:`ptw_s1` walks the
tables in guest memory for 4K, 16K and 64K granules and returns a
:class:`~.smmu_iotlb.TLBEntry` or raises :class:`PTWError`.

QEMU behaviour (default): blocks are accepted at any level below 3, nT and
Contiguous are ignored, AP[1] is ignored, APTable only faults writes during
the walk and is not folded into the cached permission, the access flag and
the output address size are not checked (7.2), and TBI1 reads the TBI0 bit.
With ``strict`` (the ``strict-arch`` property) each of these follows the
architecture instead: blocks only where the granule allows them, APTable[1]
makes the entry read-only, AF=0 with AFFD=0 is an Access fault, an output
address beyond OAS is an Address Size fault, and TBI1 is bit 7 of the CD.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qemu_py.memory import IOMMUAccessFlag, MemTxResult

from .smmu_iotlb import MASK64, TLBEntry, level_shift

# PTW error kinds (QEMU's SMMUPTWEventType)
PTW_ERR_WALK_EABT = "walk_eabt"
PTW_ERR_TRANSLATION = "translation"
PTW_ERR_ADDR_SIZE = "addr_size"
PTW_ERR_ACCESS = "access"
PTW_ERR_PERMISSION = "permission"

# Levels at which the architecture allows block descriptors (no DS, no LPA).
ARCH_BLOCK_LEVELS = {12: (1, 2), 14: (2,), 16: (2,)}


class PTWError(Exception):
    def __init__(self, kind: str, addr: int = 0):
        super().__init__(kind)
        self.kind = kind
        self.addr = addr        # descriptor address for WALK_EABT


@dataclass(slots=True)
class TTInfo:
    """One translation table (TT0 or TT1) of a decoded CD."""

    disabled: bool = True
    tsz: int = 0
    ttb: int = 0
    granule_sz: int = 0
    had: bool = False


@dataclass(slots=True)
class TransCfg:
    """A decoded STE+CD: what the device's transactions are translated with."""

    aborted: bool = False
    bypassed: bool = False
    stage: int = 1
    oas: int = 44
    tbi: int = 0
    asid: int = 0
    vmid: int = -1
    affd: bool = True
    record_faults: bool = False
    tt: list = field(default_factory=lambda: [TTInfo(), TTInfo()])
    iotlb_hits: int = 0
    iotlb_misses: int = 0


def _field(value: int, lsb: int, width: int) -> int:
    return (value >> lsb) & ((1 << width) - 1)


def select_tt(cfg: TransCfg, iova: int, strict: bool = False) -> TTInfo | None:
    """TT0 for IOVAs whose top bits are zero, TT1 for all-ones, else None."""
    if iova >> 55 & 1:
        tbi = (cfg.tbi >> 1 & 1) if strict else (cfg.tbi & 1)   # QEMU: TBI1 reads TBI0
    else:
        tbi = cfg.tbi & 1
    tbi_byte = 8 * tbi
    tt0, tt1 = cfg.tt
    if tt0.tsz and not _field(iova, 64 - tt0.tsz, tt0.tsz - tbi_byte):
        return tt0
    if tt1.tsz:
        width = tt1.tsz - tbi_byte
        if _field(iova, 64 - tt1.tsz, width) == (1 << width) - 1:
            return tt1
    if not tt0.tsz:
        return tt0
    if not tt1.tsz:
        return tt1
    return None


def _pte_address(pte: int, shift: int) -> int:
    """Bits [47:shift] of a descriptor."""
    return pte & ((1 << 48) - 1) & ~((1 << shift) - 1)


def ptw_s1(cfg: TransCfg, iova: int, is_write: bool, dma_as, strict: bool = False) -> TLBEntry:
    """Walk the stage-1 tables for IOVA (already granule aligned)."""
    tt = select_tt(cfg, iova, strict)
    if tt is None or tt.disabled:
        raise PTWError(PTW_ERR_TRANSLATION)
    g = tt.granule_sz
    stride = g - 3
    inputsize = 64 - tt.tsz
    level = 4 - (inputsize - 4) // stride
    indexmask = (1 << (inputsize - stride * (4 - level))) - 1
    baseaddr = tt.ttb & ((1 << 48) - 1) & ~indexmask
    in_mask = (1 << inputsize) - 1
    idx_mask = (1 << stride) - 1
    table_ro = False
    while level <= 3:
        shift = level_shift(level, g)
        offset = ((iova & in_mask) >> shift) & idx_mask
        pte_addr = (baseaddr + offset * 8) & MASK64
        pte, res = dma_as.read_value(pte_addr, 8)
        if res != MemTxResult.OK:
            raise PTWError(PTW_ERR_WALK_EABT, pte_addr)
        kind = pte & 3
        if not pte & 1 or (level == 3 and kind == 1):
            break                                           # invalid or reserved
        if level < 3 and kind == 3:                         # table descriptor
            if pte >> 62 & 1 and not tt.had:
                if is_write:
                    raise PTWError(PTW_ERR_PERMISSION)
                table_ro = True
            baseaddr = _pte_address(pte, g)
            if strict and baseaddr >> cfg.oas:
                raise PTWError(PTW_ERR_ADDR_SIZE)
            level += 1
            continue
        if level < 3 and strict and level not in ARCH_BLOCK_LEVELS[g]:
            break                                           # block not allowed here
        out = _pte_address(pte, shift)
        ap = pte >> 6 & 3
        if strict and not pte >> 10 & 1 and not cfg.affd:
            raise PTWError(PTW_ERR_ACCESS)
        if is_write and ap & 2:
            raise PTWError(PTW_ERR_PERMISSION)
        if strict and out >> cfg.oas:
            raise PTWError(PTW_ERR_ADDR_SIZE)
        read_only = bool(ap & 2) or (strict and table_ro)
        mask = (1 << shift) - 1
        return TLBEntry(iova & ~mask & MASK64, out, mask,
                        IOMMUAccessFlag.RO if read_only else IOMMUAccessFlag.RW, level, g)
    raise PTWError(PTW_ERR_TRANSLATION)
