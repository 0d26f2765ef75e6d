"""edu's factorial: QEMU's 32-bit loop in closed form, busy until the main loop runs."""

import time

from qemu_py.hw.misc.edu import factorial32
from tests.unit.hw.arm.test_virt import edu_session, virt  # noqa: F401  (fixture)


def reference(n: int) -> int:
    ret = 1
    while n > 0:
        ret = (ret * n) & 0xFFFF_FFFF
        n -= 1
    return ret


def test_factorial32_matches_the_32_bit_loop():
    for n in range(0, 200):
        assert factorial32(n) == reference(n), n
    assert factorial32(33) == reference(33) != 0
    assert factorial32(34) == 0


def test_edu_factorial_of_0xffffffff_does_not_freeze_the_emulator(virt):  # noqa: F811
    s = edu_session(virt)
    t = time.monotonic()
    s.cmd("writel 0x10000008 0xffffffff")
    assert s.val("readl 0x10000008") == 0
    assert s.val("readl 0x10000020") & 1 == 0
    assert time.monotonic() - t < 1.0


def test_edu_factorial_is_busy_until_the_main_loop_runs(virt):  # noqa: F811
    s = edu_session(virt)
    s.cmd("writel 0x10000020 0x80")                      # IRQ when done
    edu = s.emu.vm.machine.pci_bus.slots[8]
    edu._write(0x08, 12, 4)
    assert edu._read(0x20, 4) == 0x81                    # computing
    assert edu._read(0x08, 4) == 12                      # the operand until done
    edu._write(0x08, 5, 4)                               # ignored while computing
    assert edu.irq_status == 0
    s.emu.loop.iterate(0)
    assert edu._read(0x20, 4) == 0x80
    assert edu._read(0x08, 4) == reference(12)
    assert edu.irq_status == 1
