"""Debugger memory access: a page walk without side effects (QEMU's
x86_cpu_get_phys_page_attrs_debug) and virtual reads/writes built on it."""
from __future__ import annotations

from .state import CR0, CR0_PG, CR3, CR4, CR4_PAE, CR4_PSE, EFER, EFER_LMA

PG_P, PG_PS = 1, 0x80
ADDR_MASK = 0x000F_FFFF_FFFF_F000


def phys_page_debug(cpu, vaddr: int) -> int | None:
    """Physical address of VADDR's byte, or None when it is not mapped."""
    env = cpu.env_q
    if not env[CR0] & CR0_PG:
        return vaddr & 0xFFFF_FFFF if not env[EFER] & EFER_LMA else vaddr
    ld = cpu.phys_ldq
    if env[CR4] & CR4_PAE:
        if env[EFER] & EFER_LMA:
            if ((vaddr >> 47) + 1) & 0x1FFFF > 1:
                return None
            table = env[CR3] & ADDR_MASK
            levels = (39, 30, 21, 12)
        else:
            vaddr &= 0xFFFF_FFFF
            pdpte = ld((env[CR3] & 0xFFFF_FFE0) + ((vaddr >> 30) & 3) * 8)
            if not pdpte & PG_P:
                return None
            table = pdpte & ADDR_MASK
            levels = (21, 12)
        for shift in levels:
            e = ld(table + ((vaddr >> shift) & 0x1FF) * 8)
            if not e & PG_P:
                return None
            if shift in (30, 21) and e & PG_PS:
                base = e & ADDR_MASK & ~((1 << shift) - 1)
                return base | (vaddr & ((1 << shift) - 1))
            table = e & ADDR_MASK
        return table | (vaddr & 0xFFF)
    vaddr &= 0xFFFF_FFFF
    ldl = cpu.phys_ldl
    pde = ldl((env[CR3] & 0xFFFF_F000) + (vaddr >> 22) * 4)
    if not pde & PG_P:
        return None
    if pde & PG_PS and env[CR4] & CR4_PSE:
        base = (pde & 0xFFC0_0000) | ((pde >> 13) & 0xFF) << 32
        return base | (vaddr & 0x3F_FFFF)
    pte = ldl((pde & 0xFFFF_F000) + ((vaddr >> 12) & 0x3FF) * 4)
    if not pte & PG_P:
        return None
    return (pte & 0xFFFF_F000) | (vaddr & 0xFFF)


def memory_rw_debug(cpu, addr: int, length: int, data: bytes | None = None,
                    physical: bool = False) -> bytes | None:
    """Read LENGTH bytes (DATA None) or write DATA at ADDR, page by page;
    None when a page is not mapped (QEMU's cpu_memory_rw_debug failing)."""
    out = bytearray()
    done = 0
    total = length if data is None else len(data)
    while done < total:
        va = (addr + done) & ((1 << 64) - 1)
        n = min(total - done, 0x1000 - (va & 0xFFF))
        pa = va if physical else phys_page_debug(cpu, va)
        if pa is None:
            return None
        if data is None:
            buf, _res = cpu.memory_as.read(pa, n)
            out += buf
        else:
            chunk = bytes(data[done:done + n])
            cpu.memory_as.write(pa, chunk)
            cpu.invalidate_code(pa, n)
        done += n
    return bytes(out)
