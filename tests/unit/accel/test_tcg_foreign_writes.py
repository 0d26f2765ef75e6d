"""Writes that do not come from the CPU (qtest, DMA, the monitor) drop the
translated code they overwrite: the TCG accelerator watches every RAM region
and hands the guest physical range to the translation cache."""

from qemu_py.qtest.inprocess import InProcessQTest


def test_qtest_and_bulk_writes_reach_the_translation_cache():
    s = InProcessQTest(["-M", "pc", "-m", "64M", "-accel", "tcg", "-S"])
    try:
        engine = s.emu.vm.machine.cpu.engine
        seen = []
        real = engine.invalidate_phys_range
        engine.invalidate_phys_range = lambda pa, size, from_cpu_store=True: (
            seen.append((pa, size, from_cpu_store)), real(pa, size, from_cpu_store))
        assert s.cmd("writel 0x7000 0x90909090") == "OK"
        assert s.cmd("write 0x200000 3 0xc3c3c3") == "OK"
        assert s.cmd("memset 0xfff0 0x20 0x90") == "OK"       # crosses a page boundary
        assert seen == [(0x7000, 4, False), (0x200000, 3, False), (0xFFF0, 0x20, False)]
    finally:
        s.close()

