"""The gdbstub's remote protocol, packet by packet, over its socket.

One emulator (the default guest, started with -S) serves every test of the
module in order: each test leaves the connection in a known state.
"""
import os
import struct

import pytest

from qemu_py.gdbstub.packet import frame
from qemu_py.target.i386.gdb_regs import NUM_REGS, REGISTERS
from tests.unit.gdbstub.client import GdbClient, start_emulator

CHECK = 0x100350          # static void check(...) in images/default/kernel.c
TICKS = 0x1152C8          # static volatile uint64_t ticks
RIP = 16


@pytest.fixture(scope="module")
def gdb(tmp_path_factory):
    path = os.path.join(tmp_path_factory.mktemp("gdb"), "sock")
    proc = start_emulator(path)
    client = GdbClient(path)
    yield client, proc
    client.close()
    try:
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def reg(c, n) -> int:
    return int.from_bytes(bytes.fromhex(c.command(b"p%x" % n).decode()), "little")


def test_qsupported_lists_qemu_features(gdb):
    c, _ = gdb
    r = c.command(b"qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386")
    assert r.split(b";") == [b"PacketSize=1000", b"qXfer:features:read+", b"swbreak+",
                             b"hwbreak+", b"vContSupported+", b"QStartNoAckMode+"]


def test_status_and_threads(gdb):
    c, _ = gdb
    assert c.command(b"?") == b"T05thread:01;"
    assert c.command(b"qC") == b"QC01"
    assert c.command(b"qfThreadInfo") == b"m01"
    assert c.command(b"qsThreadInfo") == b"l"
    assert c.command(b"qAttached") == b"1"
    assert c.command(b"Hg1") == b"OK"
    assert c.command(b"Hc-1") == b"OK"
    assert c.command(b"Hg0") == b"OK"
    assert c.command(b"T1") == b"OK"
    assert c.command(b"T2") == b"E22"
    assert c.command(b"Hg7") == b"E22"


def test_target_xml_in_chunks(gdb):
    c, _ = gdb
    xml = b""
    while True:
        r = c.command(b"qXfer:features:read:target.xml:%x,200" % len(xml))
        assert r[:1] in (b"m", b"l")
        xml += r[1:]
        if r[:1] == b"l":
            break
    assert b"<architecture>i386:x86-64</architecture>" in xml
    names = [n for n, _s, _t, _g in REGISTERS]
    positions = [xml.index(b'name="%s"' % n.encode()) for n in names]
    assert positions == sorted(positions)            # QEMU's register order
    assert b'<reg name="eflags" bitsize="32"' in xml
    assert b'<reg name="st0" bitsize="80"' in xml
    assert b'<reg name="xmm15" bitsize="128"' in xml
    assert c.command(b"qXfer:features:read:other.xml:0,100") == b"E00"


def test_g_is_the_concatenation_of_p(gdb):
    c, _ = gdb
    g = bytes.fromhex(c.command(b"g").decode())
    assert len(g) == sum(size for _n, size, _t, _gr in REGISTERS) == 608
    off = 0
    for n in range(NUM_REGS):
        size = REGISTERS[n][1]
        assert g[off:off + size].hex().encode() == c.command(b"p%x" % n)
        off += size
    assert c.command(b"p%x" % NUM_REGS) == b"E14"
    assert reg(c, RIP) == 0x100020          # the kernel's entry point (-S: nothing ran)


def test_P_and_G_write_registers(gdb):
    c, _ = gdb
    old = c.command(b"p0")
    assert c.command(b"P0=" + struct.pack("<Q", 0x1122334455667788).hex().encode()) == b"OK"
    assert reg(c, 0) == 0x1122334455667788
    g = bytearray(bytes.fromhex(c.command(b"g").decode()))
    g[0:8] = bytes.fromhex(old.decode())
    assert c.command(b"G" + bytes(g).hex().encode()) == b"OK"
    assert c.command(b"p0") == old
    assert c.command(b"P0=zz") == b"E22"


