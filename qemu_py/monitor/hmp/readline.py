"""The line editor of the interactive monitor (QEMU's util/readline.c).

Bytes in, terminal output out: every change redraws the line the way QEMU
does (cursor back over the old text with ``ESC [ D``, the new text, ``ESC
[ K``), so a client sees exactly QEMU's echo. Handled keys: printable
characters, backspace (8, 127), Ctrl-A/E (start/end), Ctrl-D (delete),
Ctrl-W (delete word), Ctrl-P/N (history up/down), CR or LF (run the line;
each one does), and the escape sequences for the arrows, Home, End and
Delete, with a history of the last 64 lines. Tab completes the command
name (the first word): one match is inserted with a space after it, several
are listed in columns as QEMU lists them and the prompt and line are shown
again. Arguments are not completed. Like QEMU's, the editor has no Ctrl-K
or Ctrl-U.
"""

from __future__ import annotations

HISTORY_SIZE = 64
CMD_BUF_SIZE = 4095
NORM, ESC, CSI, SS3 = range(4)


class ReadLine:
    def __init__(self, write, on_line, complete=None):
        self.write = write                  # write(text) to the terminal
        self.on_line = on_line              # on_line(text) when Enter is pressed
        self.complete = complete            # complete(prefix) -> command names
        self.prompt = "(qemu) "
        self.buf = ""
        self.index = 0
        self.last_buf = ""
        self.last_index = 0
        self.esc_state = NORM
        self.esc_param = 0
        self.history: list[str] = []
        self.hist_entry = -1

    def show_prompt(self):
        self.write(self.prompt)
        self.last_buf = ""
        self.last_index = 0

    def restart(self):
        self.buf = ""
        self.index = 0

    # -- redraw -------------------------------------------------------------------------
    def _update(self):
        out = []
        if self.buf != self.last_buf:
            out.append("\033[D" * self.last_index)
            out.append(self.buf)
            out.append("\033[K")
            self.last_buf = self.buf
            self.last_index = len(self.buf)
        if self.index != self.last_index:
            delta = self.index - self.last_index
            out.append("\033[C" * delta if delta > 0 else "\033[D" * -delta)
            self.last_index = self.index
        if out:
            self.write("".join(out))

    # -- editing --------------------------------------------------------------------------
    def _insert(self, ch: str):
        if len(self.buf) < CMD_BUF_SIZE:
            self.buf = self.buf[:self.index] + ch + self.buf[self.index:]
            self.index += 1

    def _backspace(self):
        if self.index > 0:
            self.buf = self.buf[:self.index - 1] + self.buf[self.index:]
            self.index -= 1

    def _delete(self):
        if self.index < len(self.buf):
            self.buf = self.buf[:self.index] + self.buf[self.index + 1:]

    def _delete_word(self):
        start = self.index
        while start > 0 and self.buf[start - 1] == " ":
            start -= 1
        while start > 0 and self.buf[start - 1] != " ":
            start -= 1
        self.buf = self.buf[:start] + self.buf[self.index:]
        self.index = start

    def _history_add(self, line: str):
        if not line:
            return
        if line in self.history:
            self.history.remove(line)
        self.history.append(line)
        del self.history[:-HISTORY_SIZE]
        self.hist_entry = -1

    def _history_up(self):
        if self.hist_entry == 0:
            return
        if self.hist_entry == -1:
            self.hist_entry = len(self.history)
        self.hist_entry -= 1
        if self.hist_entry >= 0:
            self.buf = self.history[self.hist_entry]
            self.index = len(self.buf)

    def _history_down(self):
        if self.hist_entry == -1:
            return
        self.hist_entry += 1
        if self.hist_entry < len(self.history):
            self.buf = self.history[self.hist_entry]
        else:
            self.buf = ""
            self.hist_entry = -1
        self.index = len(self.buf)

    def _completion(self):
        if self.complete is None:
            return
        word = self.buf[:self.index]
        if word.strip(" ") != word.lstrip(" ") or " " in word.lstrip(" "):
            return                          # only the command name is completed
        prefix = word.lstrip(" ")
        matches = self.complete(prefix)
        if len(matches) == 1:
            for ch in matches[0][len(prefix):] + " ":
                self._insert(ch)
        elif matches:
            width = min(80, max(10, max(len(m) for m in matches) + 2))
            cols = 80 // width
            lines = ["\n"]
            for i, m in enumerate(matches):
                lines.append(m.ljust(width))
                if (i + 1) % cols == 0 or i == len(matches) - 1:
                    lines.append("\n")
            self.write("".join(lines))
            self.show_prompt()

    def _enter(self):
        line = self.buf
        self._history_add(line)
        self.write("\n")
        self.buf = ""
        self.index = 0
        self.last_buf = ""
        self.last_index = 0
        self.on_line(line)

    # -- input ------------------------------------------------------------------------------
    def handle_byte(self, byte: int):
        state = self.esc_state
        if state == NORM:
            if byte == 1:
                self.index = 0
            elif byte == 4:
                self._delete()
            elif byte == 5:
                self.index = len(self.buf)
            elif byte == 9:
                self._completion()
            elif byte == 14:
                self._history_down()
            elif byte == 16:
                self._history_up()
            elif byte in (10, 13):
                self._enter()
            elif byte == 23:
                self._delete_word()
            elif byte == 27:
                self.esc_state = ESC
            elif byte in (8, 127):
                self._backspace()
            elif byte == 155:
                self.esc_state = CSI
                self.esc_param = 0
            elif byte >= 32:
                self._insert(chr(byte))
        elif state == ESC:
            if byte == ord("["):
                self.esc_state, self.esc_param = CSI, 0
            elif byte == ord("O"):
                self.esc_state, self.esc_param = SS3, 0
            else:
                self.esc_state = NORM
        elif state == CSI:
            ch = chr(byte)
            if ch.isdigit() and ch.isascii():
                self.esc_param = self.esc_param * 10 + int(ch)
                return
            if ch in "AF":
                self._history_up()
            elif ch in "BE":
                self._history_down()
            elif ch == "D":
                self.index = max(0, self.index - 1)
            elif ch == "C":
                self.index = min(len(self.buf), self.index + 1)
            elif ch == "~":
                if self.esc_param == 1:
                    self.index = 0
                elif self.esc_param == 3:
                    self._delete()
                elif self.esc_param == 4:
                    self.index = len(self.buf)
            self.esc_state = NORM
        else:  # SS3
            if byte == ord("F"):
                self.index = len(self.buf)
            elif byte == ord("H"):
                self.index = 0
            self.esc_state = NORM
        self._update()
