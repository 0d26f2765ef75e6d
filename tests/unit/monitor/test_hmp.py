"""The human monitor in process: command texts, info, xp formatting, readline echo."""

import pytest

from qemu_py.memory import mtree_info

from .harness import BASE, InProcess

RAM = bytes([0x00, 0xFF, 0x7F, 0x80, 0x41, 0x42, 0x43, 0x44, 1, 2, 3, 4, 5, 6, 7, 8,
             0x11, 0x22, 0x33, 0x44, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x27, 0x5C, 0x0A, 0x0D])


@pytest.fixture
def emu():
    e = InProcess()
    e.vm.machine.qtest_as.write(0, RAM)
    yield e
    e.close()


@pytest.fixture
def hmp(emu):
    return emu.qmp().hmp


def lines(*texts):
    return "".join(t + "\r\n" for t in texts)


# -- dispatcher texts ----------------------------------------------------------------------------------

def test_unknown_commands_succeed_with_a_message(hmp):
    assert hmp("nosuchcmd") == "unknown command: 'nosuchcmd'\r\n"
    assert hmp("info nosuch") == "unknown command: 'info nosuch'\r\n"
    assert hmp("") == ""
    assert hmp("   ") == ""


def test_help(hmp):
    assert hmp("help xp") == "xp /fmt addr -- physical memory dump starting at 'addr'\r\n"
    assert hmp("? stop") == "stop|s  -- stop emulation\r\n"
    assert hmp("help info status") == "info status  -- show the current VM status (running|paused)\r\n"
    assert hmp("help nosuch") == "unknown command: 'nosuch'\r\n"
    assert hmp("help info nosuch") == "unknown command: 'info nosuch'\r\n"
    full = hmp("help")
    assert full.startswith("help|? [cmd] -- show the help\r\nq|quit  -- quit the emulator\r\n")
    assert "info [subcommand] -- show various information about the system state\r\n" in full
    info = hmp("info")
    assert info == hmp("help info")
    assert info.startswith("info version  -- show the version of QEMU\r\n")
    assert "info qom-tree [path] -- show QOM composition tree\r\n" in info


def test_info_texts(emu, hmp):
    assert hmp("info version") == "7.2.22qemu-py 0.1.0\r\n"
    assert hmp("info status") == "VM status: running\r\n"
    assert hmp("stop") == ""
    assert hmp("info status") == "VM status: paused\r\n"
    assert hmp("c") == ""
    assert hmp("info name") == ""
    assert hmp("info kvm") == "kvm support: disabled\r\n"
    assert hmp("info registers") == "No CPU available\r\n"
    assert hmp("info registers 3") == "CPU#3 not available\r\n"
    assert hmp("info registers -a") == ""
    assert hmp("info irq") == ""
    machine = emu.vm.machine
    assert hmp("info mtree") == mtree_info(machine.address_spaces).replace("\n", "\r\n")
    assert hmp("info mtree -f -o") == mtree_info(machine.address_spaces, flat=True,
                                                 owner=True).replace("\n", "\r\n")
    assert hmp("info qtree") == lines("bus: main-system-bus", "  type System")
    assert hmp("info qom-tree") == lines("/machine (none-machine)", "  /peripheral (container)",
                                         "  /peripheral-anon (container)", "  /unattached (container)")
    assert hmp("info qom-tree /") .startswith("/ (container)\r\n  /chardevs (container)\r\n")
    assert hmp("info qom-tree /nope") == "Path '/nope' could not be resolved.\r\n"


def test_argument_errors(hmp):
    # flags are taken in their declared order only (QEMU's parser)
    assert hmp("info mtree -o -f") == lines("mtree: unsupported option -f",
                                            'Try "help info mtree" for more information')
    assert hmp("info mtree -x") == lines("mtree: unsupported option -x",
                                         'Try "help info mtree" for more information')
    assert hmp("info registers 0x100000000") == lines(
        "'registers' has failed: integer is for 32-bit values",
        'Try "help info registers" for more information')
    assert hmp("info status now") == lines("status: extraneous characters at the end of line",
                                           'Try "help info status" for more information')


