"""``-accel kvm`` for the x86 machines (pc, microvm): one vCPU on /dev/kvm.

What it does, in QEMU's terms:

* ``kvm_init``: open /dev/kvm (a failure gives QEMU's message ``failed to
  initialize kvm: No such file or directory``), create the VM, set the
  identity-map and TSS pages where QEMU puts them, listen to the system
  AddressSpace for RAM slots (:mod:`.memory`), create vCPU 0 with the CPUID
  of the TCG feature model (``qemu_py.target.i386.cpuid``) masked by what
  KVM supports (the supported set, if that model is missing);
* exits: port I/O to the machine's ``io_as``, MMIO to ``system_as``
  (``read_value``/``write_value``, so devices see exactly what TCG and qtest
  would give them), HLT (the vCPU sleeps until an interrupt it would take),
  SHUTDOWN (a triple fault: guest reset), internal errors and failed entries
  (run state ``internal-error``, with a register dump on stderr; when no
  monitor or qtest client could inspect or resume the machine, qemu-py then
  exits with status 1 instead of waiting forever);
* the local APIC: no in-kernel irqchip, so the same model TCG uses
  (``qemu_py.target.i386.apic``) sits in system memory at the base in
  IA32_APIC_BASE (moved when the guest relocates or disables it; KVM reports
  the MSR in ``kvm_run.apic_base``); with no memory slot there, every access
  is an MMIO exit to the model. Its timer runs on the virtual clock; TPR
  follows CR8 through ``kvm_run.cr8`` both ways (as QEMU's
  kvm_arch_pre_run/post_run);
* interrupts: the 8259's INTR output drives the APIC's LINT0, the I/O APIC's
  messages go to the APIC (its EOI broadcast back), as under TCG. A pending
  vector (APIC IRR, or the 8259 through ExtINT) is acknowledged and injected
  with KVM_INTERRUPT when KVM says the guest is interruptible, otherwise an
  interrupt window is requested; NMIs with KVM_NMI;
* ``-kernel``: the board's prepared boot (``machine.kernel_boot``, see
  :mod:`qemu_py.loader.x86boot`, shared with TCG) is written to RAM at every
  reset and the vCPU enters it through KVM_SET_SREGS/KVM_SET_REGS;
* scheduling: the vCPU runs inside the single-threaded main loop, in slices.
  An eventfd registered with the loop is readable while the vCPU is runnable,
  so each loop iteration serves descriptors and timers and then runs one
  slice; a slice ends at the next timer deadline (10 ms at most) through the
  per-thread kick timer of :mod:`.kick` (KVM_RUN returns EINTR).

Registers for the monitor: ``cpu.get_regs()``/``set_regs()``/``get_sregs()``/
``set_sregs()`` (dicts, see :mod:`.kvm`) and ``dump_state()`` (``info
registers``).
"""

from __future__ import annotations

import os
import sys
import time

from . import abi
from .kick import RunTimer
from .irq import UserspaceIRQ
from .kvm import KVM, KVMError
from .memory import KVMMemoryListener
from ...system.startup import StartupError

MAX_SLICE_NS = 10_000_000
MIN_SLICE_NS = 50_000


def x86_reset_sregs() -> dict:
    seg = {"base": 0, "limit": 0xFFFF, "selector": 0, "type": 3, "present": 1, "dpl": 0,
           "db": 0, "s": 1, "l": 0, "g": 0, "avl": 0, "unusable": 0}
    out = {n: dict(seg) for n in ("ds", "es", "fs", "gs", "ss")}
    out["cs"] = dict(seg, selector=0xF000, base=0xFFFF0000, type=0xB)
    out["tr"] = dict(seg, type=0xB, s=0)
    out["ldt"] = dict(seg, type=2, s=0)
    out["gdt"] = {"base": 0, "limit": 0xFFFF}
    out["idt"] = {"base": 0, "limit": 0xFFFF}
    out.update(cr0=0x60000010, cr2=0, cr3=0, cr4=0, cr8=0, efer=0)
    return out


