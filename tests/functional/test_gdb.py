"""The gdb session of tests/unit/gdbstub/test_gdb_batch.py against QEMU 7.2 (the oracle).

The lines that do not depend on the machine's boot path must be the same:
QEMU's microvm enters the kernel through its firmware (the first stop is the
reset vector), and gdb shows some registers with other display types there
(see docs/gdbstub.md), so those lines are left out of the comparison.
"""
import shutil

import pytest

from tests.unit.gdbstub.test_gdb_batch import GDB, SESSION, _comparable, _qemu_py_tcp, _qemu_tcp

QEMU = shutil.which("qemu-system-x86_64")
pytestmark = [pytest.mark.functional,
              pytest.mark.skipif(GDB is None, reason="gdb is not installed (Debian: apt-get "
                                 "install gdb)")]


@pytest.mark.slow
@pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 (the QEMU 7.2 oracle) is not "
                    "installed")
def test_the_session_prints_what_it_prints_against_qemu(tmp_path):
    ours = _comparable(_qemu_py_tcp(SESSION, tmp_path)[0])
    oracle, rc, _out, err = _qemu_tcp(SESSION, tmp_path)
    assert rc == 1, err                              # QEMU: isa-debug-exit 0 -> status 1
    assert ours == _comparable(oracle)