def test_memory_read_write_and_binary(gdb):
    c, _ = gdb
    orig = c.command(b"m%x,8" % TICKS)
    assert len(orig) == 16
    assert c.command(b"M%x,4:deadbeef" % TICKS) == b"OK"
    assert c.command(b"m%x,4" % TICKS) == b"deadbeef"
    # X: binary, with bytes that must be escaped on the wire
    assert c.command(b"X%x,4:" % TICKS + b"}*#$") == b"OK"     # frame() escapes all four
    assert c.command(b"m%x,4" % TICKS) == b"7d2a2324"
    assert c.command(b"X%x,0:" % TICKS) == b"OK"
    assert c.command(b"M%x,8:" % TICKS + orig) == b"OK"
    assert c.command(b"m%x,8" % TICKS) == orig
    assert c.command(b"M%x,4:00" % TICKS) == b"E22"       # length and data disagree


def test_memory_virtual_vs_physical(gdb):
    c, _ = gdb
    # before the guest enables paging, virtual and physical reads agree
    assert c.command(b"m100000,10") == c.command(b"m100000,10")
    assert c.command(b"Qqemu.PhyMemMode:1") == b"OK"
    phys = c.command(b"m100000,10")
    assert c.command(b"qqemu.PhyMemMode") == b"1"
    assert c.command(b"Qqemu.PhyMemMode:0") == b"OK"
    assert c.command(b"m100000,10") == phys
    assert c.command(b"Qqemu.PhyMemMode:7") == b"E22"


def test_sstep_flags(gdb):
    c, _ = gdb
    assert c.command(b"qqemu.sstepbits") == b"ENABLE=1,NOIRQ=2,NOTIMER=4"
    assert c.command(b"qqemu.sstep") == b"0x7"
    assert c.command(b"Qqemu.sstep=5") == b"OK"
    assert c.command(b"qqemu.sstep") == b"0x5"
    assert c.command(b"Qqemu.sstep=7") == b"OK"
    assert c.command(b"Qqemu.sstep=8") == b"E22"          # not a supported bit
    assert c.command(b"qqemu.sstep") == b"0x7"


def test_ctrl_c_stops_a_running_guest(gdb):
    c, _ = gdb
    c.send_raw(frame(b"c"))
    assert c.read_byte() == b"+"
    c.send_raw(b"\x03")
    assert c.read_packet() == b"T02thread:01;"
    assert c.command(b"?") == b"T05thread:01;"


def test_step_runs_one_instruction(gdb):
    c, _ = gdb
    pc = reg(c, RIP)
    assert c.command(b"s") == b"T05thread:01;"
    new = reg(c, RIP)
    assert new != pc and 0 < new - pc <= 15
    assert c.command(b"vCont?") == b"vCont;c;C;s;S"
    assert c.command(b"vCont;s:1;c") == b"T05thread:01;"
    assert 0 < reg(c, RIP) - new <= 15


def test_breakpoint_stops_and_guest_memory_is_unchanged(gdb):
    c, _ = gdb
    before = c.command(b"m%x,4" % CHECK)
    assert c.command(b"Z0,%x,1" % CHECK) == b"OK"
    assert c.command(b"m%x,4" % CHECK) == before          # no int3 written
    assert c.command(b"c") == b"T05thread:01;"
    assert reg(c, RIP) == CHECK
    # resuming at the breakpoint executes it first, and the next call stops again
    assert c.command(b"vCont;c") == b"T05thread:01;"
    assert reg(c, RIP) == CHECK
    assert c.command(b"z0,%x,1" % CHECK) == b"OK"
    assert c.command(b"z0,%x,1" % CHECK) == b"E22"
    assert c.command(b"Z1,%x,1" % CHECK) == b"OK"
    assert c.command(b"C00") == b"T05thread:01;"
    assert reg(c, RIP) == CHECK
    assert c.command(b"z1,%x,1" % CHECK) == b"OK"


def test_write_watchpoint_stops_after_the_store(gdb):
    c, _ = gdb
    assert c.command(b"Z2,%x,8" % TICKS) == b"OK"
    r = c.command(b"c")
    assert r == b"T05thread:01;watch:%x;" % TICKS
    assert c.command(b"m%x,8" % TICKS) != b"0000000000000000"   # the write completed
    assert c.command(b"z2,%x,8" % TICKS) == b"OK"
    assert c.command(b"z2,%x,8" % TICKS) == b"E22"


