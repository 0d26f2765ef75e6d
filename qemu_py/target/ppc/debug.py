"""Debug translation for the gdbstub: ``get_phys_page_debug`` and a debug read.

:func:`get_phys_page_debug` is QEMU 7.2's ``ppc_cpu_get_phys_page_debug``
(spec section 5): try a data-load translation with ``guest_visible=False``;
if it fails, try an instruction fetch (which is in real mode when MSR[IR]=0,
so an unmapped EA below the end of RAM still reads); return the real address
rounded down to 4 KiB, or ``None`` where QEMU returns -1.

HPTEs are read only through the backend, one ``read_hptes(ptex, 8)`` per PTEG
searched, so with :class:`~.kvm_hptes.KvmSimHPT` each PTEG costs a fresh HTAB
fd exactly as in QEMU.  Like QEMU 7.2, the successful translation sets R in
the HPTE (``update_rc=True``); QEMU with a KVM-managed HPT cannot do that and
only logs an error, so a caller modelling that case passes ``update_rc=False``.

:func:`memory_rw_debug` is ``cpu_memory_rw_debug``: translate each 4 KiB page
(the page address, not the access address), add the offset, and access
memory; any failed translation or memory error fails the whole access (gdb
then answers ``E14``).
"""

from __future__ import annotations

from .guest_memory import GuestMemory, GuestMemoryError
from .hpt_backend import HptBackend
from .mmu_models import HashMmuModel
from .mmu_state import AccessType, MmuState
from .slb import Slb
from .xlate import TARGET_PAGE_BITS, Translation, xlate

TARGET_PAGE_SIZE = 1 << TARGET_PAGE_BITS
TARGET_PAGE_MASK = ~(TARGET_PAGE_SIZE - 1)


def get_phys_page_debug(
    ea: int,
    state: MmuState,
    slb: Slb,
    backend: HptBackend,
    *,
    model: HashMmuModel | None = None,
    update_rc: bool = True,
) -> int | None:
    """Real address of the 4 KiB page holding ``ea``, or None if untranslatable."""
    for access in (AccessType.DATA_LOAD, AccessType.INST_FETCH):
        result = xlate(
            ea,
            access,
            state,
            slb,
            backend,
            model=model,
            guest_visible=False,
            update_rc=update_rc,
        )
        if isinstance(result, Translation):
            return result.raddr & TARGET_PAGE_MASK
    return None


def memory_rw_debug(
    ea: int,
    length: int,
    state: MmuState,
    slb: Slb,
    backend: HptBackend,
    memory: GuestMemory,
    *,
    data: bytes | None = None,
    model: HashMmuModel | None = None,
    update_rc: bool = True,
) -> bytes | None:
    """Debug read (``data is None``) or write of ``length`` bytes at ``ea``.

    Returns the bytes read (or ``b""`` after a write), or None when any page
    fails to translate or to access.
    """
    if data is not None and len(data) != length:
        raise ValueError(f"memory_rw_debug: length={length} but {len(data)} bytes of data")
    out = bytearray()
    done = 0
    addr = ea
    while done < length:
        page = addr & TARGET_PAGE_MASK
        phys = get_phys_page_debug(page, state, slb, backend, model=model, update_rc=update_rc)
        if phys is None:
            return None
        chunk = min(page + TARGET_PAGE_SIZE - addr, length - done)
        phys += addr & (TARGET_PAGE_SIZE - 1)
        try:
            if data is None:
                out += memory.read(phys, chunk)
            else:
                memory.write(phys, data[done : done + chunk])
        except GuestMemoryError:
            return None
        done += chunk
        addr += chunk
    return bytes(out)
