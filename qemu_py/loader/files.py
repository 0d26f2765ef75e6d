"""Reading -kernel/-initrd files with a bound, as QEMU's ``get_image_size`` does.

QEMU sizes an image with ``lseek(SEEK_END)`` before reading it: a character
device such as ``/dev/zero`` has size 0 and is refused ("could not load
kernel '/dev/zero': No such file or directory" is QEMU 7.2's text, its errno
being left over from an earlier lookup), and nothing larger than the guest
could hold is read. :func:`read_image_file` does the same, so no file can make
the loader read until host memory runs out.
"""

from __future__ import annotations

import errno
import os

from .elf import LoaderError


def read_image_file(path: str, what: str, limit: int) -> bytes:
    """The bytes of PATH; LoaderError if it cannot be opened, is empty by lseek
    (devices, pipes) or is larger than LIMIT bytes."""
    try:
        with open(path, "rb") as f:
            size = os.lseek(f.fileno(), 0, os.SEEK_END)
            if size <= 0:
                raise LoaderError(f"could not load {what} '{path}': "
                                  f"{os.strerror(errno.ENOENT)}")
            if size > limit:
                raise LoaderError(f"{what} '{path}' is too large ({size:#x} bytes; the "
                                  f"guest has {limit:#x} bytes of RAM)")
            os.lseek(f.fileno(), 0, os.SEEK_SET)
            return f.read(size)
    except OSError as e:
        raise LoaderError(f"could not load {what} '{path}': {e.strerror}") from None