def boot_sregs(entry, apic_base: int = 0) -> dict:
    """KVM_SET_SREGS values for a direct kernel boot's entry state
    (:class:`qemu_py.loader.x86boot.EntryState`)."""
    out = x86_reset_sregs()
    for name, seg in entry.segments().items():
        out[name] = seg.kvm_fields()
    out["tr"] = entry.tr.kvm_fields()
    out["gdt"] = {"base": entry.gdt_base, "limit": entry.gdt_limit}
    out["idt"] = {"base": 0, "limit": 0}
    out.update(cr0=entry.cr0, cr3=entry.cr3, cr4=entry.cr4, efer=entry.efer)
    out["apic_base"] = apic_base
    return out


def boot_regs(entry) -> dict:
    regs = reset_regs()
    regs.update(rax=entry.rax, rbx=entry.rbx, rsi=entry.rsi, rdx=0, rip=entry.rip, rflags=entry.rflags)
    return regs


def reset_regs() -> dict:
    regs = {n: 0 for n in ("rax", "rbx", "rcx", "rsi", "rdi", "rsp", "rbp", "r8", "r9",
                           "r10", "r11", "r12", "r13", "r14", "r15")}
    regs.update(rdx=0x663, rip=0xFFF0, rflags=0x2)
    return regs


def cpuid_entries(supported: list[dict]) -> list[dict]:
    """The TCG feature model's CPUID, feature words masked by KVM's supported set."""
    try:
        from qemu_py.target.i386 import cpuid as model
    except ImportError:
        return supported
    sup = {(e["function"], e["index"]): e for e in supported}

    def masked(leaf, sub, regs):
        s = sup.get((leaf, sub)) or sup.get((leaf, 0))
        eax, ebx, ecx, edx = regs
        feature_words = {1: (False, False, True, True), 7: (False, True, True, True),
                         0x80000001: (False, False, True, True)}
        if leaf in feature_words and s is not None:
            m = feature_words[leaf]
            vals = [eax, ebx, ecx, edx]
            for i, name in enumerate(("eax", "ebx", "ecx", "edx")):
                if m[i]:
                    vals[i] &= s[name] | (1 << 31 if leaf == 1 and name == "ecx" else 0)
            eax, ebx, ecx, edx = vals
        return eax, ebx, ecx, edx

    out = []
    max_basic = model.cpuid(None, 0, 0)[0]
    max_ext = model.cpuid(None, 0x80000000, 0)[0]
    for leaf in list(range(0, max_basic + 1)) + list(range(0x80000000, max_ext + 1)):
        subs = (0, 1) if leaf in (7, 0xD) else (0,)
        for sub in subs:
            regs = masked(leaf, sub, model.cpuid(None, leaf, sub))
            flags = abi.KVM_CPUID_FLAG_SIGNIFCANT_INDEX if leaf in (7, 0xD) else 0
            out.append({"function": leaf, "index": sub, "flags": flags, "eax": regs[0],
                        "ebx": regs[1], "ecx": regs[2], "edx": regs[3]})
    return out


