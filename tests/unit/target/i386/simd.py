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


def assert_ud_without_osfxsr_and_nm_with_ts(bed, text):
    """TEXT raises #UD with CR4.OSFXSR clear and #NM with CR0.TS set."""
    from qemu_py.target.i386.state import CR0, CR4
    bed.env[CR4] &= ~0x200
    bed.cpu.update_hflags()
    bed.run(text)
    assert bed.exception_vector() == 6, text
    bed.env[CR4] |= 0x200
    bed.env[CR0] |= 0x8
    bed.cpu.update_hflags()
    bed.io_log.clear()
    bed.run(text)
    assert bed.exception_vector() == 7, text


def assert_misaligned_m128_is_gp(bed, text, rdi):
    """TEXT (xmm0, [rdi]) with a misaligned RDI raises #GP(0) and leaves XMM0 alone."""
    set_xmm(bed, 0, 0x1234)
    bed.run(text, rdi=rdi)
    assert bed.exception_vector() == 13, text
    assert xmm(bed, 0) == 0x1234, text
