"""The QMP server on a chardev (``-qmp DEV``, ``-mon chardev=ID,mode=control``).

When the chardev opens (a client connects) the greeting is sent and the
client must negotiate again. Input is a JSON stream parsed incrementally;
every message gets one reply. Output is QEMU's JSON followed by ``\\r\\n``
(with ``pretty=on``, every line ends in ``\\r\\n``). Events go to negotiated
clients only, in the order the VM emits them, which puts the events a
command causes before that command's reply. Once the emulator is quitting
(``quit``, SIGTERM) no further input is read.

After a client's ``quit`` the launcher calls :func:`let_clients_hang_up`
before closing the chardevs: QEMU's teardown gives a client that just got
its reply time to disconnect first, and clients such as qemu.qmp rely on
that (they report an EOF that arrives first as an error).
"""

from __future__ import annotations

import sys
import time
import traceback

from qemu_py.system.chardev import CLOSED, OPENED

from .errors import QMPError
from .json_stream import JSONStream
from .json_writer import to_json
from .qmp_session import QMPSession


class QMPMonitor:
    def __init__(self, vm, chardev, pretty: bool = False):
        self.vm = vm
        self.chr = chardev
        self.pretty = pretty
        self.session = QMPSession(vm)
        self.connected = False
        self.stream = JSONStream(self._message)
        vm.add_event_listener(self._event)
        chardev.attach(self)

    def send(self, obj: dict):
        try:
            text = to_json(obj, self.pretty) + "\n"
        except TypeError as e:            # a handler returned something that is not JSON
            traceback.print_exc(file=sys.stderr)
            reply = QMPError(f"internal error: {e}").reply()
            if "id" in obj:
                reply["id"] = obj["id"]
            text = to_json(reply, self.pretty) + "\n"
        if self.pretty:
            text = text.replace("\n", "\r\n")
        else:
            text = text[:-1] + "\r\n"
        self.chr.write(text.encode("ascii"))

    def _exiting(self) -> bool:
        return self.session.closing or bool(getattr(self.vm.loop, "quit_requested", False))

    # -- chardev front end ---------------------------------------------------------------
    def can_read(self) -> int:
        return 0 if self._exiting() else 4096

    def event(self, kind):
        if kind == OPENED:
            self.connected = True
            self.stream.reset()
            self.session.reset()
            self.send(self.session.greeting())
        elif kind == CLOSED:
            self.connected = False
            self.stream.reset()
            self.session.reset()

    def receive(self, data: bytes):
        if not self._exiting():
            self.stream.feed(data)

    def _message(self, value, error: str | None):
        if self._exiting():
            return
        self.send(self.session.handle(value, error))

    # -- events ----------------------------------------------------------------------------
    def _event(self, name: str, data, timestamp: dict):
        if self.session.negotiated:
            self.send(QMPSession.event_message(name, data, timestamp))


def let_clients_hang_up(loop, monitors, timeout: float = 0.05):
    """After a ``quit`` from a QMP client: run the loop until that client (and any
    other QMP client) has disconnected, or TIMEOUT seconds have passed."""
    qmp = [m for m in monitors if isinstance(m, QMPMonitor)]
    if not any(m.session.closing for m in qmp):
        return
    deadline = time.monotonic() + timeout
    while any(m.connected for m in qmp):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        loop.iterate(left)
