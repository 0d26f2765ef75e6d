"""The mux chardev: focus, the Ctrl-A escape commands, timestamps, events."""

from qemu_py.system.chardev import OPENED, create_chardev, parse_legacy
from qemu_py.system.chardev.mux import BREAK, MUX_IN, MUX_OUT, MuxChardev, help_text
from qemu_py.system.mainloop import MainLoop

from ..test_chardev import Frontend, spin


class Backend:
    """A backend that records what the mux writes and lets the test type."""

    def __init__(self):
        self.fe = None
        self.out = bytearray()
        self.is_open = True

    def attach(self, fe):
        self.fe = fe
        fe.event(OPENED)

    def write(self, data):
        self.out += data

    def type(self, data: bytes):
        self.fe.receive(data)


def make(clock=None):
    be = Backend()
    exits = []
    mux = MuxChardev(MainLoop(), "m", be, on_exit=lambda: exits.append(1), clock_ms=clock)
    mon, ser = Frontend(), Frontend()
    mux.attach(mon)
    mux.attach(ser)
    return be, mux, mon, ser, exits


def test_the_last_front_end_attached_has_the_focus_and_every_one_is_opened():
    be, mux, mon, ser, _ = make()
    assert mon.events == [MUX_IN, OPENED, MUX_OUT]
    assert ser.events == [MUX_IN, OPENED]
    be.type(b"abc")
    assert ser.data == b"abc" and mon.data == b""


def test_ctrl_a_c_moves_the_focus_round_the_front_ends():
    be, mux, mon, ser, _ = make()
    be.type(b"\x01cls\r\x01cx")
    assert mon.data == b"ls\r" and ser.data == b"x"
    assert mon.events[-2:] == [MUX_IN, MUX_OUT] and ser.events[-2:] == [MUX_OUT, MUX_IN]


def test_ctrl_a_ctrl_a_sends_one_ctrl_a_and_unknown_keys_are_dropped():
    be, mux, mon, ser, _ = make()
    be.type(b"a\x01\x01b\x01zc")
    assert ser.data == b"a\x01bc"
    be.type(b"\x01")             # an escape split across reads still counts
    be.type(b"\x01")
    assert ser.data == b"a\x01bc\x01"


def test_ctrl_a_x_prints_terminated_and_asks_to_exit():
    be, mux, mon, ser, exits = make()
    be.type(b"\x01x")
    assert be.out == b"QEMU: Terminated\n\r" and exits == [1]


def test_ctrl_a_h_prints_qemus_help():
    be, mux, mon, ser, _ = make()
    be.type(b"\x01h")
    assert be.out.decode() == help_text()
    assert help_text() == (
        "\n\r"
        "C-a h    print this help\n\r"
        "C-a x    exit emulator\n\r"
        "C-a s    save disk data back to file (if -snapshot)\n\r"
        "C-a t    toggle console timestamps\n\r"
        "C-a b    send break (magic sysrq)\n\r"
        "C-a c    switch between console and monitor\n\r"
        "C-a C-a  sends C-a\n\r")
    be.type(b"\x01?")
    assert be.out.decode() == help_text() * 2


def test_ctrl_a_s_with_no_disks_prints_nothing_and_ctrl_a_b_sends_a_break():
    be, mux, mon, ser, _ = make()
    be.type(b"\x01s\x01b")
    assert be.out == b"" and ser.events[-1] == BREAK and BREAK not in mon.events


def test_ctrl_a_t_stamps_each_output_line_with_the_time_since_the_first():
    now = [5000]
    be, mux, mon, ser, _ = make(clock=lambda: now[0])
    be.type(b"\x01t")
    mux.write(b"one\n")           # the first line after toggling is not stamped (QEMU)
    mux.write(b"two\n")           # the clock starts at the first stamp
    now[0] = 5000 + 3_723_456
    mux.write(b"three")
    assert be.out == b"one\n[00:00:00.000] two\n[01:02:03.456] three"
    be.type(b"\x01t")
    mux.write(b"\nfour\n")
    assert be.out.endswith(b"three\nfour\n")


def test_stamps_start_at_zero_on_the_first_stamped_line():
    now = [100]
    be, mux, mon, ser, _ = make(clock=lambda: now[0])
    be.type(b"\x01t")
    mux.write(b"\n")
    mux.write(b"x\n")
    assert be.out == b"\n[00:00:00.000] x\n"


def test_mon_prefix_turns_on_mux_and_for_stdio_turns_signals_off():
    assert parse_legacy("mon:stdio") == {"backend": "stdio", "mux": "on", "signal": "off"}
    assert parse_legacy("mon:null") == {"backend": "null", "mux": "on"}


def test_mux_on_over_a_real_backend_with_a_logfile(tmp_path):
    loop = MainLoop()
    out = tmp_path / "out"
    log = tmp_path / "log"
    chr_ = create_chardev(loop, "c", {"backend": "file", "path": str(out), "mux": "on",
                                      "logfile": str(log)})
    assert isinstance(chr_, MuxChardev) and chr_.backend.id == "c-base"
    a, b = Frontend(), Frontend()
    chr_.attach(a)
    chr_.attach(b)
    chr_.write(b"from a ")
    chr_.write(b"from b")
    assert spin(loop, lambda: out.read_bytes() == b"from a from b")
    chr_.close()
    assert log.read_bytes() == b"from a from b"
