"""SMMUv3 command queue: opcodes, field layouts and their execution (spec §3).

Commands run synchronously from the MMIO write that may start them (CR0,
GERRORN, CMDQ_PROD), while CR0.CMDQEN=1 and no CMDQ_ERR is pending. The
opcode table below is the single declaration of every command: its name,
how QEMU 7.2 handles it and, with ``strict-arch=on``, what the architecture
wants instead for the commands QEMU consumes silently.

Range invalidation (TLBI_NH_VA / TLBI_NH_VAA) follows ``smmuv3_s1_range_inval``
exactly in QEMU mode: TG=0 is one 4 KiB invalidation; otherwise the range
(NUM+1)·2^SCALE granules is split into naturally aligned power-of-two chunks,
each passed to the IOTLB with its page count and the TTL hint.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from qemu_py.memory import MemTxResult

from .smmuv3_config import bits

MASK64 = (1 << 64) - 1

CERROR_NONE = 0
CERROR_ILL = 1
CERROR_ABT = 2
CERROR_ATC_INV_SYNC = 3


@dataclass(frozen=True)
class Command:
    """The fields of one 16-byte command (spec §3.3)."""

    w: tuple

    @classmethod
    def from_bytes(cls, data: bytes) -> "Command":
        return cls(struct.unpack("<4I", data))

    opcode = property(lambda self: self.w[0] & 0xFF)
    ssec = property(lambda self: bits(self.w[0], 10, 1))
    sid = property(lambda self: self.w[1])
    ste_range = property(lambda self: bits(self.w[2], 0, 5))
    num = property(lambda self: bits(self.w[0], 12, 5))
    scale = property(lambda self: bits(self.w[0], 20, 5))
    vmid = property(lambda self: bits(self.w[1], 0, 16))
    asid = property(lambda self: bits(self.w[1], 16, 16))
    leaf = property(lambda self: bits(self.w[2], 0, 1))
    ttl = property(lambda self: bits(self.w[2], 8, 2))
    tg = property(lambda self: bits(self.w[2], 10, 2))
    addr = property(lambda self: (self.w[3] << 32) | (self.w[2] & 0xFFFF_F000))
    sync_cs = property(lambda self: bits(self.w[0], 12, 2))


def dma_aligned_pow2_mask(start: int, end: int) -> int:
    """QEMU's dma_aligned_pow2_mask(start, end, 64)."""
    addr_mask = (end - start) & MASK64
    alignment_mask = ((start & -start) - 1) & MASK64 if start else MASK64
    if alignment_mask <= addr_mask:
        return alignment_mask
    if addr_mask == MASK64:
        return MASK64
    return (1 << ((addr_mask + 1).bit_length() - 1)) - 1


def range_chunks(addr: int, tg: int, num: int, scale: int):
    """The (chunk_start, chunk_pages) pieces of a TG != 0 range command,
    computed with QEMU's 64-bit wrapping arithmetic."""
    granule = tg * 2 + 10
    pages = (num + 1) << scale
    end = (addr + (pages << granule) - 1) & MASK64
    stop = (end + 1) & MASK64
    out = []
    while addr != stop and len(out) < 130:
        mask = dma_aligned_pow2_mask(addr, end)
        out.append((addr, ((mask + 1) & MASK64) >> granule))
        addr = (addr + mask + 1) & MASK64
    return out


# -- handlers: each returns a CERROR code (0 = success) --------------------------------

def _nop(smmu, cmd):
    return CERROR_NONE


def _ill(smmu, cmd):
    return CERROR_ILL


def _unhandled(smmu, cmd):
    """Consumed silently by QEMU; illegal for this SMMU in the architecture."""
    smmu.trace.emit("smmuv3_unhandled_cmd", type=cmd.opcode)
    return CERROR_ILL if smmu.strict else CERROR_NONE


def _sync(smmu, cmd):
    if cmd.sync_cs & 1:
        smmu.trigger_irq_cmd_sync()
    return CERROR_NONE


def _cfgi_ste(smmu, cmd):
    if cmd.ssec:
        return CERROR_ILL
    smmu.trace.emit("smmuv3_cmdq_cfgi_ste", streamid=cmd.sid)
    smmu.flush_config_sid_range(cmd.sid, cmd.sid)
    return CERROR_NONE


def _cfgi_ste_range(smmu, cmd):
    if cmd.ssec:
        return CERROR_ILL
    mask = (1 << (cmd.ste_range + 1)) - 1
    start = cmd.sid & ~mask & 0xFFFF_FFFF
    smmu.trace.emit("smmuv3_cmdq_cfgi_ste_range", start=start, end=start + mask)
    smmu.flush_config_sid_range(start, start + mask)
    return CERROR_NONE


def _cfgi_cd(smmu, cmd):
    if cmd.ssec:
        return CERROR_ILL
    smmu.trace.emit("smmuv3_cmdq_cfgi_cd", streamid=cmd.sid)
    smmu.flush_config_sid_range(cmd.sid, cmd.sid)
    return CERROR_NONE


def _tlbi_nh_asid(smmu, cmd):
    smmu.trace.emit("smmuv3_cmdq_tlbi_nh_asid", asid=cmd.asid)
    smmu.iotlb.inv_asid(cmd.asid)
    return CERROR_NONE


def _tlbi_all(smmu, cmd):
    smmu.trace.emit("smmuv3_cmdq_tlbi_nh" if cmd.opcode == 0x10 else "smmuv3_cmdq_tlbi_nsnh")
    smmu.iotlb.inv_all()
    return CERROR_NONE


