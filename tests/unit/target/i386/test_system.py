"""System mode: exceptions through the IDT, paging faults, CPL3, MSRs,
SYSCALL/SYSRET, IRETQ, port I/O, CPUID, HLT."""

from checks import flags, run_case
from harness import CODE, DATA, KCODE, RSP0, STACK, UCODE, UDATA, asm

from qemu_py.target.i386.state import CR2, LSTAR, STAR, FMASK

M64 = 2**64 - 1


def frame(bed, n=6):
    rsp = bed.cpu.gpr(4)
    return [bed.rq(rsp + 8 * i) for i in range(n)]


def test_int3_frame_and_return_address(bed):
    code = asm("nop; int3; hlt")
    bed.run(code=code)
    assert bed.exception_vector() == 3
    rip, cs, rflags, rsp, ss = frame(bed, 5)
    assert (rip, cs, rsp, ss) == (CODE + 2, KCODE, STACK, 0x10)


def test_page_fault_error_code_cr2_and_precise_state(bed):
    # unmap the page at 0x3FF000 (last 4 KiB page)
    bed.wq(bed.pte_addr(0x3FF000), 0)
    bed.cpu.tlb_flush()
    code = asm("mov rax, 1; mov rbx, 2; mov qword ptr [rcx], rax; mov rbx, 3")
    bed.run(code=code + b"\xf4", rcx=0x3FF010)
    assert bed.exception_vector() == 14
    err, rip, cs = frame(bed, 3)
    assert err == 0b010                     # not present, write, supervisor
    assert rip == CODE + 7 + 7             # the faulting store
    assert bed.env[CR2] == 0x3FF010
    assert bed.cpu.gpr(3) == 2             # rbx as before the store


def test_user_mode_fault_protection_and_nx(bed):
    bed.set_cpl(3)
    bed.wq(bed.pte_addr(DATA), DATA | 0x5)          # present, user, read-only
    bed.cpu.tlb_flush()
    bed.run("mov rax, qword ptr [rdi]; mov qword ptr [rdi], rax", rdi=DATA)
    assert bed.exception_vector() == 14
    assert frame(bed, 1)[0] == 0b111           # protection, write, user
    # the handler ran at CPL0 on the RSP0 stack, with the user SS:RSP saved
    err, rip, cs, rfl, rsp, ss = frame(bed, 6)
    assert cs == UCODE | 3 and ss == UDATA | 3 and rsp == STACK
    assert bed.cpu.gpr(4) == RSP0 - 48


def test_nx_fetch_fault(bed):
    page = 0x180000
    bed.write(page, asm("nop"))
    bed.wq(bed.pte_addr(page), page | 7 | (1 << 63))
    bed.cpu.tlb_flush()
    bed.run(f"mov rax, {page}; jmp rax")
    assert bed.exception_vector() == 14
    assert frame(bed, 1)[0] == 0b10001         # protection, instruction fetch
    assert bed.env[CR2] == page


def test_supervisor_write_to_readonly_page_respects_wp(bed):
    bed.wq(bed.pte_addr(DATA), DATA | 0x1)      # present, supervisor, read-only
    bed.cpu.tlb_flush()
    bed.run("mov byte ptr [rdi], 1", rdi=DATA)
    assert bed.exception_vector() == 14


def test_accessed_and_dirty_bits(bed):
    pte = bed.pte_addr(DATA)
    bed.wq(pte, DATA | 7)
    bed.cpu.tlb_flush()
    bed.run("mov rax, [rdi]", rdi=DATA)
    assert bed.rq(pte) & 0x60 == 0x20
    bed.run("mov [rdi], rax", rdi=DATA)
    assert bed.rq(pte) & 0x60 == 0x60


def test_privileged_instruction_at_cpl3_is_gp(bed):
    bed.set_cpl(3)
    bed.run("hlt")
    assert bed.exception_vector() == 13
    assert frame(bed, 2) == [0, CODE]


def test_invalid_opcode(bed):
    bed.run("ud2")
    assert bed.exception_vector() == 6
    assert frame(bed, 1) == [CODE]


def test_cpuid_and_rdmsr_wrmsr(bed):
    st = run_case(bed, "cpuid", {"rax": 0}, {"rax": 0x16, "rbx": 0x756E6547, "rdx": 0x49656E69,
                                           "rcx": 0x6C65746E})
    assert st
    run_case(bed, "mov ecx, 0xC0000082; mov eax, 0x11223344; mov edx, 0x55; wrmsr; "
             "xor eax, eax; xor edx, edx; rdmsr",
             {}, {"rax": 0x11223344, "rdx": 0x55, "rcx": 0xC0000082, "rflags": flags("PZ")})
    assert bed.env[LSTAR] == 0x5511223344


