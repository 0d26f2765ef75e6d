"""Raw mode for a terminal on stdin, as QEMU's stdio chardev sets it.

``enter_raw(fd, signal)`` turns off canonical input, echo, CR/LF
translation and flow control (output post-processing stays on), 8-bit
characters, one byte at a time; with ``signal=False`` Ctrl-C and friends
reach the guest as bytes instead of raising signals. The previous settings
are restored by ``restore()``, and also at interpreter exit, so a failed
start-up or an uncaught error does not leave the terminal raw.
"""

from __future__ import annotations

import atexit
import os

try:
    import termios
except ImportError:           # not a POSIX host: there is no terminal to set
    termios = None

_saved: dict[int, list] = {}


def enter_raw(fd: int, signal: bool = True):
    """Put FD in raw mode if it is a terminal; a token for restore(), or None."""
    if termios is None or not os.isatty(fd):
        return None
    try:
        old = termios.tcgetattr(fd)
    except termios.error:
        return None
    new = [list(x) if isinstance(x, list) else x for x in old]
    iflag, oflag, cflag, lflag = new[0], new[1], new[2], new[3]
    iflag &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP
               | termios.INLCR | termios.IGNCR | termios.ICRNL | termios.IXON)
    oflag |= termios.OPOST
    lflag &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.IEXTEN)
    if not signal:
        lflag &= ~termios.ISIG
    cflag &= ~(termios.CSIZE | termios.PARENB)
    cflag |= termios.CS8
    new[0], new[1], new[2], new[3] = iflag, oflag, cflag, lflag
    new[6][termios.VMIN] = 1
    new[6][termios.VTIME] = 0
    if not _saved:
        atexit.register(restore_all)
    _saved.setdefault(fd, old)
    termios.tcsetattr(fd, termios.TCSANOW, new)
    return fd


def restore(token):
    """Give the terminal back the settings it had before enter_raw()."""
    old = _saved.pop(token, None)
    if old is not None and termios is not None:
        try:
            termios.tcsetattr(token, termios.TCSANOW, old)
        except termios.error:
            pass


def restore_all():
    for fd in list(_saved):
        restore(fd)
