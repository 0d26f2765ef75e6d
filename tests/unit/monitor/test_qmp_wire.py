"""QMP on the wire against a real qemu-py process: bytes, events, run states, exit."""

import json
import os
import signal
import socket

from .harness import BASE, RawQMP, spawn, wait_for_path

GREETING = (b'{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, '
            b'"package": "qemu-py 0.1.0"}, "capabilities": ["oob"]}}\r\n')


def event_names(msgs):
    return [m.get("event", "reply") for m in msgs]


def test_a_session_byte_for_byte():
    qmp = RawQMP.launch()
    try:
        assert qmp.line() == GREETING
        qmp.send(b'{"execute": "query-status"}')
        assert qmp.line() == (b'{"error": {"class": "CommandNotFound", "desc": "Expecting capabilities '
                              b'negotiation with \'qmp_capabilities\'"}}\r\n')
        qmp.send(b"{ 'execute': 'qmp_capabilities' }")
        assert qmp.line() == b'{"return": {}}\r\n'
        qmp.send(b'{"execute": "qmp_capabilities", "id": "again"}')
        assert qmp.line() == (b'{"id": "again", "error": {"class": "CommandNotFound", "desc": '
                              b'"Capabilities negotiation is already complete, command ignored"}}\r\n')
        qmp.send(b'{"execute": "no-such-command"}')
        assert qmp.line() == (b'{"error": {"class": "CommandNotFound", "desc": '
                              b'"The command no-such-command has not been found"}}\r\n')
        qmp.send(b'{"execute": "human-monitor-command", "arguments": {"command-line": 7}}')
        assert qmp.line() == (b'{"error": {"class": "GenericError", "desc": "Invalid parameter type '
                              b'for \'command-line\', expected: string"}}\r\n')
        qmp.send(b'{"execute": "query-status", "arguments": {"x": 1}}')
        assert qmp.msg()["error"]["desc"] == "Parameter 'x' is unexpected"
        qmp.send(b'{"execute": "human-monitor-command", "arguments": {}}')
        assert qmp.msg()["error"]["desc"] == "Parameter 'command-line' is missing"

        # every JSON type as id, several requests in one write, one split across writes
        ids = ["s", 7, -2.5, True, None, [1, [2]], {"k": {"v": 0}}]
        qmp.send(b"".join(json.dumps({"execute": "query-name", "id": i}).encode() for i in ids)
                 + b'{"execute": "query-name", "id": "spl')
        qmp.send(b'it"}')
        assert [qmp.msg() for _ in range(len(ids) + 1)] == \
            [{"return": {}, "id": i} for i in ids + ["split"]]

        # malformed input: errors, and the connection stays usable
        qmp.send(b'{"execute": "query-status"} garbage\r\n{"execute": ]\r\n[1, 2]\r\n\xff')
        assert qmp.msg() == {"return": {"status": "running", "singlestep": False, "running": True}}
        assert qmp.msg()["error"]["desc"] == "JSON parse error, invalid keyword 'garbage'"
        assert qmp.msg()["error"]["desc"] == "JSON parse error, expecting value"
        assert qmp.msg()["error"]["desc"] == "QMP input must be a JSON object"
        assert qmp.line() == (b'{"error": {"class": "GenericError", "desc": '
                              b'"JSON parse error, stray \'\\uFFFD\'"}}\r\n')
        assert qmp.execute("query-name") == {"return": {}}

        # events come before the reply of the command that caused them
        qmp.send(b'{"execute": "stop"}{"execute": "stop"}{"execute": "cont"}{"execute": "cont"}'
                 b'{"execute": "system_reset"}{"execute": "system_powerdown"}')
        msgs = [qmp.msg() for _ in range(10)]
        assert event_names(msgs) == ["STOP", "reply", "reply", "RESUME", "reply", "reply",
                                     "RESET", "reply", "POWERDOWN", "reply"]
        assert msgs[6]["data"] == {"guest": False, "reason": "host-qmp-system-reset"}
        for m in (msgs[0], msgs[3]):
            assert set(m) == {"timestamp", "event"}
            assert set(m["timestamp"]) == {"seconds", "microseconds"}
            assert 0 <= m["timestamp"]["microseconds"] < 1_000_000
        qmp.send(b'{"execute": "human-monitor-command", "arguments": {"command-line": "stop"}}')
        assert event_names([qmp.msg(), qmp.msg()]) == ["STOP", "reply"]
        qmp.send(b'{"execute": "human-monitor-command", "arguments": {"command-line": "cont"}}')
        assert qmp.msg()["event"] == "RESUME" and qmp.msg() == {"return": ""}

        # quit: SHUTDOWN, the reply, then EOF and exit status 0; later input is ignored
        qmp.send(b'{"execute": "quit", "id": "q"}{"execute": "query-status"}')
        shutdown = qmp.msg()
        assert (shutdown["event"], shutdown["data"]) == (
            "SHUTDOWN", {"guest": False, "reason": "host-qmp-quit"})
        assert qmp.line() == b'{"return": {}, "id": "q"}\r\n'
        assert qmp.at_eof() and qmp.buf == b""
    finally:
        assert qmp.close() == 0