def test_unknown_msr_is_gp(bed):
    bed.run("mov ecx, 0x12345; rdmsr")
    assert bed.exception_vector() == 13


def test_port_io(bed):
    run_case(bed, "mov al, 0x42; out 0xE0, al; mov dx, 0xE2; mov eax, 0x11223344; out dx, ax; "
             "in eax, 0xE0; in ax, dx", {}, {"rax": 0x5A5A5A5A, "rdx": 0xE2})
    assert bed.io_log == [(0xE0, 0x42, 1), (0xE2, 0x3344, 2)]


def test_port_io_from_cpl3_needs_iopl(bed):
    bed.set_cpl(3)
    bed.run("in al, 0xE0")
    assert bed.exception_vector() == 13


def test_syscall_sysret_round_trip(bed):
    env = bed.env
    env[STAR] = (0x13 << 48) | (KCODE << 32)        # sysret: CS=0x13+16=0x23|3.. user 0x28
    env[STAR] = ((UCODE - 16) << 48) | (KCODE << 32)
    env[FMASK] = 0x200
    handler = CODE + 0x800
    env[LSTAR] = handler
    bed.write(handler, asm("mov rbx, rcx; mov r12, r11; sysretq"))
    bed.set_cpl(3)
    bed.cpu.set_eflags(0x202, 0xFFFFFFFF)
    code = asm("mov eax, 7; syscall; mov edx, 9; hlt")
    bed.run(code=code)
    # hlt at CPL3 faults: the exception proves we came back to user mode
    assert bed.exception_vector() == 13
    assert bed.cpu.gpr(3) == CODE + 7             # rcx: return address
    assert bed.cpu.gpr(12) & 0x200                # r11: saved RFLAGS with IF
    assert bed.cpu.gpr(2) == 9


def test_iretq_to_user_mode(bed):
    user = CODE + 0x400
    bed.write(user, asm("mov eax, 5; hlt"))
    code = asm(f"push {UDATA | 3}; push {STACK - 0x100}; push 0x202; push {UCODE | 3}; "
               f"push {user}; iretq")
    bed.run(code=code)
    assert bed.exception_vector() == 13          # the user-mode hlt
    assert bed.cpu.gpr(0) == 13                  # the stub put the vector in al
    err, rip, cs, rfl, rsp, ss = frame(bed, 6)
    assert (rip, cs, rsp, ss) == (user + 5, UCODE | 3, STACK - 0x100, UDATA | 3)
    assert rfl & 0x200


def test_external_interrupt_wakes_hlt(bed):
    bed.cpu.set_eflags(0x202, 0xFFFFFFFF)
    bed.load(asm("sti; hlt; mov eax, 1; hlt"))
    bed.cpu.exec(1000)
    assert bed.cpu.halted
    # an interrupt controller raises vector 0x20 through the INTR pin
    bed.cpu.pic_intack = lambda: 0x20
    bed.cpu.set_intr_line(True)
    bed.cpu.exec(1000)
    assert bed.exception_vector() == 0x20
    assert frame(bed, 1)[0] == CODE + 2           # returns after the hlt


def test_invalid_idt_gate_is_gp_with_idt_error_code(bed):
    from harness import IDT
    bed.wq(IDT + 16 * 6 + 0, 0)                    # #UD gate not present -> #NP -> ...
    bed.wq(IDT + 16 * 6 + 8, 0)
    bed.run("ud2")
    assert bed.exception_vector() == 13            # #GP(6*8+2): not a valid gate
    assert frame(bed, 1)[0] == 6 * 8 + 2


def test_cr3_write_flushes_tlb(bed):
    bed.run("mov rax, [rdi]", rdi=DATA)
    # remap DATA to DATA+0x1000 behind the CPU's back, then reload CR3
    bed.wq(DATA + 0x1000, 0x77)
    bed.mem.write_value(bed.pte_addr(DATA), (DATA + 0x1000) | 7, 8)
    bed.run("mov rax, [rdi]", rdi=DATA)
    assert bed.cpu.gpr(0) == 0                     # stale TLB entry still used
    bed.run("mov rbx, cr3; mov cr3, rbx; mov rax, [rdi]", rdi=DATA)
    assert bed.cpu.gpr(0) == 0x77


