"""The execution core: TB lookup, translation, chaining, invalidation, precise faults.

:class:`TCGEngine` runs one vCPU for a budget of guest instructions::

    engine.exec(budget) -> instructions retired

It looks TBs up first in the jump cache (virtual pc), then in the hash table
keyed by ``(pc, phys_pc, cs_base, flags, cflags)``, translating on a miss;
links a TB's ``goto_tb`` slot to its successor the first time that exit is
taken (direct chaining); and invalidates every TB of a physical page range
when the guest writes there (self-modifying code). A store into the TB
being executed abandons it: the state is restored to the storing
instruction, which is re-run alone in a one-instruction TB, so the
following code is retranslated from the new bytes.

Guest exceptions are Python exceptions derived from
:class:`~qemu_py.tcg.tb.GuestFault`. When one leaves a TB, the backend says
which instruction raised it (``restore_point``), the state of that
instruction's start is restored from its ``insn_start`` words, the unused
part of the instruction budget is given back, and the target delivers it.

The CPU object supplies: ``get_tb_cpu_state()``, ``get_phys_page_code(vaddr)``,
``fetch_code(vaddr, n)``, ``gen_code(tb, log_in_asm)``,
``restore_state_to_opc(tb, words)``, ``handle_fault(exc)``,
``exec_interrupt()``, ``halted``, ``rt`` (the backend Runtime), ``env_q`` and
``BUDGET_SLOT``.
"""

from __future__ import annotations

from qemu_py.system.log import LOG

from .ir import EXIT_REQUESTED, EXIT_SLOT0, EXIT_SLOT1
from .optimize import optimize
from .printer import format_ops
from .tb import CF_COUNT_MASK, CF_NOCHAIN, GuestFault, TranslationBlock

PAGE_MASK = ~0xFFF
MAX_TBS = 40000


WP_READ, WP_WRITE = 1, 2        # watchpoint kinds (QEMU's BP_MEM_READ/BP_MEM_WRITE)


class TBRestart(GuestFault):
    """The current TB was invalidated by its own store: re-run that store alone."""


