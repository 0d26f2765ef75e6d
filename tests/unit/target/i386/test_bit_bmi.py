"""Bit operations and BMI1/BMI2."""

import pytest
from checks import flags, run_case
from harness import DATA

M64 = 2**64 - 1


@pytest.mark.parametrize("text,init,expect,mask", [
    ("bt rax, 3", {"rax": 8, "rflags": flags("Z")}, {"rflags": flags("ZC")}, 0x41),
    ("bts rax, rbx", {"rax": 0, "rbx": 65}, {"rax": 2}, 0x41),
    ("btr eax, 31", {"rax": 0xFFFFFFFF}, {"rax": 0x7FFFFFFF, "rflags": flags("C")}, 0x41),
    ("btc bx, 15", {"rbx": 0xFFFF_FFFF_0000_0001}, {"rbx": 0xFFFF_FFFF_0000_8001}, 0x41),
    ("bsf rax, rbx", {"rbx": 0x100}, {"rax": 8}, 0x40),
    ("bsr ecx, ebx", {"rbx": 0x8001, "rcx": M64}, {"rcx": 15}, 0x40),
    ("bsf rax, rbx", {"rax": 1234, "rbx": 0}, {"rflags": flags("Z")}, 0x40),
    ("bsr eax, ebx", {"rax": M64, "rbx": 0}, {"rflags": flags("Z")}, 0x40),
    ("tzcnt rax, rbx", {"rbx": 0}, {"rax": 64, "rflags": flags("C")}, 0x41),
    ("tzcnt eax, ebx", {"rbx": 0x10}, {"rax": 4}, 0x41),
    ("lzcnt rax, rbx", {"rbx": 1}, {"rax": 63}, 0x41),
    ("lzcnt ax, bx", {"rbx": 0}, {"rax": 16, "rflags": flags("C")}, 0x41),
    ("popcnt rax, rbx", {"rbx": 0xF0F0, "rflags": flags("CZ")}, {"rax": 8, "rflags": 2}, 0x8D5),
    ("popcnt rax, rbx", {"rbx": 0, "rax": 5}, {"rax": 0, "rflags": flags("Z")}, 0x8D5),
    ("bswap rax", {"rax": 0x0102030405060708}, {"rax": 0x0807060504030201}, 0),
    ("bswap ecx", {"rcx": 0xFFFF_FFFF_1122_3344}, {"rcx": 0x44332211}, 0),
])
def test_bit_ops(bed, text, init, expect, mask):
    run_case(bed, text, init, expect, mask=mask)


def test_bt_memory_with_large_register_offset(bed):
    bed.wq(DATA + 16, 0)
    run_case(bed, "bts qword ptr [rdi], rbx", {"rdi": DATA, "rbx": 130}, {}, mask=0x1)
    assert bed.rq(DATA + 16) == 4
    bed.wq(DATA + 8, 4 << 32)           # bit 2 of the dword at DATA+12
    run_case(bed, "bt dword ptr [rdi+16], ebx", {"rdi": DATA, "rbx": -30 & 0xFFFFFFFF},
             {"rflags": flags("C")}, mask=0x1)


@pytest.mark.parametrize("text,init,expect,mask", [
    ("andn rax, rbx, rcx", {"rbx": 0xFF, "rcx": 0xFFF}, {"rax": 0xF00}, 0x8C1),
    ("bextr rax, rbx, rcx", {"rbx": 0xABCD, "rcx": 0x0804}, {"rax": 0xBC}, 0x8C1),
    ("bextr eax, ebx, ecx", {"rbx": 0xFFFFFFFF, "rcx": 0x2000}, {"rax": 0xFFFFFFFF}, 0x801),
    ("blsi rax, rbx", {"rbx": 0b1100}, {"rax": 0b100, "rflags": flags("C")}, 0x8C1),
    ("blsi rax, rbx", {"rbx": 0}, {"rax": 0, "rflags": flags("Z")}, 0x8C1),
    ("blsmsk eax, ebx", {"rbx": 0b1000}, {"rax": 0b1111}, 0x8C1),
    ("blsr rax, rbx", {"rbx": 0b1100}, {"rax": 0b1000}, 0x8C1),
    ("blsr rax, rbx", {"rbx": 0}, {"rax": 0, "rflags": flags("CZ")}, 0x8C1),
    ("bzhi rax, rbx, rcx", {"rbx": M64, "rcx": 8}, {"rax": 0xFF}, 0x8C1),
    ("bzhi rax, rbx, rcx", {"rbx": 5, "rcx": 70}, {"rax": 5, "rflags": flags("C")}, 0x8C1),
    ("pdep rax, rbx, rcx", {"rbx": 0b101, "rcx": 0xF0}, {"rax": 0x50}, 0),
    ("pext rax, rbx, rcx", {"rbx": 0x50, "rcx": 0xF0}, {"rax": 0b101}, 0),
    ("mulx rax, rbx, rcx", {"rdx": 2 ** 63, "rcx": 4}, {"rax": 2, "rbx": 0}, 0x8D5),
    ("sarx rax, rbx, rcx", {"rbx": 2 ** 63, "rcx": 65}, {"rax": 0xC000_0000_0000_0000}, 0x8D5),
    ("shlx eax, ebx, ecx", {"rbx": 1, "rcx": 33}, {"rax": 2}, 0x8D5),
    ("shrx rax, rbx, rcx", {"rbx": 0x100, "rcx": 4}, {"rax": 0x10}, 0x8D5),
    ("rorx eax, ebx, 4", {"rbx": 0x1}, {"rax": 0x10000000}, 0x8D5),
])
def test_bmi(bed, text, init, expect, mask):
    run_case(bed, text, init, expect, mask=mask)
