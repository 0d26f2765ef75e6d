"""The qtest protocol: server (inside the emulator) and clients (for tests).

``from qemu_py.qtest import QTest`` gives the Python client; see
:mod:`qemu_py.qtest.client`.
"""


def __getattr__(name):
    if name in ("QTest", "QTestError", "QTestTimeout", "QMPError"):
        from . import client
        return getattr(client, name)
    raise AttributeError(name)
