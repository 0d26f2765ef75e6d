"""Exact IEEE 754 binary32/binary64 arithmetic with the x86 SSE rules (MXCSR).

Every operation works on encodings (ints) and computes the exact result
with integers (a finite value is ``(-1)**sign * sig * 2**exp``), then rounds
it once to the destination format under MXCSR.RC, so the results are bit for
bit those of an x86 CPU. The rules are those of the Intel SDM vol. 1, 4.8
and 11.5 and the instruction pages (AMD APM vol. 1, 6.4 agrees); where the
manuals leave a choice the host CPUs (AMD EPYC, and Intel) were measured:

* Tininess is detected after rounding (a result is tiny when rounding it to
  the destination precision with an unbounded exponent gives a magnitude
  below the smallest normal). With underflow masked, UE is set only if the
  tiny result is also inexact; FTZ (with UE masked) replaces a tiny result
  by a zero of its sign and sets UE and PE. With underflow unmasked a tiny
  result raises UE whether or not it is exact. An unmasked overflow or
  underflow writes nothing and sets OE or UE, and PE only if the result
  rounded to the destination precision with an unbounded exponent (the
  scaled result x87 would deliver) is inexact.
* DAZ turns denormal sources into zeros of their sign before anything else;
  DE is then never set. DE is reported for a denormal source of an
  arithmetic, compare or float-to-float conversion, but not when the lane
  has a higher-priority pre-computation exception (a NaN source, another
  invalid operation, or a division by zero): IE and ZE replace DE.
* NaNs: an SNaN source sets IE; the result is the first NaN source (the
  destination operand for two-operand forms), quieted. An invalid operation
  without NaN sources (inf - inf, 0 * inf, 0 / 0, inf / inf, sqrt of a
  negative) gives the default NaN, "real indefinite" (sign set, quiet bit).
  MIN/MAX return the second operand unchanged when either is a NaN (IE), or
  when they compare equal (so min(+0, -0) = -0).
* Float to integer conversions out of range (or of a NaN) set IE and give
  the "integer indefinite" (only the sign bit set).

Exceptions are split as the SDM splits them: pre-computation (IE, DE, ZE,
found from the sources) and post-computation (OE, UE, PE, found from the
exact result). An operation returns ``(result, pre, post)`` and the
instruction layer (``insn_sse``) decides whether to commit or raise #XM.
"""

from __future__ import annotations

from math import isqrt

# MXCSR
IE, DE, ZE, OE, UE, PE = 1, 2, 4, 8, 16, 32
DAZ = 1 << 6
MASK_SHIFT = 7
RC_SHIFT = 13
FTZ = 1 << 15
RN, RD, RU, RZ = 0, 1, 2, 3
PRE = IE | DE | ZE
POST = OE | UE | PE


class Format:
    """An IEEE binary interchange format."""

    def __init__(self, name: str, ebits: int, mbits: int):
        self.name = name
        self.ebits = ebits
        self.mbits = mbits
        self.bits = 1 + ebits + mbits
        self.p = mbits + 1                          # precision, hidden bit included
        self.bias = (1 << (ebits - 1)) - 1
        self.emin = 1 - self.bias                   # exponent of the smallest normal
        self.emax = self.bias
        self.emask = (1 << ebits) - 1
        self.mmask = (1 << mbits) - 1
        self.sign_bit = 1 << (self.bits - 1)
        self.quiet_bit = 1 << (mbits - 1)
        self.inf = self.emask << mbits
        self.default_nan = self.sign_bit | self.inf | self.quiet_bit
        self.max_finite = ((self.emask - 1) << mbits) | self.mmask

    def __repr__(self) -> str:
        return f"<Format {self.name}>"


F32 = Format("binary32", 8, 23)
F64 = Format("binary64", 11, 52)


# -- classification --------------------------------------------------------------------------


def is_nan(x: int, f: Format) -> bool:
    return (x >> f.mbits) & f.emask == f.emask and x & f.mmask != 0


