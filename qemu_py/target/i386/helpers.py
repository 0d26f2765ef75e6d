"""Runtime helpers of system instructions (called from generated code).

Each is declared as a :class:`~qemu_py.tcg.ir.Helper`; unless flagged
otherwise a helper may read and write the CPU state and raise guest
exceptions, so the translator synchronises ``cc_op`` and ``rip`` first.
"""

from __future__ import annotations

from qemu_py.system.log import LOG
from qemu_py.tcg.ir import I32, I64, Helper

from .cpuid import cpuid
from .excp import CPUHalt, X86Exception
from .state import (CR0, CR0_TS, CR3, CR4, CR4_TSD, CR8, CSTAR,
                    EFER, EXCP0D_GPF, FMASK, HFLAGS, KERNEL_GS_BASE, LSTAR, MISC_ENABLE,
                    MSR_CSTAR, MSR_EFER, MSR_FMASK, MSR_FSBASE, MSR_GSBASE, MSR_IA32_APICBASE,
                    MSR_IA32_MISC_ENABLE, MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_EIP,
                    MSR_IA32_SYSENTER_ESP, MSR_IA32_TSC, MSR_KERNELGSBASE, MSR_LSTAR,
                    MSR_MTRRcap, MSR_PAT, MSR_STAR, MSR_TSC_AUX, PAT, R_FS, R_GS, REGS, STAR,
                    SYSENTER_CS, SYSENTER_EIP, SYSENTER_ESP, TR, TSC_AUX, TSC_OFFSET, seg_slot)
from .state import M64



def helper_cpuid(cpu):
    env = cpu.env_q
    a, b, c, d = cpuid(cpu, env[REGS] & 0xFFFF_FFFF, env[REGS + 1] & 0xFFFF_FFFF)
    env[REGS], env[REGS + 3], env[REGS + 1], env[REGS + 2] = a, b, c, d


def helper_rdtsc(cpu, with_aux: int):
    env = cpu.env_q
    if env[CR4] & CR4_TSD and env[HFLAGS] & 3:
        raise X86Exception(EXCP0D_GPF, 0)
    t = cpu.tsc()
    env[REGS] = t & 0xFFFF_FFFF
    env[REGS + 2] = t >> 32
    if with_aux:
        env[REGS + 1] = env[TSC_AUX] & 0xFFFF_FFFF


_MSR_SLOTS = {MSR_STAR: STAR, MSR_LSTAR: LSTAR, MSR_CSTAR: CSTAR, MSR_FMASK: FMASK,
              MSR_KERNELGSBASE: KERNEL_GS_BASE, MSR_TSC_AUX: TSC_AUX, MSR_PAT: PAT,
              MSR_IA32_SYSENTER_CS: SYSENTER_CS, MSR_IA32_SYSENTER_ESP: SYSENTER_ESP,
              MSR_IA32_SYSENTER_EIP: SYSENTER_EIP, MSR_IA32_MISC_ENABLE: MISC_ENABLE}


def rdmsr(cpu, msr: int) -> int:
    env = cpu.env_q
    if msr == MSR_EFER:
        return env[EFER]
    if msr == MSR_FSBASE:
        return env[seg_slot(R_FS, 1)]
    if msr == MSR_GSBASE:
        return env[seg_slot(R_GS, 1)]
    if msr == MSR_IA32_TSC:
        return cpu.tsc()
    if msr == MSR_IA32_APICBASE:
        return cpu.apic.base_msr if cpu.apic is not None else 0
    if msr == MSR_MTRRcap:
        return 0
    if msr in _MSR_SLOTS:
        return env[_MSR_SLOTS[msr]]
    if cpu.apic is not None and 0x800 <= msr <= 0x8FF:
        raise X86Exception(EXCP0D_GPF, 0)        # x2APIC: not advertised
    LOG.write(f"rdmsr: unknown MSR {msr:#x}\n") if LOG.enabled("unimp") else None
    raise X86Exception(EXCP0D_GPF, 0)


