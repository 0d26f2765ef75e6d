"""The x86-64 vCPU: state in native memory, softmmu, execution engine, events.

:class:`X86CPU` ties the architectural state (:mod:`.state`) to an execution
engine (:class:`~qemu_py.tcg.cpu_exec.TCGEngine` with the interpreter or
the Python-code backend), a softmmu TLB over the machine's memory address
space, the I/O address space for ``in``/``out``, and the interrupt sources
(local APIC, or the INTR pin when no APIC is present).

It is what the translator's helpers receive as their first argument.
"""

from __future__ import annotations

from qemu_py.system.log import LOG
from qemu_py.tcg.cpu_exec import TBRestart, TCGEngine
from qemu_py.tcg.interp import InterpBackend
from qemu_py.tcg.pybackend import PyBackend
from qemu_py.tcg.softmmu import ACCESS_EXEC, PAGE_SIZE, SoftMMU
from qemu_py.tcg.tb import Runtime

from .apic import drive_intr
from .cpuid import VENDOR
from . import cc as CC
from . import insn_all  # noqa: F401  (the decoder's handlers, before the first TB)
from .excp import CONTRIBUTORY, CPUHalt, TripleFault, X86Exception
from .state import (CR0_AM, EXCP0D_GPF, EXCP11_ALGN, HF_AM_MASK, AC_MASK, BUDGET, CC_DST, CC_MASK, CC_OP, CC_SRC, CC_SRC2, CR0, CR0_EM,
                    CR0_MP, CR0_PE, CR0_PG, CR0_TS, CR0_WP, CR2, CR3, CR4, CR4_OSFXSR,
                    CR4_PAE, CR4_PGE, CR4_PSE, DESC_B_MASK, DESC_L_MASK, DESC_P_MASK,
                    DESC_S_MASK, DESC_W_MASK, DESC_A_MASK, DESC_CS_MASK, DESC_R_MASK, DF,
                    DF_MASK, EFER, EFER_LMA, EFER_LME, EFLAGS, EXCP08_DBLE, EXCP0E_PAGE,
                    GDT_LIMIT, GPR_NAMES, HF_ADDSEG_MASK, HF_CPL_MASK, HF_CS32_MASK,
                    HF_CS64_MASK, HF_EM_MASK, HF_INHIBIT_IRQ_MASK, HF_LMA_MASK, HF_MP_MASK,
                    HF_OSFXSR_MASK, HF_PE_MASK, HF_SS32_MASK, HF_TS_MASK, HF_VM_MASK, HFLAGS,
                    IDT_LIMIT, IF_MASK, IOPL_MASK, LDT, MMU_KERNEL_IDX, MMU_USER_IDX, MXCSR,
                    NB_MMU_MODES, R_CS, R_DS, R_ES, R_SS, REGS, RF_MASK, RIP, SEG_NAMES, TF_MASK,
                    TR, VM_MASK, X86State, seg_slot, FPUC, FPTAGS, GDT_BASE, IDT_BASE, DR, PAT, XCR0,
                    TSC_OFFSET, FPREGS, FPSTT, FPUS, XMM)
from .translate import G_BUDGET, REG_INFO, gen_intermediate_code
from .state import M64


CPU_INTERRUPT_HARD = 1
CPU_INTERRUPT_NMI = 2
CPU_INTERRUPT_INIT = 4
CPU_INTERRUPT_EXITTB = 8


def make_backend(name: str, dump_dir: str | None = None):
    if name == "interp":
        return InterpBackend()
    if name == "python":
        return PyBackend(dump_dir=dump_dir)
    if name == "llvm":
        from qemu_py.tcg.llvm import LLVMBackend
        return LLVMBackend(dump_dir=dump_dir)
    if name == "auto":
        from qemu_py.tcg.llvm import LLVMBackend
        return LLVMBackend(dump_dir=dump_dir, tier_after=TIER_AFTER)
    raise ValueError(f"unknown TCG backend '{name}' (known: interp, python, llvm, auto)")


TIER_AFTER = 64     # backend=auto: executions of a TB before it is compiled natively