def test_run_state_commands_emit_events(emu):
    q = emu.qmp()
    msgs = q.messages(b'{"execute": "human-monitor-command", "arguments": {"command-line": "stop"}}')
    assert [m.get("event") for m in msgs] == ["STOP", None] and msgs[1] == {"return": ""}
    msgs = q.messages(b'{"execute": "human-monitor-command", "arguments": {"command-line": "cont"}}')
    assert [m.get("event") for m in msgs] == ["RESUME", None]
    msgs = q.messages(b'{"execute": "human-monitor-command", "arguments": {"command-line": "system_reset"}}')
    assert msgs[0]["event"] == "RESET" and msgs[0]["data"] == {"guest": False,
                                                              "reason": "host-qmp-system-reset"}
    msgs = q.messages(b'{"execute": "human-monitor-command", "arguments": {"command-line": "system_powerdown"}}')
    assert msgs[0]["event"] == "POWERDOWN" and "data" not in msgs[0]


def test_cont_after_shutdown_needs_a_reset():
    e = InProcess([*BASE, "-no-shutdown"])
    try:
        q = e.qmp()
        e.vm.request_shutdown("guest-shutdown", guest=True)
        assert q.hmp("info status") == "VM status: paused (shutdown)\r\n"
        assert q.hmp("cont") == "Error: Resetting the Virtual Machine is required\r\n"
        assert q.execute("cont") == {"error": {"class": "GenericError",
                                               "desc": "Resetting the Virtual Machine is required"}}
    finally:
        e.close()


# -- xp ----------------------------------------------------------------------------------------------

def test_xp_formats_and_layout(hmp):
    assert hmp("xp /4xb 0") == "0000000000000000: 0x00 0xff 0x7f 0x80\r\n"
    assert hmp("xp /2xg 0") == "0000000000000000: 0x44434241807fff00 0x0807060504030201\r\n"
    assert hmp("xp /4db 0") == "0000000000000000:   0 255 127 128\r\n"
    assert hmp("xp /4ob 0") == "0000000000000000:   0 0377 0177 0200\r\n"
    assert hmp("xp /4ub 0") == "0000000000000000:   0 255 127 128\r\n"
    assert hmp("xp /2uh 0") == "0000000000000000: 65280 32895\r\n"
    assert hmp("xp /1uw 0") == "0000000000000000: 2155872000\r\n"
    assert hmp("xp /1dg 0x14") == "0000000000000014: " + " " * 18 + "-1\r\n"
    assert hmp("xp /1ug 0x14") == "0000000000000014: 18446744073709551615\r\n"
    assert hmp("xp /1dw 0x14") == "0000000000000014: 4294967295\r\n"
    assert hmp("xp /2oh 0") == "0000000000000000: 0177400 0100177\r\n"
    assert hmp("xp /1og 0") == "0000000000000000: 0421032044060037777400\r\n"
    assert hmp("xp /4cb 0x1c") == "000000000000001c: '\\'' '\\\\' '\\n' '\\r'\r\n"
    assert hmp("xp /6cb 0") == "0000000000000000: '\\x00' '\\xff' '\\x7f' '\\x80' 'A' 'B'\r\n"


def test_xp_items_per_line(hmp):
    assert hmp("xp /9xb 0") == lines("0000000000000000: 0x00 0xff 0x7f 0x80 0x41 0x42 0x43 0x44",
                                     "0000000000000008: 0x01")
    assert hmp("xp /3xg 0") == lines("0000000000000000: 0x44434241807fff00 0x0807060504030201",
                                     "0000000000000010: 0xffffffff44332211")
    assert hmp("xp /5xw 0") == lines("0000000000000000: 0x807fff00 0x44434241 0x04030201 0x08070605",
                                     "0000000000000010: 0x44332211")
    assert hmp("xp /0xw 0") == ""


def test_xp_format_is_sticky(hmp):
    assert hmp("xp 0") == "0000000000000000: 0x807fff00\r\n"             # defaults: x, 4 bytes
    hmp("xp /2dg 0")
    assert hmp("xp 0") == "0000000000000000:  4918848067114893056\r\n"   # one 64-bit value
    hmp("xp /4dh 0")
    assert hmp("xp 0x10") == "0000000000000010:  8721\r\n"
    assert hmp("xp /x 0x10") == "0000000000000010: 0x2211\r\n"          # size kept, format changed
    assert hmp("xp /w 0x10") == "0000000000000010: 0x44332211\r\n"
    hmp("xp /8c 0")                                                     # c after a 4-byte size:
    assert hmp("xp /2c 0") == "0000000000000000: '\\x00' '\\xff' '\\x7f' '\\x80' 'A' 'B' 'C' 'D'\r\n"


