"""-d items of the CPU: cpu_reset (the state being reset), mmu (TLB fills and
page-walk faults), pcall (protected-mode far calls, returns and irets)."""

import io

import pytest
from harness import CODE, KCODE, STACK, UCODE, UDATA, asm

from qemu_py.system.log import LOG


@pytest.fixture
def log():
    saved = LOG.items, LOG.fp
    LOG.fp = io.StringIO()

    def enable(*items):
        LOG.items = set(items)
        return LOG.fp
    yield enable
    LOG.items, LOG.fp = saved


def test_cpu_reset_dumps_the_state_being_reset(bed, log):
    out = log("cpu_reset")
    bed.cpu.set_gpr(0, 0x1234)
    bed.cpu.reset()
    text = out.getvalue()
    assert text.startswith("CPU Reset (CPU 0)\nRAX=0000000000001234 RCX=")
    assert "RIP=" in text and "RFL=" in text


def test_cpu_reset_logs_nothing_without_the_item(bed, log):
    out = log("int")
    bed.cpu.reset()
    assert "CPU Reset" not in out.getvalue()


def test_mmu_logs_fills_and_the_page_fault(bed, log):
    bed.wq(bed.pte_addr(0x3FF000), 0)
    bed.cpu.tlb_flush()
    out = log("mmu")
    bed.run(code=asm("mov qword ptr [rcx], rax") + b"\xf4", rcx=0x3FF010)
    text = out.getvalue()
    assert f"tlb_fill: vaddr={CODE:016x} paddr={CODE:016x}" in text     # the code page
    assert ("tlb_fill: fault addr=00000000003ff010 w=1 mmu=0 excp=0e error=0002 "
            f"eip={CODE:016x}\n") in text


def test_pcall_logs_far_return_and_iret(bed, log):
    user = CODE + 0x400
    bed.write(user, asm("hlt"))
    out = log("pcall")
    bed.run(code=asm(f"push {UDATA | 3}; push {STACK - 0x100}; push 0x202; "
                     f"push {UCODE | 3}; push {user}; iretq"))
    assert f"lret new {UCODE | 3:04x}:{user:016x} s=2 addend=0x0\n" in out.getvalue()


def test_pcall_logs_lret(bed, log):
    target = CODE + 0x200
    bed.write(target, asm("hlt"))
    out = log("pcall")
    bed.run(code=asm(f"push {KCODE}; push {target}; retfq"))
    assert f"lret new {KCODE:04x}:{target:016x} s=2 addend=0x0\n" in out.getvalue()
