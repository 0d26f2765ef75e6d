"""Character devices: byte streams that front ends (qtest, monitors, UARTs) use.

``create_chardev(loop, id, opts)`` builds a backend from parsed ``-chardev``
options; ``parse_legacy(text)`` turns the short forms accepted by ``-qtest``,
``-serial``, ``-qmp`` and ``-monitor`` (``stdio``, ``unix:PATH,server=on``,
``tcp:HOST:PORT``, ``file:PATH``...) into the same options.
"""

from .base import Chardev, ChardevError, OPENED, CLOSED
from .factory import create_chardev, parse_legacy

__all__ = ["Chardev", "ChardevError", "OPENED", "CLOSED", "create_chardev", "parse_legacy"]
