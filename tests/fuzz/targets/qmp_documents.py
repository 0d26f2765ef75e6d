"""QMP documents fed byte-exactly to a monitor on ``-M none``.

Every message written back must be one JSON object (greeting, return,
error or event), errors must carry a known class, and no reply may report
an internal error. Each input starts on a fresh connection (closed and reopened, capabilities
negotiated); an input that quits gets a new machine.
"""

from __future__ import annotations

import json

from qemu_py.system.chardev import CLOSED, OPENED

from ..harness import SLOW_SECONDS, Finding, within

ERROR_CLASSES = {"GenericError", "CommandNotFound", "DeviceNotFound", "DeviceNotActive",
                 "KVMMissingCap"}
_STATE: dict = {}


def monitor():
    qmp = _STATE.get("qmp")
    if qmp is not None and qmp.mon._exiting():     # the previous input quit: a new machine
        _STATE.pop("vm").close()
        _STATE.clear()
    if "qmp" not in _STATE:
        from tests.unit.monitor.harness import InProcess
        _STATE["vm"] = InProcess(["-M", "none", "-m", "16M", "-accel", "qtest", "-display",
                                  "none"])
        _STATE["qmp"] = _STATE["vm"].qmp()
    return _STATE["qmp"]


def check(out: bytes, doc: bytes):
    for line in out.split(b"\r\n"):
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
        except ValueError:
            raise Finding(f"reply is not JSON: {line[:200]!r} (input {doc[:100]!r})") from None
        if not isinstance(msg, dict) or not ({"return", "error", "event", "QMP"} & msg.keys()):
            raise Finding(f"reply of unknown shape: {line[:200]!r}")
        err = msg.get("error")
        if err is not None:
            if err.get("class") not in ERROR_CLASSES:
                raise Finding(f"unknown error class in {line[:200]!r}")
            if "internal error" in err.get("desc", ""):
                raise Finding(f"internal error for input {doc[:100]!r}: {err['desc'][:200]}")


def one(data: bytes) -> None:
    qmp = monitor()
    # documents that quit would end the session: those are judged by their reply only
    with within(SLOW_SECONDS, f"QMP input {data[:80]!r}"):
        out = qmp.raw(data)
    check(out, data)
    # the next input starts on a new connection, as a new client would
    qmp.mon.event(CLOSED)
    qmp.mon.event(OPENED)
    check(qmp.raw(b'{"execute": "qmp_capabilities"}'), b"<reconnect>")


def seeds() -> list[bytes]:
    return [
        b'{"execute": "query-status"}',
        b'{"execute": "qom-list", "arguments": {"path": "/machine"}}',
        b"{'execute': 'human-monitor-command', 'arguments': {'command-line': 'info mtree'}}",
        b'{"execute": "qom-get", "arguments": {"path": "/machine", "property": "type"}, "id": 1}',
        b'{"exec-oob": "query-status", "id": "x"}',
        b'[1, 2, {"a": [true, false, null]}]',
        b'{"execute": "device_add", "arguments": {"driver": "nosuch"}}',
        b'{"execute": "query-qmp-schema"}',
        b'{"execute": "stop"}{"execute": "cont"}',
        b'{"execute": "\\u0000"}',
        b"{" * 100 + b"}" * 100,
        b'{"execute": "memsave", "arguments": {"val": 0, "size": 16, "filename": "/dev/null"}}',
    ]
