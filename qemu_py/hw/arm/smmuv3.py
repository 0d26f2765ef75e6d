"""Arm SMMUv3 (``arm-smmuv3``), as QEMU 7.2 models it.

Models IHI 0070 (SMMUv3.1 register interface, BBML2 advertised in IDR3) to
the extent QEMU 7.2's ``hw/arm/smmuv3.c`` does, following
``specs/smmu.md``: the page-0 registers with QEMU's reset and ID values
(page 1 aliases page 0), 4- and 8-byte accesses only, linear and 2-level
stream tables, STE/CD decode with QEMU's checks, stage-1 translation through
the multi-level IOTLB, the event queue with its interrupt, global errors, and
the command queue with every opcode QEMU knows. Four edge interrupts:
0 EVTQ, 1 PRIQ (never raised), 2 CMD_SYNC, 3 GERROR.

Not modelled (as in QEMU 7.2): stage 2 and nesting, SubstreamIDs, PRI, ATS,
MSIs (the IRQ_CFG registers are stored only), stalls, HTTU, secure state.
The ``strict-arch`` property (a qemu-py extension, off by default) replaces
the QEMU deviations listed in spec §7 with the architectural behaviour:
GBPA implemented, CR0 reserved bits RES0, page 1 decoding only its own
registers, CMDQ_CONS.ERR cleared on recovery, EL2/EL3/ATC/PRI/stall commands
and the reserved TLBI encoding illegal, TTL-scoped range invalidation,
oldest-entry IOTLB eviction, OVFLG on event queue overflow, FetchAddr in
F_CD_FETCH, the 2-level Span rule, FMT=0 leaving 2-level mode, block levels,
APTable folded into permissions, the access flag, output address size,
TBI1, and stage-1 fault CLASS = IN.
"""

from __future__ import annotations

from qemu_py.memory import (IOMMUAccessFlag, IOMMUTLBEntry, MemoryRegion, MemoryRegionOps,
                            MemTxResult)
from qemu_py.memory import Endian
from qemu_py.qom import register_type
from qemu_py.system.log import guest_error, unimp

from . import smmuv3_cmdq as cmdq
from . import smmuv3_events as ev
from . import smmuv3_regs as R
from .smmu_common import SMMUBase, SMMUDevice
from .smmu_walk import (PTW_ERR_ACCESS, PTW_ERR_ADDR_SIZE, PTW_ERR_PERMISSION,
                        PTW_ERR_TRANSLATION, PTW_ERR_WALK_EABT, PTWError, TransCfg, ptw_s1,
                        select_tt)
from .smmuv3_config import ConfigError, decode_config
from .smmuv3_queue import SMMUQueue

MMIO_SIZE = 0x20000
IRQ_EVTQ, IRQ_PRIQ, IRQ_CMD_SYNC, IRQ_GERROR = range(4)
GERROR_CMDQ_ERR = 1 << 0
GERROR_EVENTQ_ABT_ERR = 1 << 2
TARGET_PAGE_MASK = 0xFFF
MASK64 = (1 << 64) - 1

_PTW_EVENTS = {
    PTW_ERR_WALK_EABT: ev.F_WALK_EABT, PTW_ERR_TRANSLATION: ev.F_TRANSLATION,
    PTW_ERR_ADDR_SIZE: ev.F_ADDR_SIZE, PTW_ERR_ACCESS: ev.F_ACCESS,
    PTW_ERR_PERMISSION: ev.F_PERMISSION,
}


