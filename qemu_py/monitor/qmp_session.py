"""The state of one QMP connection: negotiation, capabilities, the greeting.

A session is what command handlers receive as their context: ``vm``,
``schema``, ``negotiated`` and ``oob_enabled`` (changed by
``qmp_capabilities``) and ``closing`` (set by ``quit``: no further input
is read). It is transport-free, so tests can drive it without a chardev.
"""

from __future__ import annotations

from .dispatch import dispatch
from .errors import QMPError
from .commands.control import version_info
from .schema import SCHEMA


class QMPSession:
    def __init__(self, vm, *, capabilities=("oob",)):
        self.vm = vm
        self.schema = SCHEMA
        self.capabilities_offered = tuple(capabilities)
        self.negotiated = False
        self.oob_enabled = False
        self.closing = False

    def reset(self):
        """A new client: negotiate again."""
        self.negotiated = False
        self.oob_enabled = False

    def greeting(self) -> dict:
        return {"QMP": {"version": version_info(),
                        "capabilities": list(self.capabilities_offered)}}

    def handle(self, request, parse_error: str | None) -> dict:
        """The reply to one message from the JSON stream."""
        if parse_error is not None:
            return QMPError(parse_error).reply()
        return dispatch(self, request)

    @staticmethod
    def event_message(name: str, data: dict | None, timestamp: dict) -> dict:
        msg = {"event": name, "timestamp": timestamp}
        if data is not None:
            msg["data"] = data
        return msg