def wrmsr(cpu, msr: int, value: int):
    env = cpu.env_q
    if msr == MSR_EFER:
        cpu.set_efer(value)
    elif msr == MSR_FSBASE:
        env[seg_slot(R_FS, 1)] = value
    elif msr == MSR_GSBASE:
        env[seg_slot(R_GS, 1)] = value
    elif msr == MSR_IA32_TSC:
        env[TSC_OFFSET] = (value - cpu.time_ns()) & M64
    elif msr == MSR_IA32_APICBASE:
        if cpu.apic is None:
            raise X86Exception(EXCP0D_GPF, 0)
        cpu.apic.set_base(value)
    elif msr in _MSR_SLOTS:
        env[_MSR_SLOTS[msr]] = value
    else:
        if LOG.enabled("unimp"):
            LOG.write(f"wrmsr: unknown MSR {msr:#x} value {value:#x}\n")
        raise X86Exception(EXCP0D_GPF, 0)


def helper_rdmsr(cpu):
    env = cpu.env_q
    v = rdmsr(cpu, env[REGS + 1] & 0xFFFF_FFFF)
    env[REGS] = v & 0xFFFF_FFFF
    env[REGS + 2] = v >> 32


def helper_wrmsr(cpu):
    env = cpu.env_q
    v = ((env[REGS + 2] & 0xFFFF_FFFF) << 32) | (env[REGS] & 0xFFFF_FFFF)
    wrmsr(cpu, env[REGS + 1] & 0xFFFF_FFFF, v)


def helper_check_io(cpu, port: int, size: int):
    """The TSS I/O permission bitmap (used when CPL > IOPL)."""
    env = cpu.env_q
    if (env[TR + 3] >> 8) & 0xF not in (9, 11) or env[TR + 2] < 103:
        raise X86Exception(EXCP0D_GPF, 0)
    io_offset = cpu.lduw_kernel(env[TR + 1] + 0x66)
    io_offset += port >> 3
    if io_offset + 1 > env[TR + 2]:
        raise X86Exception(EXCP0D_GPF, 0)
    val = cpu.lduw_kernel(env[TR + 1] + io_offset)
    if (val >> (port & 7)) & ((1 << size) - 1):
        raise X86Exception(EXCP0D_GPF, 0)


def helper_in(cpu, port: int, size: int) -> int:
    if cpu.mmu.io_hook is not None:
        cpu.mmu.io_hook()
    if cpu.io_as is None:
        return (1 << (8 * size)) - 1
    v, _ = cpu.io_as.read_value(port & 0xFFFF, size)
    return v


def helper_out(cpu, port: int, size: int, value: int):
    if cpu.mmu.io_hook is not None:
        cpu.mmu.io_hook()
    if cpu.io_as is not None:
        cpu.io_as.write_value(port & 0xFFFF, value & ((1 << (8 * size)) - 1), size)


def helper_hlt(cpu, next_eip: int):
    raise CPUHalt(next_eip)


def helper_raise_interrupt(cpu, vector: int, next_eip: int):
    raise X86Exception(vector, is_int=True, next_eip=next_eip)


def helper_write_crn(cpu, reg: int, value: int):
    if reg == 0:
        cpu.set_cr0(value)
    elif reg == 3:
        cpu.set_cr3(value)
    elif reg == 4:
        cpu.set_cr4(value)
    elif reg == 8:
        cpu.env_q[CR8] = value & 0xF
        if cpu.apic is not None:
            cpu.apic.set_tpr((value & 0xF) << 4)
    else:
        raise X86Exception(6)


def helper_read_crn(cpu, reg: int) -> int:
    env = cpu.env_q
    if reg == 8:
        if cpu.apic is not None:
            return (cpu.apic.tpr >> 4) & 0xF
        return env[CR8]
    from .state import CR2
    return env[{0: CR0, 2: CR2, 3: CR3, 4: CR4}[reg]] if reg in (0, 2, 3, 4) else 0