def _tlbi_nh_va(smmu, cmd):
    """smmuv3_s1_range_inval (NH_VA with its ASID, NH_VAA with any ASID)."""
    asid = cmd.asid if cmd.opcode == 0x12 else -1
    vmid = -1
    addr, tg, ttl, num, scale = cmd.addr, cmd.tg, cmd.ttl, cmd.num, cmd.scale
    if smmu.strict:
        if tg and not (num or scale or ttl):
            return CERROR_ILL                            # reserved encoding (§4.4.1.1)
        if tg:
            size = ((num + 1) << scale) << (tg * 2 + 10)
        else:
            size = 1 << 12
        smmu.trace.emit("smmuv3_s1_range_inval", vmid=cmd.vmid, asid=asid, addr=addr, tg=tg,
                        num_pages=(num + 1) << scale if tg else 1, ttl=ttl, leaf=cmd.leaf)
        smmu.iotlb.inv_range_arch(asid, vmid, addr, size, tg, ttl if tg else 0)
        return CERROR_NONE
    if not tg:
        smmu.trace.emit("smmuv3_s1_range_inval", vmid=cmd.vmid, asid=asid, addr=addr, tg=tg,
                        num_pages=1, ttl=ttl, leaf=cmd.leaf)
        smmu.iotlb.inv_iova(asid, vmid, addr, tg, 1, ttl)
        return CERROR_NONE
    for start, pages in range_chunks(addr, tg, num, scale):
        smmu.trace.emit("smmuv3_s1_range_inval", vmid=cmd.vmid, asid=asid, addr=start, tg=tg,
                        num_pages=pages, ttl=ttl, leaf=cmd.leaf)
        smmu.iotlb.inv_iova(asid, vmid, start, tg, pages, ttl)
    return CERROR_NONE


@dataclass(frozen=True)
class Opcode:
    code: int
    name: str
    handler: object


OPCODES = {op.code: op for op in (
    Opcode(0x01, "CMD_PREFETCH_CONFIG", _nop),
    Opcode(0x02, "CMD_PREFETCH_ADDR", _nop),
    Opcode(0x03, "CMD_CFGI_STE", _cfgi_ste),
    Opcode(0x04, "CMD_CFGI_STE_RANGE", _cfgi_ste_range),
    Opcode(0x05, "CMD_CFGI_CD", _cfgi_cd),
    Opcode(0x06, "CMD_CFGI_CD_ALL", _cfgi_cd),
    Opcode(0x07, "CMD_CFGI_VMS_PIDM", _ill),
    Opcode(0x10, "CMD_TLBI_NH_ALL", _tlbi_all),
    Opcode(0x11, "CMD_TLBI_NH_ASID", _tlbi_nh_asid),
    Opcode(0x12, "CMD_TLBI_NH_VA", _tlbi_nh_va),
    Opcode(0x13, "CMD_TLBI_NH_VAA", _tlbi_nh_va),
    Opcode(0x18, "CMD_TLBI_EL3_ALL", _unhandled),
    Opcode(0x1A, "CMD_TLBI_EL3_VA", _unhandled),
    Opcode(0x20, "CMD_TLBI_EL2_ALL", _unhandled),
    Opcode(0x21, "CMD_TLBI_EL2_ASID", _unhandled),
    Opcode(0x22, "CMD_TLBI_EL2_VA", _unhandled),
    Opcode(0x23, "CMD_TLBI_EL2_VAA", _unhandled),
    Opcode(0x28, "CMD_TLBI_S12_VMALL", _unhandled),
    Opcode(0x2A, "CMD_TLBI_S2_IPA", _unhandled),
    Opcode(0x30, "CMD_TLBI_NSNH_ALL", _tlbi_all),
    Opcode(0x40, "CMD_ATC_INV", _unhandled),
    Opcode(0x41, "CMD_PRI_RESP", _unhandled),
    Opcode(0x44, "CMD_RESUME", _unhandled),
    Opcode(0x45, "CMD_STALL_TERM", _unhandled),
    Opcode(0x46, "CMD_SYNC", _sync),
)}


def opcode_name(code: int) -> str:
    op = OPCODES.get(code)
    return op.name if op else f"CMD_0x{code:02x}"


def consume(smmu) -> None:
    """smmuv3_cmdq_consume: run commands from CONS up to PROD."""
    if not smmu.cr0 & 0x8:                                  # CR0.CMDQEN
        return
    q = smmu.cmdq
    error = CERROR_NONE
    code = 0
    while not q.empty():
        if (smmu.gerror ^ smmu.gerrorn) & 1:                # CMDQ_ERR pending
            break
        addr = q.cons_entry()
        data, res = smmu.dma_as.read(addr, 16)
        if res != MemTxResult.OK:
            error = CERROR_ABT
            break
        cmd = Command.from_bytes(data)
        code = cmd.opcode
        op = OPCODES.get(code)
        smmu.trace.emit("smmuv3_cmdq_opcode", opcode=opcode_name(code))
        error = op.handler(smmu, cmd) if op is not None else CERROR_ILL
        if error:
            break
        q.incr_cons()
    if error:
        smmu.trace.emit("smmuv3_cmdq_consume_error", cmd_name=opcode_name(code), cmd_error=error)
        q.cons = (q.cons & ~(0x7F << 24)) | (error << 24)
        smmu.trigger_gerror(1)
    smmu.trace.emit("smmuv3_cmdq_consume_out", prod=q.prod, cons=q.cons)
