"""The HMP line editor alone: keys in, QEMU's redraw out, lines run, Tab completion."""

from qemu_py.monitor.hmp.commands import command_names
from qemu_py.monitor.hmp.readline import ReadLine


class Term:
    def __init__(self, complete=None):
        self.out = []
        self.lines = []
        self.rl = ReadLine(self.out.append, self.lines.append, complete)
        self.rl.show_prompt()

    def type(self, text: str | bytes):
        for b in text.encode("latin-1") if isinstance(text, str) else text:
            self.rl.handle_byte(b)

    def output(self) -> str:
        return "".join(self.out)


def names(prefix):
    return sorted(n for n in command_names() if n.startswith(prefix))


def test_each_character_is_echoed_once_with_qemus_redraw():
    t = Term()
    t.type("ab")
    assert t.output() == "(qemu) a\033[K\033[Dab\033[K"


def test_ctrl_a_e_cursor_keys_and_editing_in_the_middle():
    t = Term()
    t.type("info stat\x01X\x05us\r")
    assert t.lines == ["Xinfo status"]
    t.type("abc\033[D\033[D\x7f\r")          # left, left, backspace: "bc"
    assert t.lines[-1] == "bc"
    t.type("abc\033[H\x04\033[F!\r")         # Home, Ctrl-D, End
    assert t.lines[-1] == "bc!"
    t.type("abc\033[1~Z\033[4~\033[3~Y\r")   # Home/End/Delete as ESC [ n ~
    assert t.lines[-1] == "ZabcY"


def test_ctrl_w_deletes_the_word_before_the_cursor():
    t = Term()
    t.type("info  status  \x17\r")
    assert t.lines == ["info  "]


def test_history_up_down_and_ctrl_p_n():
    t = Term()
    t.type("one\rtwo\r")
    t.type("\033[A\033[A\r")
    assert t.lines[-1] == "one"
    t.type("\x10\x10\x0e\r")                 # history is two, one: P, P, N lands on one
    assert t.lines[-1] == "one"
    t.type("\033[A\033[B\r")
    assert t.lines[-1] == ""


def test_tab_completes_a_unique_command_name_with_a_space():
    t = Term(names)
    t.type("system_p\t")
    assert t.rl.buf == "system_powerdown "
    t.type("\r")
    assert t.lines == ["system_powerdown "]


def test_tab_lists_several_matches_in_qemus_columns_and_redraws_the_line():
    t = Term(names)
    t.type("system_\t")
    out = t.output()
    listing = "\n" + "system_powerdown  system_reset      \n"
    assert listing + "(qemu) system_\033[K" in out
    assert t.rl.buf == "system_"


def test_tab_after_the_command_name_does_nothing():
    t = Term(names)
    t.type("info st\t")
    assert t.rl.buf == "info st"
