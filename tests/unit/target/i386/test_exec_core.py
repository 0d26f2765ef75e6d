"""The execution core: self-modifying code, chaining, precise faults in the
middle of a TB, golden IR of tricky translations, icount determinism."""

import pytest
from harness import CODE, DATA, STACK, X86Bed, asm

from qemu_py.system.log import LOG
from qemu_py.target.i386.state import CR2, RIP


def test_store_rewriting_the_next_instruction_in_the_same_tb(bed):
    # "mov byte ptr [rip+1], 0x02" rewrites the immediate of the following
    # "mov eax, 1" (b8 01 00 00 00) into 2 before it executes.
    code = asm("mov byte ptr [rip+1], 0x02; mov eax, 1; hlt")
    assert code[7] == 0xB8
    bed.run(code=code)
    assert bed.cpu.gpr(0) == 2
    assert bed.cpu.engine.invalidations >= 1


def test_store_into_another_tb_invalidates_it(bed):
    bed.write(CODE + 0x200, asm("mov eax, 1; ret"))
    bed.run("mov r8, 0x100200; call r8; mov rbx, rax; mov byte ptr [r8+1], 3; call r8")
    assert bed.cpu.gpr(3) == 1
    assert bed.cpu.gpr(0) == 3


def test_goto_tb_exits_are_chained(bed):
    bed.run("mov ecx, 50; 1: dec ecx; jz 2f; jmp 1b; 2: nop")
    chained = [tb for tb in bed.cpu.engine.htable.values() if any(tb.jmp_dest)]
    assert chained, "no TB was linked to its successor"


def test_nochain_disables_linking(bed):
    bed.cpu.engine.set_chaining(False)
    bed.run("mov ecx, 50; 1: dec ecx; jz 2f; jmp 1b; 2: nop")
    assert not [tb for tb in bed.cpu.engine.htable.values() if any(tb.jmp_dest)]


def test_page_fault_in_the_middle_of_a_tb_restores_exact_state(backend):
    bed = X86Bed(backend)
    bed.wq(bed.pte_addr(0x3FF000), 0)
    bed.cpu.tlb_flush()
    init = dict(rax=0x1111, rbx=0x2222, rcx=0x3FF000, rdx=0x4444, rsi=0x5555)
    for k, v in init.items():
        bed.set(k, v)
    bed.set("rflags", 0x2)
    before_fault = None
    code = asm("add rax, rbx; inc rdx; push rsi; sub rsi, 1; mov rdi, [rcx]; "
               "mov rax, 99; mov rdx, 98; hlt")
    bed.load(code)
    bed.io_log.clear()
    # expected state at the faulting "mov rdi, [rcx]"
    before_fault = dict(rax=0x3333, rbx=0x2222, rcx=0x3FF000, rdx=0x4445, rsi=0x5554,
                        rdi=0, rsp=STACK - 8)
    bed.cpu.exec(1000)
    assert bed.exception_vector() == 14
    rsp = bed.cpu.gpr(4)
    err, rip, cs, rflags, old_rsp = (bed.rq(rsp + 8 * i) for i in range(5))
    assert rip == CODE + 3 + 3 + 1 + 4
    assert old_rsp == before_fault["rsp"]
    assert bed.env[CR2] == 0x3FF000
    # flags of "sub rsi, 1" (0x5555 - 1 = 0x5554): PF=0, others clear
    assert rflags & 0x8D5 == 0
    st = bed.state()
    for k in ("rbx", "rcx", "rdx", "rsi", "rdi"):
        assert st[k] == before_fault[k], k


def test_precise_state_with_lazy_flags_pending(bed):
    """A fault right after a flag-setting instruction keeps its lazy flags."""
    bed.wq(bed.pte_addr(0x3FF000), 0)
    bed.cpu.tlb_flush()
    bed.run("mov rax, -1; add rax, 1; mov rbx, [rcx]", rcx=0x3FF000)
    rflags = bed.rq(bed.cpu.gpr(4) + 24)
    assert rflags & 0x8D5 == 0x55      # CF PF AF ZF from the add


GOLDEN_SHL_CL = """\
 brcond_i64 budget,$0x2,ltu,$L0
 sub_i64 budget,budget,$0x2
 ---- 0000000000100000 0000000000000000
 ext8u_i64 tmp1,rcx
 and_i64 tmp0,tmp1,$0x3f
 sub_i64 tmp5,tmp0,$0x1
 and_i64 tmp5,tmp5,$0x3f
 shl_i64 tmp3,rax,tmp0
 shl_i64 tmp4,rax,tmp5
 mov_i64 rax,tmp3
 setcond_i64 tmp6,tmp0,$0x0,ne
 movcond_i64 cc_dst,tmp6,$0x0,tmp3,cc_dst,ne
 movcond_i64 cc_src,tmp6,$0x0,tmp4,cc_src,ne
 extrl_i64_i32 tmp8,tmp6
 movcond_i32 cc_op,tmp8,$0x0,$0x25,cc_op,ne
 ---- 0000000000100003 0000000000000000
"""


def _ops_of(bed, text, name="op"):
    lines = []
    old = LOG.items, LOG.write
    LOG.items = {name}
    LOG.write = lambda t: lines.append(t)
    try:
        bed.run(text)
    finally:
        LOG.items, LOG.write = old
    return lines[0]


def test_golden_ir_variable_shift_makes_cc_op_dynamic(bed):
    text = _ops_of(bed, "shl rax, cl", "op_opt")
    assert text.split("\n", 1)[1].startswith(GOLDEN_SHL_CL)


