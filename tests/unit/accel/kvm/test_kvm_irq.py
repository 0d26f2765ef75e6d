"""The local APIC under KVM without /dev/kvm: the userspace irqchip
(accel/kvm/irq.py) around a real ``kvm_run`` struct, the APIC model in a
memory tree, the virtual clock and a recording stand-in for the vCPU ioctls."""

from __future__ import annotations

from qemu_py.accel.kvm import abi
from qemu_py.accel.kvm.irq import UserspaceIRQ
from qemu_py.memory import AddressSpace, MemoryRegion
from qemu_py.system.clock import VirtualClock
from qemu_py.target.i386 import apic as apic_mod
from qemu_py.target.i386.apic import APIC_DEFAULT_BASE, LocalAPIC

APIC = APIC_DEFAULT_BASE


class FakeVCPU:
    """Records KVM_INTERRUPT and KVM_NMI."""

    def __init__(self):
        self.injected: list[int] = []
        self.nmis = 0

    def interrupt(self, vector: int):
        self.injected.append(vector)

    def nmi(self):
        self.nmis += 1


class FakePIC:
    def __init__(self, vector=0x20):
        self.vector = vector
        self.acks = 0

    def read_irq(self):
        self.acks += 1
        return self.vector


def make(pic=None):
    clock = VirtualClock("manual")
    clock.enable()
    root = MemoryRegion("system", 1 << 32)
    woken = []
    vcpu = FakeVCPU()
    irq = UserspaceIRQ(vcpu, lambda cpu: LocalAPIC(cpu, clock), pic,
                       on_work=lambda: woken.append(clock.now()))
    irq.apic.map_into(root)
    return irq, vcpu, clock, AddressSpace(root, "memory"), woken


def interruptible(run, ready=1, if_flag=1):
    run.ready_for_interrupt_injection = ready
    run.if_flag = if_flag
    return run


def arm_timer(mem, count=1000, vector=0x40):
    mem.write_value(APIC + 0xF0, 0x1FF, 4)        # software enable
    mem.write_value(APIC + 0x3E0, 0xB, 4)         # divide by 1
    mem.write_value(APIC + 0x320, vector, 4)      # one-shot
    mem.write_value(APIC + 0x380, count, 4)


def test_request_bits_are_the_tcg_cpus():
    from qemu_py.target.i386 import cpu
    assert (apic_mod.CPU_INTERRUPT_HARD, apic_mod.CPU_INTERRUPT_NMI) == \
        (cpu.CPU_INTERRUPT_HARD, cpu.CPU_INTERRUPT_NMI)


def test_timer_interrupt_waits_for_the_window_then_is_injected_once():
    irq, vcpu, clock, mem, woken = make()
    run = abi.kvm_run()
    arm_timer(mem, 1000)
    clock.warp(999)
    irq.pre_run(interruptible(run))
    assert vcpu.injected == [] and run.request_interrupt_window == 0
    clock.warp(1000)                                       # the timer fires
    irq.pre_run(interruptible(run, ready=0))               # guest not interruptible
    assert vcpu.injected == [] and run.request_interrupt_window == 1
    irq.pre_run(interruptible(run))
    assert vcpu.injected == [0x40] and run.request_interrupt_window == 0
    assert irq.apic.isr == 1 << 0x40 and irq.apic.irr == 0
    irq.pre_run(interruptible(run))                        # in service: nothing more
    assert vcpu.injected == [0x40]
    mem.write_value(APIC + 0xB0, 0, 4)                     # EOI through the MMIO page
    assert irq.apic.isr == 0


def test_hlt_wakes_only_for_an_interrupt_it_takes():
    irq, vcpu, clock, mem, woken = make()
    run = abi.kvm_run()
    run.apic_base = irq.apic.base_msr                      # as KVM reports IA32_APIC_BASE
    irq.post_run(interruptible(run, if_flag=0))            # HLT with IF=0
    arm_timer(mem, 50)
    clock.warp(50)
    assert not irq.has_work() and woken == []
    irq.post_run(interruptible(run, if_flag=1))            # sti; hlt
    assert irq.has_work()
    irq.apic.accept(0x41)                                  # a second arrival wakes the vCPU
    assert woken == [50]