def is_snan(x: int, f: Format) -> bool:
    return is_nan(x, f) and not x & f.quiet_bit


def is_inf(x: int, f: Format) -> bool:
    return x & ~f.sign_bit == f.inf


def is_denormal(x: int, f: Format) -> bool:
    return (x >> f.mbits) & f.emask == 0 and x & f.mmask != 0


def quiet(x: int, f: Format) -> int:
    return x | f.quiet_bit


def sign_of(x: int, f: Format) -> int:
    return (x >> (f.bits - 1)) & 1


def daz_in(x: int, f: Format, mxcsr: int) -> tuple[int, int]:
    """(source as the operation sees it, DE flag): DAZ zeroes a denormal, else DE."""
    if is_denormal(x, f):
        if mxcsr & DAZ:
            return x & f.sign_bit, 0
        return x, DE
    return x, 0


def daz_in2(a: int, b: int, f: Format, mxcsr: int) -> tuple[int, int, int]:
    """Both sources through :func:`daz_in`: (a, b, their DE flags or'ed)."""
    a, da = daz_in(a, f, mxcsr)
    b, db = daz_in(b, f, mxcsr)
    return a, b, da | db


def unpack(x: int, f: Format) -> tuple[int, int, int]:
    """(sign, sig, exp) of a finite encoding X: its value is (-1)**sign * sig * 2**exp."""
    e = (x >> f.mbits) & f.emask
    m = x & f.mmask
    if e:
        m |= 1 << f.mbits
    else:
        e = 1
    return sign_of(x, f), m, e - f.bias - f.mbits


def to_fraction(x: int, f: Format):
    """The exact value of a finite encoding as a Fraction (for tests and tracing)."""
    from fractions import Fraction
    s, m, e = unpack(x, f)
    v = Fraction(m) * (Fraction(2) ** e)
    return -v if s else v


# -- rounding -----------------------------------------------------------------------------------


def rc_of(mxcsr: int) -> int:
    return (mxcsr >> RC_SHIFT) & 3


def _masked(mxcsr: int, flag: int) -> bool:
    return bool(mxcsr >> MASK_SHIFT & flag)


def round_pack(sign: int, sig: int, exp: int, sticky: bool, f: Format, mxcsr: int,
               rc: int | None = None) -> tuple[int, int]:
    """Round (-1)**SIGN * (SIG + tail) * 2**EXP to F under MXCSR; (encoding, post flags).

    STICKY says that an inexact tail 0 < tail < 1 (in units of 2**EXP) was
    dropped; callers that set it keep at least two bits below the precision
    of F. A zero SIG without STICKY is an exact zero of SIGN. RC, when given,
    overrides MXCSR.RC.
    """
    if rc is None:
        rc = rc_of(mxcsr)
    sbit = f.sign_bit if sign else 0
    if sig == 0 and not sticky:
        return sbit, 0
    p = f.p
    n = sig.bit_length()
    top = exp + n - 1                               # exponent of the leading bit
    tiny = False
    if top < f.emin:
        # tininess after rounding: round to P bits with an unbounded exponent
        k, inexact_p = _round_sig(sig, n - p, sticky, sign, rc)
        if n - p > 0 and k >> p:                    # carried into the next binade
            top_r = top + 1
        else:
            top_r = top
        tiny = top_r < f.emin
    q = max(top - (p - 1), f.emin - (p - 1))        # exponent of the result's last place
    kept, inexact = _round_sig(sig, q - exp, sticky, sign, rc)
    if kept >> p:
        kept >>= 1
        q += 1
    flags = PE if inexact else 0
    if tiny:
        if not _masked(mxcsr, UE):
            # trapped, nothing is written; PE says whether the result rounded to P bits
            # (the one an x87 handler would get, scaled) is inexact
            return 0, UE | (PE if inexact_p else 0)
        if mxcsr & FTZ:
            return sbit, UE | PE
        if inexact:
            flags |= UE
    if kept >> (p - 1):
        biased = q + (p - 1) + f.bias
        if biased >= f.emask:                       # overflow
            if not _masked(mxcsr, OE):
                return 0, OE | flags                # trapped: PE as for an unbounded exponent
            if rc == RN or (rc == RU and not sign) or (rc == RD and sign):
                return sbit | f.inf, OE | PE
            return sbit | f.max_finite, OE | PE
        return sbit | (biased << f.mbits) | (kept & f.mmask), flags
    return sbit | kept, flags                       # denormal (or zero)


