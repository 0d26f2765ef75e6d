"""The x86-64 vCPU of a linux-user process.

It is the system-mode :class:`~qemu_py.target.i386.cpu.X86CPU` (same
translator, same helpers) running at CPL 3 in 64-bit mode over a
:class:`~qemu_py.user.memory.GuestMemory` instead of page tables: a TLB fill
asks the process's map, and an access it refuses becomes the #PF (CR2 the
address) that the process turns into SIGSEGV.  ``syscall`` does not enter a
guest kernel: it leaves the translated code with :class:`SyscallTrap` and the
process runs the system call.  Every exception ends in ``process.on_trap``.
"""

from __future__ import annotations

from qemu_py.target.i386 import state as st
from qemu_py.target.i386.cpu import X86CPU
from qemu_py.target.i386.excp import CPUHalt, X86Exception
from qemu_py.tcg.cpu_exec import TBRestart
from qemu_py.tcg.tb import CF_NOCHAIN, GuestFault

from .memory import PAGE_MASK, SegFault

PF_PRESENT, PF_WRITE, PF_USER, PF_INSN = 1, 2, 4, 0x10
_NEED = (1, 2, 4)                    # access kind -> PROT_READ / PROT_WRITE / PROT_EXEC
USER_CS, USER_DS = 0x33, 0x2B


class SyscallTrap(GuestFault):
    """The guest executed ``syscall``; NEXT_EIP is where it resumes."""

    completes_insn = True

    def __init__(self, next_eip: int):
        super().__init__("syscall")
        self.next_eip = next_eip


class UserCPU(X86CPU):
    def __init__(self, memory, *, backend: str = "python", one_insn_per_tb: bool = False):
        super().__init__(memory, None, backend=backend, fp=True)
        self.process = None
        self.guest_mem = memory
        if one_insn_per_tb:
            self.engine.cflags_default = 1 | CF_NOCHAIN
        self.enter_user_mode()

    def enter_user_mode(self):
        """Flat 64-bit CPL 3 segments, long mode, SSE enabled: the state Linux starts
        a process in."""
        self.enter_long_mode_cpl3(USER_CS, USER_DS, fs_gs_sel=0)
        self.set_eflags(0x202, 0xFFFFFFFF)
        self.update_hflags()
        self.tlb_flush()

    @property
    def fs_base(self) -> int:
        return self.env_q[st.seg_slot(st.R_FS, 1)]

    @fs_base.setter
    def fs_base(self, v: int):
        self.env_q[st.seg_slot(st.R_FS, 1)] = v

    @property
    def gs_base(self) -> int:
        return self.env_q[st.seg_slot(st.R_GS, 1)]

    @gs_base.setter
    def gs_base(self, v: int):
        self.env_q[st.seg_slot(st.R_GS, 1)] = v

    # -- the softmmu asks the process's map ------------------------------------------------------
    def _tlb_fill(self, vaddr, access, mmu_idx):
        if ((vaddr >> 47) + 1) & 0x1FFFF > 1:
            e = X86Exception(st.EXCP0D_GPF, 0)
            e.noncanonical = vaddr
            raise e
        try:
            prot = self.guest_mem.fill(vaddr, _NEED[access])
        except SegFault as f:
            err = PF_USER | (PF_PRESENT if f.mapped else 0) | (PF_WRITE if access == 1 else 0) \
                | (PF_INSN if access == 2 else 0)
            self.env_q[st.CR2] = vaddr
            raise X86Exception(st.EXCP0E_PAGE, err, cr2=vaddr) from None
        return vaddr & PAGE_MASK, prot, False

    def syscall(self, next_eip: int):
        raise SyscallTrap(next_eip)

    def handle_fault(self, e):
        if isinstance(e, TBRestart):
            return
        if isinstance(e, SyscallTrap):
            self.env_q[st.RIP] = e.next_eip
            self.process.on_syscall(self)
            return
        if isinstance(e, CPUHalt):                 # HLT at CPL 3 is #GP, as on hardware
            e = X86Exception(st.EXCP0D_GPF, 0)
        if isinstance(e, X86Exception):
            if e.next_eip is not None and e.is_int:
                self.env_q[st.RIP] = e.next_eip
            self.process.on_trap(self, e)
            return
        raise e
