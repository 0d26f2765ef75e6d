"""IRQ lines: inputs with a handler, and device outputs connected to inputs.

An :class:`IRQ` is an input pin: ``irq.set(level)`` calls the owner's
handler with the pin number. An :class:`OutLine` is an output pin that a
device drives; it forwards to whatever input it is connected to. Levels are
ints (0 low, non-zero high; -1 counts as high as in QEMU's pulse helpers).
"""

from __future__ import annotations

from typing import Callable


class IRQ:
    __slots__ = ("handler", "n", "level", "__weakref__")

    def __init__(self, handler: Callable[[int, int], None], n: int = 0):
        self.handler = handler
        self.n = n
        self.level = 0

    def set(self, level: int):
        self.level = level
        self.handler(self.n, level)

    def raise_(self):
        self.set(1)

    def lower(self):
        self.set(0)

    def pulse(self):
        self.set(1)
        self.set(0)


class OutLine:
    """An output pin; connect it to an :class:`IRQ` (or leave it floating)."""

    __slots__ = ("target", "level")

    def __init__(self):
        self.target: IRQ | None = None
        self.level = 0

    def connect(self, irq: IRQ | None):
        self.target = irq

    def set(self, level: int):
        self.level = level
        if self.target is not None:
            self.target.set(level)

    def raise_(self):
        self.set(1)

    def lower(self):
        self.set(0)

    def pulse(self):
        self.set(1)
        self.set(0)


def splitter(*irqs: IRQ) -> IRQ:
    """One input that drives several inputs (QEMU's irq splitter)."""

    def fan_out(_n, level):
        for irq in irqs:
            irq.set(level)

    return IRQ(fan_out)
