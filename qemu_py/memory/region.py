"""MemoryRegion: the nodes of the memory tree (spec §1.1-1.3, §3.1).

Kinds are chosen by constructor: ``MemoryRegion(name, size)`` (container),
``.io``, ``.ram``, ``.rom``, ``.rom_device``, ``.ram_device``, ``.alias``,
``.reservation`` and ``.iommu``.  Topology setters (add/del subregion,
enable, move, resize, readonly, romd...) run as one-change transactions and
bring the affected AddressSpaces up to date.
"""

from __future__ import annotations

from typing import Callable, Optional
from weakref import WeakSet

from . import access, transaction
from .attrs import HOST_ENDIAN, MEMTXATTRS_UNSPECIFIED, Endian, MemTxResult
from .hostmem import HostMemory
from .iommu import IOMMUNotifier, IOMMUNotifierFlag, IOMMUTLBEntry
from .ops import UNASSIGNED_OPS, MemoryRegionOps

SIZE_2_64 = 1 << 64


def _normalize_size(size: int) -> int:
    """QEMU's size argument: UINT64_MAX stands for exactly 2^64."""
    if not isinstance(size, int) or size < 0 or size > SIZE_2_64:
        raise ValueError(f"region size must be an int in [0, 2^64], not {size!r}")
    return SIZE_2_64 if size == SIZE_2_64 - 1 else size


def affected_address_spaces(regions) -> list:
    """AddressSpaces whose FlatView can change when any of ``regions`` does.

    Walks up the containers of each region and, at every level, into the
    aliases that point there; collects the AddressSpaces rooted on the way.
    """
    found: dict = {}
    seen: set[int] = set()
    stack = list(regions)
    while stack:
        mr = stack.pop()
        while mr is not None and id(mr) not in seen:
            seen.add(id(mr))
            for space in mr._address_spaces:
                found[space] = None
            stack.extend(mr._aliased_by)
            mr = mr._container
    return list(found)


MAX_WINDOW_STEPS = 4096


def changed_windows(regions):
    """Where the subtrees of ``regions`` can show: ``{space: [(start, end)]}``.

    Follows containers (shift by ``addr``, clip to the container) and the
    aliases pointing at each level (shift by ``-alias_offset``, clip to the
    alias) up to the AddressSpace roots.  Enabled flags and priorities are
    ignored, so the windows over-approximate.  None when the walk is too
    long (a full re-render is then used).
    """
    out: dict = {}
    stack = [(mr, 0, mr._size) for mr in regions]
    steps = 0
    while stack:
        mr, start, end = stack.pop()
        steps += 1
        if steps > MAX_WINDOW_STEPS:
            return None
        if start >= end:
            continue
        for space in mr._address_spaces:
            out.setdefault(space, []).append((start + mr._addr, end + mr._addr))
        for alias in mr._aliased_by:
            offset = alias._alias_offset
            stack.append((alias, max(start - offset, 0), min(end - offset, alias._size)))
        container = mr._container
        if container is not None:
            stack.append((container, start + mr._addr,
                          min(end + mr._addr, container._size)))
    return out