def test_read_and_access_watchpoints(gdb):
    c, _ = gdb
    assert c.command(b"Z3,%x,8" % TICKS) == b"OK"
    assert c.command(b"c") == b"T05thread:01;rwatch:%x;" % TICKS
    assert c.command(b"z3,%x,8" % TICKS) == b"OK"
    assert c.command(b"Z4,%x,8" % TICKS) == b"OK"
    assert c.command(b"c") == b"T05thread:01;awatch:%x;" % TICKS
    assert c.command(b"z4,%x,8" % TICKS) == b"OK"
    assert c.command(b"Z2,%x,0" % TICKS) == b"E22"


def test_qrcmd_runs_hmp_and_hex_encodes_output(gdb):
    c, _ = gdb
    c.send_raw(frame(b"qRcmd," + b"info status".hex().encode()))
    assert c.read_byte() == b"+"
    out = c.read_packet()
    assert out.startswith(b"O")
    text = bytes.fromhex(out[1:].decode())
    assert text == b"VM status: paused (debug)\r\n"
    assert c.read_packet() == b"OK"


def test_bad_checksum_gets_nak_then_resend(gdb):
    c, _ = gdb
    c.send_raw(b"$qC#00")
    assert c.read_byte() == b"-"
    assert c.command(b"qC") == b"QC01"
    # a '-' from the client makes the stub resend its last reply
    c.send_raw(b"-")
    assert c.read_packet() == b"QC01"


def test_malformed_and_unknown_packets(gdb):
    c, _ = gdb
    assert c.command(b"mzz,4") == b"E22"
    assert c.command(b"m100000") == b"E22"
    assert c.command(b"Z0,nothex,1") == b"E22"
    assert c.command(b"Hx1") == b"E22"
    assert c.command(b"vCont;q") == b"E22"
    assert c.command(b"vMustReplyEmpty") == b""
    assert c.command(b"qNoSuchQuery") == b""
    assert c.command(b"!") == b""
    assert c.command(b"m0,%x" % 0x10000) == b"E22"              # more than a packet holds
    assert c.command(b"m" + b"1" * 5000 + b",4") == b"E22"       # oversized packet
    assert c.command(b"?") == b"T05thread:01;"                  # still serving


def test_no_ack_mode(gdb):
    c, _ = gdb
    assert c.command(b"QStartNoAckMode") == b"OK"
    c.ack = False
    assert c.command(b"qC") == b"QC01"


def test_detach_lets_the_guest_run_to_its_normal_exit(gdb):
    c, proc = gdb
    assert c.command(b"Z0,%x,1" % CHECK) == b"OK"
    assert c.command(b"D") == b"OK"          # drops the breakpoint, the guest runs on
    assert proc.wait(timeout=120) == 0
    assert b"all checks passed" in proc.stdout.read()


def test_dash_s_is_gdb_on_tcp_port_1234():
    from qemu_py.cli import parse_args
    assert parse_args(["-s"]).gdb == "tcp::1234" == parse_args(["-gdb", "tcp::1234"]).gdb


def _fresh(tmp_path):
    path = str(tmp_path / "sock")
    proc = start_emulator(path)
    c = GdbClient(path)
    # no acks: the client must not write once the emulator may have exited
    assert c.command(b"QStartNoAckMode") == b"OK"
    c.ack = False
    return c, proc


def test_shutdown_while_attached_sends_W00_after_the_reply(tmp_path):
    c, proc = _fresh(tmp_path)
    try:
        assert c.command(b"qRcmd," + b"quit".hex().encode()) == b"OK"
        assert c.read_packet() == b"W00"            # QEMU's gdb_exit, whatever the status
        assert proc.wait(timeout=60) == 0
    finally:
        c.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_kill_sends_W00_and_ends_with_status_0(tmp_path):
    c, proc = _fresh(tmp_path)
    try:
        assert c.command(b"vKill;1") == b"OK"
        assert c.read_packet() == b"W00"
        assert proc.wait(timeout=60) == 0
        assert proc.stderr.read().decode().endswith(": QEMU: Terminated via GDBstub\n")
    finally:
        c.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
