"""Monitor control: negotiation, version, the command list, the schema, quit."""

from __future__ import annotations

from qemu_py import QEMU_PACKAGE, QEMU_VERSION

from ..errors import COMMAND_NOT_FOUND, QMPError
from ..introspect import schema_info


def qmp_capabilities(session, enable=None):
    if session.negotiated:
        raise QMPError("Capabilities negotiation is already complete, command ignored",
                       COMMAND_NOT_FOUND)
    enable = enable or []
    unavailable = [cap for cap in enable if cap not in session.capabilities_offered]
    if unavailable:
        raise QMPError(f"Capability {', '.join(unavailable)} not available")
    session.oob_enabled = "oob" in enable
    session.negotiated = True


def version_info() -> dict:
    major, minor, micro = QEMU_VERSION
    return {"qemu": {"major": major, "minor": minor, "micro": micro}, "package": QEMU_PACKAGE}



def query_version(session):
    return version_info()


def query_commands(session):
    """QEMU registers generated commands in schema order, then the hand-written
    ones (device_add), and lists them by prepending: the reverse order."""
    commands = list(session.schema.commands.values())
    registered = [c for c in commands if c.gen] + [c for c in commands if not c.gen]
    return [{"name": c.name} for c in reversed(registered)]


def query_qmp_schema(session):
    return schema_info(session.schema)


def quit_(session):
    session.closing = True
    session.vm.request_shutdown("host-qmp-quit")
