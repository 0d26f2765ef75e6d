"""The LLVM backend beyond the shared backend tests: tiering, native chaining, SMC."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "target", "i386"))

from harness import CODE, DATA, X86Bed, asm  # noqa: E402

LOOPS = """
    mov rcx, 300; xor eax, eax; mov rbx, 7
    1: add rax, rbx; call 2f; dec rcx; jnz 1b; hlt
    2: xor rax, rcx; mov [rip+0x100], rax; ret
"""


def _run(backend, prog=LOOPS, budget=10 ** 6):
    bed = X86Bed(backend)
    bed.load(asm(prog))
    bed.cpu.exec(budget)
    return bed


def test_auto_tier_compiles_hot_tbs_natively_with_the_same_result():
    py, auto = _run("python"), _run("auto")
    assert auto.state() == py.state()
    be = auto.cpu.engine.backend
    assert be.stats()["compiled"] >= 1          # the loop's TBs ran 300 times
    natives = [tb for tb in auto.cpu.engine.htable.values() if tb.fn_native is not None]
    assert natives and all(tb.exec_count >= 64 for tb in natives)


def test_native_goto_tb_links_are_set_and_cleared_on_invalidation():
    bed = _run("llvm")
    linked = [tb for tb in bed.cpu.engine.htable.values()
              if tb.native_slots is not None and (tb.native_slots[0] or tb.native_slots[1])]
    assert linked
    tb = linked[0]
    for slot in (0, 1):
        dst = tb.jmp_dest[slot]
        if dst is not None:
            bed.cpu.engine.tb_invalidate(dst)
            assert tb.native_slots[slot] == 0 and tb.jmp_dest[slot] is None


def test_budget_stops_a_native_chain_exactly():
    for budget in (1, 7, 50, 333):
        ref, got = X86Bed("interp"), X86Bed("llvm")
        for bed in (ref, got):
            bed.load(asm(LOOPS))
            bed.cpu.engine.cflags_next = 0
            retired = bed.cpu.exec(budget)
        assert got.state() == ref.state(), budget
        assert retired <= budget


def test_a_store_into_the_running_native_tb_retranslates_it():
    # a loop whose body stores into its own code on every pass
    prog = """
        mov ecx, 3; xor eax, eax
        1: mov byte ptr [rip + 2f - 3f + 2], 5
        3: dec ecx
        2: add eax, 1
        jnz 1b; hlt
    """
    ref, got = _run("interp", prog, 3000), _run("llvm", prog, 3000)
    assert got.state() == ref.state()
    assert got.cpu.engine.invalidations > 10


def test_fallbacks_are_counted_by_reason():
    bed = _run("llvm")
    st = bed.cpu.engine.backend.stats()
    assert st["compiled"] > 0 and st["fallbacks"] == {}
    assert st["compile_ms"] > 0


_ = (CODE, DATA)