class KVMCPU:
    """vCPU 0 as the monitor sees it."""

    cpu_index = 0

    def __init__(self, accel: "KVMAccel"):
        self.accel = accel
        self.vcpu = accel.vcpu
        self.apic = accel.irq.apic

    def canonical_path(self) -> str:
        return "/machine/unattached/device[0]"

    def get_regs(self) -> dict:
        return self.vcpu.get_regs()

    def set_regs(self, values: dict):
        self.vcpu.set_regs(values)

    def get_sregs(self) -> dict:
        return self.vcpu.get_sregs()

    def set_sregs(self, values: dict):
        self.vcpu.set_sregs(values)

    def dump_state(self) -> str:
        r, s = self.get_regs(), self.get_sregs()
        names = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                 "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15")
        lines = [" ".join(f"{n.upper():<3}={r[n]:016x}" for n in names[i:i + 4])
                 for i in range(0, 16, 4)]
        fl = r["rflags"]
        bits = "".join(ch if fl & m else "-" for ch, m in (
            ("D", 0x400), ("O", 0x800), ("S", 0x80), ("Z", 0x40), ("A", 0x10), ("P", 4),
            ("C", 1)))
        cpl = s["ss"]["dpl"] if s["cr0"] & 1 else 0
        lines.append(f"RIP={r['rip']:016x} RFL={fl:08x} [{bits}] CPL={cpl} II=0 A20=1 SMM=0 "
                     f"HLT={int(self.accel.halted)}")
        for n in ("es", "cs", "ss", "ds", "fs", "gs"):
            g = s[n]
            flags = (g["type"] << 8) | (g["s"] << 12) | (g["dpl"] << 13) | (g["present"] << 15) \
                | (g["avl"] << 20) | (g["l"] << 21) | (g["db"] << 22) | (g["g"] << 23)
            lines.append(f"{n.upper():<3}={g['selector']:04x} {g['base']:016x} "
                         f"{g['limit']:08x} {flags:08x}")
        for n, label in (("ldt", "LDT"), ("tr", "TR ")):
            g = s[n]
            lines.append(f"{label}={g['selector']:04x} {g['base']:016x} {g['limit']:08x} "
                         f"{(g['type'] << 8) | (g['present'] << 15):08x}")
        lines.append(f"GDT=     {s['gdt']['base']:016x} {s['gdt']['limit']:08x}")
        lines.append(f"IDT=     {s['idt']['base']:016x} {s['idt']['limit']:08x}")
        lines.append(f"CR0={s['cr0']:08x} CR2={s['cr2']:016x} CR3={s['cr3']:016x} "
                     f"CR4={s['cr4']:08x}")
        lines.append(f"EFER={s['efer']:016x}")
        return "\n".join(lines) + "\n"


