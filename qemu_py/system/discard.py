"""RAM discard policy: who may free guest RAM pages, and freeing them.

Models QEMU's ``ram_block_discard_*`` counters (``softmmu/physmem.c`` of
7.2, identical in 2025 master; spec memory.md §5.2) and
``ram_block_discard_range``.

Four counters under one policy object per machine:

=================================  ============================  ==============
call (state=True)                  refused (-EBUSY) while        else
=================================  ============================  ==============
``discard_disable``                required or coord. required   disabled += 1
``uncoordinated_discard_disable``  required                      uncoord. += 1
``discard_require``                disabled or uncoord. disabled required += 1
``coordinated_discard_require``    disabled                      coord. += 1
=================================  ============================  ==============

``state=False`` always just decrements (no check, no error); a decrement
below zero is a programming error in the caller and raises.
``is_disabled()`` = disabled or uncoordinated disabled; ``is_required()`` =
required or coordinated required.  Users in QEMU 7.2: full disablers (KVM
without sync MMU, vfio sPAPR, ...), uncoordinated disablers (vfio type1 per
group, iommufd per device), coordinated requirers (virtio-mem).  The balloon
only *reads* ``is_disabled()``.

``discard_range(mr, offset, length)`` frees host pages of a RAM region as
QEMU does for anonymous memory: ``MADV_REMOVE`` on shared anonymous memory
(what an anonymous ``mmap`` from Python is), ``MADV_DONTNEED`` otherwise, so
the pages read back as zeros.  Start and length must be host-page aligned.

Deliberate differences: QEMU's counters are process-global; here each
machine owns its policy (``policy_for(machine)``) so tests can build many
machines in one process.  Only page-granular anonymous memory is modelled
(no file-backed ``fallocate``, no huge pages).
"""

from __future__ import annotations

import errno
import mmap

HOST_PAGE_SIZE = mmap.PAGESIZE
EBUSY = -errno.EBUSY


class DiscardError(Exception):
    """A discard request that QEMU would refuse (bad alignment, not RAM)."""


class RamDiscardPolicy:
    """The four discard counters of one machine (QEMU keeps them global)."""

    COUNTERS = ("required", "coordinated_required", "disabled", "uncoordinated_disabled")

    def __init__(self) -> None:
        self.required = 0
        self.coordinated_required = 0
        self.disabled = 0
        self.uncoordinated_disabled = 0

    def _dec(self, name: str) -> int:
        value = getattr(self, name)
        if value <= 0:
            raise AssertionError(f"ram discard counter '{name}' would go negative")
        setattr(self, name, value - 1)
        return 0

    def discard_disable(self, state: bool) -> int:
        """ram_block_discard_disable: 0, or -EBUSY while discards are required."""
        if not state:
            return self._dec("disabled")
        if self.required or self.coordinated_required:
            return EBUSY
        self.disabled += 1
        return 0

    def uncoordinated_discard_disable(self, state: bool) -> int:
        """ram_block_uncoordinated_discard_disable (vfio type1, iommufd)."""
        if not state:
            return self._dec("uncoordinated_disabled")
        if self.required:
            return EBUSY
        self.uncoordinated_disabled += 1
        return 0

    def discard_require(self, state: bool) -> int:
        """ram_block_discard_require: refused while anything disables discards."""
        if not state:
            return self._dec("required")
        if self.disabled or self.uncoordinated_disabled:
            return EBUSY
        self.required += 1
        return 0

    def coordinated_discard_require(self, state: bool) -> int:
        """ram_block_coordinated_discard_require (virtio-mem)."""
        if not state:
            return self._dec("coordinated_required")
        if self.disabled:
            return EBUSY
        self.coordinated_required += 1
        return 0

    def is_disabled(self) -> bool:
        return bool(self.disabled or self.uncoordinated_disabled)

    def is_required(self) -> bool:
        return bool(self.required or self.coordinated_required)

    def state(self) -> dict:
        """The counters and predicates as a plain dict (QOM / tests)."""
        out = {name.replace("_", "-"): getattr(self, name) for name in self.COUNTERS}
        out["is-disabled"] = self.is_disabled()
        out["is-required"] = self.is_required()
        return out

    def __repr__(self) -> str:
        return ("RamDiscardPolicy(" + ", ".join(f"{n}={getattr(self, n)}"
                                                for n in self.COUNTERS) + ")")


def policy_for(machine) -> RamDiscardPolicy:
    """The machine's discard policy, created (with its QOM property) on first use.

    The read-only QOM property ``x-ram-discard`` of ``/machine`` shows the
    counters (a qemu-py extension; QEMU has no such property).
    """
    policy = getattr(machine, "ram_discard_policy", None)
    if policy is None:
        policy = RamDiscardPolicy()
        machine.ram_discard_policy = policy
        add = getattr(machine, "add_property", None)
        find = getattr(machine, "find_property", None)
        if add is not None and find is not None and find("x-ram-discard") is None:
            add("x-ram-discard", "RamDiscardState", get=policy.state,
                description="RAM discard counters (qemu-py extension)")
    return policy


def discard_range(mr, offset: int, length: int) -> None:
    """ram_block_discard_range: free [offset, offset+length) of RAM region MR.

    Raises DiscardError when QEMU's would fail (unaligned, not RAM, device
    memory).
    """
    if offset % HOST_PAGE_SIZE or length % HOST_PAGE_SIZE:
        raise DiscardError(f"ram_block_discard_range: Unaligned start address: 0x{offset:x}"
                           if offset % HOST_PAGE_SIZE else
                           f"ram_block_discard_range: Unaligned length: 0x{length:x}")
    if not mr.is_ram() or mr.host is None:
        raise DiscardError(f"ram_block_discard_range: '{mr.name}' is not RAM")
    if mr.is_ram_device():
        # QEMU's madvise on a VM_PFNMAP device mapping fails with EINVAL.
        raise DiscardError(f"ram_block_discard_range: Failed to discard range "
                           f"{mr.name}:0x{offset:x} +0x{length:x} (Invalid argument)")
    buf = mr.host
    if offset + length > len(memoryview(buf)):
        raise DiscardError(f"ram_block_discard_range: Overrun block '{mr.name}' "
                           f"(0x{offset:x}/0x{length:x})")
    if isinstance(buf, mmap.mmap):
        for advice in ("MADV_REMOVE", "MADV_DONTNEED"):
            code = getattr(mmap, advice, None)
            if code is None:
                continue
            try:
                buf.madvise(code, offset, length)
            except OSError:
                continue
            if buf[offset:offset + length] == bytes(length):   # a bytes compare: memcmp
                return
    # no madvise that frees this memory: the observable effect is zero pages
    memoryview(buf).cast("B")[offset:offset + length] = bytes(length)