class MemoryRegion:
    """A node of the memory tree; see the module docstring for the kinds."""

    def __init__(self, name: str, size: int, owner: object = None) -> None:
        self.name = name
        self.owner = owner
        self._size = _normalize_size(size)
        self._addr = 0
        self._priority = 0
        self._container: Optional[MemoryRegion] = None
        self._subregions: list[MemoryRegion] = []
        self._enabled = True
        self._readonly = False
        self._nonvolatile = False
        self._terminates = False
        self._ram = False
        self._ram_device = False
        self._rom_device = False
        self._romd_mode = True
        self._alias: Optional[MemoryRegion] = None
        self._alias_offset = 0
        self._iommu: Optional[Callable] = None
        self._iommu_notifiers: list[IOMMUNotifier] = []
        self._hostmem: Optional[HostMemory] = None
        self._write_watchers: list[Callable[[int, int], None]] = []
        self._aliased_by: WeakSet = WeakSet()
        self._address_spaces: WeakSet = WeakSet()
        self._reentrancy_warned = False
        self.ops: MemoryRegionOps = UNASSIGNED_OPS
        self.disable_reentrancy_guard = False
        # ram_device only: hook(kind, offset, size, value) seeing every access.
        self.on_ram_device_access: Optional[Callable] = None

    # ----------------------------------------------------------- constructors

    @classmethod
    def io(cls, name: str, size: int, ops: MemoryRegionOps, owner: object = None):
        """An I/O (MMIO or port) region dispatched through ``ops``."""
        if not isinstance(ops, MemoryRegionOps):
            raise TypeError(f"ops of '{name}' must be a MemoryRegionOps, not {ops!r}")
        mr = cls(name, size, owner)
        mr.ops = ops
        mr._terminates = True
        return mr

    @classmethod
    def reservation(cls, name: str, size: int, owner: object = None):
        """An I/O region with NULL ops: claims its range, every access fails."""
        mr = cls(name, size, owner)
        mr._terminates = True
        return mr

    @classmethod
    def ram(cls, name: str, size: int, owner: object = None):
        """RAM backed by an anonymous mmap (``host``, ``host_address``)."""
        mr = cls(name, size, owner)
        mr._hostmem = HostMemory.anonymous(mr._size, name)
        mr._ram = True
        mr._terminates = True
        return mr

    @classmethod
    def rom(cls, name: str, size: int, owner: object = None):
        """ROM: RAM with readonly set; writes are dispatched and dropped."""
        mr = cls.ram(name, size, owner)
        mr._readonly = True
        return mr

    @classmethod
    def rom_device(cls, name: str, size: int, ops: MemoryRegionOps, owner: object = None):
        """ROM device: direct reads while in romd mode, writes go to ``ops``."""
        if not isinstance(ops, MemoryRegionOps):
            raise TypeError(f"ops of '{name}' must be a MemoryRegionOps, not {ops!r}")
        mr = cls(name, size, owner)
        mr._hostmem = HostMemory.anonymous(mr._size, name)
        mr.ops = ops
        mr._rom_device = True
        mr._terminates = True
        return mr

    @classmethod
    def ram_device(cls, name: str, size: int, host, owner: object = None):
        """RAM device over ``host`` (a writable buffer, e.g. a device mmap).

        2016-2025 semantics: never accessed directly; every access is one host
        load/store of exactly its size at its exact offset (ram_device ops).
        """
        mr = cls(name, size, owner)
        mem = HostMemory(host)
        if mem.length < mr._size:
            raise ValueError(f"host buffer of ram_device '{name}' has {mem.length:#x} "
                             f"bytes, less than the region size {mr._size:#x}")
        mr._hostmem = mem
        mr._ram = True
        mr._ram_device = True
        mr._terminates = True
        mr.ops = MemoryRegionOps(
            read=mr._ram_device_read, write=mr._ram_device_write,
            endianness=HOST_ENDIAN,
            valid_min=1, valid_max=8, valid_unaligned=True,
            impl_min=1, impl_max=8, impl_unaligned=True)
        return mr

    @classmethod
    def alias(cls, name: str, target: "MemoryRegion", offset: int, size: int,
              owner: object = None):
        """A window of ``size`` bytes onto ``target`` starting at ``offset``."""
        if not isinstance(target, MemoryRegion):
            raise TypeError(f"alias '{name}' needs a MemoryRegion target, not {target!r}")
        mr = cls(name, size, owner)
        mr._alias = target
        mr._alias_offset = offset
        target._aliased_by.add(mr)
        return mr

    @classmethod
    def iommu(cls, name: str, size: int, translate: Callable, owner: object = None):
        """An IOMMU region: ``translate(addr, is_write, attrs) -> IOMMUTLBEntry``."""
        if not callable(translate):
            raise TypeError(f"translate of IOMMU region '{name}' must be callable")
        mr = cls(name, size, owner)
        mr._iommu = translate
        mr._terminates = True
        return mr

    # ------------------------------------------------------------- attributes

    size = property(lambda self: self._size, doc="Size in bytes (2^64 allowed).")
    addr = property(lambda self: self._addr, doc="Offset inside the container.")
    priority = property(lambda self: self._priority, doc="Priority among siblings.")
    container = property(lambda self: self._container, doc="Parent region or None.")
    enabled = property(lambda self: self._enabled)
    readonly = property(lambda self: self._readonly)
    nonvolatile = property(lambda self: self._nonvolatile)
    romd_mode = property(lambda self: self._romd_mode)
    terminates = property(lambda self: self._terminates)
    alias_target = property(lambda self: self._alias, doc="Aliased region or None.")
    alias_offset = property(lambda self: self._alias_offset)

    @property
    def subregions(self) -> list["MemoryRegion"]:
        """Children, highest priority first (latest first among equals)."""
        return list(self._subregions)

    @property
    def host(self):
        """The host buffer of a RAM, ROM, ROM-device or ram_device region."""
        return None if self._hostmem is None else self._hostmem.buffer

    @property
    def host_address(self) -> Optional[int]:
        """Stable host virtual address of ``host`` (for KVM / a JIT)."""
        return None if self._hostmem is None else self._hostmem.address

    def is_ram(self) -> bool:
        return self._ram

    def is_rom(self) -> bool:
        return self._ram and self._readonly

    def is_romd(self) -> bool:
        return self._rom_device and self._romd_mode

    def is_rom_device(self) -> bool:
        return self._rom_device

    def is_ram_device(self) -> bool:
        return self._ram_device

    def is_iommu(self) -> bool:
        return self._iommu is not None

    def is_alias(self) -> bool:
        return self._alias is not None

    def is_mapped(self) -> bool:
        """memory_region_is_mapped: in a container, or the target (directly or
        along an alias chain) of an alias that is."""
        return self._container is not None or any(a.is_mapped() for a in self._aliased_by)

    def type_label(self) -> str:
        """The kind as ``info mtree`` prints it (spec §1.2)."""
        mr = self
        while mr._alias is not None:
            mr = mr._alias
        if mr._ram_device:
            return "ramd"
        if mr.is_romd():
            return "romd"
        if mr.is_rom():
            return "rom"
        if mr._ram:
            return "ram"
        return "container" if mr._container is None else "i/o"

    def __repr__(self) -> str:
        return f"<MemoryRegion {self.name!r} {self.type_label()} size={self._size:#x}>"

    # --------------------------------------------------------------- topology

    def _change(self, seeds, mutate: Callable[[], None], pending: bool, extra=()) -> None:
        """Run ``mutate`` as a (possibly nested) one-change transaction.

        ``seeds`` are the regions whose extent (before and after) bounds what
        the change can alter; ``extra`` adds regions whose spaces are touched.
        """
        spaces = affected_address_spaces(tuple(seeds) + tuple(extra))
        transaction.begin()
        try:
            if transaction.depth() > 1:
                # An enclosing transaction is open: keep the committed views.
                for space in spaces:
                    space._materialize()
            before = changed_windows(seeds)
            mutate()
            if pending:
                transaction.mark_pending(spaces, before, changed_windows(seeds))
        finally:
            transaction.commit()

    def add_subregion(self, offset: int, sub: "MemoryRegion") -> None:
        """Map ``sub`` at ``offset`` with priority 0."""
        self._add(offset, sub, 0)

    def add_subregion_overlap(self, offset: int, sub: "MemoryRegion", priority: int) -> None:
        """Map ``sub`` at ``offset`` with ``priority`` (higher wins overlaps)."""
        self._add(offset, sub, priority)

    def _add(self, offset: int, sub: "MemoryRegion", priority: int) -> None:
        if not isinstance(sub, MemoryRegion):
            raise TypeError(f"subregion must be a MemoryRegion, not {sub!r}")
        if self._alias is not None:
            raise ValueError(f"cannot add subregion '{sub.name}' to alias '{self.name}'")
        if sub._container is not None:
            raise ValueError(f"region '{sub.name}' is already a subregion of "
                             f"'{sub._container.name}'")
        node = self
        while node is not None:
            if node is sub:
                raise ValueError(f"adding '{sub.name}' under '{self.name}' makes a loop")
            node = node._container
        if not isinstance(offset, int) or offset < 0:
            raise ValueError(f"subregion offset must be a non-negative int, not {offset!r}")
        sub._priority = priority

        def mutate() -> None:
            self._insert(offset, sub)

        self._change((sub,), mutate, self._enabled and sub._enabled, extra=(self,))

    def _insert(self, offset: int, sub: "MemoryRegion") -> None:
        sub._container = self
        sub._addr = offset
        subs = self._subregions
        for i, other in enumerate(subs):
            if sub._priority >= other._priority:
                subs.insert(i, sub)
                return
        subs.append(sub)

    def del_subregion(self, sub: "MemoryRegion") -> None:
        """Unmap ``sub`` (which must be a child of this region)."""
        if sub._container is not self:
            raise ValueError(f"region '{sub.name}' is not a subregion of '{self.name}'")

        def mutate() -> None:
            sub._container = None
            self._subregions.remove(sub)

        self._change((sub,), mutate, self._enabled and sub._enabled, extra=(self,))

    def set_enabled(self, enabled: bool) -> None:
        enabled = bool(enabled)
        if enabled != self._enabled:
            self._change((self,), lambda: setattr(self, "_enabled", enabled), True)

    def set_address(self, offset: int) -> None:
        """Move within the container (re-enters at the front of its priority band)."""
        if offset == self._addr:
            return
        container = self._container
        if container is None:
            self._addr = offset
            return

        def mutate() -> None:
            container._subregions.remove(self)
            container._insert(offset, self)

        self._change((self,), mutate, container._enabled and self._enabled,
                     extra=(container,))

    def set_size(self, size: int) -> None:
        size = _normalize_size(size)
        if size == self._size:
            return
        if self._hostmem is not None and size > self._hostmem.length:
            raise ValueError(f"cannot grow '{self.name}' to {size:#x} bytes: its host "
                             f"memory has {self._hostmem.length:#x}")
        self._change((self,), lambda: setattr(self, "_size", size), True)

    def set_alias_offset(self, offset: int) -> None:
        if self._alias is None:
            raise ValueError(f"region '{self.name}' is not an alias")
        if offset != self._alias_offset:
            self._change((self,), lambda: setattr(self, "_alias_offset", offset),
                         self._enabled)

    def add_write_watcher(self, fn: Callable[[int, int], None]) -> None:
        """Call ``fn(offset, length)`` after every write to this RAM region that
        goes through an AddressSpace (qtest, DMA, monitor); a CPU's TLB stores
        into host memory do not pass here. TCG uses it to drop translated code."""
        self._write_watchers.append(fn)

    def remove_write_watcher(self, fn: Callable[[int, int], None]) -> None:
        if fn in self._write_watchers:
            self._write_watchers.remove(fn)

    def set_readonly(self, readonly: bool) -> None:
        readonly = bool(readonly)
        if readonly != self._readonly:
            self._change((self,), lambda: setattr(self, "_readonly", readonly),
                         self._enabled)

    def set_nonvolatile(self, nonvolatile: bool) -> None:
        nonvolatile = bool(nonvolatile)
        if nonvolatile != self._nonvolatile:
            self._change((self,), lambda: setattr(self, "_nonvolatile", nonvolatile),
                         self._enabled)

    def set_romd(self, romd_mode: bool) -> None:
        """ROM device: True reads directly from its memory, False via ops."""
        if not self._rom_device:
            raise ValueError(f"region '{self.name}' is not a ROM device")
        romd_mode = bool(romd_mode)
        if romd_mode != self._romd_mode:
            self._change((self,), lambda: setattr(self, "_romd_mode", romd_mode),
                         self._enabled)

    # --------------------------------------------------------------- dispatch

    def dispatch_read(self, offset: int, size: int, attrs=MEMTXATTRS_UNSPECIFIED,
                      endian: Endian = Endian.LITTLE, target_big_endian: bool = False):
        """memory_region_dispatch_read: ``(value, MemTxResult)`` in ``endian`` order."""
        if size not in access.ACCESS_SIZES:
            raise ValueError(f"dispatch size must be 1, 2, 4 or 8, not {size}")
        return access.dispatch_read(self, offset, size, attrs, endian, target_big_endian)

    def dispatch_write(self, offset: int, value: int, size: int,
                       attrs=MEMTXATTRS_UNSPECIFIED, endian: Endian = Endian.LITTLE,
                       target_big_endian: bool = False) -> MemTxResult:
        """memory_region_dispatch_write: ``value`` is in ``endian`` order."""
        if size not in access.ACCESS_SIZES:
            raise ValueError(f"dispatch size must be 1, 2, 4 or 8, not {size}")
        return access.dispatch_write(self, offset, value, size, attrs, endian,
                                     target_big_endian)

    def _ram_device_read(self, offset: int, size: int) -> int:
        value = self._hostmem.load(offset, size)
        hook = self.on_ram_device_access
        if hook is not None:
            hook("read", offset, size, value)
        return value

    def _ram_device_write(self, offset: int, value: int, size: int) -> None:
        hook = self.on_ram_device_access
        if hook is not None:
            hook("write", offset, size, value)
        self._hostmem.store(offset, value, size)

    # ------------------------------------------------------------------ IOMMU

    def register_iommu_notifier(self, notify: Callable[[IOMMUTLBEntry], None],
                                flags: IOMMUNotifierFlag = IOMMUNotifierFlag.MAP_UNMAP,
                                start: int = 0, end: int = SIZE_2_64 - 1) -> IOMMUNotifier:
        """Call ``notify(entry)`` for map/unmap events overlapping [start, end]."""
        if self._iommu is None:
            raise ValueError(f"region '{self.name}' is not an IOMMU region")
        notifier = IOMMUNotifier(notify, IOMMUNotifierFlag(flags), start, end)
        self._iommu_notifiers.append(notifier)
        return notifier

    def unregister_iommu_notifier(self, notifier) -> None:
        """Remove a notifier (the object returned at registration, or its function)."""
        for i, n in enumerate(self._iommu_notifiers):
            if n is notifier or n.notify is notifier:
                del self._iommu_notifiers[i]
                return
        raise ValueError(f"notifier {notifier!r} is not registered on '{self.name}'")

    def iommu_notify(self, entry: IOMMUTLBEntry) -> None:
        """Tell the interested notifiers about a map (perm != NONE) or unmap."""
        for notifier in list(self._iommu_notifiers):
            if notifier.wants(entry):
                notifier.notify(entry)