def test_8259_through_lint0_extint_is_acknowledged_at_the_pic():
    pic = FakePIC(0x28)
    irq, vcpu, clock, mem, woken = make(pic)
    irq.apic.lvt[3] = 0x700                                 # LINT0 ExtINT, as the loader sets it
    run = abi.kvm_run()
    irq.set_intr(0, 1)
    irq.pre_run(interruptible(run))
    assert vcpu.injected == [0x28] and pic.acks == 1
    irq.set_intr(0, 0)
    irq.pre_run(interruptible(run))
    assert vcpu.injected == [0x28] and run.request_interrupt_window == 0


def test_masked_lint0_keeps_the_8259_away():
    pic = FakePIC()
    irq, vcpu, clock, mem, woken = make(pic)
    run = abi.kvm_run()
    irq.set_intr(0, 1)                                      # LINT0 masked after reset
    irq.pre_run(interruptible(run))
    assert vcpu.injected == [] and pic.acks == 0


def test_without_an_apic_intr_is_the_cpu_pin():
    pic = FakePIC(0x30)
    vcpu = FakeVCPU()
    irq = UserspaceIRQ(vcpu, None, pic)
    run = interruptible(abi.kvm_run())
    irq.set_intr(0, 1)
    irq.pre_run(run)
    assert vcpu.injected == [0x30]


def test_nmi_to_self_uses_kvm_nmi():
    irq, vcpu, clock, mem, woken = make()
    mem.write_value(APIC + 0xF0, 0x1FF, 4)
    mem.write_value(APIC + 0x300, (1 << 18) | (4 << 8), 4)  # self, delivery mode NMI
    irq.pre_run(abi.kvm_run())
    assert vcpu.nmis == 1
    irq.pre_run(abi.kvm_run())
    assert vcpu.nmis == 1


def test_cr8_and_tpr_follow_each_other():
    irq, vcpu, clock, mem, woken = make()
    run = abi.kvm_run()
    run.apic_base = irq.apic.base_msr
    mem.write_value(APIC + 0x80, 0x30, 4)
    irq.pre_run(run)
    assert run.cr8 == 3
    run.cr8 = 7                                             # the guest wrote CR8
    irq.post_run(run)
    assert irq.apic.tpr == 0x70 and mem.read_value(APIC + 0x80, 4)[0] == 0x70


def test_ia32_apic_base_moves_and_unmaps_the_register_page():
    irq, vcpu, clock, mem, woken = make()
    apic = irq.apic
    run = abi.kvm_run()
    assert mem.read_value(APIC + 0x30, 4)[0] == 0x50014
    run.apic_base = 0xFED00000 | 0x900                      # relocated, BSP, enabled
    irq.post_run(run)
    assert apic.mapped_at == 0xFED00000
    assert mem.read_value(0xFED00030, 4)[0] == 0x50014
    assert mem.read_value(APIC + 0x30, 4)[0] != 0x50014     # nothing decodes the old page
    run.apic_base = 0xFED00000 | 0x100                      # globally disabled
    irq.post_run(run)
    assert apic.mapped_at is None and not apic.enabled
    assert mem.read_value(0xFED00030, 4)[0] != 0x50014
    irq.reset()                                             # reset: enabled at the default base
    assert apic.mapped_at == APIC and mem.read_value(APIC + 0x30, 4)[0] == 0x50014


def test_reset_keeps_a_raised_8259_line():
    pic = FakePIC()
    irq, vcpu, clock, mem, woken = make(pic)
    irq.set_intr(0, 1)
    irq.reset()
    irq.apic.lvt[3] = 0x700
    irq.apic.set_lint0(irq.intr_level)
    irq.pre_run(interruptible(abi.kvm_run()))
    assert vcpu.injected == [0x20]