class TCGEngine:
    def __init__(self, cpu, backend, *, optimize_ir: bool = True, cpu_index: int = 0):
        self.cpu = cpu
        self.backend = backend
        self.optimize_ir = optimize_ir
        self.cpu_index = cpu_index
        self.htable: dict[tuple, TranslationBlock] = {}
        self.jmp_cache: dict[int, TranslationBlock] = {}
        self.page_tbs: dict[int, list[TranslationBlock]] = {}
        self.current_tb: TranslationBlock | None = None
        self.cflags_next = 0
        self.cflags_default = 0     # 1 | CF_NOCHAIN: one instruction per TB (-one-insn-per-tb)
        self.chaining = True
        self.translations = 0
        self.invalidations = 0
        self.flushes = 0
        # debugging (gdbstub): breakpoint addresses, single-step, the stop callback
        self.breakpoints: set[int] = set()
        self.sstep = False          # run one instruction per exec() call, then report
        self.sstep_noirq = True     # ... with interrupts masked (QEMU's SSTEP_NOIRQ)
        self.bp_skip_pc: int | None = None   # resume over the breakpoint at this pc once
        self.debug_hook = None      # called with ("breakpoint", pc) or ("step", pc)
        cpu.breakpoints = self.breakpoints      # the translator ends blocks at these
        self.watchpoints: list[tuple[int, int, int]] = []   # (addr, len, WP_READ|WP_WRITE)
        self.watch_hit: tuple[int, int] | None = None       # (kind bits, hit address)
        cpu.mmu.watch_hook = self.check_watchpoint
        rt = cpu.rt
        rt.lookup_tb = self._lookup_for_chain
        rt.engine = self
        self._link = getattr(backend, "link", None)       # native chaining (llvm backend)
        self._retire = getattr(backend, "retire", None)

    # -- configuration --------------------------------------------------------------------
    def set_chaining(self, on: bool):
        self.chaining = on
        self.cpu.rt.chaining = on

    # -- lookup and translation ---------------------------------------------------------------
    def tb_find(self, pc: int, cs_base: int, flags: int, cflags: int) -> TranslationBlock:
        tb = self.jmp_cache.get(pc)
        if (tb is not None and tb.cs_base == cs_base and tb.flags == flags
                and tb.cflags == cflags and not tb.invalid):
            return tb
        phys = self.cpu.get_phys_page_code(pc) | (pc & 0xFFF)
        tb = self.htable.get((pc, phys, cs_base, flags, cflags))
        if tb is not None and len(tb.pages) == 2:
            second = self.cpu.get_phys_page_code((pc & PAGE_MASK) + 0x1000)
            if second != tb.pages[1]:
                tb = None
        if tb is None:
            tb = self.tb_gen_code(pc, cs_base, flags, cflags, phys)
        if not cflags & CF_COUNT_MASK:
            self.jmp_cache[pc] = tb
        return tb

    def tb_gen_code(self, pc, cs_base, flags, cflags, phys) -> TranslationBlock:
        if len(self.htable) >= MAX_TBS:
            self.tb_flush()
        tb = TranslationBlock(pc, cs_base, flags, cflags, phys)
        log_in_asm = None
        if LOG.enabled("in_asm"):
            log_in_asm = lambda text: LOG.write(  # noqa: E731
                "----------------\nIN: \n" + text + "\n")
        ctx = self.cpu.gen_code(tb, log_in_asm)
        ops = ctx.ops
        if LOG.enabled("op"):
            LOG.write(f"OP:\n{format_ops(ops)}")
        if self.optimize_ir:
            ops = optimize(ops, ctx, ctx.globals)
            if LOG.enabled("op_opt"):
                LOG.write(f"OP after optimization and liveness analysis:\n{format_ops(ops)}")
        rt = self.cpu.rt
        rt.chaining = self.chaining and not cflags & CF_NOCHAIN
        self.backend.compile(tb, ops, rt)
        if LOG.enabled("out_asm"):
            if tb.source is not None:
                LOG.write(f"OUT: [backend=python, {len(tb.source.splitlines())} lines]\n"
                          f"{tb.source}")
            else:
                LOG.write(f"OUT: [backend={self.backend.name}, {len(ops)} ops interpreted]\n")
        self.translations += 1
        if not cflags & CF_COUNT_MASK:
            self.htable[tb.key] = tb
            for p in tb.pages:
                self.page_tbs.setdefault(p, []).append(tb)
                self.cpu.protect_code_page(p)
        return tb

    def _lookup_for_chain(self):
        """lookup_and_goto_ptr: the successor TB, or 0 to return to the loop."""
        cpu = self.cpu
        if cpu.rt.env_q[cpu.BUDGET_SLOT] == 0 or cpu.interrupt_pending():
            return 0
        pc, cs_base, flags = cpu.get_tb_cpu_state()
        if pc in self.breakpoints:
            return 0
        tb = self.jmp_cache.get(pc)
        if (tb is not None and tb.cs_base == cs_base and tb.flags == flags and tb.cflags == 0
                and not tb.invalid):
            self.current_tb = tb
            return tb
        return 0

    # -- invalidation ------------------------------------------------------------------------------
    def tb_invalidate(self, tb: TranslationBlock):
        if tb.invalid:
            return
        tb.invalid = True
        if tb.invalid_cell is not None:
            tb.invalid_cell.value = 1            # native code sees it at its back edge
        if self._retire is not None:
            self._retire(tb)
        self.invalidations += 1
        self.htable.pop(tb.key, None)
        if self.jmp_cache.get(tb.pc) is tb:
            del self.jmp_cache[tb.pc]
        for p in tb.pages:
            lst = self.page_tbs.get(p)
            if lst is not None:
                try:
                    lst.remove(tb)
                except ValueError:
                    pass
                if not lst:
                    del self.page_tbs[p]
        for src, slot in tb.incoming:
            if src.jmp_dest[slot] is tb:
                src.jmp_dest[slot] = None
                if self._link is not None:
                    self._link(src, slot, None)
        tb.incoming = []
        for slot in (0, 1):
            dst = tb.jmp_dest[slot]
            if dst is not None:
                tb.jmp_dest[slot] = None
                try:
                    dst.incoming.remove((tb, slot))
                except ValueError:
                    pass

    def invalidate_phys_range(self, pa: int, size: int, from_cpu_store: bool = True):
        """Invalidate TBs overlapping [pa, pa+size); abandon the current TB if hit."""
        end = pa + size
        cur = self.current_tb
        hit_current = False
        for page in range(pa & PAGE_MASK, end, 0x1000):
            for tb in list(self.page_tbs.get(page, ())):
                if self._overlaps(tb, pa, end):
                    if tb is cur:
                        hit_current = True
                    self.tb_invalidate(tb)
        if hit_current and from_cpu_store and cur.icount > 1:
            self.cflags_next = 1 | CF_NOCHAIN
            raise TBRestart("store into the executing TB")

    @staticmethod
    def _overlaps(tb: TranslationBlock, pa: int, end: int) -> bool:
        start = tb.phys_pc
        tb_end = start + tb.size
        if len(tb.pages) == 1 or (tb_end & PAGE_MASK) == (start & PAGE_MASK):
            return pa < tb_end and start < end
        first_len = ((start & PAGE_MASK) + 0x1000) - start
        if pa < start + first_len and start < end:
            return True
        p2 = tb.pages[1]
        return pa < p2 + (tb.size - first_len) and p2 < end

    def is_code_page(self, ppage: int) -> bool:
        return ppage in self.page_tbs

    def tb_flush(self):
        for tb in list(self.htable.values()):
            tb.invalid = True
            if tb.invalid_cell is not None:
                tb.invalid_cell.value = 1
            if self._retire is not None:
                self._retire(tb)
            tb.jmp_dest[0] = tb.jmp_dest[1] = None
        self.htable.clear()
        self.jmp_cache.clear()
        self.page_tbs.clear()
        self.flushes += 1

    # -- debugging ---------------------------------------------------------------------------
    def set_breakpoints(self, addrs):
        """Replace the breakpoint set; translated code is dropped so that blocks
        end at the new addresses (guest memory is never written)."""
        new = set(addrs)
        if new != self.breakpoints:
            self.breakpoints = new
            self.cpu.breakpoints = new
            self.tb_flush()

    def set_watchpoints(self, wps):
        """Replace the watchpoints ((vaddr, len, WP_READ|WP_WRITE) each); their pages
        leave the TLB fast path so every access to them is checked."""
        self.watchpoints = list(wps)
        vpns = set()
        for addr, length, _kind in self.watchpoints:
            for page in range(addr >> 12, ((addr + max(length, 1) - 1) >> 12) + 1):
                vpns.add(page)
        self.cpu.mmu.set_watch_pages(vpns)

    def check_watchpoint(self, addr: int, size: int, is_write: bool):
        """Before a slow-path access: a hit stops the CPU after this instruction."""
        want = WP_WRITE if is_write else WP_READ
        for wa, wl, kind in self.watchpoints:
            if kind & want and addr < wa + wl and wa < addr + size:
                break
        else:
            return
        cur = self.current_tb
        if cur is not None and cur.icount > 1:
            # re-run this instruction alone so that it completes, then stop
            self.cflags_next = 1 | CF_NOCHAIN
            raise TBRestart("watchpoint hit")
        if self.watch_hit is None:
            self.watch_hit = (kind, max(addr, wa))
        self.cpu.request_exit()

    def _debug_stop(self, kind: str, pc: int):
        self.cpu.stop_request = True
        if self.debug_hook is not None:
            self.debug_hook(kind, pc)

    def flush_jmp_cache(self):
        self.jmp_cache.clear()

    # -- running -------------------------------------------------------------------------------------
    def exec(self, budget: int) -> int:
        """Run up to BUDGET instructions; returns how many were retired."""
        cpu = self.cpu
        env = cpu.rt.env_q
        slot = cpu.BUDGET_SLOT
        cpu.budget_reserve = 0
        cpu.stop_request = False
        env[slot] = budget
        last_tb = None
        last_slot = -1
        log_exec = LOG.enabled("exec")
        log_cpu = LOG.enabled("cpu")
        log_fpu = LOG.enabled("fpu")
        sstep = self.sstep
        if sstep:
            env[slot] = budget = 1
        while True:
            if cpu.interrupt_request and not (sstep and self.sstep_noirq):
                if cpu.exec_interrupt():
                    last_tb = None
            if self.watch_hit is not None:
                self._debug_stop("watch", cpu.get_tb_cpu_state()[0])
                break
            if cpu.halted or cpu.stop_request:
                break
            left = env[slot]
            if left == 0:
                break
            pc, cs_base, flags = cpu.get_tb_cpu_state()
            if self.breakpoints and pc in self.breakpoints:
                if self.bp_skip_pc == pc:
                    self.bp_skip_pc = None
                    self.cflags_next = 1 | CF_NOCHAIN
                else:
                    self._debug_stop("breakpoint", pc)
                    break
            self.bp_skip_pc = None
            if sstep:
                self.cflags_next = 1 | CF_NOCHAIN
            cflags = self.cflags_next or self.cflags_default
            self.cflags_next = 0
            try:
                tb = self.tb_find(pc, cs_base, flags, cflags)
            except GuestFault as e:
                cpu.handle_fault(e)
                last_tb = None
                continue
            if tb.icount > left:
                if cpu.icount_exact and not cflags:
                    self.cflags_next = left | CF_NOCHAIN
                    last_tb = None
                    continue
                break
            if (last_tb is not None and self.chaining and not tb.cflags
                    and not last_tb.cflags and not last_tb.invalid and not tb.invalid
                    and last_tb.jmp_dest[last_slot] is None):
                last_tb.jmp_dest[last_slot] = tb
                tb.incoming.append((last_tb, last_slot))
                if self._link is not None:
                    self._link(last_tb, last_slot, tb)
            last_tb = None
            if log_exec:
                LOG.write(f"Trace {self.cpu_index}: {id(tb):#x} [{cs_base:016x}/{pc:016x}/"
                          f"{flags:08x}/{tb.cflags:08x}] \n")
            if log_cpu:
                LOG.write(cpu.dump_state(fpu=True) if log_fpu else cpu.dump_state())
            self.current_tb = tb
            try:
                r = tb.fn()
                while r.__class__ is TranslationBlock:
                    self.current_tb = tb = r
                    r = tb.fn()
                tb = self.current_tb      # native code may have chained on to other TBs
            except GuestFault as e:
                self.restore_after_fault(self.current_tb, e)
                self.current_tb = None
                cpu.handle_fault(e)
                continue
            finally:
                self.current_tb = None
            if r == EXIT_SLOT0 or r == EXIT_SLOT1:
                if not tb.invalid and not tb.cflags:
                    last_tb = tb
                    last_slot = r - EXIT_SLOT0
            elif r == EXIT_REQUESTED:
                if env[slot] != 0 and tb.icount > env[slot]:
                    if cpu.icount_exact:
                        self.cflags_next = env[slot] | CF_NOCHAIN
                        continue
                    break
        left = env[slot] + cpu.budget_reserve
        env[slot] = 0
        cpu.budget_reserve = 0
        if self.watch_hit is not None and not cpu.stop_request:
            self._debug_stop("watch", cpu.get_tb_cpu_state()[0])
        elif sstep and not cpu.stop_request:
            self._debug_stop("step", cpu.get_tb_cpu_state()[0])
        return budget - left

    def restore_after_fault(self, tb: TranslationBlock, exc: BaseException):
        cpu = self.cpu
        insn, values = self.backend.restore_point(tb, exc)
        env = cpu.rt.env_q
        if values:
            for t, v in values.items():
                env[t.offset >> 3] = v
        if insn < 0:
            return
        cpu.restore_state_to_opc(tb, tb.insn_data[insn])
        unused = tb.icount - insn - (1 if getattr(exc, "completes_insn", False) else 0)
        slot = cpu.BUDGET_SLOT
        if env[slot] == 0 and cpu.budget_reserve:
            cpu.budget_reserve += unused
        else:
            env[slot] += unused
