"""The gdb remote-protocol server: a chardev front end serving one debugger."""
from __future__ import annotations

import re
import sys

from qemu_py.system.error import error_report
from qemu_py.tcg.cpu_exec import WP_READ, WP_WRITE

from .packet import MAX_PACKET_LENGTH, PacketReader, frame

GDB_SIGNAL_INT, GDB_SIGNAL_TRAP = 2, 5
SSTEP_ENABLE, SSTEP_NOIRQ, SSTEP_NOTIMER = 0x1, 0x2, 0x4
SSTEP_SUPPORTED = SSTEP_ENABLE | SSTEP_NOIRQ | SSTEP_NOTIMER
E22 = b"E22"                      # EINVAL, QEMU's reply to malformed packets


def _hex_int(text: bytes) -> int:
    if not text or not re.fullmatch(rb"[0-9a-fA-F]+", text):
        raise ValueError(text)
    return int(text, 16)


def _thread_id(text: bytes) -> int:
    """A thread-id as gdb sends it: -1 all, 0 any, else hex (``pP.T`` accepted)."""
    if text.startswith(b"p"):
        text = text.split(b".", 1)[-1]
    if text == b"-1":
        return -1
    return _hex_int(text)


class GdbServer:
    def __init__(self, target, chardev):
        self.target = target
        self.chr = chardev
        self.reader = PacketReader()
        self.no_ack = False
        self.last_packet = b""
        self.g_tid = 1                   # Hg: registers and memory
        self.c_tid = 1                   # Hc: step/continue
        self.physical = False            # Qqemu.PhyMemMode
        self.sstep_flags = SSTEP_ENABLE | SSTEP_NOIRQ | SSTEP_NOTIMER
        self.waiting = False             # a resume is outstanding: a stop reply is owed
        self.connected = False
        self.in_packet = False           # a packet handler is running
        self.exit_pending = False        # the machine shut down during it: W00 owed
        target.on_stop = self._on_stop
        target.on_exit(self._on_exit)
        chardev.attach(self)

    # -- chardev front end -------------------------------------------------------------------
    def can_read(self) -> int:
        return MAX_PACKET_LENGTH

    def event(self, kind):
        from qemu_py.system.chardev.base import CLOSED, OPENED
        if kind == OPENED:
            self.connected = True
            self.no_ack = False
            self.reader = PacketReader()
            if self.target.is_running():
                self.target.stop()       # a debugger attaching stops the machine (QEMU)
        elif kind == CLOSED:
            self.connected = False
            self.waiting = False
            # QEMU: the breakpoints go, the guest runs on
            self.target.detach()

    def receive(self, data: bytes):
        for kind, value in self.reader.feed(data):
            try:
                self._event(kind, value)
            except Exception as e:       # the stub never takes the emulator down
                print(f"gdbstub: {type(e).__name__}: {e}", file=sys.stderr)
                self._reply(b"E22")

    def _event(self, kind, value):
        if kind == "interrupt":
            if self.target.is_running():
                self.target.stop()
                self.waiting = False
                self._send_stop(GDB_SIGNAL_INT)
        elif kind == "ack":
            if value == "-" and self.last_packet and not self.no_ack:
                self.chr.write(self.last_packet)
        elif kind == "bad_checksum":
            if not self.no_ack:
                self.chr.write(b"-")
        elif kind == "too_long":
            if not self.no_ack:
                self.chr.write(b"+")
            self._reply(E22)
        else:
            if not self.no_ack:
                self.chr.write(b"+")
            self._packet(value)

    def _reply(self, data: bytes):
        self.last_packet = frame(data)
        self.chr.write(self.last_packet)

    # -- stop replies ----------------------------------------------------------------------------
    def _send_stop(self, sig: int, tid: int | None = None, extra: str = ""):
        tid = tid if tid else self._tid(self.c_tid)
        self._reply(b"T%02xthread:%02x;%s" % (sig, tid, extra.encode()))

    def _on_stop(self, kind: str, tid: int, detail):
        self.g_tid = self.c_tid = tid
        if self.waiting:
            self.waiting = False
            extra = ""
            if kind == "watch" and detail is not None:
                bits, addr = detail
                prefix = {WP_READ: "r", WP_WRITE: "", WP_READ | WP_WRITE: "a"}[bits]
                extra = f"{prefix}watch:{addr:x};"
            self._send_stop(GDB_SIGNAL_TRAP, tid, extra)

    def _on_exit(self):
        """The machine shuts down: the debugger learns the process exited (QEMU's
        gdb_exit: ``W00`` in system emulation, whatever the exit status)."""
        if not self.connected:
            return
        if self.in_packet:
            self.exit_pending = True     # after the packet's own reply (qRcmd "quit": OK)
        else:
            self._reply(b"W00")

    def _kill(self):
        error_report("QEMU: Terminated via GDBstub")
        self._reply(b"W00")
        self.connected = False
        self.target.kill()

    # -- packets ---------------------------------------------------------------------------------
    def _packet(self, p: bytes):
        if not p:
            return self._reply(b"")
        c = p[:1]
        handler = _HANDLERS.get(c)
        if handler is None:
            return self._reply(b"")
        self.in_packet = True
        try:
            out = handler(self, p[1:])
        except (ValueError, IndexError):
            out = E22
        finally:
            self.in_packet = False
        if out is not None:
            self._reply(out)
        if self.exit_pending:
            self.exit_pending = False
            self._reply(b"W00")

    def _tid(self, t: int) -> int:
        return 1 if t <= 0 else t

    def h_status(self, _a):
        return b"T%02xthread:%02x;" % (GDB_SIGNAL_TRAP, self._tid(self.c_tid))

    def h_read_regs(self, _a):
        return self.target.read_registers(self._tid(self.g_tid)).hex().encode()

    def h_write_regs(self, a):
        data = bytes.fromhex(a.decode())
        self.target.write_registers(self._tid(self.g_tid), data)
        return b"OK"

    def h_read_reg(self, a):
        data = self.target.read_register(self._tid(self.g_tid), _hex_int(a))
        return b"E14" if data is None else data.hex().encode()

    def h_write_reg(self, a):
        n, _, val = a.partition(b"=")
        ok = self.target.write_register(self._tid(self.g_tid), _hex_int(n),
                                        bytes.fromhex(val.decode()))
        return b"OK" if ok else b"E14"

    def _addr_len(self, a: bytes):
        addr, _, length = a.partition(b",")
        return _hex_int(addr), _hex_int(length)

    def h_read_mem(self, a):
        addr, length = self._addr_len(a)
        if length > MAX_PACKET_LENGTH // 2:
            return E22
        data = self.target.read_memory(self._tid(self.g_tid), addr, length, self.physical)
        return b"E14" if data is None else data.hex().encode()

    def h_write_mem(self, a):
        head, _, hexdata = a.partition(b":")
        addr, length = self._addr_len(head)
        data = bytes.fromhex(hexdata.decode())
        if len(data) != length:
            return E22
        ok = self.target.write_memory(self._tid(self.g_tid), addr, data, self.physical)
        return b"OK" if ok else b"E14"

    def h_write_bin(self, a):
        head, sep, data = a.partition(b":")
        if not sep:
            return E22
        addr, length = self._addr_len(head)
        if len(data) != length:
            return E22
        if length == 0:
            return b"OK"
        ok = self.target.write_memory(self._tid(self.g_tid), addr, data, self.physical)
        return b"OK" if ok else b"E14"

    def _resume(self, a: bytes, step: bool):
        if a:
            addr = a.split(b";", 1)[0]
            if addr:
                from qemu_py.target.i386.state import RIP
                self.target.cpu(self._tid(self.c_tid)).env_q[RIP] = _hex_int(addr)
        self._do_resume(self._tid(self.c_tid) if step else None)

    def _do_resume(self, step_tid):
        self.waiting = True
        if step_tid is not None and not self.sstep_flags & SSTEP_ENABLE:
            step_tid = None
        self.target.resume(step_tid, noirq=bool(self.sstep_flags & SSTEP_NOIRQ),
                           notimer=bool(self.sstep_flags & SSTEP_NOTIMER))
        return None

    def h_continue(self, a):
        self._resume(a, False)

    def h_step(self, a):
        self._resume(a, True)

    def h_continue_sig(self, a):
        _hex_int(a.split(b";", 1)[0])
        self._resume(a.split(b";", 1)[1] if b";" in a else b"", False)

    def h_step_sig(self, a):
        _hex_int(a.split(b";", 1)[0])
        self._resume(a.split(b";", 1)[1] if b";" in a else b"", True)

    def h_thread(self, a):
        kind, t = a[:1], _thread_id(a[1:])
        if t > 0 and t not in self.target.thread_ids():
            return b"E22"
        if kind == b"g":
            self.g_tid = t
        elif kind == b"c":
            self.c_tid = t
        else:
            return b"E22"
        return b"OK"

    def h_thread_alive(self, a):
        t = _thread_id(a)
        return b"OK" if t in self.target.thread_ids() else b"E22"

    def h_detach(self, _a):
        self._reply(b"OK")
        self.waiting = False
        self.target.detach()

    def h_kill(self, _a):
        self._kill()

    def h_z(self, a, insert: bool):
        kind, addr, _length = a.split(b",")[:3]
        kind = int(kind)
        addr = _hex_int(addr)
        _hex_int(_length.split(b";")[0])
        if kind in (0, 1):
            if insert:
                self.target.insert_breakpoint(addr)
                return b"OK"
            return b"OK" if self.target.remove_breakpoint(addr) else b"E22"
        if kind in (2, 3, 4):
            bits = {2: WP_WRITE, 3: WP_READ, 4: WP_READ | WP_WRITE}[kind]
            length = _hex_int(_length.split(b";")[0])
            if length == 0:
                return E22
            if insert:
                self.target.insert_watchpoint(addr, length, bits)
                return b"OK"
            return b"OK" if self.target.remove_watchpoint(addr, length, bits) else b"E22"
        return b""

    def h_insert(self, a):
        return self.h_z(a, True)

    def h_remove(self, a):
        return self.h_z(a, False)

    def h_query(self, a):
        if a == b"C":
            return b"QC%02x" % self._tid(self.g_tid)
        if a == b"fThreadInfo":
            return b"m" + b",".join(b"%02x" % t for t in self.target.thread_ids())
        if a == b"sThreadInfo":
            return b"l"
        if a.startswith(b"ThreadExtraInfo,"):
            t = _thread_id(a[len(b"ThreadExtraInfo,"):])
            return (b"CPU#%d [%s]" % (t - 1, b"running" if self.target.is_running()
                                       else b"halted ")).hex().encode()
        if a.startswith(b"Supported"):
            return (b"PacketSize=%x;qXfer:features:read+;swbreak+;hwbreak+;"
                    b"vContSupported+;QStartNoAckMode+" % MAX_PACKET_LENGTH)
        if a.startswith(b"Xfer:features:read:"):
            return self._xfer_features(a[len(b"Xfer:features:read:"):])
        if a.startswith(b"Attached"):
            return b"1"
        if a.startswith(b"Rcmd,"):
            return self._rcmd(a[len(b"Rcmd,"):])
        if a == b"qemu.sstepbits":
            return b"ENABLE=%x,NOIRQ=%x,NOTIMER=%x" % (SSTEP_ENABLE, SSTEP_NOIRQ, SSTEP_NOTIMER)
        if a == b"qemu.sstep":
            return b"0x%x" % self.sstep_flags
        if a.startswith(b"qemu.sstep="):
            self.sstep_flags = _hex_int(a[len(b"qemu.sstep="):])
            return b"OK"
        if a == b"qemu.PhyMemMode":
            return b"1" if self.physical else b"0"
        if a == b"Offsets":
            return b""
        return b""

    def h_set(self, a):
        if a == b"StartNoAckMode":
            self._reply(b"OK")
            self.no_ack = True
            return None
        if a.startswith(b"qemu.PhyMemMode:"):
            v = a[len(b"qemu.PhyMemMode:"):]
            if v not in (b"0", b"1"):
                return E22
            self.physical = v == b"1"
            return b"OK"
        if a.startswith(b"qemu.sstep="):
            flags = _hex_int(a[len(b"qemu.sstep="):])
            if flags & ~SSTEP_SUPPORTED:
                return E22
            self.sstep_flags = flags
            return b"OK"
        return b""

    def _xfer_features(self, a):
        annex, _, span = a.partition(b":")
        if annex != b"target.xml":
            return b"E00"
        off, length = self._addr_len(span)
        xml = self.target.xml().encode()
        length = min(length, MAX_PACKET_LENGTH - 5)
        if off > len(xml):
            return E22
        chunk = xml[off:off + length]
        return (b"l" if off + length >= len(xml) else b"m") + chunk

    def _rcmd(self, a):
        from qemu_py.monitor.hmp.monitor import run_command_line
        text = bytes.fromhex(a.decode()).decode("utf-8", "replace")
        out = run_command_line(self.target.vm, text, self._tid(self.g_tid) - 1)
        data = out.encode()
        step = (MAX_PACKET_LENGTH - 2) // 2
        for i in range(0, len(data), step):
            self._reply(b"O" + data[i:i + step].hex().encode())
        return b"OK"

    def h_v(self, a):
        if a == b"Cont?":
            return b"vCont;c;C;s;S"
        if a.startswith(b"Cont;"):
            return self._vcont(a[len(b"Cont;"):])
        if a.startswith(b"MustReplyEmpty"):
            return b""
        if a.startswith(b"Kill"):
            self._reply(b"OK")
            self._kill()
            return None
        return b""

    def _vcont(self, a):
        step_tid = None
        resume = False
        stop = False
        for action in a.split(b";"):
            act, _, t = action.partition(b":")
            tid = _thread_id(t) if t else -1
            if tid > 0 and tid not in self.target.thread_ids():
                return E22
            verb = act[:1]
            if verb in (b"C", b"S"):
                _hex_int(act[1:])
            elif act[1:]:
                return E22
            if verb in (b"s", b"S"):
                if step_tid is None:
                    step_tid = tid if tid > 0 else self._tid(self.c_tid)
                resume = True
            elif verb in (b"c", b"C"):
                resume = True
            elif verb == b"t":
                stop = True
            else:
                return E22
        if resume:
            return self._do_resume(step_tid)
        if stop:
            if self.target.is_running():
                self.target.stop()
            return b"T%02xthread:%02x;" % (0, self._tid(self.c_tid))
        return E22


_HANDLERS = {
    b"?": GdbServer.h_status, b"g": GdbServer.h_read_regs, b"G": GdbServer.h_write_regs,
    b"p": GdbServer.h_read_reg, b"P": GdbServer.h_write_reg, b"m": GdbServer.h_read_mem,
    b"M": GdbServer.h_write_mem, b"X": GdbServer.h_write_bin, b"c": GdbServer.h_continue,
    b"s": GdbServer.h_step, b"C": GdbServer.h_continue_sig, b"S": GdbServer.h_step_sig,
    b"H": GdbServer.h_thread, b"T": GdbServer.h_thread_alive, b"D": GdbServer.h_detach,
    b"k": GdbServer.h_kill, b"Z": GdbServer.h_insert, b"z": GdbServer.h_remove,
    b"q": GdbServer.h_query, b"Q": GdbServer.h_set, b"v": GdbServer.h_v,
}
