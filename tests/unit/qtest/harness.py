"""The tests' in-process qtest session (see qemu_py.qtest.inprocess)."""

from qemu_py.qtest.inprocess import InProcessQTest as InProcess

__all__ = ["InProcess"]