def test_S_starts_in_prelaunch_until_cont():
    qmp = RawQMP.launch(["-S"])
    try:
        qmp.negotiate()
        assert qmp.execute("query-status") == {"return": {"status": "prelaunch", "singlestep": False,
                                                          "running": False}}
        assert qmp.execute("stop") == {"return": {}}                      # no event in prelaunch
        assert qmp.execute("query-status")["return"]["status"] == "prelaunch"
        qmp.send(b'{"execute": "cont"}')
        assert qmp.msg()["event"] == "RESUME" and qmp.msg() == {"return": {}}
        assert qmp.execute("query-status")["return"] == {"status": "running", "singlestep": False,
                                                         "running": True}
        assert qmp.execute("human-monitor-command", {"command-line": "info status"}) == {
            "return": "VM status: running\r\n"}
    finally:
        qmp.send(b'{"execute": "quit"}')
        assert qmp.close() == 0


def test_preconfig_then_x_exit_preconfig():
    qmp = RawQMP.launch(["--preconfig"])
    try:
        qmp.negotiate()
        assert qmp.execute("query-status")["return"]["status"] == "prelaunch"
        for name in ("cont", "stop", "query-cpus-fast"):
            assert qmp.execute(name)["error"] == {
                "class": "GenericError",
                "desc": f"The command '{name}' is permitted only after machine initialization "
                        "has completed"}
        assert qmp.execute("exit-preconfig")["error"]["class"] == "CommandNotFound"
        assert qmp.execute("query-commands")["return"]
        qmp.send(b'{"execute": "x-exit-preconfig"}')
        assert qmp.msg()["event"] == "RESUME" and qmp.msg() == {"return": {}}
        assert qmp.execute("x-exit-preconfig")["error"]["desc"] == \
            "The command is permitted only before machine initialization"
        assert qmp.execute("query-status")["return"]["status"] == "running"
        assert qmp.execute("query-cpus-fast") == {"return": []}
    finally:
        qmp.send(b'{"execute": "quit"}')
        assert qmp.close() == 0


def test_preconfig_with_S_stays_in_prelaunch_until_cont():
    qmp = RawQMP.launch(["--preconfig", "-S"])
    try:
        qmp.negotiate()
        assert qmp.execute("x-exit-preconfig") == {"return": {}}            # no RESUME
        assert qmp.execute("query-status")["return"]["status"] == "prelaunch"
        qmp.send(b'{"execute": "cont"}')
        assert qmp.msg()["event"] == "RESUME" and qmp.msg() == {"return": {}}
    finally:
        qmp.send(b'{"execute": "quit"}')
        assert qmp.close() == 0


