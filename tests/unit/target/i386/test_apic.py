"""Local APIC: registers, timer on the virtual clock, interrupt delivery to
the CPU through the IDT, EOI (and its broadcast for level-triggered vectors),
MSI-style messages, ExtINT pass-through of the 8259."""

from harness import X86Bed, asm

from qemu_py.system.clock import VirtualClock
from qemu_py.target.i386.apic import APIC_DEFAULT_BASE, LocalAPIC

APIC = APIC_DEFAULT_BASE


def make(backend="python"):
    bed = X86Bed(backend)
    clock = VirtualClock("manual")
    clock.enable()
    apic = bed.cpu.apic = LocalAPIC(bed.cpu, clock)
    bed.root.add_subregion_overlap(APIC, apic.mmio, 0x1000)
    # map the APIC page in the test bed's page tables (2 MiB page at 0xFEE00000)
    return bed, clock, apic


def test_register_defaults_and_access():
    bed, clock, apic = make()
    mem = bed.mem
    assert mem.read_value(APIC + 0x30, 4)[0] == 0x00050014
    assert mem.read_value(APIC + 0xF0, 4)[0] == 0xFF
    assert mem.read_value(APIC + 0x320, 4)[0] == 0x10000        # LVT timer masked
    mem.write_value(APIC + 0x80, 0x20, 4)
    assert apic.tpr == 0x20 and mem.read_value(APIC + 0xA0, 4)[0] == 0x20


def test_one_shot_and_periodic_timer_on_the_virtual_clock():
    bed, clock, apic = make()
    w = bed.mem.write_value
    w(APIC + 0xF0, 0x1FF, 4)          # enable
    w(APIC + 0x3E0, 0xB, 4)           # divide by 1
    w(APIC + 0x320, 0x40, 4)          # one-shot, vector 0x40
    w(APIC + 0x380, 1000, 4)
    clock.warp(999)
    assert not apic.irr
    assert bed.mem.read_value(APIC + 0x390, 4)[0] == 1
    clock.warp(1000)
    assert apic.irr == 1 << 0x40
    assert apic.get_interrupt() == 0x40 and apic.isr == 1 << 0x40
    w(APIC + 0xB0, 0, 4)              # EOI
    assert apic.isr == 0
    w(APIC + 0x3E0, 0x0, 4)           # divide by 2
    w(APIC + 0x320, 0x20041, 4)       # periodic, vector 0x41
    w(APIC + 0x380, 100, 4)
    clock.warp(1000 + 200 * 3)
    assert apic.irr == 1 << 0x41      # fired (three times; IRR holds one)


def test_timer_interrupt_reaches_the_guest_through_the_idt():
    bed, clock, apic = make()
    apic.svr = 0x1FF
    bed.cpu.set_eflags(0x202, 0xFFFFFFFF)
    bed.load(asm("sti; hlt; hlt"))
    bed.cpu.exec(100)
    assert bed.cpu.halted
    apic.lvt[0] = 0x21
    apic.divide_conf = 0xB
    apic.initial_count = 50
    apic._timer_start()
    clock.warp(50)
    assert bed.cpu.has_work()
    bed.cpu.exec(100)
    assert bed.exception_vector() == 0x21


def test_msi_message_and_level_triggered_eoi_broadcast():
    bed, clock, apic = make()
    apic.svr = 0x1FF
    seen = []
    apic.eoi_hook = seen.append
    apic.deliver_msi(0xFEE00000, 0x8031)        # fixed, level-triggered, vector 0x31
    assert apic.tmr == 1 << 0x31
    assert apic.get_interrupt() == 0x31
    apic.eoi()
    assert seen == [0x31]
    apic.deliver_msi(0xFEE01000, 0x32)          # destination 1: not us
    assert not apic.irr


def test_extint_passes_the_8259_through_lint0():
    bed, clock, apic = make()
    bed.cpu.pic_intack = lambda: 0x08
    apic.lvt[3] = 0x700                         # LINT0 ExtINT
    bed.cpu.set_eflags(0x202, 0xFFFFFFFF)
    bed.load(asm("nop; nop; hlt"))
    bed.cpu.set_intr_line(True)
    bed.cpu.exec(100)
    assert bed.exception_vector() == 8


def test_priority_masks_lower_vectors():
    bed, clock, apic = make()
    apic.svr = 0x1FF
    apic.set_tpr(0x50)
    apic.accept(0x45)
    assert apic.get_interrupt() is None
    apic.accept(0x61)
    assert apic.get_interrupt() == 0x61


def test_wrmsr_apic_base_relocates_and_disables_the_register_page():
    """TCG maps the APIC where IA32_APIC_BASE says (as under KVM): WRMSR moves the page,
    clearing the global enable unmaps it, and the old page decodes nothing."""
    for backend in ("python", "interp", "llvm"):
        bed = X86Bed(backend)
        clock = VirtualClock("manual")
        clock.enable()
        apic = bed.cpu.apic = LocalAPIC(bed.cpu, clock)
        apic.map_into(bed.root)
        assert bed.mem.read_value(APIC + 0x30, 4)[0] == 0x00050014
        bed.run("mov ecx, 0x1b; mov eax, 0xfed00900; xor edx, edx; wrmsr")
        assert apic.mapped_at == 0xFED00000
        assert bed.mem.read_value(0xFED00030, 4)[0] == 0x00050014
        assert bed.mem.read_value(APIC + 0x30, 4)[0] != 0x00050014
        bed.run("mov ecx, 0x1b; mov eax, 0xfed00100; xor edx, edx; wrmsr")
        assert apic.mapped_at is None
        assert bed.mem.read_value(0xFED00030, 4)[0] != 0x00050014
