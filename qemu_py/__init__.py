"""qemu-py: a machine emulator in Python whose first users are tests."""

__version__ = "0.1.0"

# The QEMU release whose wire behaviour qemu-py reproduces (see docs/compat.md).
QEMU_VERSION = (7, 2, 22)
QEMU_PACKAGE = "qemu-py 0.1.0"