def test_c_counts_bytes_with_the_previous_size(hmp):
    hmp("xp /1xg 0")
    out = hmp("xp /8c 0").split("\r\n")
    assert out[-1] == "" and len(out) == 5                              # 64 characters, 16 a line
    assert [len(line.split(": ", 1)[1].split(" ")) for line in out[:-1]] == [16, 16, 16, 16]


def test_xp_addresses_are_expressions(hmp):
    assert hmp("xp /1xb 0x0+8*2-(4/2)+'A'-0x41") == hmp("xp /1xb 0xe")
    assert hmp("xp /1xb 'A") == lines("missing terminating ' character",
                                      'Try "help xp" for more information')
    assert hmp("xp/1xb 4") == "0000000000000004: 0x41\r\n"
    assert hmp("xp /1xb   (1 | 4) ") == "0000000000000005: 0x42\r\n"
    assert hmp("xp /1xb -1") == "ffffffffffffffff: Cannot access memory\r\n"


@pytest.mark.parametrize("line, text", [
    ("xp /z 0", ["invalid char in format: 'z'", 'Try "help xp" for more information']),
    ("xp /bx4 0", ["invalid char in format: '4'", 'Try "help xp" for more information']),
    ("xp", ["unexpected end of expression", 'Try "help xp" for more information']),
    ("xp /4x", ["unexpected end of expression", 'Try "help xp" for more information']),
    ("xp /4x zz", ["invalid char 'z' in expression", 'Try "help xp" for more information']),
    ("xp /4x (1", ["')' expected", 'Try "help xp" for more information']),
    ("xp /4x 1/0", ["division by zero", 'Try "help xp" for more information']),
    ("xp /4x 99999999999999999999", ["number too large", 'Try "help xp" for more information']),
    ("xp /4x $pc", ["unknown register", 'Try "help xp" for more information']),
    ("xp /4x 0 1", ["xp: extraneous characters at the end of line",
                    'Try "help xp" for more information']),
    ("x /4x 0", ["Can not dump without CPU"]),
    ("xp /2i 0", ["Can not dump without CPU"]),
])
def test_xp_errors(hmp, line, text):
    assert hmp(line) == lines(*text)


def test_failed_reads_stop_the_dump(hmp):
    assert hmp("xp /x 0x2000000") == "0000000002000000: Cannot access memory\r\n"
    assert hmp("xp /2xw 0xfffff8") == "0000000000fffff8: 0x00000000 0x00000000\r\n"
    assert hmp("xp /8xw 0xfffff8") == "0000000000fffff8: Cannot access memory\r\n"
    assert hmp("xp /12xw 0xffffe0") == lines(
        "0000000000ffffe0: 0x00000000 0x00000000 0x00000000 0x00000000",
        "0000000000fffff0: 0x00000000 0x00000000 0x00000000 0x00000000",
        "0000000001000000: Cannot access memory")


def test_defaults_are_shared_by_the_machines_monitors_only(emu):
    first, second = emu.qmp(), emu.qmp()
    first.hmp("xp /1xb 0")
    assert second.hmp("xp 4") == "0000000000000004: 0x41\r\n"
    other = InProcess()
    try:
        assert other.qmp().hmp("xp 4") == "0000000000000004: 0x00000000\r\n"
    finally:
        other.close()


# -- readline front end -----------------------------------------------------------------------------

def test_banner_prompt_and_echo(emu):
    mon, chr_ = emu.hmp()
    assert chr_.take() == b"QEMU 7.2.22 monitor - type 'help' for more information\r\n(qemu) "
    mon.receive(b"ab\r")
    assert chr_.take() == (b"a\x1b[K\x1b[Dab\x1b[K\r\n"
                           b"unknown command: 'ab'\r\n(qemu) ")
    mon.receive(b"info sta\x7f\x7ftatus\n")
    out = chr_.take()
    assert out.endswith(b"info status\x1b[K\r\nVM status: running\r\n(qemu) ")
    assert b"info sta\x1b[K" + b"\x1b[D" * 8 + b"info st\x1b[K" + b"\x1b[D" * 7 + b"info s\x1b[K" in out


def test_crlf_runs_two_lines_as_in_qemu(emu):
    mon, chr_ = emu.hmp()
    chr_.take()
    mon.receive(b"c\r\n")
    assert chr_.take() == b"c\x1b[K\r\n(qemu) \r\n(qemu) "


