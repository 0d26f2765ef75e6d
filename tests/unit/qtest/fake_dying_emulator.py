"""A stand-in emulator for the failure-report tests: it connects to the qtest
(and QMP) sockets the way qemu-py does, answers the handshake, then on the
first qtest command writes two lines to stderr and dies as told by
``FAKE_DEATH`` (``segv``: SIGSEGV; a number: exit with that status)."""

import json
import os
import signal
import socket
import sys


def main(argv):
    qtest_path = argv[argv.index("-qtest") + 1].removeprefix("unix:")
    qmp_path = None
    if "-chardev" in argv:
        spec = argv[argv.index("-chardev") + 1]
        qmp_path = dict(p.split("=", 1) for p in spec.split(",")[1:])["path"]
    qt = socket.socket(socket.AF_UNIX)
    qt.connect(qtest_path)
    qmp = None
    if qmp_path:
        qmp = socket.socket(socket.AF_UNIX)
        qmp.connect(qmp_path)
    qtf = qt.makefile("rwb", buffering=0)
    assert qtf.readline() == b"endianness\n"
    qtf.write(b"OK little\n")
    if qmp is not None:
        qmpf = qmp.makefile("rwb", buffering=0)
        greeting = {"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7},
                                        "package": ""}, "capabilities": []}}
        qmpf.write(json.dumps(greeting).encode() + b"\r\n")
        caps = json.loads(qmpf.readline())
        qmpf.write(json.dumps({"return": {}, "id": caps["id"]}).encode() + b"\r\n")
    if os.environ.get("FAKE_DEATH_ON") == "qmp":
        qmpf.readline()
    else:
        qtf.readline()
    sys.stderr.write("fake: about to die\nfake: last words\n")
    sys.stderr.flush()
    death = os.environ.get("FAKE_DEATH", "segv")
    if death == "segv":
        signal.signal(signal.SIGSEGV, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGSEGV)
    os._exit(int(death))


if __name__ == "__main__":
    main(sys.argv[1:])
