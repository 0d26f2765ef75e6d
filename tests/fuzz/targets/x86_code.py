"""Random x86-64 code bytes executed at CPL3 by the TCG CPU, in the
differential suite's image (identity-mapped long mode, an IDT whose CPL0
handler records any fault and resumes the runner). Only guest-level
outcomes may come out: a recorded result (normal end or a guest
exception), or the harness's own report that the case ran away (no end
within the instruction budget, or the runner's state was overwritten).
A Python exception from the decoder, translator, backends or helpers is a
finding."""

from __future__ import annotations

from ..harness import SLOW_SECONDS, Finding, within

BUDGET = 200_000
_STATE: dict = {}


def engine(backend: str):
    key = "tcg-" + backend
    if key not in _STATE:
        from conformance.tcg_vs_kvm import image as im
        from conformance.tcg_vs_kvm.tcg_engine import TCGEngine
        if "image" not in _STATE:
            _STATE["image"] = im.Image()
        _STATE[key] = TCGEngine(_STATE["image"], backend=backend, budget=BUDGET)
    return _STATE[key]


def one(data: bytes) -> None:
    from conformance.tcg_vs_kvm import image as im
    from conformance.tcg_vs_kvm.case import Batch, Case, encode_body
    from conformance.tcg_vs_kvm.kvm_engine import HarnessError
    if not data:
        return
    backend = ("python", "interp")[data[0] & 1]
    code = data[1:im.CODE_STRIDE - 16]
    eng = engine(backend)
    regs = {n: 0x1000 * (i + 1) for i, n in enumerate(im.GPRS)}
    regs["rsp"] = 0x800
    batch = Batch([Case(insns=[], regs=regs, pointers=frozenset({"rsp"}))], _STATE["image"])
    # the body is the fuzzer's bytes; the case's own `jmp save_ok` follows them
    addr = im.case_code(0)
    tail = encode_body([], addr + len(code), _STATE["image"].labels["save_ok"])
    batch.code[addr] = (code + tail).ljust(im.CODE_STRIDE, b"\xcc")
    with within(SLOW_SECONDS * 2, f"running {len(code)} code bytes ({backend})"):
        try:
            results = eng.run(batch)
        except HarnessError:
            _STATE.pop("tcg-" + backend)           # the guest ran away: a fresh CPU next time
            return
    if len(results) != 1:
        raise Finding(f"{len(results)} results for one case")


def seeds() -> list[bytes]:
    return [b"\x00\x48\x01\xd8", b"\x01\x48\xf7\xf1", b"\x00\x0f\x0b", b"\x00\xcc",
            b"\x00\x66\x0f\xfe\xc1\xf3\x0f\x58\xc1", b"\x01\x48\xa5\xf3\xa4",
            b"\x00\x0f\x05", b"\x00\xd9\xe8\xde\xc1", b"\x00\xeb\xfe", b"\x00\x62\xf1\x7c\x48"]
