"""XMM register access and lane packing for the SIMD instruction tests."""

from qemu_py.target.i386.state import XMM

M64 = 2**64 - 1


def xmm(bed, i):
    """XMM register I of the test bed as a 128-bit integer."""
    return bed.env[XMM + 2 * i] | (bed.env[XMM + 2 * i + 1] << 64)


def set_xmm(bed, i, v):
    bed.env[XMM + 2 * i] = v & M64
    bed.env[XMM + 2 * i + 1] = v >> 64


def lanes(bits, *xs):
    """XS packed as BITS-bit lanes, lane 0 lowest."""
    m = (1 << bits) - 1
    return sum((x & m) << (bits * i) for i, x in enumerate(xs))


def b(*xs):
    return lanes(8, *xs)


def w(*xs):
    return lanes(16, *xs)


def dw(*xs):
    return lanes(32, *xs)


def qw(*xs):
    return lanes(64, *xs)
