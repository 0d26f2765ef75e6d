"""Interrupts for a KVM vCPU without an in-kernel irqchip (QEMU's userspace
irqchip: ``kvm_arch_pre_run``/``kvm_arch_post_run`` in target/i386/kvm.c).

:class:`UserspaceIRQ` owns the pending-interrupt bits of vCPU 0 and is the
``cpu`` the local APIC model (``qemu_py.target.i386.apic``) raises its
requests on, exactly as it does on TCG's ``X86CPU``:

* the 8259's INTR output goes to the APIC's LINT0 (ExtINT or fixed); without
  an APIC it is the CPU's INTR pin;
* ``CPU_INTERRUPT_HARD`` means "a vector is deliverable"; before each KVM_RUN
  (:meth:`pre_run`) it is acknowledged (APIC IRR -> ISR, or the 8259's
  acknowledge cycle for ExtINT) and injected with KVM_INTERRUPT when KVM
  reports the guest interruptible (``ready_for_interrupt_injection`` and
  ``if_flag``), otherwise an interrupt window is requested;
* ``CPU_INTERRUPT_NMI`` is injected with KVM_NMI;
* the APIC's TPR is CR8: written to ``kvm_run.cr8`` before the run, read back
  after it; IA32_APIC_BASE is KVM's (the guest's WRMSR) and reaches the model
  through ``kvm_run.apic_base`` after each run (:meth:`post_run`), which
  moves or unmaps the register page.

The vCPU side is two calls, ``interrupt(vector)`` and ``nmi()`` (KVM's
``VCPU``), so the logic is testable with a stand-in.
"""

from __future__ import annotations

from qemu_py.target.i386.apic import CPU_INTERRUPT_HARD, CPU_INTERRUPT_NMI, drive_intr


class UserspaceIRQ:
    def __init__(self, vcpu, apic_factory=None, pic=None, on_work=None):
        """VCPU: has interrupt(vector) and nmi(). APIC_FACTORY(cpu) makes the
        local APIC (None: no APIC, the 8259 drives INTR directly). ON_WORK():
        called when an interrupt arrives that would end a HLT (see
        :meth:`has_work`)."""
        self.vcpu = vcpu
        self.pic = pic
        self.on_work = on_work
        self.request = 0
        self.intr_level = 0
        self.if_flag = 0              # RFLAGS.IF at the last exit
        self.apic = apic_factory(self) if apic_factory is not None else None

    # -- the CPU interface the APIC model drives --------------------------------------------
    def set_irq_request(self, bits: int):
        self.request |= bits
        if self.on_work is not None and self.has_work():
            self.on_work()

    def clear_irq_request(self, bits: int):
        self.request &= ~bits

    # -- inputs ----------------------------------------------------------------------------------
    def set_intr(self, _n: int, level: int):
        """The 8259's INTR output."""
        self.intr_level = int(bool(level))
        drive_intr(self, level)

    def reset(self):
        self.request = 0
        self.if_flag = 0
        if self.apic is not None:
            self.apic.reset()
            if self.intr_level:
                self.apic.set_lint0(self.intr_level)
        elif self.intr_level:
            self.request |= CPU_INTERRUPT_HARD

    # -- state -------------------------------------------------------------------------------------
    def has_work(self, if_flag: int | None = None) -> bool:
        """Would a halted vCPU wake (QEMU's kvm_handle_halt): an NMI, or a
        deliverable interrupt with IF=1 (IF as of the last exit by default)."""
        if if_flag is None:
            if_flag = self.if_flag
        req = self.request
        return bool(req & CPU_INTERRUPT_NMI or (req & CPU_INTERRUPT_HARD and if_flag))

    def acknowledge(self):
        """The vector the CPU takes now, or None (QEMU's cpu_get_pic_interrupt)."""
        apic = self.apic
        if apic is None:
            if self.pic is not None and self.intr_level:
                return self.pic.read_irq()
            self.request &= ~CPU_INTERRUPT_HARD
            return None
        vector = apic.get_interrupt()
        if vector is None and apic.extint_pending() and self.pic is not None:
            vector = self.pic.read_irq()
        if apic.has_interrupt():
            self.request |= CPU_INTERRUPT_HARD
        else:
            self.request &= ~CPU_INTERRUPT_HARD
        return vector

    # -- around KVM_RUN ----------------------------------------------------------------------------
    def pre_run(self, run):
        """RUN is the vCPU's ``kvm_run``: inject an NMI, then one external
        interrupt if KVM says the guest takes it now, else ask for the window;
        the TPR goes to CR8."""
        if self.request & CPU_INTERRUPT_NMI:
            self.request &= ~CPU_INTERRUPT_NMI
            self.vcpu.nmi()
        if self.request & CPU_INTERRUPT_HARD:
            if run.ready_for_interrupt_injection and run.if_flag:
                vector = self.acknowledge()
                if vector is not None:
                    self.vcpu.interrupt(vector)
            run.request_interrupt_window = 1 if self.request & CPU_INTERRUPT_HARD else 0
        else:
            run.request_interrupt_window = 0
        if self.apic is not None:
            run.cr8 = self.apic.tpr >> 4

    def post_run(self, run):
        """After KVM_RUN: IF, CR8 -> TPR, IA32_APIC_BASE -> the APIC."""
        self.if_flag = run.if_flag
        apic = self.apic
        if apic is None:
            return
        if run.cr8 != apic.tpr >> 4:
            apic.set_tpr(run.cr8 << 4)
        if run.apic_base != apic.base_msr:
            apic.set_base(run.apic_base)
