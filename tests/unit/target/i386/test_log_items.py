"""-d items of the CPU: cpu_reset (the state being reset), mmu (TLB fills,
page-walk faults, CR0/CR3 updates), pcall (protected-mode far calls, returns
and irets), fpu (the x87/SSE state added to the cpu log)."""

import io

import pytest
from harness import CODE, KCODE, STACK, UCODE, UDATA, asm

from qemu_py.system.log import LOG
from qemu_py.target.i386.state import CR0, FPREGS, FPSTT, FPTAGS, FPUS, XMM


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
    # the code page, in QEMU's tlb_set_page_full form
    assert f"tlb_set_page_full: vaddr={CODE:016x} paddr=0x{CODE:016x} prot=5 idx=0\n" in text
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


def test_mmu_logs_cr0_and_cr3_updates_as_qemu(bed, log):
    out = log("mmu")
    bed.cpu.set_cr3(0x5000)
    bed.cpu.set_cr0(bed.cpu.env_q[CR0])
    text = out.getvalue()
    assert "CR3 update: CR3=0000000000005000\n" in text
    assert f"CR0 update: CR0=0x{bed.cpu.env_q[CR0]:08x}\n" in text


def test_fpu_adds_the_fpu_state_to_the_cpu_log(bed, log):
    # ST(0) = 1.0 in physical register 7 (TOP = 7), register 7 valid, XMM15 set
    env = bed.cpu.env_q
    env[FPSTT], env[FPTAGS], env[FPUS] = 7, 0x7F, 0
    env[FPREGS + 14], env[FPREGS + 15] = 0x8000_0000_0000_0000, 0x3FFF
    env[XMM + 30], env[XMM + 31] = 0x1122_3344_5566_7788, 0x99AA_BBCC_DDEE_FF00
    out = log("cpu", "fpu")
    bed.run(code=asm("hlt"))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("RAX=")
    assert "FCW=037f FSW=3800 [ST=7] FTW=80 MXCSR=00001f80" in lines
    assert ("FPR6=0000000000000000 0000 FPR7=8000000000000000 3fff") in lines
    # long mode: 16 XMM registers, two a line, high dword first
    assert ("XMM14=00000000000000000000000000000000 "
            "XMM15=99aabbccddeeff001122334455667788") in lines


def test_cpu_log_without_fpu_has_no_fpu_lines(bed, log):
    out = log("cpu")
    bed.run(code=asm("hlt"))
    assert "RIP=" in out.getvalue() and "FCW=" not in out.getvalue()


def test_reset_dump_includes_the_fpu_as_qemus_reset_dump_flags(bed, log):
    out = log("cpu_reset")
    bed.cpu.reset()
    assert "\nFCW=037f FSW=0000 [ST=0] FTW=00 MXCSR=00001f80\n" in out.getvalue()