GOLDEN_REP_MOVSB = """\
 brcond_i64 budget,$0x1,ltu,$L0
 sub_i64 budget,budget,$0x1
 ---- 0000000000100000 0000000000000000
 brcond_i64 rcx,$0x0,eq,$L1
 qemu_ld_i64 tmp2,rsi,ub,0
 qemu_st_i64 tmp2,rdi,ub,0
 add_i64 rsi,rsi,df
 add_i64 rdi,rdi,df
 sub_i64 rcx,rcx,$0x1
 goto_tb $0x0
 exit_tb $0x1
 set_label $L1
 mov_i64 rip,$0x100002
 goto_tb $0x1
 exit_tb $0x2
 set_label $L0
 exit_tb $0x3
"""


def test_golden_ir_rep_movsb_loops_through_goto_tb(bed):
    bed.set("rflags", 2)
    text = _ops_of(bed, "rep movsb", "op_opt")
    assert text.split("\n", 1)[1] == GOLDEN_REP_MOVSB


GOLDEN_JCC_AFTER_CMP = """\
 brcond_i64 budget,$0x2,ltu,$L0
 sub_i64 budget,budget,$0x2
 ---- 0000000000100000 0000000000000000
 sub_i64 cc_dst,rax,rbx
 mov_i64 cc_src,rbx
 discard cc_src2
 ---- 0000000000100003 0000000000000011
 mov_i32 cc_op,$0x11
 brcond_i64 rax,rbx,lt,$L1
 mov_i64 rip,$0x100005
 goto_tb $0x0
 exit_tb $0x1
 set_label $L1
 mov_i64 rip,$0x100005
 goto_tb $0x1
 exit_tb $0x2
 set_label $L0
 exit_tb $0x3
"""


def test_golden_ir_jl_after_cmp_is_a_signed_compare(bed):
    text = _ops_of(bed, "cmp rax, rbx; jl 1f; 1: nop", "op_opt")
    assert text.split("\n", 1)[1] == GOLDEN_JCC_AFTER_CMP


def test_icount_runs_are_deterministic():
    results = []
    for _ in range(2):
        bed = X86Bed("python")
        bed.cpu.icount_exact = True
        bed.load(asm("mov ecx, 1000; 1: rdtsc; add rbx, rax; dec ecx; jnz 1b; hlt"))
        now = [0]
        bed.cpu.time_ns = lambda now=now: now[0]
        total = 0
        while not bed.cpu.halted:
            n = bed.cpu.exec(37)          # odd slices end in the middle of TBs
            total += n
            now[0] += n
        results.append((total, bed.cpu.gpr(3)))
    assert results[0] == results[1]
    assert results[0][0] == 2 + 4 * 1000


def test_both_backends_agree_on_a_longer_program():
    prog = asm("""
        mov rcx, 200; xor eax, eax; mov rbx, 0x9E3779B97F4A7C15
        1: imul rax, rbx; rol rax, 13; xor rax, rcx; add rax, 7; bswap rax
        mov rdx, rax; shr rdx, 3; adc rax, rdx; popcnt rsi, rax; add rdi, rsi
        dec rcx; jnz 1b; hlt""")
    states = []
    for be in ("interp", "python", "llvm"):
        bed = X86Bed(be)
        bed.load(prog)
        bed.cpu.exec(10 ** 6)
        states.append(bed.state())
    assert states[0] == states[1]
    assert states[0]["rax"] != 0


_ = (DATA, pytest)


def test_page_boundary_rules_and_a_tb_spanning_two_pages(bed):
    start = CODE + 0xFFC                      # "nop; mov eax, imm32" crosses into the next page
    code = asm("nop; nop; nop; mov eax, 0x12345678; nop; hlt")
    bed.write(start, code)
    bed.env[RIP] = start
    bed.cpu.exec(100)
    assert bed.cpu.gpr(0) == 0x12345678
    first = bed.cpu.engine.jmp_cache[start]
    assert first.icount == 4 and len(first.pages) == 2     # stops before the next page starts
    # a write to the second page (the immediate's high bytes) invalidates the TB
    bed.cpu.halted = False
    bed.write(CODE + 0x1001, b"\x00\x00")
    assert first.invalid
    bed.env[RIP] = start
    bed.cpu.exec(100)
    assert bed.cpu.gpr(0) == 0x12000078


def test_tb_size_limit(bed):
    bed.run("; ".join(["inc eax"] * 600))
    sizes = sorted(tb.icount for tb in bed.cpu.engine.htable.values())
    assert max(sizes) == 512 and bed.cpu.gpr(0) == 600


def test_instruction_without_a_handler_raises_ud_and_is_logged_under_unimp():
    """FLD1 (d9 e8) has no handler while x87 arithmetic is off: the guest gets #UD at
    its address, and ``-d unimp`` names the instruction."""
    bed = X86Bed()
    lines = []
    old = LOG.items, LOG.write
    LOG.items = {"unimp"}
    LOG.write = lambda t: lines.append(t)
    try:
        bed.load(bytes.fromhex("d9e8") + asm("hlt"))
        bed.cpu.exec(1000)
    finally:
        LOG.items, LOG.write = old
    assert bed.exception_vector() == 6
    assert bed.rq(bed.cpu.gpr(4)) == CODE            # #UD reports the instruction itself
    assert f"x86: no handler for fld1 at {CODE:#x}: raising #UD\n" in lines
