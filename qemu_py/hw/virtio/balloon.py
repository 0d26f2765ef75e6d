"""virtio-balloon (Virtio 1.1 §5.5) as QEMU 7.2's ``hw/virtio/virtio-balloon.c``.

``-device virtio-balloon-pci`` (modern virtio-pci, 1af4:1045, class 00ff)
or ``-device virtio-balloon-device`` on a board with virtio-mmio transports
(microvm).  One balloon per machine (``Only one balloon device is
supported``).  Spec: memory.md §5.4.

Features offered: STATS_VQ (1, always), PAGE_POISON (4, property
``page-poison``, on), DEFLATE_ON_OOM (2, ``deflate-on-oom``, off), plus the
ring features and VERSION_1 from the transport.  FREE_PAGE_HINT and
REPORTING are not modelled (their properties are refused).

Config space (little-endian u32s; 16 bytes with PAGE_POISON offered, else 8):

======  ======================  ============================================
offset  field                   meaning
======  ======================  ============================================
0x00    num_pages               the host's target, in 4 KiB pages (ro)
0x04    actual                  what the guest has ballooned (rw)
0x08    free_page_hint_cmd_id   0 (free page hinting not modelled)
0x0c    poison_val              kept when PAGE_POISON was negotiated
======  ======================  ============================================

Queues: inflate (0), deflate (1), stats (2), 128 entries each.

Inflate / deflate: every readable buffer holds 32-bit little-endian PFNs of
4 KiB pages (``VIRTIO_BALLOON_PFN_SHIFT`` 12 whatever the page size).  Each
page is looked up in system memory; pages that are not RAM, or are ROM or a
ROM device, are skipped (trace ``virtio_balloon_bad_addr``); ram_device
pages count as RAM.  Then, **only while RAM discards are allowed** (the
machine's discard policy is not disabled, spec §5.2; a vfio-pci device's
group disables it), an inflated page is discarded (``MADV_REMOVE`` /
``MADV_DONTNEED``: it reads back zero) -- a host page at once when it is
4 KiB, otherwise once every 4 KiB piece of it was seen within one element --
and a deflated page gets ``MADV_WILLNEED`` (nothing to do here).
**Regardless**, every element is returned with used length 0 and the driver
is notified: an inflate while discards are disabled is acknowledged but
frees nothing.  An element is processed in full however long it is (as in
QEMU; Linux sends at most 256 PFNs per element). Its PFNs are read in 64 KiB
pieces and, for an inflate that discards 4 KiB host pages with no per-page
trace event enabled, handled by runs: consecutive PFNs inside one RAM
section are one discard, a run over a hole or MMIO is skipped at once, and a
page seen again in the element is only counted (it is already zero); the
memory, the counters and the guest errors are those of the per-page path
(one 8 MiB buffer of PFNs: about 2 s).

Stats: the driver's buffer of ``{le16 tag, le64 value}`` records is kept
(the QOM property ``guest-stats`` shows them: ``stats`` by QEMU's names,
unset ones 2^64-1, and ``last-update``); with
``guest-stats-polling-interval`` (seconds, virtual clock) set, the buffer is
handed back periodically to ask for fresh numbers.

Host side: ``balloon(vm, bytes)`` and ``query_balloon(vm)`` are QMP's
``balloon`` / ``query-balloon`` (QEMU's texts: ``No balloon device has been
activated``, ``Parameter 'target' expects a size``); a change of ``actual``
emits ``BALLOON_CHANGE``.  See docs/vfio.md for their schema lines.
"""

from __future__ import annotations

import array
import struct
import sys
import time

from qemu_py.qom import DeviceProp, QOMError, register_type
from qemu_py.system import trace
from qemu_py.system.discard import HOST_PAGE_SIZE, DiscardError, discard_range, policy_for
from qemu_py.system.log import guest_error

from . import virtio_mmio
from .virtio import VirtIODevice, VirtQueue
from .virtio_pci import VirtIOPCIProxy

