"""Translation blocks and the runtime interface the backends compile against.

A :class:`TranslationBlock` is keyed by its virtual ``pc``, its physical
``phys_pc``, ``cs_base``, ``flags`` and ``cflags``. Its ``fn`` is what a
backend made of its ops: a callable without arguments that runs the block
and returns either the next :class:`TranslationBlock` (a chained or looked-up
successor) or an ``EXIT_*`` code (see :mod:`qemu_py.tcg.ir`).

:class:`Runtime` is everything generated code may touch: the CPU state as
typed memoryviews of one native buffer, the softmmu TLB dictionaries and
slow paths, the helper-visible CPU object and the TB lookup used by
``lookup_and_goto_ptr``.
"""

from __future__ import annotations

from .ir import EXIT_REQUESTED

CF_COUNT_MASK = 0x1FF     # cflags: the TB holds at most this many instructions (0: no limit)
CF_NOCHAIN = 0x200        # cflags: never chain into or out of this TB
CF_LAST_IO = 0x400        # cflags: reserved (I/O as the last instruction)


class TranslationBlock:
    __slots__ = ("pc", "cs_base", "flags", "cflags", "phys_pc", "pages", "size", "icount",
                 "insn_data", "jmp_target", "jmp_dest", "incoming", "fn", "invalid",
                 "ops", "source", "line_insn", "code_name", "exec_count", "fn_native", "llvm_ir",
                 "invalid_cell", "native_slots", "native_id",
                 "__weakref__")

    def __init__(self, pc: int, cs_base: int, flags: int, cflags: int, phys_pc: int):
        self.pc = pc
        self.cs_base = cs_base
        self.flags = flags
        self.cflags = cflags
        self.phys_pc = phys_pc
        self.pages: tuple[int, ...] = ()      # physical page addresses holding its code
        self.size = 0                         # bytes of guest code
        self.icount = 0                       # guest instructions
        self.insn_data: list[tuple] = []      # insn_start words per instruction
        self.jmp_target: list = [None, None]  # known virtual target pc per goto_tb slot
        self.jmp_dest: list = [None, None]    # chained successor per slot
        self.incoming: list = []              # (tb, slot) pairs chained into us
        self.fn = None
        self.invalid = False
        self.ops = None
        self.source: str | None = None        # generated Python source (python backend)
        self.line_insn: list[int] | None = None
        self.code_name = ""
        self.exec_count = 0
        self.fn_native = None                 # the native function (llvm backend)
        self.llvm_ir: str | None = None       # its LLVM IR text (llvm backend)
        self.invalid_cell = None              # a native word set with ``invalid`` (llvm)
        self.native_slots = None              # native successor per goto_tb slot (llvm)
        self.native_id = 0

    @property
    def key(self):
        return (self.pc, self.phys_pc, self.cs_base, self.flags, self.cflags)

    def __repr__(self) -> str:
        return (f"<TB pc={self.pc:#x} phys={self.phys_pc:#x} flags={self.flags:#x} "
                f"insns={self.icount}{' invalid' if self.invalid else ''}>")


class Runtime:
    """The environment generated code runs in (one per vCPU).

    Attributes a target fills in:

    * ``env_q``/``env_l``/``env_w``/``env_b``: the CPU state buffer cast to
      u64/u32/u16/u8;
    * ``cpu``: the object passed to helpers;
    * ``tlb_read``/``tlb_write``: per MMU index, dicts from virtual page
      number to a fast entry ``(q, l, w, b)`` of page-sized memoryviews;
    * ``ld_slow(addr, memop, mmu_idx)``/``st_slow(addr, value, memop, mmu_idx)``;
    * ``lookup_tb()``: the successor TB for the current state, or an exit code;
    * ``exit_global``: the global holding the instruction budget / exit
      request word (reloaded after anything that may request an exit);
    * ``page_bits``.
    """

    def __init__(self):
        self.env_q = None
        self.env_l = None
        self.env_w = None
        self.env_b = None
        self.cpu = None
        self.tlb_read: list[dict] = []
        self.tlb_write: list[dict] = []
        self.ld_slow = None
        self.st_slow = None
        self.lookup_tb = None
        self.exit_global = None
        self.page_bits = 12
        self.chaining = True
        self.engine = None            # the TCGEngine running this runtime's code


class GuestFault(Exception):
    """Base of exceptions that leave a TB in the middle of an instruction.

    The execution loop restores the guest state of the faulting instruction
    from its ``insn_start`` data and then hands the exception to the target.
    """


__all__ = ["TranslationBlock", "Runtime", "GuestFault", "CF_COUNT_MASK", "CF_NOCHAIN",
           "CF_LAST_IO", "EXIT_REQUESTED"]
