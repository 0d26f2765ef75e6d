"""The ``pseries`` machine (ppc64): RAM, the hashed page table and PAPR calls.

What is modelled: guest RAM at 0 (512 MiB by default, as QEMU), an HPT sized by
``htab-shift`` or QEMU's rule from the RAM size, kept either in emulator
memory as QEMU does under TCG (``hpt-backend=memory``, the default) or in a
simulated KVM-HV kernel reachable only through its HTAB stream
(``hpt-backend=kvm-sim``), the PAPR HPT hypercalls, and a few RTAS calls.
There is no CPU yet: tests act as the guest kernel through qtest, with QEMU's
``rtas`` command and the qemu-py extension ``hcall OPCODE ARG...`` which
answers ``OK R3 R4 ...`` (unsigned decimal register values).
Not modelled: the device tree, VIO/PCI buses, interrupts (XICS/XIVE), radix.
"""

from __future__ import annotations

from qemu_py.hw.core.board_commands import BoardCommand, BoardCommandError
from qemu_py.hw.core.machine import Machine, machine_type
from qemu_py.qom import QOMError
from qemu_py.system.numbers import NumberError, strtou

from .spapr_hcall import SpaprHcalls, hcall_command
from .spapr_hpt import HPT_BACKENDS, create_spapr_hpt
from .spapr_rtas import Rtas


@machine_type("pseries-7.2", targets=("ppc64",), default_for=("ppc64",), alias="pseries",
              desc="pSeries Logical Partition (PAPR compliant)")
class SpaprMachine(Machine):
    DEFAULT_RAM_SIZE = 512 << 20
    BIG_ENDIAN = True
    MACHINE_PROPS = {
        "hpt-backend": "where the HPT lives: memory (TCG style) or kvm-sim (simulated KVM-HV)",
        "htab-shift": "log2 of the HPT size in bytes (18..46); default from the RAM size",
    }

    def init(self):
        self.add_ram(self.ram_size, 0, "ppc_spapr.ram")
        kind = self.machine_prop("hpt-backend", "memory")
        if kind not in HPT_BACKENDS:
            raise QOMError(f"Property 'pseries-7.2-machine.hpt-backend' does not accept value "
                           f"'{kind}' (expected {' or '.join(HPT_BACKENDS)})")
        shift_text = self.machine_prop("htab-shift")
        shift = None
        if shift_text is not None:
            try:
                shift = strtou(shift_text)
            except NumberError:
                raise QOMError(f"Parameter 'htab-shift' expects a number, not '{shift_text}'") \
                    from None
        try:
            self.hpt = create_spapr_hpt(kind, ram_size=self.ram_size, htab_shift=shift,
                                        is_ram=self.is_ram)
        except (ValueError, TypeError) as e:
            raise QOMError(f"-machine htab-shift: {e}") from None
        except MemoryError:
            raise QOMError("Failed to allocate HTAB of requested size, try with smaller "
                           "maxmem") from None
        self.hcalls = SpaprHcalls(self.hpt.backend, is_ram=self.is_ram)
        self.rtas = Rtas(self)
        self.add_property("hpt-backend", "string", get=lambda: kind)
        self.add_property("htab-shift", "uint32", get=lambda: self.hpt.htab_shift)

    def is_ram(self, addr: int) -> bool:
        return 0 <= addr < self.ram_size

    # -- board-specific test commands -------------------------------------------------
    def qtest_commands(self) -> dict[str, BoardCommand]:
        """``rtas NAME NARGS ARGS NRET RETS`` (as QEMU's) and ``hcall OPCODE ARG...``."""
        rtas = BoardCommand((("name", "str"), ("nargs", "u64"), ("args", "u64"),
                             ("nret", "u64"), ("rets", "u64")), self._rtas_call)
        return {"rtas": rtas, "hcall": hcall_command(lambda: self.hcalls,
                                               lambda: self.vm.machine_ready)}

    def _rtas_call(self, name: str, nargs: int, args: int, nret: int, rets: int) -> list[int]:
        if not self.vm.machine_ready:
            raise BoardCommandError("the machine is not initialised yet")
        return [self.rtas.call(name, nargs & 0xFFFFFFFF, args, nret & 0xFFFFFFFF, rets)]