VIRTIO_ID_BALLOON = 5
VIRTIO_BALLOON_F_MUST_TELL_HOST = 0
VIRTIO_BALLOON_F_STATS_VQ = 1
VIRTIO_BALLOON_F_DEFLATE_ON_OOM = 2
VIRTIO_BALLOON_F_FREE_PAGE_HINT = 3
VIRTIO_BALLOON_F_PAGE_POISON = 4
VIRTIO_BALLOON_F_REPORTING = 5
VIRTIO_BALLOON_PFN_SHIFT = 12
BALLOON_PAGE_SIZE = 1 << VIRTIO_BALLOON_PFN_SHIFT
PFN_READ_CHUNK = 64 << 10          # bytes of PFNs read at a time from a readable buffer
QUEUE_SIZE = 128
U64_MAX = (1 << 64) - 1

STAT_NAMES = ("stat-swap-in", "stat-swap-out", "stat-major-faults", "stat-minor-faults",
              "stat-free-memory", "stat-total-memory", "stat-available-memory",
              "stat-disk-caches", "stat-htlb-pgalloc", "stat-htlb-pgfail")
STAT_SIZE = 10                                    # packed {u16 tag; u64 val}


_PAGE_EVENTS = {"virtio_balloon_bad_addr", "virtio_balloon_handle_output", "virtio_balloon_discard"}


class BalloonError(Exception):
    """A QMP-level error: ``cls`` is the QMP error class."""

    def __init__(self, desc: str, cls: str = "GenericError"):
        super().__init__(desc)
        self.desc = desc
        self.cls = cls


