"""``qemu-py-qtest``: a qtest protocol client for people and scripts.

Spawn an emulator and talk to it::

    qemu-py-qtest -- qemu-py -M none -m 16M
    qemu-py-qtest --file session.txt --strict -- qemu-py -M pc

or attach to one that listens (``-qtest unix:PATH,server=on,wait=off``)::

    qemu-py-qtest --socket PATH

Commands come from ``--file`` (where blank lines and lines starting with
``#`` are skipped) or standard input (interactive, with history,
on a terminal). Each reply is printed as the emulator sent it; asynchronous
``IRQ`` lines are printed as they arrive. ``--log FILE`` keeps a timestamped
transcript. With ``--strict`` the first ``FAIL``/``ERR`` reply ends the run
with exit status 1.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="qemu-py-qtest",
        description="Send qtest protocol commands to qemu-py (or QEMU) and print the replies.",
        epilog="Anything after -- is the emulator command line; the tool adds "
               "'-qtest unix:SOCKET -accel qtest'.")
    p.add_argument("--socket", metavar="PATH", help="attach to a listening qtest socket")
    p.add_argument("--file", "-f", metavar="FILE", help="read commands from FILE (default stdin)")
    p.add_argument("--log", metavar="FILE", help="write a timestamped transcript to FILE")
    p.add_argument("--strict", action="store_true", help="exit 1 on the first FAIL or ERR reply")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="seconds to wait for each reply (default 30)")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- EMULATOR [ARGS...]")
    return p


class Session:
    def __init__(self, sock: socket.socket, timeout: float, log, out):
        self.sock = sock
        self.timeout = timeout
        self.log = log
        self.out = out
        self.buf = b""
        self.t0 = time.monotonic()

    def _note(self, direction: str, text: str):
        if self.log:
            self.log.write(f"[{time.monotonic() - self.t0:.6f}] {direction} {text}\n")
            self.log.flush()

    def _line(self) -> str | None:
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise ConnectionError("the emulator closed the qtest connection")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode("latin-1")

    def request(self, line: str) -> str | None:
        self._note(">", line)
        self.sock.sendall(line.encode("latin-1") + b"\n")
        while True:
            reply = self._line()
            if reply is None:
                print(f"qemu-py-qtest: no reply to '{line}' within {self.timeout} s",
                      file=sys.stderr)
                return None
            self._note("<", reply)
            print(reply, file=self.out, flush=True)
            if not reply.startswith("IRQ"):
                return reply


def _commands(path: str | None):
    if path is not None:
        with open(path, encoding="latin-1") as f:
            for line in f:
                line = line.rstrip("\n")
                if line.strip() and not line.startswith("#"):   # comments and blank lines
                    yield line
        return
    if sys.stdin.isatty():
        try:
            import readline  # noqa: F401  (history and line editing)
        except ImportError:
            pass
        while True:
            try:
                yield input("qtest> ")
            except EOFError:
                print()
                return
    else:
        for line in sys.stdin:
            yield line.rstrip("\n")


def _spawn(command: list[str], timeout: float):
    sockdir = tempfile.mkdtemp(prefix="qemu-py-qtest-")
    path = os.path.join(sockdir, "qtest.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    listener.settimeout(0.2)
    args = command + ["-qtest", f"unix:{path}", "-qtest-log", "none", "-accel", "qtest"]
    try:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL)
    except OSError as e:
        raise SystemExit(f"qemu-py-qtest: cannot run '{command[0]}': {e.strerror}") from None
    deadline = time.monotonic() + max(timeout, 30)
    try:
        while True:
            try:
                conn, _ = listener.accept()
                return proc, conn
            except socket.timeout:
                pass
            if proc.poll() is not None:
                raise SystemExit(f"qemu-py-qtest: the emulator exited with status "
                                 f"{proc.returncode} before connecting")
            if time.monotonic() > deadline:
                proc.kill()
                raise SystemExit("qemu-py-qtest: the emulator did not connect in time")
    finally:
        listener.close()
        os.unlink(path)
        os.rmdir(sockdir)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if bool(args.socket) == bool(command):
        print("qemu-py-qtest: give either --socket PATH or -- EMULATOR ARGS", file=sys.stderr)
        return 2
    proc = None
    if args.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(args.socket)
        except OSError as e:
            print(f"qemu-py-qtest: cannot connect to '{args.socket}': {e.strerror}", file=sys.stderr)
            return 2
    else:
        proc, sock = _spawn(command, args.timeout)
    log = open(args.log, "w") if args.log else None
    status = 0
    try:
        session = Session(sock, args.timeout, log, sys.stdout)
        for line in _commands(args.file):
            reply = session.request(line)
            if reply is None:
                status = 1
                break
            if args.strict and not reply.startswith("OK"):
                status = 1
                break
    except ConnectionError as e:
        print(f"qemu-py-qtest: {e}", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        status = 130
    finally:
        sock.close()
        if log:
            log.close()
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return status


if __name__ == "__main__":
    sys.exit(main())
