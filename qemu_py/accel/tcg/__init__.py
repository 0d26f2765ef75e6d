"""The TCG accelerator: puts an x86-64 vCPU into an x86 machine and runs it.

``-accel tcg[,backend=python|interp|llvm|auto][,dump=DIR][,fp=on]``: the backend that
makes TBs runnable (the Python-code backend by default, the IR interpreter as
the reference, native code through LLVM, or ``auto``: Python code first,
LLVM for TBs that ran 64 times), an optional directory receiving every generated TB's Python
source, and the approximate x87 floating point (also enabled by ``-cpu max``;
see ``target/i386/insn_x87.py``; SSE/SSE2 floating point is exact and always
on). ``-icount shift=N`` makes the virtual clock advance 2**N ns per
retired instruction; ``sleep=off`` is implied (an idle CPU warps the clock to
the next timer at once), so runs are deterministic.

Wiring done by :func:`attach`: the local APIC (MMIO at IA32_APIC_BASE, 0xFEE00000
after reset, over the system memory, its timer on the virtual clock), the 8259 INTR output to the
APIC's LINT0 and the 8259 acknowledge cycle, the I/O APIC's messages to the
APIC and the APIC's EOI broadcast back; ``-kernel``/``-append``/``-initrd``:
the board prepares the boot (``machine.kernel_boot``, see
:mod:`qemu_py.loader.x86boot`, shared with KVM), each reset writes it to RAM
and :func:`enter_boot_state` sets the CPU's entry state. The run loop alternates CPU slices
with main-loop iterations (timers, chardevs, monitors).
"""

from __future__ import annotations

import sys

from qemu_py.qom import IRQ

HOST_SLICE = 20000          # instructions between main-loop polls (host clock)
ICOUNT_MAX_SLICE = 200000


class TCGConfigError(Exception):
    pass


def parse_icount(opts: dict | None) -> int | None:
    if opts is None:
        return None
    shift = opts.get("shift", "0")
    if shift == "auto":
        raise TCGConfigError("-icount shift=auto: adaptive instruction counting is not "
                             "supported by qemu-py; give a number 0..10")
    try:
        n = int(shift, 0)
    except ValueError:
        raise TCGConfigError(f"-icount shift={shift}: not a number") from None
    if not 0 <= n <= 10:
        raise TCGConfigError(f"-icount shift={shift}: must be between 0 and 10")
    if opts.get("sleep", "off") not in ("off", "on"):
        raise TCGConfigError(f"-icount sleep={opts['sleep']}: expected on or off")
    return n


