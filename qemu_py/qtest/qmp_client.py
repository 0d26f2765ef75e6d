"""A small synchronous QMP client over a connected socket (used by QTest).

Replies are matched to commands; events arriving meanwhile are queued.
"""

from __future__ import annotations

import json
import socket
import time


class QMPError(Exception):
    """A QMP command answered with an error."""

    def __init__(self, command: str, error: dict):
        self.command = command
        self.error_class = error.get("class")
        self.desc = error.get("desc")
        super().__init__(f"{command}: {self.error_class}: {self.desc}")


class QMPConnection:
    def __init__(self, sock: socket.socket, timeout: float, transcript=None, on_close=None):
        """``on_close``: called when the emulator closes the connection; returns
        why (exit status or signal and its last output lines) or ``""``."""
        self.sock = sock
        self.on_close = on_close
        self.timeout = timeout
        self.buf = b""
        self.events: list[dict] = []
        self.greeting: dict | None = None
        self.transcript = transcript
        self._id = 0

    def _log(self, direction: str, text: str):
        if self.transcript is not None:
            self.transcript.write(f"{time.time():.6f} {direction} {text}\n")
            self.transcript.flush()

    def _read_message(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("timed out waiting for a QMP message")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise TimeoutError("timed out waiting for a QMP message") from None
            if not chunk:
                why = self.on_close() if self.on_close is not None else ""
                raise ConnectionError("QMP connection closed by the emulator"
                                      + (f": {why}" if why else ""))
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        text = line.decode("utf-8").rstrip("\r")
        self._log("<", text)
        return json.loads(text)

    def handshake(self):
        self.greeting = self._read_message()
        if "QMP" not in self.greeting:
            raise ConnectionError(f"unexpected QMP greeting: {self.greeting}")
        self.command("qmp_capabilities")

    def send(self, obj: dict):
        text = json.dumps(obj)
        self._log(">", text)
        self.sock.sendall(text.encode("utf-8") + b"\n")

    def command(self, name: str, **args):
        self._id += 1
        msg_id = f"qemu-py-{self._id}"
        msg = {"execute": name, "id": msg_id}
        if args:
            msg["arguments"] = args
        self.send(msg)
        while True:
            resp = self._read_message()
            if "event" in resp:
                self.events.append(resp)
                continue
            if resp.get("id") != msg_id:
                continue
            if "error" in resp:
                raise QMPError(name, resp["error"])
            return resp.get("return")

    def pull_event(self, name: str | None = None, timeout: float | None = None) -> dict | None:
        for i, ev in enumerate(self.events):
            if name is None or ev["event"] == name:
                return self.events.pop(i)
        if timeout is None:
            return None
        saved = self.timeout
        self.timeout = timeout
        try:
            while True:
                msg = self._read_message()
                if "event" in msg and (name is None or msg["event"] == name):
                    return msg
                if "event" in msg:
                    self.events.append(msg)
        except TimeoutError:
            return None
        finally:
            self.timeout = saved
