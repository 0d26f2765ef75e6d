"""Recorded-style sessions on `-M none -m 16M`: replies byte-identical to the
QEMU 7.2 texts of specs/qtest.md (§1.2-§1.7)."""

import pytest

SESSION = [
    ("endianness", "OK little"),
    ("writel 0x1000 0xdeadbeef", "OK"),
    ("readl 0x1000", "OK 0x00000000deadbeef"),
    ("read 0x1000 4", "OK 0xefbeadde"),
    ("readb 0x1000", "OK 0x00000000000000ef"),
    ("readw 0x1000", "OK 0x000000000000beef"),
    ("writeq 0x1008 0x0123456789abcdef", "OK"),
    ("readq 0x1008", "OK 0x0123456789abcdef"),
    ("read 0x1008 8", "OK 0xefcdab8967452301"),
    ("writeb 0x8 0x5a", "OK"),
    ("readb 010", "OK 0x000000000000005a"),                 # leading 0: octal
    ("readb \t0x8", "OK 0x000000000000005a"),                # whitespace inside a token
    ("writel 0x1000 -1", "OK"),
    ("readl 0x1000", "OK 0x00000000ffffffff"),
    ("writeb 0x2000 0x1ff", "OK"),
    ("readb 0x2000", "OK 0x00000000000000ff"),
    ("write 0x3000 4 0xAABB", "OK"),
    ("read 0x3000 4", "OK 0xaabb0000"),
    ("write 0x3000 2 0x", "ERR invalid argument size"),
    ("write 0x3000 2 ab", "ERR invalid argument size"),
    ("b64write 0x4000 8 AQIDBA==", "OK"),
    ("read 0x4000 8", "OK 0x0102030442413d3d"),
    ("b64read 0x4000 4", "OK AQIDBA=="),
    ("b64read 0x4000 0", "OK "),
    ("memset 0x5000 4 0x1234", "OK"),
    ("read 0x5000 4", "OK 0x34343434"),
    ("memset 0x5000 0 0x11", "OK"),
    ("readb 0x1000 extra args", "OK 0x00000000000000ff"),
    ("readl 0xe0000000", "OK 0x0000000000000000"),           # unassigned MMIO reads 0
    ("inb 0x80", "OK 0x00ff"),                               # unassigned port I/O: all-ones
    ("inw 0x80", "OK 0xffff"),
    ("inl 0x1234", "OK 0xffffffff"),
    ("outb 0x80 0x12", "OK"),
]

CLOCK = [
    ("clock_step", "OK 0"),                  # no deadline: unchanged (7.2)
    ("clock_step 1000", "OK 1000"),
    ("clock_set 500", "OK 1000"),            # the past: unchanged (7.2)
    ("clock_set 50000000", "OK 50000000"),
    ("clock_step 0", "OK 50000000"),
]

ERRORS = [
    ("READB 0x1000", "FAIL Unknown command 'READB'"),
    ("readb\t0x1000", "FAIL Unknown command 'readb\t0x1000'"),
    (" readb 0x1000", "FAIL Unknown command ''"),
    ("rtas get-time-of-day 0 0x0 7 0x0", "FAIL Unknown command 'rtas'"),
    ("csr get_csr 0 0 0", "FAIL Unknown command 'csr'"),
    ("module_load block nonexistent", "FAIL"),
    ("irq_intercept_in /machine/nothing", "FAIL Unknown device"),
    ("irq_intercept_out nothing", "FAIL Unknown device"),
    ("set_irq_in /machine/nothing unnamed-gpio-in 0 1", "FAIL Unknown device"),
]


@pytest.mark.parametrize("table", [SESSION, CLOCK, ERRORS], ids=["memory", "clock", "errors"])
def test_replies_match_qemu(session, table):
    for request, reply in table:
        assert session.cmd(request) == reply, request


# Where QEMU 7.2 aborts, qemu-py answers FAIL naming the bad token and keeps serving.
NON_FATAL = [
    ("", "FAIL empty command line"),
    ("readb", "FAIL readb: missing argument ADDR"),
    ("readb zzz", "FAIL readb: invalid ADDR 'zzz'"),
    ("readb 0x1000x", "FAIL readb: invalid ADDR '0x1000x'"),
    ("readb 0x1000\r", "FAIL readb: invalid ADDR '0x1000\\x0d'"),
    ("readb  0x1000", "FAIL readb: invalid ADDR ''"),
    ("inb 0x10000", "FAIL inb: port address 0x10000 out of range (max 0xffff)"),
    ("read 0x1000 0", "FAIL read: SIZE must not be 0"),
    ("clock_step abc", "FAIL clock_step: invalid NS 'abc'"),
    ("irq_intercept_in", "FAIL irq_intercept_in: missing argument QOM_PATH"),
    ("set_irq_in /machine/nothing unnamed-gpio-in 0", "FAIL set_irq_in: missing argument LEVEL"),
    ("read 0 0x7fffffffffffffff", "FAIL read: SIZE 0x7fffffffffffffff too large (max 0x10000000)"),
]


def test_malformed_lines_fail_and_the_server_keeps_serving(session):
    for request, reply in NON_FATAL:
        assert session.cmd(request) == reply, repr(request)
        assert session.cmd("endianness") == "OK little"


def test_pipelined_and_split_requests(session):
    assert session.raw(b"writel 0x100 7\nreadl 0x100\nendianness\n", 3) == [
        "OK", "OK 0x0000000000000007", "OK little"]
    session.peer.sendall(b"read")
    assert session.raw(b"l 0x100\n", 1) == ["OK 0x0000000000000007"]
