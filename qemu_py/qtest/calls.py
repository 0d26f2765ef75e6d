"""libqtest's calls on top of one request method, shared by every qtest client.

A client class provides ``cmd(line, check=True) -> reply`` (IRQ lines
consumed through ``_irq_line``) and gets ``readl``, ``writel``, ``memread``,
``bufwrite``, ``clock_step``, ``irq_intercept_in``... exactly as libqtest
formats them.
"""

from __future__ import annotations

import base64


class LibqtestCalls:
    def _init_irq_state(self):
        self.irq_level = [0] * 256
        self.irq_raised = [0] * 256
        self.irq_lowered = [0] * 256
        self.irq_lines: list[str] = []      # every IRQ line received, in order

    def _irq_line(self, line: str):
        self.irq_lines.append(line)
        words = line.split(" ")
        n = int(words[2])
        if words[1] == "raise":
            self.irq_level[n] = 1
            self.irq_raised[n] += 1
        else:
            self.irq_level[n] = 0
            self.irq_lowered[n] += 1

    def _value(self, reply: str) -> int:
        return int(reply.split(" ")[1], 0)

    # libqtest-style accessors
    def outb(self, addr, val): self.cmd(f"outb 0x{addr:x} 0x{val:x}")
    def outw(self, addr, val): self.cmd(f"outw 0x{addr:x} 0x{val:x}")
    def outl(self, addr, val): self.cmd(f"outl 0x{addr:x} 0x{val:x}")
    def inb(self, addr): return self._value(self.cmd(f"inb 0x{addr:x}"))
    def inw(self, addr): return self._value(self.cmd(f"inw 0x{addr:x}"))
    def inl(self, addr): return self._value(self.cmd(f"inl 0x{addr:x}"))
    def writeb(self, addr, val): self.cmd(f"writeb 0x{addr:x} 0x{val:x}")
    def writew(self, addr, val): self.cmd(f"writew 0x{addr:x} 0x{val:x}")
    def writel(self, addr, val): self.cmd(f"writel 0x{addr:x} 0x{val:x}")
    def writeq(self, addr, val): self.cmd(f"writeq 0x{addr:x} 0x{val:x}")
    def readb(self, addr): return self._value(self.cmd(f"readb 0x{addr:x}"))
    def readw(self, addr): return self._value(self.cmd(f"readw 0x{addr:x}"))
    def readl(self, addr): return self._value(self.cmd(f"readl 0x{addr:x}"))
    def readq(self, addr): return self._value(self.cmd(f"readq 0x{addr:x}"))

    def memread(self, addr: int, size: int) -> bytes:
        if size == 0:
            return b""
        reply = self.cmd(f"read 0x{addr:x} 0x{size:x}")
        return bytes.fromhex(reply.split(" ")[1][2:])

    def memwrite(self, addr: int, data: bytes):
        if data:
            self.cmd(f"write 0x{addr:x} 0x{len(data):x} 0x{data.hex()}")

    def bufread(self, addr: int, size: int) -> bytes:
        reply = self.cmd(f"b64read 0x{addr:x} 0x{size:x}")
        return base64.b64decode(reply[3:])

    def bufwrite(self, addr: int, data: bytes):
        self.cmd(f"b64write 0x{addr:x} 0x{len(data):x} {base64.b64encode(data).decode()}")

    def memset(self, addr: int, size: int, pattern: int):
        self.cmd(f"memset 0x{addr:x} 0x{size:x} 0x{pattern & 0xff:02x}")

    def clock_step(self, ns: int | None = None) -> int:
        reply = self.cmd("clock_step" if ns is None else f"clock_step {ns}")
        return int(reply.split(" ")[1])

    def clock_set(self, ns: int) -> int:
        return int(self.cmd(f"clock_set {ns}").split(" ")[1])

    def irq_intercept_in(self, path: str): self.cmd(f"irq_intercept_in {path}")
    def irq_intercept_out(self, path: str): self.cmd(f"irq_intercept_out {path}")

    def set_irq_in(self, path: str, name: str | None, num: int, level: int):
        self.cmd(f"set_irq_in {path} {name or 'unnamed-gpio-in'} {num} {level}")
