"""Remote-protocol framing: ``$data#cs`` packets, acks, escapes, Ctrl-C."""
from __future__ import annotations

MAX_PACKET_LENGTH = 4096        # QEMU's MAX_PACKET_LENGTH (advertised as PacketSize=1000)


def checksum(data: bytes) -> int:
    return sum(data) & 0xFF


def frame(data: bytes) -> bytes:
    """``$`` DATA ``#`` checksum, with ``$ # } *`` escaped."""
    out = bytearray()
    for b in data:
        if b in (0x23, 0x24, 0x2A, 0x7D):
            out += bytes((0x7D, b ^ 0x20))
        else:
            out.append(b)
    return b"$" + bytes(out) + b"#%02x" % checksum(bytes(out))


def unescape(data: bytes) -> bytes:
    out = bytearray()
    it = iter(data)
    for b in it:
        if b == 0x7D:
            nxt = next(it, None)
            if nxt is None:
                break
            out.append(nxt ^ 0x20)
        else:
            out.append(b)
    return bytes(out)


class PacketReader:
    """Byte-at-a-time parser (QEMU's gdb_read_byte states).

    feed() returns events: ("packet", bytes), ("bad_checksum", None),
    ("too_long", None), ("interrupt", None), ("ack", "+"/"-").
    """

    IDLE, DATA, ESC, CHK1, CHK2 = range(5)

    def __init__(self):
        self.state = self.IDLE
        self.buf = bytearray()
        self.sum = 0
        self.csum_text = b""
        self.overflow = False

    def feed(self, data: bytes):
        events = []
        for b in data:
            st = self.state
            if st == self.IDLE:
                if b == 0x24:                # $
                    self.state = self.DATA
                    self.buf.clear()
                    self.sum = 0
                    self.overflow = False
                elif b == 0x03:
                    events.append(("interrupt", None))
                elif b in (0x2B, 0x2D):
                    events.append(("ack", chr(b)))
            elif st in (self.DATA, self.ESC):
                if b == 0x23 and st == self.DATA:      # '#'
                    self.state = self.CHK1
                    continue
                self.sum = (self.sum + b) & 0xFF
                if st == self.ESC:
                    self.state = self.DATA
                    b ^= 0x20
                elif b == 0x7D:
                    self.state = self.ESC
                    continue
                if len(self.buf) >= MAX_PACKET_LENGTH:
                    self.overflow = True
                else:
                    self.buf.append(b)
            elif st == self.CHK1:
                self.csum_text = bytes((b,))
                self.state = self.CHK2
            else:
                self.state = self.IDLE
                text = self.csum_text + bytes((b,))
                try:
                    want = int(text, 16)
                except ValueError:
                    want = -1
                if want != self.sum:
                    events.append(("bad_checksum", None))
                elif self.overflow:
                    events.append(("too_long", None))
                else:
                    events.append(("packet", bytes(self.buf)))
        return events
