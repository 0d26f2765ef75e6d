"""What the stub debugs: a target of one or more CPUs.

The stub talks only to this interface, so system mode (the machine and its
run state) and a future user mode (one process, its threads) plug in the same
way.  ``SystemTarget`` drives the TCG CPU of a machine.
"""
from __future__ import annotations

from qemu_py.target.i386 import gdb_mem, gdb_regs
from qemu_py.target.i386.gdb_xml import target_xml


class GdbTargetError(Exception):
    pass


class SystemTarget:
    """System emulation: the machine's vCPUs, stopped and resumed with the VM."""

    def __init__(self, vm, cpus):
        self.vm = vm
        self.cpus = list(cpus)
        self.on_stop = None        # stub callback: (kind, cpu_index, detail)
        self.breakpoints: set[int] = set()
        self.watchpoints: list[tuple[int, int, int]] = []   # (addr, len, WP_* bits)
        for i, cpu in enumerate(self.cpus):
            cpu.engine.debug_hook = (lambda kind, pc, i=i: self._hit(kind, i, pc))

    # -- description -------------------------------------------------------------------
    def xml(self) -> str:
        return target_xml()

    def thread_ids(self) -> list[int]:
        return list(range(1, len(self.cpus) + 1))

    def cpu(self, tid: int):
        return self.cpus[tid - 1]

    # -- registers and memory ------------------------------------------------------------
    def read_registers(self, tid: int) -> bytes:
        return gdb_regs.read_all(self.cpu(tid))

    def write_registers(self, tid: int, data: bytes) -> bool:
        return gdb_regs.write_all(self.cpu(tid), data)

    def read_register(self, tid: int, n: int) -> bytes | None:
        return gdb_regs.read_register(self.cpu(tid), n)

    def write_register(self, tid: int, n: int, data: bytes) -> bool:
        return gdb_regs.write_register(self.cpu(tid), n, data) > 0

    def read_memory(self, tid: int, addr: int, length: int, physical: bool) -> bytes | None:
        return gdb_mem.memory_rw_debug(self.cpu(tid), addr, length, physical=physical)

    def write_memory(self, tid: int, addr: int, data: bytes, physical: bool) -> bool:
        return gdb_mem.memory_rw_debug(self.cpu(tid), addr, 0, data, physical) is not None

    # -- breakpoints ---------------------------------------------------------------------
    def insert_breakpoint(self, addr: int):
        self.breakpoints.add(addr)
        self._sync_breakpoints()

    def remove_breakpoint(self, addr: int) -> bool:
        if addr not in self.breakpoints:
            return False
        self.breakpoints.discard(addr)
        self._sync_breakpoints()
        return True

    def insert_watchpoint(self, addr: int, length: int, kind: int):
        self.watchpoints.append((addr, length, kind))
        self._sync_watchpoints()

    def remove_watchpoint(self, addr: int, length: int, kind: int) -> bool:
        try:
            self.watchpoints.remove((addr, length, kind))
        except ValueError:
            return False
        self._sync_watchpoints()
        return True

    def _sync_watchpoints(self):
        for cpu in self.cpus:
            cpu.engine.set_watchpoints(self.watchpoints)

    def remove_all(self):
        self.breakpoints.clear()
        self._sync_breakpoints()
        if self.watchpoints:
            self.watchpoints.clear()
            self._sync_watchpoints()

    def _sync_breakpoints(self):
        for cpu in self.cpus:
            cpu.engine.set_breakpoints(self.breakpoints)

    # -- execution -----------------------------------------------------------------------
    def is_running(self) -> bool:
        return self.vm.running

    def resume(self, step_tid: int | None = None, noirq: bool = True, notimer: bool = True):
        """Continue every CPU; with STEP_TID, that CPU runs one instruction.

        NOIRQ: the step takes no interrupt; NOTIMER: the virtual clock stays
        stopped for the step, so no timer fires (QEMU's SSTEP_NOIRQ/NOTIMER)."""
        for i, cpu in enumerate(self.cpus):
            eng = cpu.engine
            eng.sstep = step_tid == i + 1
            eng.sstep_noirq = noirq
            pc = cpu.get_tb_cpu_state()[0]
            # resuming at a breakpoint executes that instruction first (as QEMU)
            eng.bp_skip_pc = pc if pc in eng.breakpoints else None
        self.vm.start()
        if step_tid is not None and notimer:
            self.vm.clock.disable()

    def stop(self):
        """Ctrl-C: stop the machine (QEMU's vm_stop(RUN_STATE_PAUSED))."""
        self.vm.stop("paused")

    def detach(self):
        """The debugger leaves: drop its breakpoints and let the guest run on."""
        self.remove_all()
        for cpu in self.cpus:
            cpu.engine.sstep = False
        self.vm.start()

    def kill(self):
        """``k``/``vKill``: the emulator ends with status 0 (QEMU exits at once,
        without a SHUTDOWN event)."""
        self.vm.exit_now(0)

    def on_exit(self, fn):
        """Call FN() when the machine shuts down and the process is to end."""
        vm = self.vm

        def listener(name, data, _ts):
            if name == "SHUTDOWN" and not (data and data.get("guest") and vm.no_shutdown):
                fn()
        vm.add_event_listener(listener)

    def _hit(self, kind: str, index: int, pc: int):
        detail = None
        eng = self.cpus[index].engine
        if kind == "watch":
            detail, eng.watch_hit = eng.watch_hit, None    # (WP_* bits, address)
        for cpu in self.cpus:
            cpu.engine.sstep = False
        self.vm.stop("debug")
        if self.on_stop is not None:
            self.on_stop(kind, index + 1, detail)