def test_history_and_cursor_keys(emu):
    mon, chr_ = emu.hmp()
    mon.receive(b"info name\r")
    chr_.take()
    mon.receive(b"\x1b[A")                                   # up: the last line again
    assert chr_.take() == b"info name\x1b[K"
    mon.receive(b"\x1b[D\x1b[D")                             # two left
    assert chr_.take() == b"\x1b[D\x1b[D"
    mon.receive(b"\x01X\x05\r")                               # home, insert, end, enter
    out = chr_.take()
    assert out.endswith(b"\r\nunknown command: 'Xinfo'\r\n(qemu) ")


def test_quit_from_the_readline_monitor_stops_input(emu):
    q = emu.qmp()
    mon, chr_ = emu.hmp()
    chr_.take()
    mon.receive(b"quit\rinfo status\r")
    assert chr_.take() == b"q\x1b[K\x1b[Dqu\x1b[K\x1b[D\x1b[Dqui\x1b[K\x1b[D\x1b[D\x1b[Dquit\x1b[K\r\n"
    event = q.chr.take()
    assert b'"event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}' in event


# -- boards with CPUs (the hooks a CPU model provides) -------------------------------------------------

class FakeCPU:
    TYPE_NAME = "fake-x86_64-cpu"

    def __init__(self, index):
        self.cpu_index = index

    def canonical_path(self):
        return f"/machine/unattached/device[{self.cpu_index}]"

    def instance_props(self):
        return {"socket-id": self.cpu_index, "core-id": 0, "thread-id": 0}

    def memory_rw_debug(self, addr, length):
        if addr >= 0x8000:
            return None                                   # not mapped
        return bytes((addr + i) & 0xFF for i in range(length))

    def monitor_register(self, name):
        return {"pc": 0x10, "sp": 0x7000}.get(name)

    def dump_state(self):
        return f"RIP={self.cpu_index:016x}\n"


def test_cpu_hooks(emu):
    emu.vm.machine.cpus = [FakeCPU(0), FakeCPU(1)]
    q = emu.qmp()
    assert q.hmp("x /4xb 0x100") == "0000000000000100: 0x00 0x01 0x02 0x03\r\n"
    assert q.hmp("x /2xw $pc") == "0000000000000010: 0x13121110 0x17161514\r\n"
    assert q.hmp("x /1xb 0x8000") == "0000000000008000: Cannot access memory\r\n"
    assert q.hmp("xp /1xb 4") == "0000000000000004: 0x41\r\n"          # physical: the address space
    assert q.hmp("xp /1xb $nope") == lines("unknown register", 'Try "help xp" for more information')
    assert q.hmp("xp /2i 0") == "No disassembler for CPU#0\r\n"
    assert q.hmp("info registers") == "\r\nCPU#0\r\nRIP=0000000000000000\r\n"
    assert q.hmp("info registers 1") == "\r\nCPU#1\r\nRIP=0000000000000001\r\n"
    assert q.hmp("info registers -a").count("CPU#") == 2
    assert q.execute("human-monitor-command", {"command-line": "info registers",
                                               "cpu-index": 1})["return"].startswith("\r\nCPU#1")
    assert q.execute("human-monitor-command", {"command-line": "info registers", "cpu-index": 5}) == {
        "error": {"class": "GenericError", "desc": "Parameter 'cpu-index' expects a CPU number"}}
    fast = q.execute("query-cpus-fast")["return"]
    assert [c["qom-path"] for c in fast] == ["/machine/unattached/device[0]",
                                             "/machine/unattached/device[1]"]
    assert fast[1]["props"] == {"socket-id": 1, "core-id": 0, "thread-id": 0}
    assert fast[0]["target"] == "x86_64" and isinstance(fast[0]["thread-id"], int)


def test_a_failing_info_handler_keeps_the_readline_monitor_alive(emu, monkeypatch, capsys):
    from qemu_py.monitor.hmp import commands

    def broken(mon, args):
        raise RuntimeError("boom")

    monkeypatch.setattr(commands.INFO_COMMANDS[1], "handler", broken)   # info registers
    mon, chr_ = emu.hmp()
    chr_.take()
    mon.receive(b"info registers\r")
    assert chr_.take().endswith(b"\r\ninternal error: RuntimeError: boom\r\n(qemu) ")
    assert "RuntimeError: boom" in capsys.readouterr().err


# -- bad input found by fuzzing: deep nesting and long numbers ------------------------------------------