def test_sigterm_sends_shutdown_then_eof_and_exits_0():
    qmp = RawQMP.launch()
    try:
        qmp.negotiate()
        assert qmp.execute("query-name") == {"return": {}}
        qmp.proc.send_signal(signal.SIGTERM)
        msg = qmp.msg()
        assert (msg["event"], msg["data"]) == ("SHUTDOWN", {"guest": False, "reason": "host-signal"})
        assert qmp.at_eof()
    finally:
        assert qmp.close() == 0


def test_several_monitors_and_a_reconnecting_client(tmp_path):
    path = str(tmp_path / "qmp.sock")
    ours, theirs = socket.socketpair()
    proc = spawn([*BASE, "-qmp", f"unix:{path},server=on,wait=off",
                  "-chardev", f"socket,id=mon,fd={theirs.fileno()}", "-mon", "chardev=mon,mode=control",
                  "-qmp-pretty", "null"], pass_fds=[theirs.fileno()])
    theirs.close()
    first = RawQMP(ours, proc)
    try:
        first.negotiate()
        wait_for_path(path, proc)
        second = RawQMP(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
        second.sock.connect(path)
        assert second.line() == GREETING
        first.send(b'{"execute": "stop"}')                   # second has not negotiated: no event
        assert event_names([first.msg(), first.msg()]) == ["STOP", "reply"]
        second.negotiate(greeting_read=True)
        second.send(b'{"execute": "cont"}')
        assert event_names([second.msg(), second.msg()]) == ["RESUME", "reply"]
        assert first.msg()["event"] == "RESUME"
        second.sock.close()

        third = RawQMP(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
        third.sock.connect(path)                            # the listener takes a new client
        assert third.line() == GREETING                     # ... which must negotiate again
        assert third.execute("query-status")["error"]["class"] == "CommandNotFound"
        third.negotiate(greeting_read=True)
        third.send(b'{"execute": "quit"}')
        assert third.msg()["event"] == "SHUTDOWN" and third.msg() == {"return": {}}
        assert first.msg()["event"] == "SHUTDOWN"
        assert third.at_eof() and first.at_eof()
        third.sock.close()
    finally:
        assert first.close() == 0


def test_human_monitor_on_a_socket(tmp_path):
    path = str(tmp_path / "hmp.sock")
    proc = spawn([*BASE, "-monitor", f"unix:{path},server=on,wait=off"])
    try:
        wait_for_path(path, proc)
        hmp = RawQMP(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
        hmp.sock.connect(path)
        expected = b"QEMU 7.2.22 monitor - type 'help' for more information\r\n(qemu) "
        while len(hmp.buf) < len(expected):
            hmp.buf += hmp.sock.recv(4096)
        assert hmp.buf == expected
        hmp.buf = b""
        hmp.send(b"info version\r")
        while not hmp.buf.endswith(b"(qemu) "):
            hmp.buf += hmp.sock.recv(4096)
        assert hmp.buf.endswith(b"\x1b[K\r\n7.2.22qemu-py 0.1.0\r\n(qemu) ")
        hmp.send(b"quit\r")
        assert hmp.at_eof()
        hmp.sock.close()
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stderr.close()


def test_emulator_connects_to_a_listening_client(tmp_path):
    """libqtest's way: the test listens, the emulator connects (-chardev socket,path=P)."""
    path = str(tmp_path / "qtest.qmp")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    proc = spawn([*BASE, "-chardev", f"socket,path={path},id=char0", "-mon", "chardev=char0,mode=control"])
    listener.settimeout(20)
    conn, _ = listener.accept()
    listener.close()
    os.unlink(path)
    qmp = RawQMP(conn, proc)
    try:
        assert qmp.line() == GREETING
        qmp.send(b"{ 'execute': 'qmp_capabilities' }")
        assert qmp.msg() == {"return": {}}
        qmp.send(b'{"execute": "quit"}')
        assert qmp.msg()["event"] == "SHUTDOWN" and qmp.msg() == {"return": {}}
    finally:
        assert qmp.close() == 0
