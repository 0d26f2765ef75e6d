"""Random differential campaigns: generate, run on the oracle and on TCG, compare, shrink.

The oracle is KVM where ``/dev/kvm`` works, else the host CPU (the same CPL3
bodies run natively, :mod:`.native_engine`). Case ``S:B:I`` is the I-th case
of batch B of seed S: ``Random(f"{S}:{B}")`` generates the batch, so any
case can be regenerated from its id.

Shrinking (:func:`shrink`) works on a failing case with both engines in the
loop, several candidates per batch: drop instructions (retargeting branches),
then zero the registers and the data page one at a time, then clear the
initial flags; a candidate is kept when it still mismatches.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field, replace

from . import image as im
from .case import END, Batch, Case, fake_ip
from .compare import Mismatch, compare
from .gen import RandomChooser, generate, instruction_classes, valid_prefix


class UsageError(ValueError):
    """Bad input to the runner (unknown class, bad seed, ...)."""


def select_classes(names: list[str] | None) -> dict[str, list[int]]:
    all_classes = instruction_classes()
    if not names:
        return all_classes
    unknown = [n for n in names if n not in all_classes]
    if unknown:
        raise UsageError(f"unknown instruction class '{unknown[0]}' (known: "
                         f"{', '.join(sorted(all_classes))})")
    return {n: all_classes[n] for n in names}


def make_oracle(kind: str, image: im.Image):
    from qemu_py.accel.kvm.host import detect
    if kind == "auto":
        kind = "kvm" if detect().usable else "host"
    if kind == "kvm":
        from .kvm_engine import KVMEngine
        return KVMEngine(image)
    if kind == "host":
        from .native_engine import NativeEngine
        return NativeEngine(image)
    raise UsageError(f"unknown oracle '{kind}' (known: auto, kvm, host)")


@dataclass
class Outcome:
    passed: int = 0
    failed: int = 0
    reports: list[str] = field(default_factory=list)
    shrunk: list[Case] = field(default_factory=list)
    quirks: int = 0
    known_failed: int = 0
    known: dict = field(default_factory=dict)
    oracle_seconds: float = 0.0
    tcg_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)     # per-case lines for the notes log
    classes: dict = field(default_factory=dict)        # class -> [cases, mismatches, seconds]

    def count_class(self, case: Case, mismatch: bool, seconds: float):
        """A case counts under every class it drew an instruction from."""
        for name in case.classes or ("(none)",):
            row = self.classes.setdefault(name, [0, 0, 0.0])
            row[0] += 1
            row[1] += int(mismatch)
            row[2] += seconds


class Differ:
    """An oracle and a TCG engine over one image."""

    def __init__(self, oracle: str = "auto", tcg_backend: str = "python"):
        from .tcg_engine import TCGEngine
        self.image = im.Image()
        self.oracle = make_oracle(oracle, self.image)
        self.tcg = TCGEngine(self.image, backend=tcg_backend)
        self.referee = None
        self._referee_cache: dict[int, str] = {}
        from qemu_py.accel.kvm.host import probe_kind
        if self.oracle.name == "kvm" and probe_kind() == "pvm":
            from .native_engine import NativeEngine
            self.referee = NativeEngine(self.image)
        self._last_batch = None                  # (batch, oracle results, tcg results)
        self._referee_batch = self._referee_out = None

    def quirk(self, m: Mismatch) -> str:
        """On a PVM host, a KVM result that the host CPU itself does not reproduce (while
        TCG does) is a quirk of PVM's emulation path, not a TCG bug: its reason, else ''.

        The host CPU runs M's whole batch, so the case sees the same neighbours (a body
        can reach another slot's data page) as in the KVM and TCG runs."""
        if self.referee is None:
            return ""
        key = id(m)
        if key not in self._referee_cache:
            batch, oracle, tcg = self._last_batch or (None, None, None)
            if batch is None or m.slot >= len(batch.cases) or batch.cases[m.slot] is not m.case:
                batch = Batch([m.case], self.image)
                oracle, tcg = self.oracle.run(batch), self.tcg.run(batch)
                slot = 0
            else:
                slot = m.slot
            host = self._referee_results(batch)
            same = compare(batch, slot, host[slot], tcg[slot], ("host", "tcg")) is None
            differs = compare(batch, slot, host[slot], oracle[slot], ("host", "kvm"))
            self._referee_cache[key] = (f"PVM: {differs.summary()}" if same and differs
                                        else "")
        return self._referee_cache[key]

    def _referee_results(self, batch: Batch):
        if self._referee_batch is not batch:
            self._referee_batch, self._referee_out = batch, self.referee.run(batch)
        return self._referee_out

    def run(self, cases: list[Case]) -> tuple[Batch, list[Mismatch | None]]:
        batch = Batch(cases, self.image)
        ra = self.oracle.run(batch)
        names = (self.oracle.name, "tcg")
        try:
            rb = self.tcg.run(batch)
        except Exception as e:           # TCG itself crashed: find the case(s), one by one
            from .kvm_engine import HarnessError
            if isinstance(e, HarnessError) or len(cases) == 1:
                raise
            out = []
            for i, c in enumerate(cases):
                try:
                    _, m = self.run([c])
                    out.append(m[0])
                except Exception as e1:
                    from .compare import body_insns
                    from .flags import Analysis
                    one = Batch([c], self.image)
                    out.append(Mismatch(0, c, [f"TCG raised {type(e1).__name__}: {e1}"],
                                        Analysis(), [], body_insns(one, 0)))
            return batch, out
        self._last_batch = (batch, ra, rb)
        return batch, [compare(batch, i, ra[i], rb[i], names) for i in range(len(cases))]

    def close(self):
        self.oracle.close()
        self.tcg.close()
        if self.referee is not None:
            self.referee.close()