def _round_sig(sig: int, shift: int, sticky: bool, sign: int, rc: int) -> tuple[int, bool]:
    """SIG (with a STICKY tail below it) shifted right by SHIFT and rounded: (value, inexact)."""
    if shift <= 0:
        if sticky:
            raise ValueError("round_pack: sticky tail without guard bits")
        return sig << -shift, False
    kept = sig >> shift
    rem = sig & ((1 << shift) - 1)
    inexact = bool(rem) or sticky
    if not inexact:
        return kept, False
    if rc == RN:
        half = 1 << (shift - 1)
        up = rem > half or (rem == half and (sticky or kept & 1))
    elif rc == RZ:
        up = False
    elif rc == RU:
        up = not sign
    else:
        up = bool(sign)
    return kept + up, True


# -- arithmetic -----------------------------------------------------------------------------------


def _nan_result(a: int, b: int, f: Format) -> tuple[int, int]:
    """(quieted first NaN of A, B; IE if either is an SNaN)."""
    flags = IE if is_snan(a, f) or is_snan(b, f) else 0
    return quiet(a if is_nan(a, f) else b, f), flags


def add(a: int, b: int, f: Format, mxcsr: int, negate_b: bool = False):
    """A + B (A - B with NEGATE_B): (encoding, pre flags, post flags)."""
    if is_nan(a, f) or is_nan(b, f):
        r, fl = _nan_result(a, b, f)
        return r, fl, 0
    a, b, pre = daz_in2(a, b, f, mxcsr)
    if negate_b:
        b ^= f.sign_bit
    if is_inf(a, f) or is_inf(b, f):
        if is_inf(a, f) and is_inf(b, f) and (a ^ b) & f.sign_bit:
            return f.default_nan, IE, 0
        return (a if is_inf(a, f) else b), pre, 0
    sa, ma, ea = unpack(a, f)
    sb, mb, eb = unpack(b, f)
    e = min(ea, eb)
    va = (ma << (ea - e)) * (-1 if sa else 1)
    vb = (mb << (eb - e)) * (-1 if sb else 1)
    v = va + vb
    if v == 0:
        if ma == 0 and mb == 0 and sa == sb:
            sign = sa                               # (+0) + (+0), (-0) + (-0)
        else:
            sign = 1 if rc_of(mxcsr) == RD else 0
        return (f.sign_bit if sign else 0), pre, 0
    r, post = round_pack(int(v < 0), abs(v), e, False, f, mxcsr)
    return r, pre, post


def sub(a: int, b: int, f: Format, mxcsr: int):
    return add(a, b, f, mxcsr, negate_b=True)


def mul(a: int, b: int, f: Format, mxcsr: int):
    if is_nan(a, f) or is_nan(b, f):
        r, fl = _nan_result(a, b, f)
        return r, fl, 0
    a, b, pre = daz_in2(a, b, f, mxcsr)
    sign = sign_of(a, f) ^ sign_of(b, f)
    sbit = f.sign_bit if sign else 0
    za, zb = a & ~f.sign_bit == 0, b & ~f.sign_bit == 0
    if is_inf(a, f) or is_inf(b, f):
        if za or zb:
            return f.default_nan, IE, 0
        return sbit | f.inf, pre, 0
    _, ma, ea = unpack(a, f)
    _, mb, eb = unpack(b, f)
    r, post = round_pack(sign, ma * mb, ea + eb, False, f, mxcsr)
    return r, pre, post