@register_type("arm-smmuv3", "arm-smmu", desc="Arm SMMUv3", user_creatable=False)
class SMMUv3(SMMUBase):
    MR_TYPE_NAME = "smmuv3-iommu-memory-region"

    # State listed once: reset and the register table use these names.
    STATE = ("idr", "iidr", "aidr", "cr0", "cr0ack", "cr1", "cr2", "statusr", "gbpa",
             "irq_ctrl", "gerror", "gerrorn", "gerror_irq_cfg0", "gerror_irq_cfg1",
             "gerror_irq_cfg2", "strtab_base", "strtab_base_cfg", "two_level", "sid_split",
             "eventq_irq_cfg0", "eventq_irq_cfg1", "eventq_irq_cfg2", "cmdq", "eventq")

    def __init__(self):
        super().__init__()
        self.cmdq = SMMUQueue(16, (R.IDR1 >> 21) & 0x1F)
        self.eventq = SMMUQueue(32, (R.IDR1 >> 16) & 0x1F)
        self.irqs = [self.init_irq() for _ in range(4)]
        ops = MemoryRegionOps(read_with_attrs=self._mmio_read, write_with_attrs=self._mmio_write,
                              endianness=Endian.LITTLE, valid_min=4, valid_max=8,
                              impl_min=4, impl_max=8)
        self.mmio = MemoryRegion.io("smmuv3", MMIO_SIZE, ops, owner=self)
        self._reset_state()

    def realize(self):
        super().realize()
        self._reset_state()

    def reset(self):
        self._reset_state()

    def _reset_state(self):
        self.idr = [R.IDR0, R.IDR1, R.IDR2, R.IDR3, R.IDR4, R.IDR5]
        self.iidr = R.IIDR
        self.aidr = R.AIDR
        self.cr0 = self.cr0ack = self.cr1 = self.cr2 = self.statusr = 0
        self.gbpa = R.GBPA_RESET
        self.irq_ctrl = self.gerror = self.gerrorn = 0
        self.gerror_irq_cfg0 = self.gerror_irq_cfg1 = self.gerror_irq_cfg2 = 0
        self.strtab_base = self.strtab_base_cfg = 0
        self.two_level = False
        self.sid_split = 0
        self.eventq_irq_cfg0 = self.eventq_irq_cfg1 = self.eventq_irq_cfg2 = 0
        self.cmdq.reset()
        self.eventq.reset()
        self.iotlb.entries.clear()
        self.configs.clear()

    # -- register access ------------------------------------------------------------------
    def _get(self, path: str) -> int:
        obj = self
        for part in path.split("."):
            if part.endswith("]"):
                name, idx = part[:-1].split("[")
                obj = getattr(obj, name)[int(idx)]
            else:
                obj = getattr(obj, part)
        return obj

    def _set(self, path: str, value: int):
        *head, last = path.split(".")
        obj = self
        for part in head:
            obj = getattr(obj, part)
        setattr(obj, last, value)

    def _decode(self, offset: int):
        """(register, half) or None. Page 1 aliases page 0 (QEMU); with
        strict-arch page 1 decodes only its own registers."""
        if offset & 0x10000:
            offset &= ~0x10000
            if self.strict and offset not in R.PAGE1_ARCH_OFFSETS:
                return None
        hit = R.DECODE32.get(offset)
        if hit is not None and hit[0].strict_only and not self.strict:
            return None
        return hit

    def _mmio_read(self, offset: int, size: int, attrs):
        if size not in (4, 8):
            return 0, MemTxResult.ERROR
        value = self.read_reg(offset, size)
        self.trace.emit("smmuv3_read_mmio", addr=offset, val=value, size=size)
        return value, MemTxResult.OK

    def read_reg(self, offset: int, size: int) -> int:
        """A 4- or 8-byte register read at OFFSET of the 128 KiB frame."""
        hit = self._decode(offset)
        if hit is None:
            unimp(f"smmuv3_read_mmio: unknown offset {offset:#x} (size {size})")
            return 0
        reg, half = hit
        if size == 8:
            if half or "r" not in reg.q64:
                unimp(f"smmuv3_read_mmio: 64-bit read of {reg.name} is RAZ")
                return 0
            return self._get(reg.attr) & MASK64
        if reg.value is not None:
            return reg.value
        if reg.access == "wo" and not self.strict:
            return 0
        return (self._get(reg.attr) >> (32 * half)) & 0xFFFF_FFFF

    def _mmio_write(self, offset: int, value: int, size: int, attrs):
        if size not in (4, 8):
            return MemTxResult.ERROR
        self.trace.emit("smmuv3_write_mmio", addr=offset, val=value, size=size)
        self.write_reg(offset, value, size)
        return MemTxResult.OK

    def write_reg(self, offset: int, value: int, size: int):
        """A 4- or 8-byte register write at OFFSET of the 128 KiB frame."""
        hit = self._decode(offset)
        if hit is None or hit[0].access == "ro":
            if hit is None:
                unimp(f"smmuv3_write_mmio: unknown offset {offset:#x} (size {size})")
            else:
                guest_error(f"smmuv3_write_mmio: write to read-only {hit[0].name}")
            return
        reg, half = hit
        if size == 8:
            if half or "w" not in reg.q64:
                unimp(f"smmuv3_write_mmio: 64-bit write of {reg.name} ignored")
                return
            new = value & MASK64
        elif reg.size == 8:
            old = self._get(reg.attr)
            shift = 32 * half
            new = (old & ~(0xFFFF_FFFF << shift)) | ((value & 0xFFFF_FFFF) << shift)
        else:
            new = value & 0xFFFF_FFFF
        if reg.on_write:
            getattr(self, reg.on_write)(new)
        else:
            self._set(reg.attr, new)

    # -- register behaviour -----------------------------------------------------------------
    def write_cr0(self, value: int):
        if self.strict:
            value &= R.CR0_ARCH_MASK
        self.cr0 = value
        self.cr0ack = value & ~R.CR0_RESERVED & 0xFFFF_FFFF
        cmdq.consume(self)

    def write_gbpa(self, value: int):
        if value & R.GBPA_UPDATE:
            self.gbpa = value & ~R.GBPA_UPDATE

    def write_gerrorn(self, value: int):
        pending = self.gerror ^ self.gerrorn
        toggled = self.gerrorn ^ value
        if toggled & ~pending:
            guest_error(f"smmuv3: GERRORN bits {toggled & ~pending:#x} toggled while not active")
        was_pending = pending & GERROR_CMDQ_ERR
        self.gerrorn = value
        if self.strict and was_pending and not (self.gerror ^ self.gerrorn) & GERROR_CMDQ_ERR:
            self.cmdq.cons &= ~(0x7F << 24)
        cmdq.consume(self)

    def write_strtab_base_cfg(self, value: int):
        self.strtab_base_cfg = value
        fmt = (value >> 16) & 3
        if fmt == 1:
            self.sid_split = (value >> 6) & 0x1F
            self.two_level = True
        elif self.strict:
            self.two_level = False

    def write_cmdq_base(self, value: int):
        self.cmdq.set_base(value)

    def write_cmdq_prod(self, value: int):
        self.cmdq.prod = value
        cmdq.consume(self)

    def write_eventq_base(self, value: int):
        self.eventq.set_base(value)

    # -- interrupts and global errors ---------------------------------------------------------
    def trigger_irq_cmd_sync(self):
        self.trace.emit("smmuv3_trigger_irq", irq=IRQ_CMD_SYNC)
        self.irqs[IRQ_CMD_SYNC].pulse()

    def trigger_gerror(self, mask: int):
        pending = self.gerror ^ self.gerrorn
        new = ~pending & mask
        if not new:
            return
        self.gerror ^= new
        self.trace.emit("smmuv3_write_gerror", toggled=new, gerror=self.gerror)
        if self.irq_ctrl & 1:
            self.irqs[IRQ_GERROR].pulse()

    # -- events ----------------------------------------------------------------------------------
    def record_event(self, info: ev.EventInfo):
        """smmuv3_record_event: append to the event queue if it is enabled."""
        if info.type == ev.EVT_NONE or not self.cr0 & 0x4:
            return
        q = self.eventq
        self.trace.emit("smmuv3_record_event", type=info.name, sid=info.sid)
        if q.full():
            if self.strict:
                ovflg = q.prod >> 31 & 1
                if ovflg == (q.cons >> 31 & 1):
                    q.prod ^= 1 << 31
                return
            self.trigger_gerror(GERROR_EVENTQ_ABT_ERR)
            return
        res = self.dma_as.write(q.prod_entry(), ev.encode_event(info))
        if res != MemTxResult.OK:
            self.trigger_gerror(GERROR_EVENTQ_ABT_ERR)
            return
        q.incr_prod()
        if not q.empty() and self.irq_ctrl & 0x4:
            self.irqs[IRQ_EVTQ].pulse()

    # -- translation ---------------------------------------------------------------------------------
    def get_config(self, sdev: SMMUDevice) -> TransCfg:
        cfg = self.configs.get(sdev)
        if cfg is not None:
            sdev.cfg_cache_hits += 1
            self.trace.emit("smmuv3_config_cache_hit", sid=sdev.sid, hits=sdev.cfg_cache_hits)
            return cfg
        sdev.cfg_cache_misses += 1
        self.trace.emit("smmuv3_config_cache_miss", sid=sdev.sid, misses=sdev.cfg_cache_misses)
        cfg = decode_config(self, sdev.sid)      # failures propagate and are not cached
        self.configs[sdev] = cfg
        return cfg

    def translate(self, sdev: SMMUDevice, addr: int, is_write: bool, attrs) -> IOMMUTLBEntry:
        """smmuv3_translate: the IOMMU region callback of every requester."""
        flag = IOMMUAccessFlag.WO if is_write else IOMMUAccessFlag.RO
        target = self.dma_as
        sid = sdev.sid
        if not self.cr0 & 1:
            if self.strict and self.gbpa & R.GBPA_ABORT:
                self.trace.emit("smmuv3_translate_disable", sid=sid, addr=addr, abort=1)
                return IOMMUTLBEntry(target, addr, addr, MASK64, IOMMUAccessFlag.NONE)
            self.trace.emit("smmuv3_translate_disable", sid=sid, addr=addr)
            return IOMMUTLBEntry(target, addr, addr, TARGET_PAGE_MASK, flag)
        info = ev.EventInfo(sid=sid)
        try:
            cfg = self.get_config(sdev)
        except ConfigError as err:
            info.type, info.addr, info.addr2 = err.etype, err.addr, err.addr2
            return self._fail(sdev, addr, info)
        if cfg.aborted:
            self.trace.emit("smmuv3_translate_abort", sid=sid, addr=addr)
            return IOMMUTLBEntry(target, addr, addr, MASK64, IOMMUAccessFlag.NONE)
        if cfg.bypassed:
            self.trace.emit("smmuv3_translate_bypass", sid=sid, addr=addr)
            return IOMMUTLBEntry(target, addr, addr, TARGET_PAGE_MASK, flag)
        strict = self.strict
        rnw = 0 if is_write else 1
        fault_class = ev.CLASS_IN if strict else 0
        tt = select_tt(cfg, addr, strict)
        if tt is None:
            if cfg.record_faults:
                info.type, info.addr, info.rnw, info.cls = ev.F_TRANSLATION, addr, rnw, fault_class
            return self._fail(sdev, addr, info)
        aligned = addr & ~((1 << tt.granule_sz) - 1) if tt.granule_sz else addr
        entry = self.iotlb.lookup(cfg, tt, aligned) if not tt.disabled else None
        if entry is None:
            try:
                entry = ptw_s1(cfg, aligned, is_write, self.dma_as, strict)
            except PTWError as err:
                etype = _PTW_EVENTS[err.kind]
                if etype == ev.F_WALK_EABT:
                    info.type, info.addr, info.rnw, info.cls, info.addr2 = \
                        etype, addr, rnw, ev.CLASS_TT, err.addr
                elif cfg.record_faults:
                    info.type, info.addr, info.rnw, info.cls = etype, addr, rnw, fault_class
                return self._fail(sdev, addr, info)
            self.iotlb.insert(cfg, entry)
        elif is_write and not entry.perm & IOMMUAccessFlag.WO:
            if cfg.record_faults:
                info.type, info.addr, info.rnw, info.cls = ev.F_PERMISSION, addr, rnw, fault_class
            return self._fail(sdev, addr, info)
        out = entry.translated_addr + (addr & entry.addr_mask)
        self.trace.emit("smmuv3_translate_success", sid=sid, iova=addr, translated=out,
                        perm=int(flag))
        return IOMMUTLBEntry(target, addr, out, entry.addr_mask, flag)

    def _fail(self, sdev: SMMUDevice, addr: int, info: ev.EventInfo) -> IOMMUTLBEntry:
        guest_error(f"{sdev.iommu.name} translation failed for iova={addr:#x} ({info.name})")
        self.record_event(info)
        return IOMMUTLBEntry(self.dma_as, addr, addr, MASK64, IOMMUAccessFlag.NONE)
