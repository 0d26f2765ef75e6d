"""The default guest (images/default) under -accel kvm, against the TCG run.

Both command-line forms: the shortcut (`qemu-py -accel kvm`) and the explicit
one (`qemu-py -M microvm -accel kvm -kernel qemu_py/guests/default.elf ...`).
The serial output must equal the TCG run's, except the TSC tick count of the
timer line (a host-time measurement, different from run to run under TCG too).

On a host whose KVM cannot take guest user mode back to CPL0 through SYSCALL
(a PVM host, see docs/kvm.md; found by qemu_py.accel.kvm.probe) the guest's
check 6 cannot pass: there the test instead asserts that everything before
check 6 matches TCG and that the run ends with the guest's exception and a
QEMU-style error naming the probed cause. Each case skips with its reason
where it does not apply; without /dev/kvm everything skips with that reason.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from qemu_py.accel.kvm.host import detect
from qemu_py.accel.tcg.default_guest import default_image

pytestmark = pytest.mark.functional

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
KERNEL = default_image()
EXPLICIT = ["-M", "microvm", "-display", "none", "-serial", "stdio", "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", KERNEL]
TSC = re.compile(rb"timer interrupt after \d+ TSC ticks")
FORMS = {
    # name: (TCG argv, KVM argv, exit status on success)
    "shortcut": ([], ["-accel", "kvm"], 0),
    "explicit": (["-accel", "tcg", *EXPLICIT], ["-accel", "kvm", *EXPLICIT], 1),
}

kvm = detect()
if kvm.usable and kvm.x86_64:
    from qemu_py.accel.kvm.probe import cached_user_to_kernel, limitations
    SYSCALL_LIMIT = [t for t in limitations(cached_user_to_kernel()) if t.startswith("SYSCALL")]
else:
    SYSCALL_LIMIT = []
needs_kvm = pytest.mark.skipif(not (kvm.usable and kvm.x86_64),
                               reason=f"no /dev/kvm ({kvm.reason or kvm.machine})")


def run(argv, timeout=300):
    return subprocess.run([sys.executable, "-m", "qemu_py", *argv], cwd=ROOT,
                          stdin=subprocess.PIPE, capture_output=True, timeout=timeout)


def normalized(out: bytes) -> bytes:
    return TSC.sub(b"timer interrupt after N TSC ticks", out)


_tcg: dict[str, subprocess.CompletedProcess] = {}


def tcg_reference(form: str) -> subprocess.CompletedProcess:
    if form not in _tcg:
        p = run(FORMS[form][0])
        assert p.returncode == FORMS[form][2], p.stderr.decode()
        _tcg[form] = p
    return _tcg[form]


@needs_kvm
@pytest.mark.skipif(bool(SYSCALL_LIMIT), reason="this host's KVM (PVM) cannot run the guest's "
                    f"check 6: {SYSCALL_LIMIT[0] if SYSCALL_LIMIT else ''}")
@pytest.mark.parametrize("form", FORMS)
def test_default_guest_under_kvm_prints_what_tcg_prints(form):
    ref = tcg_reference(form)
    p = run(FORMS[form][1])
    assert p.returncode == FORMS[form][2], p.stderr.decode()
    assert normalized(p.stdout) == normalized(ref.stdout)
    assert p.stdout.count(b"[ok]") == 7 and p.stdout.endswith(b"all checks passed\r\n")


@needs_kvm
@pytest.mark.skipif(not SYSCALL_LIMIT, reason="this host's KVM runs SYSCALL from guest user "
                    "mode correctly (not a PVM host with that limitation)")
@pytest.mark.parametrize("form", FORMS)
def test_default_guest_under_kvm_on_pvm_fails_with_a_clear_error(form):
    ref = tcg_reference(form).stdout
    p = run(FORMS[form][1])
    before_check6 = ref[:ref.index(b"  sum of squares computed at CPL3")]
    assert p.stdout.startswith(before_check6)
    assert before_check6.count(b"[ok]") == 5
    rest = p.stdout[len(before_check6):]
    assert re.fullmatch(rb"\r\nunexpected exception 13 error 0x0000 at rip 0x[0-9a-f]{16}\r\n",
                        rest), rest
    assert p.returncode == (0x40 + 13) << 1 | 1
    err = p.stderr.decode()
    assert "Traceback" not in err
    assert f"qemu-py: warning: -accel kvm: on this host {SYSCALL_LIMIT[0]}" in err
    if form == "shortcut":
        assert err.splitlines()[-1] == (
            "qemu-py: the default guest failed under -accel kvm (exit status 155: unexpected "
            "exception 13): its check 6 comes back from user mode through SYSCALL/SYSRET, but "
            f"on this host's KVM (PVM) {SYSCALL_LIMIT[0]} (probed); use -accel tcg, or a host "
            "with VMX or SVM")
