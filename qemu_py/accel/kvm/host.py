"""What kind of KVM this host offers, found without running a guest.

Three kinds matter (see ``docs/kvm.md``):

* ``vmx`` / ``svm``: hardware virtualisation; guest code runs natively at
  every privilege level;
* ``pvm``: the page-table based backend (``kvm_pvm`` module, no vmx/svm CPU
  flag). Guest CPL3 code runs natively, but guest CPL0 code is executed by
  the kernel's instruction emulator: about 1 µs per instruction, x87/SSE/AVX,
  POPCNT, ANDN and BEXTR stop with an emulation failure, LZCNT/TZCNT act as
  BSR/BSF;
* ``none``: no usable ``/dev/kvm``.

``probe()`` reads ``/sys/module`` and ``/proc/cpuinfo``; :func:`detect`
adds whether ``/dev/kvm`` can be opened (and why not).
"""

from __future__ import annotations

import errno
import os
import platform
from dataclasses import dataclass

KVM_DEVICE = "/dev/kvm"


@dataclass(frozen=True)
class HostKVM:
    kind: str                  # "vmx", "svm", "pvm", "unknown" or "none"
    usable: bool               # /dev/kvm opens read-write
    reason: str                # why not usable ("" when usable)
    machine: str               # platform.machine()

    @property
    def cpl0_native(self) -> bool:
        """True when guest kernel-mode code runs on the CPU (not emulated)."""
        return self.usable and self.kind in ("vmx", "svm")

    @property
    def x86_64(self) -> bool:
        return self.machine in ("x86_64", "AMD64", "amd64")


def _cpu_flags(cpuinfo: str) -> set[str]:
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def classify(modules: set[str], cpuinfo: str) -> str:
    """The backend kind from the loaded module names and /proc/cpuinfo text."""
    if "kvm_pvm" in modules:
        return "pvm"
    flags = _cpu_flags(cpuinfo)
    if "kvm_intel" in modules or "vmx" in flags:
        return "vmx"
    if "kvm_amd" in modules or "svm" in flags:
        return "svm"
    return "unknown" if "kvm" in modules else "none"


def probe_kind(sys_module: str = "/sys/module", cpuinfo_path: str = "/proc/cpuinfo") -> str:
    try:
        modules = set(os.listdir(sys_module))
    except OSError:
        modules = set()
    try:
        with open(cpuinfo_path) as f:
            cpuinfo = f.read()
    except OSError:
        cpuinfo = ""
    return classify(modules, cpuinfo)


def detect(device: str = KVM_DEVICE) -> HostKVM:
    kind = probe_kind()
    machine = platform.machine()
    try:
        fd = os.open(device, os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return HostKVM(kind if kind != "unknown" else "none", False,
                       os.strerror(e.errno or errno.ENOENT), machine)
    os.close(fd)
    return HostKVM(kind, True, "", machine)
