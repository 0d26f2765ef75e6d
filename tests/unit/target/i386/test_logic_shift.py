"""Logic, shifts and rotates: full state and flags, including count 0 and CL counts."""

import pytest
from checks import flags, run_case

M64 = 2**64 - 1


@pytest.mark.parametrize("text,init,expect", [
    ("and rax, rbx", {"rax": 0xF0F0, "rbx": 0xFF00, "rflags": flags("CO")},
     {"rax": 0xF000, "rflags": flags("P")}),
    ("or eax, 0x80000000", {"rax": M64}, {"rax": 0xFFFFFFFF, "rflags": flags("PS")}),
    ("xor al, 0xFF", {"rax": 0x0F}, {"rax": 0xF0, "rflags": flags("PS")}),
    ("test rax, rax", {"rax": 0}, {"rflags": flags("PZ")}),
    ("test bl, 1", {"rbx": 2, "rflags": flags("C")}, {"rflags": flags("PZ")}),
    ("not ecx", {"rcx": 0xFFFF_FFFF_0000_00FF, "rflags": flags("C")},
     {"rcx": 0xFFFFFF00, "rflags": flags("C")}),
    ("not word ptr [rsp-8]", {}, {}),
])
def test_logic(bed, text, init, expect):
    run_case(bed, text, init, expect)


@pytest.mark.parametrize("text,init,expect,mask", [
    ("shl rax, 1", {"rax": 2 ** 63 + 1}, {"rax": 2, "rflags": flags("CO")}, 0x8D5),
    ("shl eax, 4", {"rax": 0x1000_0001}, {"rax": 0x10, "rflags": flags("C")}, 0x0C5),
    ("shr rax, 1", {"rax": 0x8000_0000_0000_0003}, {"rax": 0x4000_0000_0000_0001,
                                                    "rflags": flags("CO")}, 0x8D5),
    ("sar al, 1", {"rax": 0x81}, {"rax": 0xC0, "rflags": flags("CPS")}, 0x8D5),
    ("sar rax, cl", {"rax": 2 ** 63, "rcx": 63}, {"rax": M64, "rflags": flags("PS")}, 0xC5),
    ("shl rbx, cl", {"rbx": 1, "rcx": 0, "rflags": flags("CZO")}, {"rflags": flags("CZO")},
     0x8D5),
    ("shr ebx, cl", {"rbx": 0xFFFF_FFFF_0000_0010, "rcx": 32}, {"rbx": 0x10}, 0x8D5),
    ("shl rbx, cl", {"rbx": 3, "rcx": 65}, {"rbx": 6, "rflags": flags("P")}, 0xC5),
    ("rol rax, 4", {"rax": 0xF000_0000_0000_0001}, {"rax": 0x1F, "rflags": flags("C")}, 0x1),
    ("ror eax, 1", {"rax": 1, "rflags": flags("Z")}, {"rax": 0x80000000,
                                                      "rflags": flags("ZCO")}, 0x8D5),
    ("rol bl, cl", {"rbx": 0x81, "rcx": 9, "rflags": flags("PZ")}, {"rbx": 0x03,
                                                                  "rflags": flags("PZC")}, 0xC5),
    ("rcl al, 1", {"rax": 0x80, "rflags": flags("C")}, {"rax": 0x01, "rflags": flags("CO")},
     0x801),
    ("rcr rax, 2", {"rax": 2, "rflags": flags("C")}, {"rax": 2 ** 62, "rflags": flags("C")},
     0x1),
    ("shld rax, rbx, 8", {"rax": 0x01_00000000000000, "rbx": 0xAB00_0000_0000_0000},
     {"rax": 0xAB, "rflags": flags("C")}, 0x0C5),
    ("shrd eax, ebx, 4", {"rax": 0x0000_0013, "rbx": 0x5}, {"rax": 0x5000_0001,
                                                           "rflags": 2}, 0x0C5),
    ("shld ax, bx, cl", {"rax": 0x8001, "rbx": 0xC000, "rcx": 2}, {"rax": 0x0007,
                                                                  "rflags": 2}, 0x0C5),
    ("shrd rax, rbx, cl", {"rax": 0x10, "rbx": 0x3, "rcx": 4},
     {"rax": 0x3000_0000_0000_0001, "rflags": 2}, 0x0C5),
])
def test_shift_rotate(bed, text, init, expect, mask):
    run_case(bed, text, init, expect, mask=mask)


def test_shift_count_zero_keeps_lazy_flags_from_earlier_insn(bed):
    run_case(bed, "cmp rax, rbx; shl rcx, cl; setb dl", {"rax": 1, "rbx": 2, "rcx": 0},
             {"rdx": 1, "rflags": flags("CPAS")})