@register_type("virtio-balloon-device", "virtio-device", desc="virtio balloon")
class VirtIOBalloon(VirtIODevice):
    VIRTIO_ID = VIRTIO_ID_BALLOON
    CATEGORY = "Misc devices"
    PROPS = [
        DeviceProp("deflate-on-oom", "bool", False, "on/off"),
        DeviceProp("free-page-hint", "bool", False, "on/off (not modelled)"),
        DeviceProp("free-page-reporting", "bool", False, "on/off (not modelled)"),
        DeviceProp("page-poison", "bool", True, "on/off"),
        DeviceProp("qemu-4-0-config-size", "bool", False, "on/off"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.num_pages = 0
        self.actual = 0
        self.poison_val = 0
        self.stats = [U64_MAX] * len(STAT_NAMES)
        self.stats_last_update = 0
        self.stats_poll_interval = 0
        self.stats_vq_elem = None
        self.stats_timer = None
        self.discarded_pages = 0
        self.skipped_pages = 0
        self.add_property("guest-stats", "guest-stats", get=self._guest_stats)
        self.add_property("guest-stats-polling-interval", "int",
                          get=lambda: self.stats_poll_interval, set=self._set_poll_interval)

    # -- realize ---------------------------------------------------------------------------------
    def _check_props(self) -> None:
        for name in ("free-page-hint", "free-page-reporting"):
            if self.prop(name):
                raise QOMError(f"virtio-balloon: '{name}' is not modelled by qemu-py")

    def proxy_realize(self) -> None:
        """Realize behind a transport (called by the PCI proxy)."""
        self._check_props()
        machine = self.machine
        if getattr(machine, "balloon", None) is not None:
            raise QOMError("Only one balloon device is supported")
        self.host_features |= 1 << VIRTIO_BALLOON_F_STATS_VQ
        if self.prop("deflate-on-oom"):
            self.host_features |= 1 << VIRTIO_BALLOON_F_DEFLATE_ON_OOM
        if self.prop("page-poison"):
            self.host_features |= 1 << VIRTIO_BALLOON_F_PAGE_POISON
        self.config_len = 16 if (self.prop("page-poison") or self.prop("qemu-4-0-config-size")) \
            else 8
        self.ivq = self.add_queue(QUEUE_SIZE, self._handle_output)
        self.dvq = self.add_queue(QUEUE_SIZE, self._handle_output)
        self.svq = self.add_queue(QUEUE_SIZE, self._receive_stats)
        machine.balloon = self
        self.policy = policy_for(machine)
        self.realized = True

    def realize(self) -> None:
        """``-device virtio-balloon-device``: plug into a virtio-mmio transport."""
        machine = self.machine
        virtio_mmio.plug(machine, self)
        try:
            self.proxy_realize()
        except QOMError:
            self.transport.vdev = None
            self.transport = None
            raise

    def unrealize(self) -> None:
        machine = self.machine
        if getattr(machine, "balloon", None) is self:
            machine.balloon = None
        if self.stats_timer is not None:
            self.stats_timer.delete()

    # -- config ---------------------------------------------------------------------------------
    def get_config(self) -> bytes:
        if "virtio_balloon_get_config" in trace.ACTIVE:
            trace.emit("virtio_balloon_get_config", num_pages=self.num_pages, actual=self.actual)
        data = struct.pack("<IIII", self.num_pages, self.actual, 0, self.poison_val)
        return data[:self.config_len]

    def set_config(self, data: bytes) -> None:
        data = data.ljust(16, b"\0")
        _, actual, _, poison = struct.unpack("<IIII", data[:16])
        old = self.actual
        self.actual = actual
        if "virtio_balloon_set_config" in trace.ACTIVE:
            trace.emit("virtio_balloon_set_config", actual=actual, oldactual=old)
        if actual != old:
            vm = getattr(self.machine, "vm", None)
            if vm is not None:
                vm.emit("BALLOON_CHANGE", {"actual": self._ram_size() - (actual << 12)})
        self.poison_val = poison if self.has_feature(VIRTIO_BALLOON_F_PAGE_POISON) else 0

    def _ram_size(self) -> int:
        return self.machine.ram_size

    def device_reset(self) -> None:
        if self.stats_vq_elem is not None:
            self.svq.unpop(self.stats_vq_elem)
            self.stats_vq_elem = None
        self.poison_val = 0

    # -- host side: target ------------------------------------------------------------------------
    def to_target(self, target: int) -> None:
        """virtio_balloon_to_target: num_pages = (ram - target) / 4 KiB, config interrupt."""
        ram = self._ram_size()
        if target > ram:
            target = ram
        if target:
            self.num_pages = (ram - target) >> VIRTIO_BALLOON_PFN_SHIFT
            self.notify_config()
        if "virtio_balloon_to_target" in trace.ACTIVE:
            trace.emit("virtio_balloon_to_target", target=target, num_pages=self.num_pages)

    def actual_bytes(self) -> int:
        return self._ram_size() - (self.actual << VIRTIO_BALLOON_PFN_SHIFT)

    # -- inflate / deflate ------------------------------------------------------------------------
    def inhibited(self) -> bool:
        """virtio_balloon_inhibited: discards disabled (no postcopy/snapshots here)."""
        return self.policy.is_disabled()

    def _handle_output(self, vq: VirtQueue) -> None:
        inflate = vq is self.ivq
        while True:
            elem = vq.pop()
            if elem is None:
                break
            if self._bulk_ok(inflate):
                self._inflate_runs(list(self._pfns(elem)))
            else:
                pending: dict = {}
                for pfn in self._pfns(elem):
                    self._balloon_page(pfn << VIRTIO_BALLOON_PFN_SHIFT, inflate, pending)
            vq.push(elem, 0)
            vq.notify()

    def _pfns(self, elem):
        """The element's 32-bit PFNs, read a page at a time (iov_to_buf in 4-byte
        steps across the readable buffers; a trailing partial PFN is ignored)."""
        carry = b""
        for addr, length in elem.out:
            pos = 0
            while pos < length:
                n = min(PFN_READ_CHUNK, length - pos)
                chunk = carry + self.dma_read(addr + pos, n)[0]
                whole = len(chunk) & ~3
                words = array.array("I", chunk[:whole])
                if sys.byteorder == "big":
                    words.byteswap()
                yield from words
                carry = chunk[whole:]
                pos += n

    def _bulk_ok(self, inflate: bool) -> bool:
        """Whether the element may go by runs of pages: an inflate that discards 4 KiB host
        pages with no per-page trace event asked for (the per-page path gives the same
        memory, counters and guest errors, one page at a time)."""
        return (inflate and HOST_PAGE_SIZE == BALLOON_PAGE_SIZE and not self.inhibited()
                and not _PAGE_EVENTS & trace.ACTIVE)

    def _inflate_runs(self, pfns: list[int]) -> None:
        """Inflate PFNS in order, one discard per run of consecutive pages inside one RAM
        section. A page seen again within the element is already zero (nothing runs in
        between), so it is only counted."""
        space = self.machine.system_as
        done: set[int] = set()
        i, j, n = 0, 0, len(pfns)
        while i < n:
            pfn = pfns[i]
            if pfn in done:
                self.discarded_pages += 1
                i += 1
                j = i
                continue
            if i >= j:                                    # a new run of consecutive PFNs
                j = i + 1
                while j < n and pfns[j] == pfns[j - 1] + 1 and pfns[j] not in done:
                    j += 1
            gpa = pfn << VIRTIO_BALLOON_PFN_SHIFT
            section = space.find(gpa, (j - i) << VIRTIO_BALLOON_PFN_SHIFT)
            if section is None:                           # all of the run is a hole
                self.skipped_pages += j - i
                i = j
                continue
            start = section.offset_within_address_space
            if start > gpa:                               # a hole before the section
                hole = (start - gpa) >> VIRTIO_BALLOON_PFN_SHIFT
                if hole:
                    self.skipped_pages += hole
                    i += hole
                    continue
            mr = section.mr
            pages = section.size >> VIRTIO_BALLOON_PFN_SHIFT
            if pages and start == gpa and not mr.is_ram():
                self.skipped_pages += min(pages, j - i)    # MMIO: not RAM, skipped
                i += min(pages, j - i)
                continue
            if pages == 0 or start != gpa or not mr.is_ram() or mr.is_rom() or mr.is_romd():
                self._balloon_page(gpa, True, {})        # one page, the exact path
                i += 1
                continue
            pages = min(pages, j - i)
            try:
                discard_range(mr, section.offset_within_region, pages << VIRTIO_BALLOON_PFN_SHIFT)
                self.discarded_pages += pages
                done.update(range(pfn, pfn + pages))
            except DiscardError:
                for k in range(i, i + pages):             # the same errors, page by page
                    self._balloon_page(pfns[k] << VIRTIO_BALLOON_PFN_SHIFT, True, {})
            i += pages

    def _balloon_page(self, gpa: int, inflate: bool, pending: dict) -> None:
        space = self.machine.system_as
        section = space.find(gpa, BALLOON_PAGE_SIZE)
        mr = section.mr if section is not None else None
        if mr is None or not mr.is_ram() or mr.is_rom() or mr.is_romd():
            self.skipped_pages += 1
            if "virtio_balloon_bad_addr" in trace.ACTIVE:
                trace.emit("virtio_balloon_bad_addr", gpa=gpa)
            return
        if "virtio_balloon_handle_output" in trace.ACTIVE:
            trace.emit("virtio_balloon_handle_output", name=mr.name, gpa=gpa)
        if self.inhibited() or not inflate:
            return                               # deflate: MADV_WILLNEED, nothing to do
        offset = section.offset_within_region
        if HOST_PAGE_SIZE == BALLOON_PAGE_SIZE:
            self._discard(mr, offset, BALLOON_PAGE_SIZE, gpa)
            return
        # a bigger host page goes only once every 4 KiB piece of it was seen
        host_off = offset & ~(HOST_PAGE_SIZE - 1)
        key = (id(mr), host_off)
        seen = pending.setdefault(key, set())
        seen.add(offset - host_off)
        if len(seen) == HOST_PAGE_SIZE // BALLOON_PAGE_SIZE:
            self._discard(mr, host_off, HOST_PAGE_SIZE, gpa)

    def _discard(self, mr, offset: int, size: int, gpa: int) -> None:
        try:
            discard_range(mr, offset, size)
            result = "discarded"
            self.discarded_pages += 1
        except DiscardError as e:
            guest_error(str(e))
            result = "failed"
        if "virtio_balloon_discard" in trace.ACTIVE:
            trace.emit("virtio_balloon_discard", gpa=gpa, size=size, result=result)

    # -- statistics -------------------------------------------------------------------------------
    def _receive_stats(self, vq: VirtQueue) -> None:
        elem = vq.pop()
        if elem is not None:
            if self.stats_vq_elem is not None:
                vq.push(self.stats_vq_elem, 0)   # the driver broke the protocol
                vq.notify()
            self.stats_vq_elem = elem
            self.stats = [U64_MAX] * len(STAT_NAMES)
            carry = b""
            for addr, length in elem.out:
                for pos in range(0, length, 4090):
                    chunk = carry + self.dma_read(addr + pos, min(4090, length - pos))[0]
                    whole = len(chunk) - len(chunk) % STAT_SIZE
                    for tag, val in struct.iter_unpack("<HQ", chunk[:whole]):
                        if tag < len(STAT_NAMES):
                            self.stats[tag] = val
                    carry = chunk[whole:]
            self.stats_last_update = int(time.time())
        if self.stats_poll_interval:
            self._arm_stats_timer()

    def _guest_stats(self) -> dict:
        return {"stats": dict(zip(STAT_NAMES, self.stats)),
                "last-update": self.stats_last_update}

    def _set_poll_interval(self, value) -> None:
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise QOMError("Invalid parameter type for 'guest-stats-polling-interval', "
                           "expected: integer") from None
        if value < 0:
            raise QOMError("timer value must be greater than zero")
        if value > 0xffffffff:
            raise QOMError("timer value is too big")
        if value == self.stats_poll_interval:
            return
        self.stats_poll_interval = value
        if value == 0:
            if self.stats_timer is not None:
                self.stats_timer.delete()
            return
        self._arm_stats_timer()

    def _arm_stats_timer(self) -> None:
        clock = self.machine.vm.clock
        if self.stats_timer is None:
            self.stats_timer = clock.new_timer(self._stats_poll, "virtio-balloon stats")
        self.stats_timer.mod(clock.now() + self.stats_poll_interval * 1_000_000_000)

    def _stats_poll(self) -> None:
        if self.stats_vq_elem is None or not self.has_feature(VIRTIO_BALLOON_F_STATS_VQ):
            if self.stats_poll_interval:
                self._arm_stats_timer()
            return
        self.svq.push(self.stats_vq_elem, 0)
        self.svq.notify()
        self.stats_vq_elem = None


@register_type("virtio-balloon-pci", "virtio-pci", desc="virtio balloon (PCI, modern)")
class VirtIOBalloonPCI(VirtIOPCIProxy):
    BACKEND = VirtIOBalloon
    CLASS_ID = 0x00ff
    PROPS = list(VirtIOBalloon.PROPS)

    def __init__(self) -> None:
        super().__init__()
        for name in ("guest-stats", "guest-stats-polling-interval"):
            prop = self.vdev.find_property(name)
            self.add_property(name, prop.type, get=prop.get, set=prop.set)

    def pci_realize(self) -> None:
        for p in VirtIOBalloon.PROPS:
            self.vdev.prop_values[p.name] = self.prop(p.name)
        super().pci_realize()


# -- QMP / HMP (monitor-agnostic; see docs/vfio.md for the schema lines) --------------------------

def _balloon_of(vm) -> VirtIOBalloon:
    dev = getattr(getattr(vm, "machine", None), "balloon", None)
    if dev is None:
        raise BalloonError("No balloon device has been activated", "DeviceNotActive")
    return dev


def qmp_balloon(vm, value: int) -> None:
    """QMP ``balloon``: set the target size of guest RAM in bytes."""
    dev = _balloon_of(vm)
    if value <= 0:
        raise BalloonError("Parameter 'target' expects a size")
    dev.to_target(value)


def qmp_query_balloon(vm) -> dict:
    """QMP ``query-balloon``: ``{"actual": bytes}``."""
    return {"actual": _balloon_of(vm).actual_bytes()}


def hmp_info_balloon(vm) -> str:
    try:
        info = qmp_query_balloon(vm)
    except BalloonError as e:
        return f"Error: {e.desc}\n"
    return f"balloon: actual={info['actual'] >> 20}\n"