@pytest.mark.parametrize("prefix, depth, value", [
    ("(", 3000, 1), ("-", 3000, 1), ("~", 1500, 1), ("~", 1501, -2), ("+", 3000, 1),
    ("-~", 1500, 1501),                                            # -~x is x + 1
])
def test_xp_3000_nested_expressions_do_not_raise_recursion_error(hmp, prefix, depth, value):
    close = ")" * depth if prefix == "(" else ""
    out = hmp("xp /1xb " + prefix * depth + "1" + close)
    assert out.startswith(f"{value & (1 << 64) - 1:016x}: "), out


def test_xp_unclosed_deep_parentheses_say_paren_expected(hmp):
    assert hmp("xp /1xb " + "(" * 3000 + "1") == lines("')' expected",
                                                        'Try "help xp" for more information')


@pytest.mark.parametrize("number", ["9" * 5000, "0x" + "f" * 5000, "0" + "7" * 5000],
                         ids=["decimal", "hex", "octal"])
def test_xp_5000_digit_numbers_say_number_too_large(hmp, number):
    assert hmp("xp /1xb " + number) == lines("number too large",
                                             'Try "help xp" for more information')


def test_xp_long_numbers_with_leading_zeros_still_parse(hmp):
    assert hmp("xp /1xb 0x" + "0" * 5000 + "4") == "0000000000000004: 0x41\r\n"
    assert hmp("xp /1xb " + "0" * 5000 + "4") == "0000000000000004: 0x41\r\n"


def test_expression_precedence_and_order_match_the_recursive_grammar():
    from qemu_py.monitor.hmp.expr import ExprError, get_expr
    assert get_expr("1+2*3", 0)[0] == 7
    assert get_expr("1+6&3", 0)[0] == 1 + (6 & 3)                 # & | ^ bind tighter than + -
    assert get_expr("2*3|1", 0)[0] == (2 * 3) | 1                 # and looser than * / %
    assert get_expr("10-4-3", 0)[0] == 3                          # left to right
    assert get_expr("-7/2", 0)[0] == -3 and get_expr("-7%2", 0)[0] == -1
    assert get_expr("-(1+2)*3", 0)[0] == -9
    assert get_expr("~0", 0)[0] == -1
    assert get_expr(" 5 ) x", 0) == (5, 3)                        # stops before ")" at top level
    with pytest.raises(ExprError, match="division by zero"):
        get_expr("1/0+$nosuch", 0)                                # evaluated before the next operand


# -- huge dump counts found by fuzzing ---------------------------------------------------------------

def test_xp_2147483647gx_wraps_like_qemus_int_length_and_prints_nothing(hmp):
    import time
    t = time.monotonic()
    assert hmp("xp /2147483647gx 0") == ""                         # 8 * count is -8 as a C int
    assert hmp("xp /4294967297xb 0") == "0000000000000000: 0x00\r\n"   # count wraps to 1
    assert time.monotonic() - t < 1.0


def test_xp_1000000gx_on_one_reply_says_it_does_not_fit(hmp):
    import time
    t = time.monotonic()
    assert hmp("xp /1000000gx 0") == (
        "xp: a dump of 8000000 bytes does not fit in one reply (at most 16777216 characters)\r\n")
    assert time.monotonic() - t < 1.0


@pytest.mark.parametrize("fmt", ["x", "u", "d", "o", "c"])
@pytest.mark.parametrize("size", ["b", "h", "w", "g"])
def test_dump_chars_bounds_the_output(hmp, fmt, size):
    from qemu_py.monitor.hmp.memory_dump import dump_chars
    nbytes = {"b": 1, "h": 2, "w": 4, "g": 8}[size]
    out = hmp(f"xp /5{fmt}{size} 0")
    assert len(out.replace("\r\n", "\n")) <= dump_chars(5, fmt, nbytes)
    if fmt == "x":
        assert len(out.replace("\r\n", "\n")) == dump_chars(5, fmt, nbytes)


def test_a_long_xp_reaches_the_output_in_pieces(emu):
    from qemu_py.monitor.hmp.commands import DUMP_BATCH_LINES
    from qemu_py.monitor.hmp.monitor import HMPContext, handle_command

    class Out:
        def __init__(self):
            self.writes = []

        def write(self, text):
            self.writes.append(text)

    out = Out()
    handle_command(HMPContext(emu.vm, out), f"xp /{(DUMP_BATCH_LINES * 2 + 1) * 2}xg 0")
    assert [w.count("\n") for w in out.writes] == [DUMP_BATCH_LINES, DUMP_BATCH_LINES, 1]
