"""QMP ``balloon`` / ``query-balloon`` and HMP ``balloon`` / ``info balloon``.

The work is the balloon device's (qemu_py.hw.virtio.balloon); this module
turns its BalloonError into QMP errors with QEMU's classes and texts.
"""

from __future__ import annotations

from qemu_py.hw.virtio import balloon as _balloon

from ..errors import QMPError


def balloon(session, value):
    try:
        _balloon.qmp_balloon(session.vm, value)
    except _balloon.BalloonError as e:
        raise QMPError(e.desc, e.cls) from None
    return {}


def query_balloon(session):
    try:
        return _balloon.qmp_query_balloon(session.vm)
    except _balloon.BalloonError as e:
        raise QMPError(e.desc, e.cls) from None
