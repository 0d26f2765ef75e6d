"""The Python client QTest, the qemu-py-qtest tool and the pytest plugin against a real process."""

import os
import subprocess
import sys
import tempfile
import time

import pytest

from qemu_py.qtest import QTest, QTestError

TOOL = [sys.executable, "-m", "qemu_py.qtest.tool"]
EMU = [sys.executable, "-m", "qemu_py"]


def test_client_methods_mirror_libqtest(tmp_path):
    with QTest(["-M", "none", "-m", "16M"], qmp=False, log_dir=str(tmp_path)) as qt:
        qt.writel(0x1000, 0xDEADBEEF)
        assert qt.readl(0x1000) == 0xDEADBEEF
        assert qt.readw(0x1000) == 0xBEEF and qt.readb(0x1003) == 0xDE
        qt.writeq(0x2000, 0x1122334455667788)
        assert qt.readq(0x2000) == 0x1122334455667788
        qt.memwrite(0x3000, b"hello")
        assert qt.memread(0x3000, 5) == b"hello"
        qt.bufwrite(0x4000, bytes(range(200)))
        assert qt.bufread(0x4000, 200) == bytes(range(200))
        qt.memset(0x5000, 16, 0xA5)
        assert qt.memread(0x5000, 16) == b"\xa5" * 16
        assert qt.inb(0x80) == 0xFF and qt.inl(0x1234) == 0xFFFFFFFF
        assert qt.clock_step(1000) == 1000 and qt.clock_set(5000) == 5000
        assert qt.big_endian is False
        with pytest.raises(QTestError) as err:
            qt.cmd("bogus 1 2")
        assert err.value.command == "bogus 1 2"
        assert err.value.reply == "FAIL Unknown command 'bogus'"
        assert qt.readl(0x1000) == 0xDEADBEEF            # still serving
    log = open(os.path.join(tmp_path, "qtest.log")).read()
    assert log.startswith("[I 0.000000] OPENED\n[R +")
    assert "] writel 0x1000 0xdeadbeef\n" in log and "] OK 0x00000000deadbeef\n" in log


def test_attach_and_reconnect_keep_machine_state():
    path = os.path.join(tempfile.mkdtemp(), "qt.sock")
    proc = subprocess.Popen(EMU + ["-M", "none", "-m", "16M", "-qtest-log", "none", "-accel", "qtest",
                                   "-qtest", f"unix:{path},server=on,wait=off"])
    try:
        for _ in range(300):
            if os.path.exists(path):
                break
            time.sleep(0.05)
        first = QTest.attach(path)
        first.writel(0x100, 42)
        first.clock_step(777)
        first.close()
        second = QTest.attach(path)
        assert second.readl(0x100) == 42
        assert second.clock_step() == 777
        second.close()
    finally:
        proc.terminate()
        assert proc.wait(30) == 0


def test_tool_spawns_and_prints_replies(tmp_path):
    script = tmp_path / "s.qtest"
    script.write_text("# comment\nwritel 0x10 0x5\n\nreadl 0x10\nbogus\nendianness\n")
    log = tmp_path / "t.log"
    res = subprocess.run(TOOL + ["--file", str(script), "--log", str(log), "--"] + EMU +
                         ["-M", "none", "-m", "16M"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0
    assert res.stdout == ("OK\nOK 0x0000000000000005\nFAIL Unknown command 'bogus'\nOK little\n")
    assert "> readl 0x10" in log.read_text() and "< OK 0x0000000000000005" in log.read_text()


def test_tool_strict_stops_at_first_failure():
    res = subprocess.run(TOOL + ["--strict", "--"] + EMU + ["-M", "none"],
                         input="endianness\nbogus\nendianness\n", capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 1
    assert res.stdout == "OK little\nFAIL Unknown command 'bogus'\n"


def test_tool_rejects_bad_usage():
    res = subprocess.run(TOOL, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "give either --socket PATH or -- EMULATOR ARGS" in res.stderr
    res = subprocess.run(TOOL + ["--socket", "/nonexistent/sock"], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 2 and "cannot connect to '/nonexistent/sock'" in res.stderr


pytest_plugins = ["pytester"]


def test_pytest_plugin_fixture_and_failure_report(pytester):
    pytester.makepyfile(test_demo="""
        import pytest

        def test_ok(qtest):
            qtest.writel(0x100, 7)
            assert qtest.readl(0x100) == 7
            assert qtest.qmp("query-status")["status"] == "running"

        @pytest.mark.machine("none", "-m", "32M")
        def test_fails(qtest):
            assert qtest.readl(0x100) == 1
    """)
    res = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    res.assert_outcomes(passed=1, failed=1)
    out = res.stdout.str()
    assert "qtest log:" in out and "emulator output:" in out and "-m 32M" in out


def test_guest_errors_go_to_the_D_file(tmp_path):
    logfile = tmp_path / "emu.log"
    with QTest(["-M", "none", "-m", "16M", "-d", "guest_errors", "-D", str(logfile)],
               qmp=False) as qt:
        assert qt.readl(0x10000000) == 0
    assert "Invalid read at addr 0x10000000, size 4, region 'unassigned', reason: rejected" in \
        logfile.read_text()


@pytest.mark.machine("pc")
def test_irq_lines_are_kept_in_order(qtest):
    qtest.irq_intercept_in("ioapic")
    qtest.outb(0x70, 0x0A)
    qtest.outb(0x71, 0x26)
    qtest.outb(0x70, 0x0B)
    qtest.outb(0x71, 0x42)
    irqs, reply = qtest.cmd_with_irqs("clock_step 2000000")
    assert (irqs, reply) == (["IRQ raise 8"], "OK 2000000")
    assert qtest.get_irq(8) and qtest.irq_raised[8] == 1
