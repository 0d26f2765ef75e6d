"""The qemu-py memory API: regions, FlatViews, address spaces, dispatch.

This package models QEMU's memory API (``softmmu/memory.c`` and the
``address_space_rw`` part of ``physmem.c``) as specified in
``specs/memory.md``; the reference behaviour is QEMU 7.2 plus the
2016-2025 ram_device semantics.  It imports nothing else from qemu_py.

Regions (``MemoryRegion``)
    ``MemoryRegion(name, size, owner=None)`` is a pure container;
    ``.io(name, size, ops)``, ``.reservation(name, size)`` (NULL ops: claims
    the range, every access DECODE_ERROR, reads 0), ``.ram(name, size)``
    (anonymous ``mmap``; ``host`` and a stable ``host_address``),
    ``.rom(name, size)``, ``.rom_device(name, size, ops)`` with
    ``set_romd()``, ``.ram_device(name, size, host)`` (a writable buffer),
    ``.alias(name, target, offset, size)`` and ``.iommu(name, size,
    translate)`` build the other kinds.  A size of 2^64-1 means 2^64.
    Topology: ``add_subregion``, ``add_subregion_overlap``,
    ``del_subregion``, ``set_enabled``, ``set_address``, ``set_size``,
    ``set_alias_offset``, ``set_readonly``, ``set_nonvolatile``,
    ``set_romd``.  Among equal priorities the latest added region wins;
    ``set_address`` re-adds at the front of the priority band.
    ``dispatch_read(offset, size, attrs, endian)`` /
    ``dispatch_write(offset, value, size, attrs, endian)`` are
    memory_region_dispatch_read/write: alias forwarding, validation
    (accepts, then alignment, then size; failure: value 0 and
    DECODE_ERROR, no callback), the size splitter/widener (pieces at
    ``offset + i``, never aligned down; big-endian regions put the
    most-significant piece first) and the byte swap when the caller's
    order differs from the region's.  Sizes are 1, 2, 4 or 8.

Ops (``MemoryRegionOps``)
    ``read(offset, size)``, ``write(offset, value, size)``, or the
    ``*_with_attrs`` forms returning MemTxResult; ``accepts(offset, size,
    is_write, attrs)``; ``valid_min/max/unaligned`` (what the device
    accepts; ``valid_max`` 0 = any size) and ``impl_min/max/unaligned``
    (what the callbacks implement; 0 means 1 and 4).  ``UNASSIGNED_OPS``
    accepts nothing; ``UNASSIGNED_IO_OPS`` reads all-ones and ignores writes
    with MEMTX_OK (the x86 ``io`` root).

Address spaces (``AddressSpace(root, name, big_endian=False, page_bits=12)``)
    ``read``/``write`` follow address_space_rw exactly: translate (RAM
    lengths clamped to the dispatch section, i.e. the leading partial page,
    the whole pages or the trailing partial page of the FlatRange, which
    only ram_device can observe; MMIO not clamped; IOMMU loop with
    permission checks), then per piece a direct copy (RAM; ROM and
    romd reads) or a dispatch of ``memory_access_size`` bytes in host order;
    errors are OR-ed and the loop continues into the next region; ROM
    writes are dispatched to the unassigned ops and dropped; only the
    target region's own ``readonly`` blocks a direct write (a readonly
    alias of RAM does not).  ``attrs.memory`` on a non-RAM piece gives
    ACCESS_ERROR for that piece.  ``read_value``/``write_value`` are the
    qtest readX/writeX conveniences (target byte order), with a fast path
    for single-piece RAM and I/O accesses behind a one-entry MRU cache.
    ``flatview()``, ``translate(addr, is_write, attrs, length=None)``,
    ``find(addr, size)`` (memory_region_find), ``ram_ptr(addr, size,
    is_write=False)`` (a memoryview into host RAM; read-only for ROM and
    romd), listeners (``add_listener`` replays region_add,
    ``remove_listener`` replays region_del), ``mtree_text(flat=False,
    owner=False, disabled=False)`` and ``destroy()``.
    ``memory_transaction()`` batches changes; listeners hear of them at the
    outermost commit.  ``mtree_info(spaces, flat)`` prints several spaces.

The re-entrancy guard (§2.6) applies to regions whose ``owner`` is not None
(and that are not RAM, ram_device, ROM device or readonly, and have not set
``disable_reentrancy_guard``): a nested dispatch to any region of the same
owner returns ACCESS_ERROR without calling back, warning once per region.
Invalid accesses are logged at INFO on ``qemu_py.memory.guest_errors``
(QEMU's ``-d guest_errors``), the re-entrancy warning at WARNING on
``qemu_py.memory``.

Deliberate differences from QEMU
    * Host byte order: ``Endian.LITTLE``/``BIG`` are absolute, the AS path
      asks for and stores in the real host order, and ram_device ops are
      host-endian (``sys.byteorder``), which is what QEMU does on that host.
    * NATIVE is resolved per AddressSpace (``big_endian``) rather than per
      binary; a direct ``dispatch_*`` call takes ``target_big_endian``
      (default False).  An IOMMU-translated access keeps the byte order of
      the AddressSpace that started it.
    * Only the AddressSpaces reachable from a changed region (through
      containers and aliases) are updated on commit, and only their
      listeners see ``begin``/``commit``; QEMU recomputes every address
      space and calls every listener in the process.  An update re-renders
      only the windows of the address space where the changed regions can
      appear (before and after the change) and splices them into the old
      FlatView; a space without listeners whose FlatView was never built
      renders it lazily on first use.  The visible result is the same as a
      full render (a change inside an open transaction never shows before
      the outermost commit).
    * No root sharing: each space renders its own root.  QEMU renders a
      reduced root (peeling whole-target aliases and single covering
      children), which differs only when such a peeled alias target or
      child is itself mapped at a non-zero address or carries readonly /
      nonvolatile flags.  The reduced root is still used to name and group
      FlatViews in ``info mtree -f``.
    * Direct-access rules are those of 7.2 (debug writes do not hit ROM);
      ram_device is never direct (2016-2025 semantics).
    * A region with no read (write) callback reads 0 (ignores writes) with
      MEMTX_OK instead of crashing; ``write_with_attrs`` returning None
      counts as MEMTX_OK.
    * ``set_size`` cannot grow a RAM-backed region beyond its host memory
      (QEMU would access past the RAMBlock); ram_device loads/stores are
      bounds-checked and raise IndexError instead of touching foreign memory.
    * An alias chain nesting more than 64 aliases deep while rendering is
      reported as an alias loop (QEMU would recurse until the clip empties
      or the stack overflows).
    * Not modelled: dirty logging and its listener callbacks, ioeventfds,
      coalesced MMIO, RAM discard managers, the bounce buffer of
      address_space_map, IOMMU attrs_to_index, the BQL; ``info mtree -o``
      prints the owner as ``owner:{dev id=NAME}`` from ``owner.name`` or
      ``str(owner)``.
"""

from .address_space import UNASSIGNED_REGION, AddressSpace
from .attrs import HOST_ENDIAN, MEMTXATTRS_UNSPECIFIED, Endian, MemTxAttrs, MemTxResult
from .flatview import FlatRange
from .iommu import IOMMUAccessFlag, IOMMUNotifier, IOMMUNotifierFlag, IOMMUTLBEntry
from .listener import MemoryRegionSection
from .mtree import mtree_info
from .ops import UNASSIGNED_IO_OPS, UNASSIGNED_OPS, MemoryRegionOps
from .region import MemoryRegion
from .transaction import memory_transaction

__all__ = [
    "AddressSpace", "Endian", "FlatRange", "HOST_ENDIAN", "IOMMUAccessFlag",
    "IOMMUNotifier", "IOMMUNotifierFlag", "IOMMUTLBEntry", "MEMTXATTRS_UNSPECIFIED",
    "MemTxAttrs", "MemTxResult", "MemoryRegion", "MemoryRegionOps",
    "MemoryRegionSection", "UNASSIGNED_IO_OPS", "UNASSIGNED_OPS", "UNASSIGNED_REGION",
    "memory_transaction", "mtree_info",
]