def _emit(out, text: str):
    """One report in one write(2), so reports of parallel jobs do not interleave."""
    if out is None:
        return
    import os
    import sys
    if out is sys.stdout:
        sys.stdout.flush()
        os.write(sys.stdout.fileno(), (text + "\n").encode())
    else:
        print(text, file=out, flush=True)


def batch_cases(seed: int, index: int, n: int, classes, max_len: int) -> list[Case]:
    ch = RandomChooser(random.Random(f"{seed}:{index}"))
    out = []
    for i in range(n):
        c = generate(ch, classes, max_len=max_len)
        c.name = f"{seed}:{index}:{i}"
        out.append(c)
    return out


def run_campaign(count: int, seed: int, classes: dict[str, list[int]], *, oracle="auto",
                 max_len: int = 6, batch_size: int = im.MAX_CASES, do_shrink: bool = True,
                 first_batch: int = 0, stride: int = 1, out=None, differ=None,
                 shrink_limit: int = 20, progress=None) -> Outcome:
    """COUNT cases of seed SEED; batches first_batch, first_batch+stride, ...

    Mismatch reports go to OUT; per-case notes (oracle quirks, known TCG bugs)
    are kept in ``Outcome.notes``; ``progress(n)`` is called after each batch."""
    own = differ is None
    differ = differ or Differ(oracle)
    res = Outcome()
    try:
        b = first_batch
        left = count
        while left > 0:
            n = min(batch_size, left)
            cases = batch_cases(seed, b, n, classes, max_len)
            t0 = time.perf_counter()
            _, mism = differ.run(cases)
            batch_s = time.perf_counter() - t0
            res.tcg_seconds += batch_s
            for case, m in zip(cases, mism):
                res.count_class(case, m is not None and not differ.quirk(m), batch_s / n)
                if m is None:
                    res.passed += 1
                    continue
                res.failed += 1
                text = m.report(case.name, (differ.oracle.name, "tcg"))
                if differ.quirk(m):
                    res.quirks += 1
                    res.passed += 1
                    res.failed -= 1
                    res.notes.append(f"oracle quirk {case.name}: {m.summary()} (the host CPU "
                                     f"agrees with TCG: {differ.quirk(m)})")
                    continue
                from .known import classify
                bug = classify(m)
                if bug is not None:
                    res.known[bug] = res.known.get(bug, 0) + 1
                    res.failed -= 1
                    res.known_failed += 1
                    res.notes.append(f"known TCG bug {bug} {case.name}: {m.summary()}")
                    continue
                if do_shrink and res.failed <= shrink_limit:
                    small, sm = shrink(differ, case, m)
                    res.shrunk.append(small)
                    text += "\n" + sm.report(f"{case.name} shrunk to {len(small.insns)} "
                                             f"instruction(s)", (differ.oracle.name, "tcg"))
                res.reports.append(text)
                _emit(out, text)
            left -= n
            b += stride
            if progress is not None:
                progress(n)
        res.oracle_seconds = getattr(differ.oracle, "kvm_time", 0.0)
    finally:
        if own:
            differ.close()
    return res


# -------------------------------------------------------------------------------------- shrinking


def without(case: Case, k: int) -> Case:
    """CASE minus instruction K; branches to it go to its successor."""
    insns = []
    for j, insn in enumerate(case.insns):
        if j == k:
            continue
        c = insn.copy()
        if c.flow_control != 0:
            t = c.near_branch_target
            if t != END:
                tk = (t - fake_ip(0)) // 16
                c.near_branch64 = END if tk >= len(case.insns) - 1 and tk > k else \
                    fake_ip(tk - (1 if tk > k else 0))
        insns.append(c)
    for j, insn in enumerate(insns):
        insn.ip = fake_ip(j)
    insns = valid_prefix(insns, case.regs)
    return replace(case, insns=insns)


def shrink(differ: Differ, case: Case, mismatch: Mismatch | None = None,
           rounds: int = 50) -> tuple[Case, Mismatch]:
    """A smaller case that still mismatches, and its mismatch (as last observed)."""
    last = [mismatch]

    def _still_fails(cands: list[Case]) -> int | None:
        cands = cands[:im.MAX_CASES]
        if not cands:
            return None
        _, mism = differ.run(cands)
        i = next((i for i, m in enumerate(mism) if m is not None and not differ.quirk(m)),
                 None)
        if i is not None:
            last[0] = mism[i]
        return i

    cur = case
    for _ in range(rounds):
        cands = [without(cur, k) for k in range(len(cur.insns))]
        cands = [c for c in cands if c.insns]
        i = _still_fails(cands)
        if i is None:
            break
        cur = cands[i]
    # simpler registers, one at a time (pointers keep their role)
    changed = True
    while changed:
        changed = False
        names = [n for n in im.GPRS if n not in cur.pointers and cur.regs[n] not in (0,)]
        cands = [replace(cur, regs=dict(cur.regs, **{n: 0})) for n in names]
        cands += [replace(cur, regs=dict(cur.regs, **{n: 1})) for n in names
                  if cur.regs[n] != 1]
        i = _still_fails(cands)
        if i is not None:
            cur = cands[i]
            changed = True
    for i in range(len(cur.xmm)):              # XMM registers to zero, one at a time
        if cur.xmm[i]:
            cand = replace(cur, xmm=cur.xmm[:i] + (0,) + cur.xmm[i + 1:])
            if _still_fails([cand]) is not None:
                cur = cand
    for cand in (replace(cur, data=b""), replace(cur, rflags=0x202),
                 replace(cur, mxcsr=0x1F80)):
        if _still_fails([cand]) is not None:
            cur = cand
    if last[0] is None:
        _still_fails([cur])
    cur.name = case.name
    return cur, last[0]
