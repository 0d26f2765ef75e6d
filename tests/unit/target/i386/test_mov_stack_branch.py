"""Data movement, stack, control transfer and string instructions."""

import pytest
from checks import flags, run_case
from harness import CODE, DATA, STACK

M64 = 2**64 - 1


@pytest.mark.parametrize("text,init,expect", [
    ("mov eax, ebx", {"rax": M64, "rbx": 0x1_0000_0005}, {"rax": 5}),
    ("mov bh, al", {"rax": 0x12, "rbx": 0xFFFF}, {"rbx": 0x12FF}),
    ("mov ax, -1", {"rax": 0x1234_0000_0000_0000}, {"rax": 0x1234_0000_0000_FFFF}),
    ("movabs rax, 0x1122334455667788", {}, {"rax": 0x1122334455667788}),
    ("mov rcx, -2", {}, {"rcx": M64 - 1}),
    ("movzx eax, bl", {"rax": M64, "rbx": 0x1FF}, {"rax": 0xFF}),
    ("movsx rax, bx", {"rbx": 0x8000}, {"rax": 0xFFFF_FFFF_FFFF_8000}),
    ("movsxd rax, ebx", {"rbx": 0x8000_0000}, {"rax": 0xFFFF_FFFF_8000_0000}),
    ("lea rax, [rbx+rcx*4+8]", {"rbx": 0x100, "rcx": 3}, {"rax": 0x114}),
    ("lea eax, [rbx-1]", {"rbx": 0}, {"rax": 0xFFFFFFFF}),
    ("xchg rax, rbx", {"rax": 1, "rbx": 2}, {"rax": 2, "rbx": 1}),
    ("xchg ax, bx", {"rax": 0x10001, "rbx": 0x20002}, {"rax": 0x10002, "rbx": 0x20001}),
    ("cmp rax, rbx; cmovl rcx, rdx", {"rax": M64, "rbx": 0, "rdx": 7}, {"rcx": 7,
                                                                       "rflags": flags("PS")}),
    ("cmp rax, rbx; cmovb ecx, edx", {"rax": M64, "rbx": 0, "rdx": 7, "rcx": M64},
     {"rcx": 0xFFFFFFFF, "rflags": flags("PS")}),
    ("cmp al, bl; setg cl; setbe dl", {"rax": 5, "rbx": 0x80}, {"rcx": 1, "rdx": 1,
                                                               "rflags": flags("CSO")}),
    ("movbe eax, dword ptr [rsp-8]", {}, {"rax": 0}),
    ("test eax, eax; sete al; setne ah; setns bl", {"rax": 0},
     {"rax": 1, "rbx": 1, "rflags": flags("PZ")}),
])
def test_moves(bed, text, init, expect):
    run_case(bed, text, init, expect)


def test_movbe_and_xlat(bed):
    bed.wq(DATA, 0x0102030405060708)
    run_case(bed, "movbe rax, qword ptr [rdi]", {"rdi": DATA}, {"rax": 0x0807060504030201})
    run_case(bed, "xlatb", {"rbx": DATA, "rax": 0xFF02}, {"rax": 0xFF06})


def test_push_pop(bed):
    run_case(bed, "push rax; push 0x12; pop rbx; pop rcx; push ax; pop dx",
             {"rax": 0x1122}, {"rbx": 0x12, "rcx": 0x1122, "rdx": 0x1122})
    assert bed.rq(STACK - 8) == 0x1122_0000_0000_1122     # push ax wrote the top 2 bytes
    run_case(bed, "push qword ptr [rsp-16]; pop qword ptr [rsp-8]", {}, {})


def test_pushf_popf_and_flags_insns(bed):
    run_case(bed, "stc; pushfq; pop rax; std; cld; cmc; lahf", {},
             {"rax": 0x202 & ~0x200 | 0x3 | (0x2 << 8) & ~0x100 if False else 0x0203,
              "rflags": 2}, mask=0xCD5)
    run_case(bed, "mov rax, 0x8d5; push rax; popfq", {}, {"rax": 0x8D5,
                                                         "rflags": flags("CPAZSO")})
    run_case(bed, "mov ah, 0xD5; sahf", {"rflags": flags("O")},
             {"rax": 0xD500, "rflags": flags("CPAZSO")})


