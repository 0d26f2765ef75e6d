"""The monitors: QMP (JSON, ``-qmp``/``-mon mode=control``) and HMP (``-monitor``).

``create_monitor(vm, chardev, mode, pretty)`` is called by the launcher once
per monitor option. Layout:

* ``json_lexer``, ``json_parser``, ``json_stream``, ``json_writer``,
  ``mod_utf8``: QEMU's JSON dialect, byte for byte;
* ``qapi`` (types and the argument checker), ``schema`` (the declaration
  table), ``introspect`` (query-qmp-schema), ``dispatch`` (request checks and
  error texts), ``qmp_session`` and ``qmp_monitor``;
* ``commands/``: the QMP command handlers;
* ``hmp/``: the human monitor (readline, commands, ``info``, ``xp``/``x``).
"""

from __future__ import annotations


def create_monitor(vm, chardev, mode: str, pretty: bool = False):
    if mode == "control":
        from .qmp_monitor import QMPMonitor
        return QMPMonitor(vm, chardev, pretty)
    from .hmp.monitor import HMPMonitor
    return HMPMonitor(vm, chardev)


def let_clients_hang_up(loop, monitors, timeout: float = 0.05):
    """Called by the launcher once the main loop ended, before chardevs close."""
    from .qmp_monitor import let_clients_hang_up as linger
    linger(loop, monitors, timeout)