class TCGAccel:
    def __init__(self, vm, machine, cfg, props: dict):
        from qemu_py.target.i386.apic import LocalAPIC
        from qemu_py.target.i386.cpu import X86CPU
        self.vm = vm
        self.machine = machine
        self.cfg = cfg
        backend = props.get("backend", "python")
        if backend not in ("python", "interp", "llvm", "auto"):
            raise TCGConfigError(f"-accel tcg,backend={backend}: unknown backend "
                                 "(known: python, interp, llvm, auto)")
        self.shift = parse_icount(cfg.icount)
        clock = vm.clock
        fp = props.get("fp", "off") == "on" or (cfg.cpu or "").split(",")[0] == "max"
        cpu = self.cpu = X86CPU(machine.system_as, machine.io_as, backend=backend,
                                dump_dir=props.get("dump"), fp=fp)
        cpu.icount_exact = self.shift is not None
        from qemu_py.system.log import LOG
        if LOG.enabled("nochain"):
            cpu.engine.set_chaining(False)          # -d nochain: every TB through the loop
        self.icount_base_ns = 0
        self.executed = 0          # icount: instructions accounted to the clock
        self.retired = 0           # every mode: instructions retired since start
        self.slice_budget = 0
        cpu.time_ns = self.now_ns
        cpu.mmu.io_hook = self.sync_clock
        apic = cpu.apic = LocalAPIC(cpu, clock)
        apic.map_into(machine.system_memory)      # at IA32_APIC_BASE, following the guest
        pic = getattr(machine, "pic", None)
        if pic is not None:
            pic.master.connect_gpio_out(0, IRQ(lambda n, level: cpu.set_intr_line(level)))
            cpu.pic_intack = pic.read_irq
        ioapic = getattr(machine, "ioapic", None)
        if ioapic is not None:
            ioapic.deliver = apic.deliver_msi
            apic.eoi_hook = ioapic.eoi_broadcast
        cpu.on_shutdown = lambda: vm.system_reset("guest-reset", guest=True)
        self._watch_ram_writes()
        machine.cpu = cpu
        vm.reset_handlers.append(self.reset)
        self.reset()

    def _watch_ram_writes(self):
        """Writes that do not come from this CPU (qtest, DMA, the monitor) drop the
        translated code they overwrite: watch every RAM region of the system
        address space and map region offsets back to guest physical addresses."""
        mappings: dict[object, list[tuple[int, int, int]]] = {}
        for fr in self.machine.system_as.flatview():
            if fr.mr.is_ram() and not fr.mr.is_ram_device():
                mappings.setdefault(fr.mr, []).append((fr.offset_in_region, fr.size, fr.start))
        invalidate = self.cpu.invalidate_code
        for mr, spans in mappings.items():
            def watch(offset, length, spans=spans):
                end = offset + length
                for base, size, pa in spans:
                    lo, hi = max(offset, base), min(end, base + size)
                    if lo < hi:
                        invalidate(pa + lo - base, hi - lo)
            mr.add_write_watcher(watch)

    # -- reset and boot ---------------------------------------------------------------------
    def reset(self):
        cpu = self.cpu
        cpu.reset()
        cpu.stop_request = False
        boot = getattr(self.machine, "kernel_boot", None)
        if boot is not None:
            boot.load(self.machine.system_as)
            enter_boot_state(cpu, boot.entry)
            boot.apply_apic(cpu.apic)
        # without -kernel the CPU starts at the reset vector (F000:FFF0), in the ROM

    # -- time -------------------------------------------------------------------------------
    def now_ns(self) -> int:
        if self.shift is None:
            return self.vm.clock.now()
        return self.icount_base_ns + ((self.executed + self._in_slice()) << self.shift)

    def _in_slice(self) -> int:
        cpu = self.cpu
        if not self.slice_budget:
            return 0
        return self.slice_budget - cpu.env_q[cpu.BUDGET_SLOT] - cpu.budget_reserve

    def sync_clock(self):
        """Before a device access: the virtual clock reads the exact instruction count."""
        if self.shift is not None and self.vm.clock.source == "icount":
            self.vm.clock.set_ns(self.now_ns())

    # -- running ----------------------------------------------------------------------------------
    def run(self, loop):
        vm = self.vm
        cpu = self.cpu
        clock = vm.clock
        icount = self.shift is not None
        if icount:
            self.icount_base_ns = clock.now()
        while not loop.quit_requested:
            if not vm.running:
                loop.iterate()
                continue
            if cpu.halted and not cpu.has_work():
                if icount:
                    nxt = clock.next_expire()
                    if nxt is not None:
                        # nothing to do until the next timer: warp to it
                        self._advance_to(max(nxt, clock.now()))
                        clock.run_timers()
                        loop.iterate(timeout=0)
                        continue
                loop.iterate()
                continue
            cpu.halted = False
            if icount:
                dl = clock.deadline()
                budget = ICOUNT_MAX_SLICE if dl < 0 else max(1, -(-dl >> self.shift))
                budget = min(budget, ICOUNT_MAX_SLICE)
            else:
                budget = HOST_SLICE
            self.slice_budget = budget
            try:
                n = cpu.exec(budget)
            finally:
                self.slice_budget = 0
            self.retired += n
            if icount:
                self.executed += n
                clock.set_ns(self.now_ns())
                clock.run_timers()
            loop.iterate(timeout=0)

    def _advance_to(self, ns: int):
        """icount idle: account the skipped time as if instructions had run."""
        base = self.icount_base_ns + (self.executed << self.shift)
        if ns > base:
            self.icount_base_ns += ns - base
        self.vm.clock.set_ns(self.now_ns())


def enter_boot_state(cpu, entry):
    """Put the TCG CPU into a direct kernel boot's entry state
    (:class:`qemu_py.loader.x86boot.EntryState`: 32-bit protected mode, flat
    segments, paging off; or long mode for the Linux 64-bit entry)."""
    from qemu_py.target.i386.seg_helper import load_seg_cache
    from qemu_py.target.i386.state import (CR0, CR3, CR4, EFER, EFLAGS, GDT_BASE, GDT_LIMIT,
                                           R_CS, R_DS, R_ES, R_FS, R_GS, R_SS, RIP, TR)
    env = cpu.env_q
    env[GDT_BASE], env[GDT_LIMIT] = entry.gdt_base, entry.gdt_limit
    env[CR0], env[CR3], env[CR4], env[EFER] = entry.cr0, entry.cr3, entry.cr4, entry.efer
    index = {"cs": R_CS, "ds": R_DS, "es": R_ES, "fs": R_FS, "gs": R_GS, "ss": R_SS}
    for name, seg in entry.segments().items():
        load_seg_cache(cpu, index[name], seg.selector, seg.base, seg.limit, seg.flags)
    tr = entry.tr
    env[TR], env[TR + 1], env[TR + 2], env[TR + 3] = tr.selector, tr.base, tr.limit, tr.flags
    env[EFLAGS] = entry.rflags
    env[RIP] = entry.rip
    cpu.set_gpr(0, entry.rax)
    cpu.set_gpr(3, entry.rbx)
    cpu.set_gpr(6, entry.rsi)
    cpu.update_hflags()
    cpu.tlb_flush()


def attach(vm, machine, cfg, props: dict):
    """Create the vCPU for MACHINE when it is an x86 board; None otherwise."""
    if cfg.target != "x86_64" or not hasattr(machine, "io_memory") or \
            getattr(machine, "MACHINE_NAME", "") == "none":
        return None
    return TCGAccel(vm, machine, cfg, props)


_ = sys