def test_invlpg_flushes_one_page(bed):
    bed.run("mov rax, [rdi]", rdi=DATA)
    bed.wq(DATA + 0x1000, 0x55)
    bed.mem.write_value(bed.pte_addr(DATA), (DATA + 0x1000) | 7, 8)
    bed.run("invlpg [rdi]; mov rax, [rdi]", rdi=DATA)
    assert bed.cpu.gpr(0) == 0x55


def test_fsgsbase_follows_cr4_at_run_time(bed):
    run_case(bed, "mov rax, 0x1234; wrfsbase rax; rdfsbase rbx", {}, {"rax": 0x1234,
                                                                     "rbx": 0x1234})
    from qemu_py.target.i386.state import CR4
    bed.env[CR4] &= ~0x10000
    bed.run("rdfsbase rbx")
    assert bed.exception_vector() == 6


def _ac_bed(bed, am=True):
    from qemu_py.target.i386.state import CR0, CR0_AM
    if am:
        bed.env[CR0] |= CR0_AM
    bed.set_cpl(3)


def test_alignment_check_needs_am_ac_and_cpl3(bed):
    """#AC(0) for a misaligned data access with CR0.AM, EFLAGS.AC and CPL 3; the
    faulting instruction's state is precise."""
    _ac_bed(bed)
    bed.run("mov ecx, 7; mov ebx, dword ptr [rdi + 1]; mov ecx, 9", rdi=DATA,
            rflags=0x40202)
    assert bed.exception_vector() == 17
    err, rip = frame(bed, 2)
    assert err == 0 and rip == CODE + 5
    assert bed.cpu.gpr(1) == 7


def test_no_alignment_check_without_ac_or_am_or_at_cpl0(bed):
    from qemu_py.target.i386.state import CR0, CR0_AM
    for am, cpl, rflags in ((True, 3, 0x202), (False, 3, 0x40202), (True, 0, 0x40202)):
        bed.env[CR0] = (bed.env[CR0] | CR0_AM) if am else (bed.env[CR0] & ~CR0_AM)
        bed.set_cpl(cpl)
        bed.io_log.clear()
        bed.run("mov ebx, dword ptr [rdi + 1]", rdi=DATA, rflags=rflags)
        if cpl == 3:                                # the closing HLT is #GP at CPL 3
            assert bed.exception_vector() == 13 and frame(bed, 2) == [0, CODE + 3]
        else:
            assert bed.exception_vector() is None, (am, cpl, rflags)


def test_alignment_check_comes_before_paging_and_after_canonicality(bed):
    _ac_bed(bed)
    bed.wq(bed.pte_addr(DATA), 0)                   # unmapped
    bed.cpu.tlb_flush()
    for text, rdi, vector in (
            ("mov ebx, dword ptr [rdi + 1]", DATA, 17),            # #AC, not #PF
            ("mov ebx, dword ptr [rdi + 1]", 0x8000_0000_0000_0000, 13),   # #GP first
            ("add dword ptr [rdi + 2], 1", DATA, 17)):            # RMW: #AC before #PF
        bed.io_log.clear()
        bed.set_cpl(3)
        bed.run(text, rdi=rdi, rflags=0x40202)
        assert bed.exception_vector() == vector, text
        assert frame(bed, 2)[1] == CODE, text        # the access faulted, not the HLT


def test_alignment_check_of_16_byte_sse_accesses(bed):
    """Unaligned-form 16-byte SSE accesses check 16-byte alignment under #AC (the two
    8-byte halves would not); aligned forms raise #GP(0) first."""
    for text, vector in (("movups xmm5, xmmword ptr [rdi + 8]", 17),
                         ("movdqu xmmword ptr [rdi + 8], xmm5", 17),
                         ("movaps xmm5, xmmword ptr [rdi + 8]", 13),
                         ("movups xmm5, xmmword ptr [rdi + 16]", None)):
        _ac_bed(bed)
        bed.io_log.clear()
        bed.run(text, rdi=DATA, rflags=0x40202)
        if vector is None:                       # only the closing HLT's #GP
            assert bed.exception_vector() == 13 and frame(bed, 2)[1] != CODE, text
        else:
            assert bed.exception_vector() == vector and frame(bed, 2)[1] == CODE, text
