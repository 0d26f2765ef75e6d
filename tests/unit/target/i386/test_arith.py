"""Integer arithmetic: full CPU state before/after, flags included."""

import pytest
from checks import flags, run_case
from harness import DATA

M64 = 2**64 - 1


@pytest.mark.parametrize("text,init,expect", [
    ("add rax, rbx", {"rax": 1, "rbx": 2}, {"rax": 3, "rflags": flags("P")}),
    ("add rax, rbx", {"rax": M64, "rbx": 1}, {"rax": 0, "rflags": flags("CPAZ")}),
    ("add eax, ebx", {"rax": 0x7FFFFFFF | (5 << 32), "rbx": 1},
     {"rax": 0x80000000, "rflags": flags("PASO")}),
    ("add al, bl", {"rax": 0x1234_56FF, "rbx": 1}, {"rax": 0x1234_5600, "rflags": flags("CPAZ")}),
    ("add ah, bl", {"rax": 0x7F00, "rbx": 1}, {"rax": 0x8000, "rflags": flags("ASO")}),
    ("add ax, 0x10", {"rax": 0xFFFF_FFFF_FFFF_FFF0}, {"rax": 0xFFFF_FFFF_FFFF_0000,
                                                   "rflags": flags("CPZ")}),
    ("adc rax, rbx", {"rax": 5, "rbx": 6, "rflags": flags("C")}, {"rax": 12,
                                                                  "rflags": flags("P")}),
    ("adc eax, -1", {"rax": 0, "rflags": flags("C")}, {"rax": 0, "rflags": flags("CPAZ")}),
    ("sub rax, rbx", {"rax": 3, "rbx": 5}, {"rax": M64 - 1, "rflags": flags("CAS")}),
    ("sub eax, 1", {"rax": 0x80000000}, {"rax": 0x7FFFFFFF, "rflags": flags("PAO")}),
    ("sbb rax, rbx", {"rax": 10, "rbx": 3, "rflags": flags("C")}, {"rax": 6, "rflags": flags("P")}),
    ("sbb al, 0", {"rax": 0, "rflags": flags("C")}, {"rax": 0xFF, "rflags": flags("CPAS")}),
    ("cmp rax, rbx", {"rax": 5, "rbx": 5}, {"rflags": flags("PZ")}),
    ("cmp rax, rbx", {"rax": 1, "rbx": 2 ** 63}, {"rflags": flags("CSO")}),
    ("cmp bl, 0x80", {"rbx": 0x7F}, {"rflags": flags("CPSO")}),
    ("inc rax", {"rax": M64, "rflags": flags("C")}, {"rax": 0, "rflags": flags("CPAZ")}),
    ("inc ecx", {"rcx": 0x7FFFFFFF}, {"rcx": 0x80000000, "rflags": flags("PASO")}),
    ("dec rcx", {"rcx": 1}, {"rcx": 0, "rflags": flags("PZ")}),
    ("dec byte ptr [rdi]", {"rdi": DATA}, {"rflags": flags("PAS")}),
    ("neg rax", {"rax": 1}, {"rax": M64, "rflags": flags("CPAS")}),
    ("neg rax", {"rax": 0}, {"rax": 0, "rflags": flags("PZ")}),
    ("neg eax", {"rax": 0x80000000}, {"rax": 0x80000000, "rflags": flags("CPSO")}),
    ("xor eax, eax", {"rax": M64, "rflags": flags("C")}, {"rax": 0, "rflags": flags("PZ")}),
    ("sub rbx, rbx", {"rbx": 5}, {"rbx": 0, "rflags": flags("PZ")}),
])
def test_add_sub_family(bed, text, init, expect):
    run_case(bed, text, init, expect)


def test_memory_destination_read_modify_write(bed):
    bed.wq(DATA, 0x10)
    run_case(bed, "add qword ptr [rdi], rax", {"rdi": DATA, "rax": 0x20}, {"rflags": flags("P")})
    assert bed.rq(DATA) == 0x30
    run_case(bed, "sub dword ptr [rdi], 0x31", {"rdi": DATA}, {"rflags": flags("CPAS")})
    assert bed.rq(DATA) == 0xFFFFFFFF


@pytest.mark.parametrize("text,init,expect,mask", [
    ("mul rbx", {"rax": 2 ** 63, "rbx": 4}, {"rax": 0, "rdx": 2, "rflags": flags("CO")}, 0x801),
    ("mul ebx", {"rax": 0xFFFFFFFF, "rbx": 2, "rdx": M64},
     {"rax": 0xFFFFFFFE, "rdx": 1, "rflags": flags("CO")}, 0x801),
    ("mul bl", {"rax": 0x10, "rbx": 0x10}, {"rax": 0x100, "rflags": flags("CO")}, 0x801),
    ("mul bl", {"rax": 0x3, "rbx": 0x5}, {"rax": 0xF, "rflags": 2}, 0x801),
    ("imul rbx", {"rax": M64, "rbx": 5}, {"rax": M64 - 4, "rdx": M64, "rflags": 2}, 0x801),
    ("imul ecx, ebx, -3", {"rbx": 0x40000000}, {"rcx": 0x40000000, "rflags": flags("CO")},
     0x801),
    ("imul rcx, rbx", {"rcx": 3, "rbx": 7}, {"rcx": 21, "rflags": 2}, 0x801),
    ("imul cx, bx", {"rcx": 0x100, "rbx": 0x100}, {"rcx": 0, "rflags": flags("CO")}, 0x801),
    ("div rbx", {"rax": 100, "rdx": 0, "rbx": 7}, {"rax": 14, "rdx": 2}, 0),
    ("div ebx", {"rax": 0, "rdx": 1, "rbx": 2}, {"rax": 0x80000000, "rdx": 0}, 0),
    ("div bl", {"rax": 0x0107, "rbx": 2}, {"rax": 0x0183}, 0),
    ("idiv rbx", {"rax": M64 - 99, "rdx": M64, "rbx": 7}, {"rax": M64 - 13, "rdx": M64 - 1}, 0),
    ("idiv cx", {"rax": 0xFFF9, "rdx": 0xFFFF, "rcx": 2}, {"rax": 0xFFFD, "rdx": 0xFFFF}, 0),
])
def test_mul_div(bed, text, init, expect, mask):
    run_case(bed, text, init, expect, mask=mask)