def div(a: int, b: int, f: Format, mxcsr: int):
    if is_nan(a, f) or is_nan(b, f):
        r, fl = _nan_result(a, b, f)
        return r, fl, 0
    a, b, pre = daz_in2(a, b, f, mxcsr)
    sign = sign_of(a, f) ^ sign_of(b, f)
    sbit = f.sign_bit if sign else 0
    za, zb = a & ~f.sign_bit == 0, b & ~f.sign_bit == 0
    ia, ib = is_inf(a, f), is_inf(b, f)
    if ia and ib or za and zb:
        return f.default_nan, IE, 0
    if ia:
        return sbit | f.inf, pre, 0
    if ib or za:
        return sbit, pre, 0
    if zb:
        return sbit | f.inf, ZE, 0
    _, ma, ea = unpack(a, f)
    _, mb, eb = unpack(b, f)
    k = max(0, f.p + 3 + mb.bit_length() - ma.bit_length())
    q, rem = divmod(ma << k, mb)
    r, post = round_pack(sign, q, ea - eb - k, rem != 0, f, mxcsr)
    return r, pre, post


def sqrt(b: int, f: Format, mxcsr: int):
    """Square root of B (the source operand)."""
    if is_nan(b, f):
        return quiet(b, f), (IE if is_snan(b, f) else 0), 0
    b, pre = daz_in(b, f, mxcsr)
    if b & ~f.sign_bit == 0:
        return b, pre, 0                            # sqrt(-0) = -0
    if sign_of(b, f):
        return f.default_nan, IE, 0
    if is_inf(b, f):
        return b, pre, 0
    _, m, e = unpack(b, f)
    if e & 1:
        m <<= 1
        e -= 1
    k = max(0, f.p + 3 - (m.bit_length() + 1) // 2)
    m <<= 2 * k
    r = isqrt(m)
    res, post = round_pack(0, r, (e >> 1) - k, r * r != m, f, mxcsr)
    return res, pre, post


def _compare(a: int, b: int, f: Format) -> int:
    """-1, 0, 1 for ordered non-NaN A, B (zeros equal)."""
    if a & ~f.sign_bit == 0 and b & ~f.sign_bit == 0:
        return 0
    ka = -(a & ~f.sign_bit) if a & f.sign_bit else a
    kb = -(b & ~f.sign_bit) if b & f.sign_bit else b
    return (ka > kb) - (ka < kb)


def minmax(a: int, b: int, f: Format, mxcsr: int, is_max: bool):
    """MIN/MAX: A if it is strictly less (greater) than B, else B (NaN, equal, zeros);
    a denormal B returned under DAZ is the zero it was taken for."""
    a, da = daz_in(a, f, mxcsr)
    b, db = daz_in(b, f, mxcsr)
    if is_nan(a, f) or is_nan(b, f):
        return b, IE, 0
    c = _compare(a, b, f)
    return (a if (c > 0 if is_max else c < 0) else b), da | db, 0


# CMPPS predicates (imm8[2:0]): (name, true when unordered, relation, signals on QNaN)
CMP_PREDICATES = (("EQ", False, (0,), False), ("LT", False, (-1,), True),
                  ("LE", False, (-1, 0), True), ("UNORD", True, (), False),
                  ("NEQ", True, (-1, 1), False), ("NLT", True, (0, 1), True),
                  ("NLE", True, (1,), True), ("ORD", False, (-1, 0, 1), False))


def cmp(a: int, b: int, f: Format, mxcsr: int, pred: int):
    """CMPccPS/PD/SS/SD lane: (all ones or zero, pre flags, 0)."""
    _, unordered_true, rel, signaling = CMP_PREDICATES[pred & 7]
    ones = (1 << f.bits) - 1
    if is_nan(a, f) or is_nan(b, f):
        flags = IE if is_snan(a, f) or is_snan(b, f) or signaling else 0
        return (ones if unordered_true else 0), flags, 0
    a, b, pre = daz_in2(a, b, f, mxcsr)
    return (ones if _compare(a, b, f) in rel else 0), pre, 0


def comis(a: int, b: int, f: Format, mxcsr: int, signaling: bool):
    """COMIS (SIGNALING) / UCOMIS: (ZF|PF|CF as 0x45-style bits, pre flags, 0).

    The result uses the EFLAGS positions: unordered ZF PF CF, less CF, equal ZF."""
    if is_nan(a, f) or is_nan(b, f):
        flags = IE if signaling or is_snan(a, f) or is_snan(b, f) else 0
        return 0x45, flags, 0
    a, b, pre = daz_in2(a, b, f, mxcsr)
    return {-1: 0x01, 0: 0x40, 1: 0x00}[_compare(a, b, f)], pre, 0


# -- conversions ---------------------------------------------------------------------------------


def int_to_float(v: int, f: Format, mxcsr: int):
    """A signed integer V to F: (encoding, 0, post flags)."""
    if v == 0:
        return 0, 0, 0
    r, post = round_pack(int(v < 0), abs(v), 0, False, f, mxcsr)
    return r, 0, post


def float_to_int(a: int, f: Format, mxcsr: int, bits: int, truncate: bool):
    """A to a BITS-bit signed integer (rounded by MXCSR.RC, or toward zero):
    (two's complement value, pre flags, post flags). Out of range or NaN: IE
    and the integer indefinite. DE is never reported; DAZ applies."""
    indefinite = 1 << (bits - 1)
    if is_nan(a, f) or is_inf(a, f):
        return indefinite, IE, 0
    a, _ = daz_in(a, f, mxcsr)
    s, m, e = unpack(a, f)
    rc = RZ if truncate else rc_of(mxcsr)
    if e >= 0:
        n, inexact = m << e, False
    else:
        n, inexact = _round_sig(m, -e, False, s, rc)
    if s:
        n = -n
    if not -(1 << (bits - 1)) <= n < (1 << (bits - 1)):
        return indefinite, IE, 0
    return n & ((1 << bits) - 1), 0, (PE if inexact else 0)


def float_to_float(a: int, src: Format, dst: Format, mxcsr: int):
    """A from SRC to DST (CVTSS2SD, CVTSD2SS): (encoding, pre flags, post flags)."""
    if is_nan(a, src):
        flags = IE if is_snan(a, src) else 0
        a = quiet(a, src)
        sbit = dst.sign_bit if sign_of(a, src) else 0
        shift = dst.mbits - src.mbits
        m = a & src.mmask
        m = m << shift if shift >= 0 else m >> -shift
        return sbit | dst.inf | m, flags, 0
    a, pre = daz_in(a, src, mxcsr)
    s = sign_of(a, src)
    if is_inf(a, src):
        return (dst.sign_bit if s else 0) | dst.inf, pre, 0
    _, m, e = unpack(a, src)
    r, post = round_pack(s, m, e, False, dst, mxcsr)
    return r, pre, post


def round_to_int(a: int, f: Format, mxcsr: int, rc: int, suppress_pe: bool):
    """A rounded to an integral value in F (ROUNDPS/PD/SS/SD) with rounding control RC:
    (encoding, pre flags, post flags). An SNaN sets IE and gives its quiet NaN, a QNaN
    is returned as is; infinities and zeros are unchanged; a zero result keeps A's
    sign. DAZ applies, DE is never reported; PE (inexact) unless SUPPRESS_PE."""
    if is_nan(a, f):
        return quiet(a, f), (IE if is_snan(a, f) else 0), 0
    a, _ = daz_in(a, f, mxcsr)
    if is_inf(a, f):
        return a, 0, 0
    s, m, e = unpack(a, f)
    if e >= 0 or m == 0:
        return a, 0, 0
    n, inexact = _round_sig(m, -e, False, s, rc)
    post = PE if inexact and not suppress_pe else 0
    if n == 0:
        return f.sign_bit if s else 0, 0, post
    r, _ = round_pack(s, n, 0, False, f, mxcsr)        # exact: fewer than P bits
    return r, 0, post