def helper_clts(cpu):
    cpu.set_cr0(cpu.env_q[CR0] & ~CR0_TS)


def helper_lmsw(cpu, value: int):
    cr0 = cpu.env_q[CR0]
    # LMSW cannot clear PE
    cpu.set_cr0((cr0 & ~0xE) | (value & 0xF) | (cr0 & 1))


def helper_invlpg(cpu, addr: int):
    cpu.tlb_flush_page(addr)


def helper_ltr(cpu, sel: int):
    from .seg_helper import helper_ltr as f
    f(cpu, sel)


def helper_lldt(cpu, sel: int):
    from .seg_helper import helper_lldt as f
    f(cpu, sel)


def helper_iret(cpu, shift: int, next_eip: int):
    from .seg_helper import helper_iret as f
    f(cpu, shift, next_eip)


def helper_ljmp(cpu, sel: int, offset: int, next_eip: int):
    from .seg_helper import helper_ljmp as f
    f(cpu, sel, offset, next_eip)


def helper_lcall(cpu, sel: int, offset: int, shift: int, next_eip: int):
    from .seg_helper import helper_lcall as f
    f(cpu, sel, offset, shift, next_eip)


def helper_lret(cpu, shift: int, addend: int):
    from .seg_helper import helper_lret as f
    f(cpu, shift, addend)


def helper_syscall(cpu, next_eip: int):
    cpu.syscall(next_eip)


def helper_sysret(cpu, dflag64: int):
    from .seg_helper import helper_sysret as f
    f(cpu, bool(dflag64))


def helper_swapgs(cpu):
    env = cpu.env_q
    s = seg_slot(R_GS, 1)
    env[s], env[KERNEL_GS_BASE] = env[KERNEL_GS_BASE], env[s]


def helper_update_hflags(cpu):
    cpu.update_hflags()


H_CPUID = Helper("cpuid", helper_cpuid, None, ())
H_RDTSC = Helper("rdtsc", helper_rdtsc, None, (I32,))
H_RDMSR = Helper("rdmsr", helper_rdmsr, None, ())
H_WRMSR = Helper("wrmsr", helper_wrmsr, None, ())
H_CHECK_IO = Helper("check_io", helper_check_io, None, (I64, I32))
H_IN = Helper("in", helper_in, I64, (I64, I32))
H_OUT = Helper("out", helper_out, None, (I64, I32, I64))
H_HLT = Helper("hlt", helper_hlt, None, (I64,))
H_RAISE_INTERRUPT = Helper("raise_interrupt", helper_raise_interrupt, None, (I32, I64))
H_WRITE_CRN = Helper("write_crN", helper_write_crn, None, (I32, I64))
H_READ_CRN = Helper("read_crN", helper_read_crn, I64, (I32,))
H_CLTS = Helper("clts", helper_clts, None, ())
H_LMSW = Helper("lmsw", helper_lmsw, None, (I64,))
H_INVLPG = Helper("invlpg", helper_invlpg, None, (I64,))
H_LTR = Helper("ltr", helper_ltr, None, (I64,))
H_LLDT = Helper("lldt", helper_lldt, None, (I64,))
H_IRET = Helper("iret", helper_iret, None, (I32, I64))
H_LJMP = Helper("ljmp", helper_ljmp, None, (I64, I64, I64))
H_LCALL = Helper("lcall", helper_lcall, None, (I64, I64, I32, I64))
H_LRET = Helper("lret", helper_lret, None, (I32, I64))
H_SYSCALL = Helper("syscall", helper_syscall, None, (I64,))
H_SYSRET = Helper("sysret", helper_sysret, None, (I32,))
H_SWAPGS = Helper("swapgs", helper_swapgs, None, ())
H_UPDATE_HFLAGS = Helper("update_hflags", helper_update_hflags, None, ())

_ = CR3