def test_divide_error_is_precise(bed):
    from harness import IDT, STUBS  # noqa: F401
    bed.run("mov rax, 1; xor edx, edx; xor ecx, ecx; div rcx")
    assert bed.exception_vector() == 0
    # the frame holds the address of the div itself
    from harness import CODE, RSP0  # noqa: F401
    rsp = bed.cpu.gpr(4)
    assert bed.rq(rsp) == 0x100000 + 7 + 2 + 2   # mov rax,1 (7) xor (2) xor (2)
    assert bed.cpu.gpr(0) == 0                   # AL holds the vector from the stub


def test_idiv_overflow_faults(bed):
    bed.run("mov rax, 0x8000000000000000; cqo; mov rcx, -1; idiv rcx")
    assert bed.exception_vector() == 0


@pytest.mark.parametrize("text,init,expect", [
    ("xadd rax, rbx", {"rax": 5, "rbx": 7}, {"rax": 12, "rbx": 5, "rflags": flags("P")}),
    ("cmpxchg rbx, rcx", {"rax": 5, "rbx": 5, "rcx": 9}, {"rbx": 9, "rflags": flags("PZ")}),
    ("cmpxchg rbx, rcx", {"rax": 4, "rbx": 5, "rcx": 9}, {"rax": 5,
                                                          "rflags": flags("CPAS")}),
    # failure: RAX gets the zero-extended old value, the register destination is untouched
    ("cmpxchg ebx, ecx", {"rax": 0xFFFF_0000_0000_0004, "rbx": 0xAAAA_0000_0000_0005, "rcx": 9},
     {"rax": 5, "rflags": flags("CPAS")}),
    # success: the destination is written (zero-extended), RAX is untouched
    ("cmpxchg ebx, ecx", {"rax": 0xFFFF_0000_0000_0005, "rbx": 0xAAAA_0000_0000_0005, "rcx": 9},
     {"rbx": 9, "rflags": flags("PZ")}),
    ("cmpxchg bl, cl", {"rax": 0x1105, "rbx": 0x2205, "rcx": 0x77},
     {"rbx": 0x2277, "rflags": flags("PZ")}),
    ("cbw", {"rax": 0x80}, {"rax": 0xFF80}),
    ("cwde", {"rax": 0xFFFF_0000_0000_8000}, {"rax": 0xFFFF8000}),
    ("cdqe", {"rax": 0x80000000}, {"rax": 0xFFFF_FFFF_8000_0000}),
    ("cqo", {"rax": 2 ** 63, "rdx": 5}, {"rdx": M64}),
    ("cdq", {"rax": 0x7FFFFFFF, "rdx": M64}, {"rdx": 0}),
    ("adcx rax, rbx", {"rax": M64, "rbx": 1, "rflags": flags("ZS")},
     {"rax": 0, "rflags": flags("CZS")}),
    ("adox rax, rbx", {"rax": 1, "rbx": 1, "rflags": flags("OC")}, {"rax": 3,
                                                                   "rflags": flags("C")}),
])
def test_exchange_compare_convert(bed, text, init, expect):
    run_case(bed, text, init, expect)


def test_cmpxchg16b(bed):
    bed.wq(DATA, 1)
    bed.wq(DATA + 8, 2)
    run_case(bed, "cmpxchg16b [rdi]", {"rdi": DATA, "rax": 1, "rdx": 2, "rbx": 3, "rcx": 4},
             {"rflags": flags("Z")}, mask=0x40)
    assert (bed.rq(DATA), bed.rq(DATA + 8)) == (3, 4)
    run_case(bed, "cmpxchg16b [rdi]", {"rdi": DATA, "rax": 1, "rdx": 2, "rbx": 5, "rcx": 6},
             {"rax": 3, "rdx": 4, "rflags": 2}, mask=0x40)


def test_cmpxchg8b_keeps_other_flags(bed):
    bed.wq(DATA, 0x0000000200000001)
    run_case(bed, "cmpxchg8b [rdi]", {"rdi": DATA, "rax": 1, "rdx": 2, "rbx": 7, "rcx": 8,
                                      "rflags": flags("CS")}, {"rflags": flags("CSZ")})
    assert bed.rq(DATA) == 0x0000000800000007


def test_cmpxchg16b_misaligned_faults(bed):
    bed.run("mov rdi, 0x200008; cmpxchg16b [rdi]")
    assert bed.exception_vector() == 13