def _bit_offset_displacement(ins, val) -> int:
    """Bytes BT/BTS/BTR/BTC with a register bit offset add to their memory operand's
    address (the offset is signed and selects an operand-sized unit), else 0."""
    from iced_x86 import Mnemonic, OpKind
    if ins.mnemonic not in (Mnemonic.BT, Mnemonic.BTS, Mnemonic.BTR, Mnemonic.BTC) or \
            ins.op_count < 2 or ins.op1_kind != OpKind.REGISTER or \
            ins.op0_kind != OpKind.MEMORY:
        return 0
    size = _reg_size(ins.op_register(1))
    bits = 8 * size
    off = val(ins.op_register(1)) & ((1 << bits) - 1)
    if off >> (bits - 1):
        off -= 1 << bits
    return (off >> (bits.bit_length() - 1)) * size


def _reg_size(reg) -> int:
    from iced_x86 import RegisterInfo
    return RegisterInfo(reg).size


class X86CPU:
    BUDGET_SLOT = BUDGET

    def __init__(self, memory_as, io_as=None, *, backend: str = "python",
                 dump_dir: str | None = None, cpu_index: int = 0, optimize_ir: bool = True,
                 fp: bool = False):
        self.state = X86State()
        raw = memoryview(self.state).cast("B")
        self.env_b = raw
        self.env_q = raw.cast("Q")
        self.memory_as = memory_as
        self.io_as = io_as
        self.fp_enabled = fp           # x87 arithmetic (approximate, binary64) decodes
        # CPUID vendor, and the vendor-defined behaviours that follow it (cpuid.VENDOR_*):
        # AMD's FXRSTOR loads FOP/FIP/FDP only while FSW.ES is set, and AMD's MOVSXD r16, m
        # reads a doubleword. Set before the first translation (the differential suite
        # models the oracle CPU's vendor).
        self.vendor = VENDOR
        self.cpu_index = cpu_index
        self.mmu = SoftMMU(memory_as, NB_MMU_MODES, self._tlb_fill,
                           on_unaligned=self._on_unaligned,
                           on_code_write=self._on_code_write, is_code_page=self._is_code_page)
        rt = self.rt = Runtime()
        rt.env_q = self.env_q
        rt.env_l = raw.cast("I")
        rt.env_w = raw.cast("H")
        rt.env_b = raw
        rt.cpu = self
        rt.tlb_read = self.mmu.tlb_read
        rt.tlb_write = self.mmu.tlb_write
        rt.ld_slow = self.mmu.ld_slow
        rt.st_slow = self.mmu.st_slow
        rt.exit_global = G_BUDGET
        self.backend_name = backend
        self.engine = TCGEngine(self, make_backend(backend, dump_dir), optimize_ir=optimize_ir,
                                cpu_index=cpu_index)
        self.interrupt_request = 0
        self.halted = False
        self.stop_request = False
        self.icount_exact = False
        self.budget_reserve = 0
        self.int_count = 0
        self.apic = None               # LocalAPIC, when the machine has one
        self.pic_intack = None         # callable -> vector, for ExtINT / the INTR pin
        self.intr_line = False         # INTR pin level (no APIC, or APIC in ExtINT mode)
        self.time_ns = lambda: 0       # virtual clock, for the TSC
        self.on_shutdown = None        # triple fault handler
        self.on_exit_request = None
        self.msr_extra: dict[int, int] = {}
        self.reset()

    # -- the engine's interface ---------------------------------------------------------
    def _tlb_fill(self, vaddr, access, mmu_idx):
        from .mmu import tlb_fill
        return tlb_fill(self, vaddr, access, mmu_idx)

    def _on_code_write(self, pa: int, size: int):
        self.engine.invalidate_phys_range(pa, size)

    def _is_code_page(self, ppage: int) -> bool:
        return ppage in self.engine.page_tbs

    def invalidate_code(self, pa: int, size: int):
        """Drop translated code in [pa, pa+size): for writes not made by this CPU
        (loaders, DMA, debuggers), which the memory API does not report."""
        self.engine.invalidate_phys_range(pa, size, from_cpu_store=False)

    def protect_code_page(self, ppage: int):
        self.mmu.protect_code_page(ppage)

    def _on_unaligned(self, addr: int, access: int, mmu_idx: int):
        """An access the translator marked MO_ALIGN (alignment checking on: CR0.AM,
        EFLAGS.AC, CPL 3) is misaligned: #AC(0), before any page fault (the oracle CPU
        raises #AC for a misaligned access to an unmapped page)."""
        if self.env_q[EFER] & EFER_LMA and ((addr >> 47) + 1) & 0x1FFFF > 1:
            e = X86Exception(EXCP0D_GPF, 0)          # canonicality is checked first
            e.noncanonical = addr
            raise e
        raise X86Exception(EXCP11_ALGN, 0)

    def mmu_index(self) -> int:
        return MMU_USER_IDX if (self.env_q[HFLAGS] & HF_CPL_MASK) == 3 else MMU_KERNEL_IDX

    cur_mmu = mmu_index

    def get_tb_cpu_state(self):
        env = self.env_q
        cs_base = env[seg_slot(R_CS, 1)]
        flags = env[HFLAGS] | (env[EFLAGS] & (IOPL_MASK | TF_MASK | RF_MASK | VM_MASK | AC_MASK))
        return (cs_base + env[RIP]) & M64, cs_base, flags

    def get_phys_page_code(self, vaddr: int) -> int:
        return self.mmu.lookup(vaddr & M64, ACCESS_EXEC, self.mmu_index())[0]

    def fetch_code(self, vaddr: int, n: int) -> bytes:
        ppage = self.get_phys_page_code(vaddr)
        off = vaddr & (PAGE_SIZE - 1)
        n = min(n, PAGE_SIZE - off)
        views = self.mmu.page_view(ppage)
        if views is not None:
            return bytes(views[3][off:off + n])
        data, _ = self.memory_as.read(ppage | off, n)
        return data

    def gen_code(self, tb, log_in_asm=None):
        return gen_intermediate_code(self, tb, self.fetch_code, log_in_asm)

    def restore_state_to_opc(self, tb, words):
        pc, cc_op = words
        env = self.env_q
        env[RIP] = (pc - tb.cs_base) & M64
        if cc_op != CC.CC_OP_DYNAMIC:
            env[CC_OP] = cc_op

    def interrupt_pending(self) -> bool:
        return bool(self.interrupt_request)

    # -- running ------------------------------------------------------------------------
    def exec(self, budget: int) -> int:
        return self.engine.exec(budget)

    def request_exit(self):
        """Stop the running TB chain at the next TB boundary (QEMU's cpu_exit)."""
        env = self.env_q
        self.budget_reserve += env[BUDGET]
        env[BUDGET] = 0

    # -- registers ------------------------------------------------------------------------
    def gpr(self, i: int) -> int:
        return self.env_q[REGS + i]

    def set_gpr(self, i: int, v: int):
        self.env_q[REGS + i] = v & M64

    @property
    def rip(self) -> int:
        return self.env_q[RIP]

    @rip.setter
    def rip(self, v: int):
        self.env_q[RIP] = v & M64

    def code64(self) -> bool:
        return bool(self.env_q[HFLAGS] & HF_CS64_MASK)

    def get_eflags(self) -> int:
        env = self.env_q
        flags = CC.compute_all(env[CC_DST], env[CC_SRC], env[CC_SRC2], env[CC_OP])
        df = DF_MASK if env[DF] == M64 else 0
        return (env[EFLAGS] & ~(CC_MASK | DF_MASK)) | flags | df | 2

    def set_eflags(self, value: int, mask: int):
        """Load EFLAGS bits in MASK from VALUE; arithmetic flags and DF always."""
        env = self.env_q
        env[CC_SRC] = value & CC_MASK
        env[CC_OP] = CC.CC_OP_EFLAGS
        env[DF] = M64 if value & DF_MASK else 1
        keep = env[EFLAGS] & ~mask
        env[EFLAGS] = ((keep | (value & mask)) & ~(CC_MASK | DF_MASK) & 0xFFFF_FFFF) | 2
        self.update_hflags()

    def set_eflags_bits(self, set_bits: int, clear_bits: int):
        env = self.env_q
        env[EFLAGS] = ((env[EFLAGS] | set_bits) & ~clear_bits & 0xFFFF_FFFF) | 2
        self.update_hflags()

    def update_hflags(self):
        env = self.env_q
        hf = env[HFLAGS] & (HF_CPL_MASK | HF_INHIBIT_IRQ_MASK)
        cr0 = env[CR0]
        if cr0 & CR0_PE:
            hf |= HF_PE_MASK
        hf |= ((cr0 & CR0_MP) and HF_MP_MASK) | ((cr0 & CR0_EM) and HF_EM_MASK) | \
            ((cr0 & CR0_TS) and HF_TS_MASK)
        if env[CR4] & CR4_OSFXSR:
            hf |= HF_OSFXSR_MASK
        if cr0 & CR0_AM:
            hf |= HF_AM_MASK
        if env[EFER] & EFER_LMA:
            hf |= HF_LMA_MASK
        cs_flags = env[seg_slot(R_CS, 3)]
        if env[EFER] & EFER_LMA and cs_flags & DESC_L_MASK:
            hf |= HF_CS64_MASK | HF_CS32_MASK | HF_SS32_MASK
        else:
            if cs_flags & DESC_B_MASK:
                hf |= HF_CS32_MASK
            if env[seg_slot(R_SS, 3)] & DESC_B_MASK:
                hf |= HF_SS32_MASK
        vm = env[EFLAGS] & VM_MASK
        if vm:
            hf |= HF_VM_MASK
            hf = (hf & ~HF_CPL_MASK) | 3
        if not (cr0 & CR0_PE) or vm or not (hf & HF_CS32_MASK):
            hf |= HF_ADDSEG_MASK
        elif (env[seg_slot(R_DS, 1)] | env[seg_slot(R_ES, 1)] | env[seg_slot(R_SS, 1)]) != 0:
            hf |= HF_ADDSEG_MASK
        if not (cr0 & CR0_PE):
            hf &= ~HF_CPL_MASK
        env[HFLAGS] = hf

    # -- control registers ---------------------------------------------------------------------
    def set_cr0(self, v: int):
        env = self.env_q
        if LOG.enabled("mmu"):                  # QEMU's cpu_x86_update_cr0 line
            LOG.write(f"CR0 update: CR0=0x{v & 0xFFFF_FFFF:08x}\n")
        old = env[CR0]
        v = (v | 0x10) & 0xE005003F
        if v & CR0_PG and not v & CR0_PE:
            raise X86Exception(13, 0)
        # entering / leaving long mode
        if v & CR0_PG and not old & CR0_PG and env[EFER] & EFER_LME:
            if not env[CR4] & CR4_PAE:
                raise X86Exception(13, 0)
            env[EFER] |= EFER_LMA
        if not v & CR0_PG and old & CR0_PG and env[EFER] & EFER_LMA:
            env[EFER] &= ~EFER_LMA & M64
        env[CR0] = v
        if (old ^ v) & (CR0_PG | CR0_WP | CR0_PE):
            self.tlb_flush()
        self.update_hflags()

    def set_cr3(self, v: int):
        self.env_q[CR3] = v & M64
        if self.env_q[CR0] & CR0_PG:
            if LOG.enabled("mmu"):              # QEMU's cpu_x86_update_cr3 line
                LOG.write(f"CR3 update: CR3={v & M64:016x}\n")
            self.tlb_flush()

    def set_cr4(self, v: int):
        env = self.env_q
        old = env[CR4]
        if env[EFER] & EFER_LMA and not v & CR4_PAE:
            raise X86Exception(13, 0)
        from .cpuid import CR4_SUPPORTED
        if v & ~CR4_SUPPORTED:
            raise X86Exception(13, 0)
        env[CR4] = v
        if (old ^ v) & (CR4_PAE | CR4_PSE | CR4_PGE):
            self.tlb_flush()
        self.update_hflags()

    def set_efer(self, v: int):
        env = self.env_q
        from .cpuid import EFER_SUPPORTED
        if v & ~EFER_SUPPORTED & ~EFER_LMA:
            raise X86Exception(13, 0)
        old = env[EFER]
        if env[CR0] & CR0_PG and (old ^ v) & EFER_LME:
            raise X86Exception(13, 0)
        env[EFER] = (v & ~EFER_LMA) | (old & EFER_LMA)
        if (old ^ env[EFER]) & (1 << 11):
            self.tlb_flush()
        self.update_hflags()

    def tlb_flush(self):
        self.mmu.flush()
        self.engine.flush_jmp_cache()

    def tlb_flush_page(self, vaddr: int):
        self.mmu.flush_page(vaddr)
        self.engine.flush_jmp_cache()

    # -- memory for helpers ------------------------------------------------------------------------
    def phys_ldq(self, pa: int) -> int:
        return self.memory_as.read_value(pa, 8)[0]

    def phys_stq(self, pa: int, v: int):
        self.memory_as.write_value(pa, v, 8)

    def phys_ldl(self, pa: int) -> int:
        return self.memory_as.read_value(pa, 4)[0]

    def phys_stl(self, pa: int, v: int):
        self.memory_as.write_value(pa, v, 4)

    def ld_mmu(self, addr: int, size: int, mmu_idx: int) -> int:
        return self.mmu.ld_slow(addr & M64, {1: 0, 2: 1, 4: 2, 8: 3}[size], mmu_idx)

    def st_mmu(self, addr: int, v: int, size: int, mmu_idx: int):
        self.mmu.st_slow(addr & M64, v, {1: 0, 2: 1, 4: 2, 8: 3}[size], mmu_idx)

    def ldl_kernel(self, addr):
        return self.ld_mmu(addr, 4, MMU_KERNEL_IDX)

    def lduw_kernel(self, addr):
        return self.ld_mmu(addr, 2, MMU_KERNEL_IDX)

    def ldq_kernel(self, addr):
        return self.ld_mmu(addr, 8, MMU_KERNEL_IDX)

    def stl_kernel(self, addr, v):
        self.st_mmu(addr, v, 4, MMU_KERNEL_IDX)

    def stw_kernel(self, addr, v):
        self.st_mmu(addr, v, 2, MMU_KERNEL_IDX)

    def _sp_mask(self) -> int:
        env = self.env_q
        if env[HFLAGS] & HF_CS64_MASK:
            return M64
        return 0xFFFF_FFFF if env[seg_slot(R_SS, 3)] & DESC_B_MASK else 0xFFFF

    def push_mmu(self, v: int, size: int):
        mask = self._sp_mask()
        sp = (self.gpr(4) - size) & mask
        base = 0 if mask == M64 else self.env_q[seg_slot(R_SS, 1)]
        self.st_mmu(base + sp, v, size, self.mmu_index())
        self.set_gpr(4, (self.gpr(4) & ~mask) | sp)

    def pop_mmu(self, size: int) -> int:
        mask = self._sp_mask()
        sp = self.gpr(4) & mask
        base = 0 if mask == M64 else self.env_q[seg_slot(R_SS, 1)]
        v = self.ld_mmu(base + sp, size, self.mmu_index())
        self.set_gpr(4, (self.gpr(4) & ~mask) | ((sp + size) & mask))
        return v

    def adjust_sp(self, n: int):
        mask = self._sp_mask()
        self.set_gpr(4, (self.gpr(4) & ~mask) | ((self.gpr(4) + n) & mask))

    def enter_long_mode_cpl3(self, code_sel: int, data_sel: int, fs_gs_sel: int | None = None):
        """Long mode with SSE and NX enabled, flat 64-bit CPL 3 segments (CODE_SEL for CS,
        DATA_SEL for the others, FS/GS FS_GS_SEL when given): the state a 64-bit user
        program runs in.  Paging registers (CR3) and descriptor tables are the caller's."""
        from . import state as st
        env = self.env_q
        env[CR4] = CR4_PAE | CR4_OSFXSR | st.CR4_OSXMMEXCPT
        env[EFER] = st.EFER_SCE | EFER_LME | EFER_LMA | st.EFER_NXE
        env[CR0] = 0x80050033
        code = DESC_P_MASK | DESC_S_MASK | DESC_CS_MASK | DESC_R_MASK | DESC_A_MASK | \
            DESC_L_MASK | st.DESC_G_MASK | (3 << st.DESC_DPL_SHIFT)
        data = DESC_P_MASK | DESC_S_MASK | DESC_W_MASK | DESC_A_MASK | DESC_B_MASK | \
            st.DESC_G_MASK | (3 << st.DESC_DPL_SHIFT)
        for seg in range(6):
            sel, flags = (code_sel, code) if seg == R_CS else (data_sel, data)
            if fs_gs_sel is not None and seg in (st.R_FS, st.R_GS):
                sel = fs_gs_sel
            env[seg_slot(seg, 0)], env[seg_slot(seg, 1)] = sel, 0
            env[seg_slot(seg, 2)], env[seg_slot(seg, 3)] = 0xFFFFFFFF, flags
        env[HFLAGS] = (env[HFLAGS] & ~3) | 3

    def syscall(self, next_eip: int):
        """SYSCALL: into the guest kernel through the STAR/LSTAR MSRs (linux-user mode
        overrides this to run the call itself)."""
        from .seg_helper import helper_syscall
        helper_syscall(self, next_eip)

    # -- exceptions -------------------------------------------------------------------------------
    def raise_exception(self, vector: int, err: int = 0):
        raise X86Exception(vector, err)

    def handle_fault(self, e):
        if isinstance(e, TBRestart):
            return
        if isinstance(e, CPUHalt):
            self.env_q[RIP] = e.next_eip
            self.env_q[HFLAGS] &= ~HF_INHIBIT_IRQ_MASK
            if not self.has_work():
                self.halted = True
            return
        if isinstance(e, X86Exception):
            if e.vector == 13 and getattr(e, "noncanonical", None) is not None and \
                    self._stack_access_noncanonical():
                e = X86Exception(12, 0)       # a non-canonical SS reference is #SS(0)
            self.deliver(e)
            return
        raise e

    def _stack_access_noncanonical(self) -> bool:
        """Whether the instruction at RIP (64-bit code) makes a non-canonical SS access
        (RSP/RBP base, SS override, push/pop): decoded only on this rare fault."""
        from iced_x86 import Decoder, InstructionInfoFactory, Register
        env = self.env_q
        try:
            pc = (env[seg_slot(R_CS, 1)] + env[RIP]) & M64
            code = self.fetch_code(pc, 15)
            if len(code) < 15:
                code += self.fetch_code((pc | (PAGE_SIZE - 1)) + 1, 15 - len(code))
        except Exception:
            return False
        ins = Decoder(64, code, ip=env[RIP]).decode()

        def val(r):
            if r == Register.NONE:
                return 0
            if r in (Register.RIP, Register.EIP):
                return 0                          # displacement already absolute
            info = REG_INFO.get(r)
            return self.gpr(info[0]) if info is not None else 0

        legacy = (Register.ES, Register.CS, Register.SS, Register.DS)
        for m in InstructionInfoFactory().info(ins).used_memory():
            # 64-bit mode ignores CS/DS/ES/SS overrides: the default segment decides, SS
            # for an RSP/RBP base (push/pop included), DS otherwise
            if m.segment not in legacy or m.base not in (Register.RSP, Register.RBP,
                                                          Register.ESP, Register.EBP):
                continue
            va = (val(m.base) + val(m.index) * m.scale + m.displacement) & M64
            va = (va + _bit_offset_displacement(ins, val)) & M64
            if ((va >> 47) + 1) & 0x1FFFF > 1:
                return True
        return False

    def deliver(self, e: X86Exception, is_hw: bool = False):
        from .seg_helper import do_interrupt
        vector, err, is_int = e.vector, e.error_code, e.is_int
        self.env_q[HFLAGS] &= ~HF_INHIBIT_IRQ_MASK
        next_eip, has_error = e.next_eip, e.has_error
        if e.cr2 is not None:
            self.env_q[CR2] = e.cr2 & M64
        first = vector
        while True:
            try:
                do_interrupt(self, vector, is_int, err, next_eip, is_hw, has_error)
                return
            except X86Exception as e2:
                if e2.cr2 is not None:
                    self.env_q[CR2] = e2.cr2 & M64
                if first == EXCP08_DBLE:
                    self.triple_fault()
                    return
                if ((first in CONTRIBUTORY and e2.vector in CONTRIBUTORY) or
                        (first == EXCP0E_PAGE and (e2.vector in CONTRIBUTORY or
                                                   e2.vector == EXCP0E_PAGE))):
                    vector, err = EXCP08_DBLE, 0
                else:
                    vector, err = e2.vector, e2.error_code
                first = vector
                is_int, is_hw, next_eip, has_error = False, False, None, None

    def triple_fault(self):
        if LOG.enabled("int") or LOG.enabled("guest_errors"):
            LOG.write("Triple fault\n")
        if self.on_shutdown is not None:
            self.on_shutdown()
            self.stop_request = True
        else:
            raise TripleFault("triple fault")

    # -- interrupts ---------------------------------------------------------------------------------
    def set_irq_request(self, bits: int):
        self.interrupt_request |= bits
        self.request_exit()

    def clear_irq_request(self, bits: int):
        self.interrupt_request &= ~bits

    def set_intr_line(self, level: bool):
        """The INTR pin (from the PIC when there is no local APIC)."""
        self.intr_line = bool(level)
        drive_intr(self, level)

    def has_work(self) -> bool:
        if self.interrupt_request & CPU_INTERRUPT_HARD and self.env_q[EFLAGS] & IF_MASK:
            return True
        return bool(self.interrupt_request & (CPU_INTERRUPT_NMI | CPU_INTERRUPT_INIT))

    def exec_interrupt(self) -> bool:
        """Deliver one pending interrupt if allowed; True if the state changed."""
        env = self.env_q
        req = self.interrupt_request
        if req & CPU_INTERRUPT_EXITTB:
            self.interrupt_request &= ~CPU_INTERRUPT_EXITTB
        if req & CPU_INTERRUPT_HARD:
            if env[EFLAGS] & IF_MASK and not env[HFLAGS] & HF_INHIBIT_IRQ_MASK:
                vector = self._ack_interrupt()
                if vector is None:
                    return False
                self.halted = False
                self.deliver(X86Exception(vector), is_hw=True)
                return True
        return False

    def _ack_interrupt(self):
        if self.apic is not None:
            v = self.apic.get_interrupt()
            if v is not None:
                self._update_hard_request()
                return v
            if self.apic.extint_pending() and self.pic_intack is not None:
                v = self.pic_intack()
                self._update_hard_request()
                return v
            self._update_hard_request()
            return None
        if self.pic_intack is not None and self.intr_line:
            v = self.pic_intack()
            return v
        self.interrupt_request &= ~CPU_INTERRUPT_HARD
        return None

    def _update_hard_request(self):
        if self.apic is not None and self.apic.has_interrupt():
            self.interrupt_request |= CPU_INTERRUPT_HARD
        else:
            self.interrupt_request &= ~CPU_INTERRUPT_HARD

    # -- reset and dump ---------------------------------------------------------------------------------
    def reset(self):
        if LOG.enabled("cpu_reset"):            # the state being reset, as QEMU logs it
            LOG.write(f"CPU Reset (CPU 0)\n{self.dump_state(fpu=True)}")   # x86 reset_dump_flags
        env = self.env_q
        for i in range(len(env)):
            env[i] = 0
        env[CR0] = 0x60000010
        env[EFLAGS] = 2
        env[CC_OP] = CC.CC_OP_EFLAGS
        env[DF] = 1
        env[RIP] = 0xFFF0
        env[GDT_LIMIT] = 0xFFFF
        env[IDT_LIMIT] = 0xFFFF
        env[LDT + 2] = 0xFFFF
        env[LDT + 3] = DESC_P_MASK | (2 << 8)
        env[TR + 2] = 0xFFFF
        env[TR + 3] = DESC_P_MASK | (11 << 8)
        data = DESC_P_MASK | DESC_S_MASK | DESC_W_MASK | DESC_A_MASK
        for seg in range(6):
            env[seg_slot(seg, 0)] = 0
            env[seg_slot(seg, 1)] = 0
            env[seg_slot(seg, 2)] = 0xFFFF
            env[seg_slot(seg, 3)] = data
        env[seg_slot(R_CS, 0)] = 0xF000
        env[seg_slot(R_CS, 1)] = 0xFFFF0000
        env[seg_slot(R_CS, 3)] = DESC_P_MASK | DESC_S_MASK | DESC_CS_MASK | DESC_R_MASK | \
            DESC_A_MASK
        env[REGS + 2] = 0x663          # EDX: family/model/stepping
        env[MXCSR] = 0x1F80
        env[FPUC] = 0x37F
        env[FPTAGS] = 0xFF            # every x87 register empty
        env[PAT] = 0x0007040600070406
        env[XCR0] = 1
        env[DR + 6] = 0xFFFF0FF0
        env[DR + 7] = 0x400
        self.halted = False
        self.interrupt_request = 0
        self.update_hflags()
        self.tlb_flush()
        self.engine.tb_flush()
        if self.apic is not None:
            self.apic.reset()

    def dump_state(self, fpu: bool = False) -> str:
        """The register dump of ``info registers`` and ``-d cpu``; FPU adds the
        x87 and SSE state as QEMU's CPU_DUMP_FPU does (``-d cpu,fpu``)."""
        env = self.env_q
        lines = []
        for row in range(4):
            lines.append(" ".join(f"{GPR_NAMES[row * 4 + k].upper():<3}={self.gpr(row * 4 + k):016x}"
                                  for k in range(4)))
        fl = self.get_eflags()
        bits = "".join(ch if fl & m else "-" for ch, m in (
            ("D", 0x400), ("O", 0x800), ("S", 0x80), ("Z", 0x40), ("A", 0x10), ("P", 4),
            ("C", 1)))
        hf = env[HFLAGS]
        lines.append(f"RIP={env[RIP]:016x} RFL={fl:08x} [{bits}] CPL={hf & 3} "
                     f"II={int(bool(hf & HF_INHIBIT_IRQ_MASK))} A20=1 SMM=0 HLT={int(self.halted)}")
        for seg in range(6):
            lines.append(f"{SEG_NAMES[seg].upper():<3}={env[seg_slot(seg, 0)]:04x} "
                         f"{env[seg_slot(seg, 1)]:016x} {env[seg_slot(seg, 2)]:08x} "
                         f"{env[seg_slot(seg, 3)]:08x}")
        lines.append(f"LDT={env[LDT]:04x} {env[LDT + 1]:016x} {env[LDT + 2]:08x} "
                     f"{env[LDT + 3]:08x}")
        lines.append(f"TR ={env[TR]:04x} {env[TR + 1]:016x} {env[TR + 2]:08x} {env[TR + 3]:08x}")
        lines.append(f"GDT=     {env[GDT_BASE]:016x} {env[GDT_LIMIT]:08x}")
        lines.append(f"IDT=     {env[IDT_BASE]:016x} {env[IDT_LIMIT]:08x}")
        lines.append(f"CR0={env[CR0]:08x} CR2={env[CR2]:016x} CR3={env[CR3]:016x} "
                     f"CR4={env[CR4]:08x}")
        lines.append(f"EFER={env[EFER]:016x}")
        lines.append(f"CCS={env[CC_SRC]:016x} CCD={env[CC_DST]:016x} "
                     f"CCO={CC.cc_op_name(env[CC_OP])}")
        if fpu:
            lines.extend(self._dump_fpu())
        return "\n".join(lines) + "\n"

    def _dump_fpu(self) -> list[str]:
        env = self.env_q
        ftw = ~env[FPTAGS] & 0xFF                      # a set FPTAGS bit means empty
        fsw = (env[FPUS] & ~0x3800 & 0xFFFF) | (env[FPSTT] & 7) << 11
        lines = [f"FCW={env[FPUC]:04x} FSW={fsw:04x} [ST={env[FPSTT] & 7}] FTW={ftw:02x} "
                 f"MXCSR={env[MXCSR]:08x}"]
        regs = [f"FPR{i}={env[FPREGS + 2 * i]:016x} {env[FPREGS + 2 * i + 1] & 0xFFFF:04x}"
                for i in range(8)]
        lines.extend(" ".join(regs[i:i + 2]) for i in range(0, 8, 2))
        nb = 16 if env[HFLAGS] & HF_CS64_MASK else 8
        xmm = [f"XMM{i:02d}={env[XMM + 2 * i + 1]:016x}{env[XMM + 2 * i]:016x}"
               for i in range(nb)]
        lines.extend(" ".join(xmm[i:i + 2]) for i in range(0, nb, 2))
        return lines

    def tsc(self) -> int:
        return (self.time_ns() + self.env_q[TSC_OFFSET]) & M64