def test_enter_leave(bed):
    run_case(bed, "push rbp; mov rbp, rsp; sub rsp, 32; leave; enter 16, 0; leave",
             {"rbp": 0x1234}, {"rflags": flags("P")})
    run_case(bed, "enter 16, 0", {"rbp": 0x1234}, {"rbp": STACK - 8, "rsp": STACK - 24})
    assert bed.rq(STACK - 8) == 0x1234


@pytest.mark.parametrize("cond,a,b,taken", [
    ("je", 5, 5, 1), ("jne", 5, 5, 0), ("jb", 1, 2, 1), ("jae", 1, 2, 0), ("ja", 3, 2, 1),
    ("jbe", 2, 2, 1), ("jl", M64, 0, 1), ("jge", M64, 0, 0), ("jg", 0, M64, 1),
    ("jle", 5, 6, 1), ("js", 0, 1, 1), ("jns", 1, 0, 1), ("jo", 2 ** 63, 1, 1),
    ("jno", 2, 1, 1), ("jp", 3, 0, 1), ("jnp", 1, 0, 1),
])
def test_jcc_after_cmp(bed, cond, a, b, taken):
    run_case(bed, f"xor ecx, ecx; cmp rax, rbx; {cond} 1f; inc ecx; 1: inc ecx",
             {"rax": a, "rbx": b}, {"rcx": 1 if taken else 2}, mask=0)


def test_jcc_after_flags_from_other_ops(bed):
    # INC keeps CF; jc must see the CF of the earlier SUB
    run_case(bed, "sub rax, rbx; inc rdx; jc 1f; mov ecx, 1; 1: nop", {"rax": 1, "rbx": 2},
             {"rax": M64, "rdx": 1, "rflags": flags("C")})


def test_call_ret_and_indirect(bed):
    run_case(bed, "call 1f; jmp 2f; 1: mov eax, 1; ret; 2: lea rbx, [rip+3f]; jmp rbx; "
             "ud2; 3: nop", {}, {"rax": 1, "rbx": CODE + 0x18})


def test_loop_and_jrcxz(bed):
    run_case(bed, "mov ecx, 5; xor eax, eax; 1: add eax, 2; loop 1b; jrcxz 2f; ud2; 2: nop",
             {}, {"rax": 10, "rflags": 2}, mask=0)
    run_case(bed, "mov ecx, 10; mov eax, 3; 1: dec eax; loopne 1b", {},
             {"rax": 0, "rcx": 7, "rflags": flags("PZ")}, mask=0xC5)


def test_rep_movs_stos_lods(bed):
    bed.write(DATA, bytes(range(32)))
    run_case(bed, "rep movsb", {"rsi": DATA, "rdi": DATA + 0x100, "rcx": 32},
             {"rsi": DATA + 32, "rdi": DATA + 0x120, "rcx": 0})
    assert bed.read(DATA + 0x100, 32) == bytes(range(32))
    run_case(bed, "rep stosq", {"rdi": DATA + 0x200, "rcx": 4, "rax": 0xAB},
             {"rdi": DATA + 0x220, "rcx": 0})
    assert bed.rq(DATA + 0x218) == 0xAB
    run_case(bed, "std; lodsb; lodsb; cld", {"rsi": DATA + 5}, {"rsi": DATA + 3, "rax": 4})


def test_repe_cmps_and_repne_scas(bed):
    bed.write(DATA, b"hello world")
    bed.write(DATA + 0x40, b"hello there")
    run_case(bed, "repe cmpsb", {"rsi": DATA, "rdi": DATA + 0x40, "rcx": 11},
             {"rsi": DATA + 7, "rdi": DATA + 0x47, "rcx": 4, "rflags": flags("A")}, mask=0x40)
    run_case(bed, "repne scasb", {"rdi": DATA, "rcx": 11, "rax": ord("o")},
             {"rdi": DATA + 5, "rcx": 6, "rflags": flags("Z")}, mask=0x40)
    run_case(bed, "rep movsb", {"rcx": 0, "rflags": flags("C")}, {}, mask=0xCD5)
