"""QMP errors: a QAPI error class and the text QEMU gives for each case."""

from __future__ import annotations

GENERIC_ERROR = "GenericError"
COMMAND_NOT_FOUND = "CommandNotFound"
DEVICE_NOT_FOUND = "DeviceNotFound"


class QMPError(Exception):
    """An error reply: ``{"error": {"class": CLS, "desc": DESC}}``."""

    def __init__(self, desc: str, cls: str = GENERIC_ERROR):
        super().__init__(desc)
        self.desc = desc
        self.cls = cls

    def reply(self) -> dict:
        return {"error": {"class": self.cls, "desc": self.desc}}
