"""The pseries machine through the qtest protocol: `hcall` (a qemu-py
extension) covering every return code of the spec's observed table on both
HPT backends, and QEMU's `rtas` command."""

import struct

import pytest

from qemu_py.qtest import QTest, QTestError

U64 = 1 << 64
H_SUCCESS, H_FUNCTION, H_PARAMETER, H_PTEG_FULL, H_NOT_FOUND = 0, -2, -4, -6, -7
H_EXACT, H_READ_4, H_AVPN = 0x8000000000, 0x2000000000, 0x80000000
ENTER, REMOVE, READ, PROTECT, BULK = 0x08, 0x04, 0x0C, 0x18, 0x124


@pytest.fixture(scope="module", params=["memory", "kvm-sim"])
def spapr(request):
    qt = QTest(["-M", f"pseries,hpt-backend={request.param}", "-rtc", "base=2020-01-02T03:04:05"],
               target="ppc64", qmp=True)
    qt.launch()
    yield qt
    qt.quit()


def hcall(qt, opcode, *args):
    reply = qt.cmd(" ".join(["hcall", hex(opcode), *(hex(a % U64) for a in args)]))
    regs = [int(x) for x in reply.split(" ")[1:]]
    regs[0] = regs[0] - U64 if regs[0] >> 63 else regs[0]
    return regs


def test_big_endian_target_and_machine_properties(spapr):
    assert spapr.cmd("endianness") == "OK big"
    assert spapr.qmp("qom-get", path="/machine", property="type") == "pseries-7.2-machine"
    assert spapr.qmp("qom-get", path="/machine", property="htab-shift") == 22   # 512 MiB RAM (QEMU rule)


def test_observed_return_codes(spapr):
    # H_ENTER without flags: 0 and the chosen ptex (case A)
    assert hcall(spapr, ENTER, 0, 0x1A2A8, 0x123456001, 0x5012)[:2] == [H_SUCCESS, 0x1A2A8]
    # H_EXACT into a free slot (case B), then into the same, now occupied, slot
    assert hcall(spapr, ENTER, H_EXACT, 0x25D73, 0x123456003, 0x6012)[:2] == [H_SUCCESS, 0x25D73]
    assert hcall(spapr, ENTER, H_EXACT, 0x25D73, 0x123456003, 0x7012)[0] == H_PTEG_FULL
    # ptex beyond the table
    assert hcall(spapr, ENTER, 0, 0x4000000, 0x123456001, 0x5012)[0] == H_PARAMETER
    # H_READ with and without H_READ_4
    assert hcall(spapr, READ, 0, 0x1A2A8)[0] == H_SUCCESS
    assert hcall(spapr, READ, H_READ_4, 0x1A2A8)[0] == H_SUCCESS
    # H_PROTECT with H_AVPN and pp=3
    avpn = 0x123456001 >> 7 << 7
    assert hcall(spapr, PROTECT, H_AVPN | 3, 0x1A2A8, avpn)[0] == H_SUCCESS
    # H_REMOVE with a wrong AVPN, then the right one
    assert hcall(spapr, REMOVE, H_AVPN, 0x1A2A8, avpn ^ 0x80)[0] == H_NOT_FOUND
    assert hcall(spapr, REMOVE, H_AVPN, 0x1A2A8, avpn)[0] == H_SUCCESS
    assert hcall(spapr, READ, 0, 0x1A2A8)[1] & 1 == 0             # entry now invalid
    # an opcode nobody registered
    assert hcall(spapr, 0x10)[0] == H_FUNCTION


def test_malformed_hcall_lines(spapr):
    with pytest.raises(QTestError) as err:
        spapr.cmd("hcall")
    assert err.value.reply == "FAIL hcall: missing opcode"
    with pytest.raises(QTestError) as err:
        spapr.cmd("hcall 0x8 zz")
    assert err.value.reply == "FAIL hcall: bad number 'zz'"


def test_rtas_get_time_of_day_follows_rtc_base_and_virtual_clock(spapr):
    assert spapr.cmd("rtas get-time-of-day 0 0x1000 8 0x2000") == "OK 0"
    before = struct.unpack(">8i", spapr.memread(0x2000, 32))
    assert before[:7] == (0, 2020, 1, 2, 3, 4, 5 + before[6] - 5) and before[6] in range(5, 60)
    spapr.clock_step(3 * 10**9)
    spapr.cmd("rtas get-time-of-day 0 0x1000 8 0x2000")
    after = struct.unpack(">8i", spapr.memread(0x2000, 32))
    assert after[6] == before[6] + 3


def test_rtas_unknown_name_and_bad_nret(spapr):
    assert spapr.cmd("rtas no-such-call 0 0x1000 1 0x2000") == "OK 18446744073709551612"
    assert spapr.cmd("rtas get-time-of-day 0 0x1000 1 0x2000") == "OK 0"
    assert struct.unpack(">i", spapr.memread(0x2000, 4))[0] == -3     # RTAS parameter error


def test_bad_backend_is_a_startup_error():
    import subprocess
    import sys
    res = subprocess.run([sys.executable, "-m", "qemu_py", "-M", "pseries,hpt-backend=bogus",
                          "-accel", "qtest"], capture_output=True, text=True, timeout=60,
                         env={"QEMU_PY_TARGET": "ppc64", "PATH": ""})
    assert res.returncode == 1
    assert res.stderr == ("qemu-py: Property 'pseries-7.2-machine.hpt-backend' does not accept "
                          "value 'bogus' (expected memory or kvm-sim)\n")