class KVMAccel:
    """KVM for one machine: VM, memory slots, vCPU 0, exits, interrupts, scheduling."""

    def __init__(self, vmstate, machine, loop, device: str = "/dev/kvm"):
        cfg = getattr(vmstate, "config", None)
        if cfg is not None and cfg.icount is not None:
            raise StartupError("-icount is not allowed with hardware virtualization")
        self.vmstate = vmstate
        self.machine = machine
        self.loop = loop
        self.limitations = host_limitations(device)
        self.kvm = KVM(device)
        self.vm = self.kvm.create_vm()
        for setter in (self.vm.set_identity_map_addr, self.vm.set_tss_addr):
            try:
                setter()
            except KVMError:
                pass                      # only needed on Intel hosts without unrestricted guest
        self.listener = KVMMemoryListener(self.vm)
        machine.system_as.add_listener(self.listener)
        self.vcpu = self.vm.create_vcpu(0)
        self.vcpu.set_cpuid(cpuid_entries(self.kvm.supported_cpuid()))
        self.timer = RunTimer(self.vcpu)
        self.halted = False
        self.exits: dict[str, int] = {}
        self.error: str | None = None
        self._efd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._runnable = False
        loop.add_reader(self._efd, self._slice)
        self._connect_interrupts()
        self.cpu = KVMCPU(self)
        self.reset()
        vmstate.reset_handlers.append(self.reset)
        vmstate.add_event_listener(self._on_event)
        if not getattr(machine, "cpus", None):
            machine.cpus = [self.cpu]

    # -- wiring ---------------------------------------------------------------------------------------
    def _connect_interrupts(self):
        """The local APIC in system memory, the 8259 on its LINT0, the I/O APIC's
        messages to it (as the TCG accelerator wires them); see :mod:`.irq`."""
        from qemu_py.qom import IRQ
        from qemu_py.target.i386.apic import LocalAPIC
        m = self.machine
        x86 = getattr(m, "system_memory", None) is not None and hasattr(m, "io_memory")
        clock = self.vmstate.clock
        pic = getattr(m, "pic", None)
        self.irq = UserspaceIRQ(self.vcpu, (lambda cpu: LocalAPIC(cpu, clock)) if x86 else None,
                                pic, on_work=self._wake)
        apic = self.apic = self.irq.apic
        if apic is not None:
            apic.map_into(m.system_memory)
            ioapic = getattr(m, "ioapic", None)
            if ioapic is not None:
                ioapic.deliver = apic.deliver_msi
                apic.eoi_hook = ioapic.eoi_broadcast
        if pic is not None:
            pic.master.connect_gpio_out(0, IRQ(self.irq.set_intr))

    def _wake(self):
        if self.halted:
            self.halted = False               # HLT ends on an interrupt it takes
            self._update_runnable()

    def _on_event(self, name, data, ts):
        # RESUME is sent before the run state changes: look again once it has
        if name in ("RESUME", "STOP", "RESET", "SHUTDOWN"):
            self._update_runnable()
            self.loop.call_soon(self._update_runnable)

    def _update_runnable(self):
        want = self.vmstate.running and not self.halted and self.error is None
        if want and not self._runnable:
            os.eventfd_write(self._efd, 1)
        elif not want and self._runnable:
            try:
                os.eventfd_read(self._efd)
            except BlockingIOError:
                pass
        self._runnable = want

    # -- state ---------------------------------------------------------------------------------------------
    def reset(self):
        self.irq.reset()
        apic = self.apic
        base = apic.base_msr if apic is not None else 0
        boot = getattr(self.machine, "kernel_boot", None)
        if boot is None:
            sregs, regs = x86_reset_sregs(), reset_regs()
            sregs["apic_base"] = base
        else:
            boot.load(self.machine.system_as)
            boot.apply_apic(apic)
            sregs, regs = boot_sregs(boot.entry, base), boot_regs(boot.entry)
        self.vcpu.set_sregs(sregs)
        self.vcpu.set_regs(regs)
        self.halted = False
        self.error = None
        self._update_runnable()

    # -- running ---------------------------------------------------------------------------------------------
    def _slice(self):
        if not self._runnable:
            try:
                os.eventfd_read(self._efd)
            except BlockingIOError:
                pass
            return
        clock = self.vmstate.clock
        deadline = clock.deadline()
        budget = MAX_SLICE_NS if deadline < 0 else max(MIN_SLICE_NS,
                                                        min(deadline, MAX_SLICE_NS))
        end = time.monotonic_ns() + budget
        run = self.vcpu.run_struct
        while self._runnable:
            left = end - time.monotonic_ns()
            if left <= 0:
                break
            deadline = clock.deadline()      # a timer armed during this slice (APIC, PIT)
            if deadline == 0:
                break
            if deadline > 0:
                left = min(left, max(deadline, MIN_SLICE_NS))
            self.irq.pre_run(run)
            self.timer.arm(left)
            try:
                reason = self.vcpu.run()
            finally:
                self.timer.disarm()
            self.irq.post_run(run)
            name = abi.EXIT_REASONS.get(reason, str(reason))
            self.exits[name] = self.exits.get(name, 0) + 1
            if reason == abi.KVM_EXIT_INTR:
                break
            if not self._handle_exit(reason, run):
                break
        self._update_runnable()

    def _handle_exit(self, reason: int, run) -> bool:
        """Handle one exit; False ends the slice."""
        m = self.machine
        if reason == abi.KVM_EXIT_IO:
            io = run.u.io
            size, port, count = io.size, io.port, io.count
            data = self.vcpu.io_data(size, count)
            for i in range(count):
                piece = data[i * size:(i + 1) * size]
                if io.direction == abi.KVM_EXIT_IO_OUT:
                    m.io_as.write_value(port, int.from_bytes(piece, "little"), size)
                else:
                    v = m.io_as.read_value(port, size)[0]
                    piece[:] = v.to_bytes(size, "little")
            return self.vmstate.running
        if reason == abi.KVM_EXIT_MMIO:
            mm = run.u.mmio
            n = mm.len
            if mm.is_write:
                m.system_as.write_value(mm.phys_addr, int.from_bytes(bytes(mm.data[:n]),
                                                                     "little"), n)
            else:
                v = m.system_as.read_value(mm.phys_addr, n)[0]
                for i, b in enumerate(v.to_bytes(n, "little")):
                    mm.data[i] = b
            return self.vmstate.running
        if reason in (abi.KVM_EXIT_IRQ_WINDOW_OPEN, abi.KVM_EXIT_SET_TPR):
            return True                          # CR8 was taken by post_run
        if reason == abi.KVM_EXIT_HLT:
            # a pending interrupt ends HLT only when the guest accepts it
            if not self.irq.has_work(run.if_flag):
                self.halted = True
            return False
        if reason == abi.KVM_EXIT_SHUTDOWN:
            self.vmstate.system_reset("guest-reset", guest=True)
            return False
        if reason == abi.KVM_EXIT_SYSTEM_EVENT:
            kind = run.u.system_event.type
            if kind == abi.KVM_SYSTEM_EVENT_RESET:
                self.vmstate.system_reset("guest-reset", guest=True)
            else:
                self.vmstate.request_shutdown("guest-shutdown", guest=True)
            return False
        self._fail(reason, run)
        return False

    def _fail(self, reason: int, run):
        name = abi.EXIT_REASONS.get(reason, str(reason))
        text = f"KVM: unhandled exit {name}"
        if reason == abi.KVM_EXIT_INTERNAL_ERROR:
            sub = run.u.internal.suberror
            text = f"KVM internal error. Suberror: {sub}"
            if sub == abi.KVM_INTERNAL_ERROR_EMULATION and run.u.internal.ndata >= 3:
                raw = b"".join(run.u.internal.data[i].to_bytes(8, "little") for i in (1, 2))
                text += f"\nemulation failure, instruction bytes: {raw[1:1 + raw[0]].hex(' ')}"
        elif reason == abi.KVM_EXIT_FAIL_ENTRY:
            text = (f"KVM: entry failed, hardware error "
                    f"{run.u.fail_entry.hardware_entry_failure_reason:#x}")
        self.error = text
        print(text, file=sys.stderr)
        try:
            print(self.cpu.dump_state(), file=sys.stderr, end="")
        except KVMError:
            pass
        self.vmstate.stop("internal-error")
        if not self._inspectable():
            # QEMU would stay paused for a monitor; with none nothing could resume it
            print("qemu-py: KVM: the vCPU cannot continue and no monitor is attached; "
                  "exiting", file=sys.stderr)
            self.vmstate.request_shutdown("host-error", exit_code=1)

    def _inspectable(self) -> bool:
        cfg = getattr(self.vmstate, "config", None)
        return bool(getattr(self.vmstate, "qtest", None) is not None or
                    (cfg is not None and cfg.monitors))

    def close(self):
        self.loop.remove_reader(self._efd)
        os.close(self._efd)
        self.machine.system_as.remove_listener(self.listener)
        self.timer.close()
        self.vm.close()
        self.kvm.close()


def host_limitations(device: str = "/dev/kvm", warn: bool = True) -> list[str]:
    """On a PVM host: what guests cannot do here (probed once per process, see
    :mod:`.probe`), each also printed as a warning. Empty on VMX/SVM hosts."""
    from . import probe
    from .host import probe_kind
    if probe_kind() != "pvm":
        return []
    found = probe.limitations(probe.cached_user_to_kernel(device))
    if warn:
        print("qemu-py: warning: -accel kvm: /dev/kvm is a PVM backend: guest kernel-mode code "
              "runs in KVM's instruction emulator (about 1 us per instruction; x87/SSE/AVX/"
              "POPCNT there stop the VM)", file=sys.stderr)
        if found:
            print(f"qemu-py: warning: -accel kvm: on this host {'; '.join(found)} (probed)",
                  file=sys.stderr)
    return found


def kvm_init_error(device: str = "/dev/kvm") -> str | None:
    """None when /dev/kvm can be opened (API 12), else QEMU's reason text."""
    try:
        KVM(device).close()
    except KVMError as e:
        return e.strerror
    return None
