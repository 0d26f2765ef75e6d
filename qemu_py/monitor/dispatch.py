"""QMP request dispatch (QEMU 7.2 qapi/qmp-dispatch.c and monitor/qmp.c).

One request (an already parsed JSON value) gives one reply object. Checks,
in QEMU's order: the request is an object; its members (visited in QEMU's
QDict order) are ``execute``/``exec-oob`` (a string), ``arguments`` (an
object) and ``id`` only; the command exists (before negotiation only
``qmp_capabilities`` does, and a CommandNotFound then reads "Expecting
capabilities negotiation ..."); ``exec-oob`` only for OOB-capable commands;
``allow-preconfig`` before the machine is built; then the arguments against
the command's declaration. The ``id`` member, of any JSON type, is copied to
the reply.
"""

from __future__ import annotations

import sys
import traceback

from qemu_py.qom import QOMError

from .errors import COMMAND_NOT_FOUND, QMPError
from .json_writer import qdict_order
from .qapi import visit_members

NEGOTIATION_NEEDED = "Expecting capabilities negotiation with 'qmp_capabilities'"


def _check_request(request: dict, allow_oob: bool) -> tuple[str, bool]:
    """qmp_dispatch_check_obj: (command name, sent with exec-oob)."""
    exec_key = None
    for key in qdict_order(request):
        value = request[key]
        if key == "execute" or (key == "exec-oob" and allow_oob):
            if type(value) is not str:
                raise QMPError(f"QMP input member '{key}' must be a string")
            if exec_key is not None:
                raise QMPError(f"QMP input member '{key}' clashes with '{exec_key}'")
            exec_key = key
        elif key == "arguments":
            if type(value) is not dict:
                raise QMPError("QMP input member 'arguments' must be an object")
        elif key != "id":
            raise QMPError(f"QMP input member '{key}' is unexpected")
    if exec_key is None:
        raise QMPError("QMP input lacks member 'execute'")
    return request[exec_key], exec_key == "exec-oob"


def dispatch(session, request) -> dict:
    """The reply to REQUEST on SESSION (a :class:`~qemu_py.monitor.qmp_session.QMPSession`)."""
    if type(request) is not dict:
        return QMPError("QMP input must be a JSON object").reply()
    try:
        reply = {"return": _execute(session, request)}
    except QMPError as e:
        reply = e.reply()
        if not session.negotiated and e.cls == COMMAND_NOT_FOUND:
            reply["error"]["desc"] = NEGOTIATION_NEEDED
    if "id" in request:
        reply["id"] = request["id"]
    return reply


def _execute(session, request: dict):
    name, oob = _check_request(request, session.oob_enabled)
    schema = session.schema
    cmd = schema.commands.get(name)
    if cmd is None or (not session.negotiated and name != "qmp_capabilities"):
        raise QMPError(f"The command {name} has not been found", COMMAND_NOT_FOUND)
    if oob and not cmd.allow_oob:
        raise QMPError(f"The command {name} does not support OOB")
    vm = session.vm
    if not vm.machine_ready and not cmd.allow_preconfig:
        raise QMPError(f"The command '{name}' is permitted only after machine "
                       "initialization has completed")
    args = request.get("arguments", {})
    try:
        if cmd.gen:
            visit_members(cmd.arg_type, args, None)
            kwargs = {key.replace("-", "_"): value for key, value in args.items()}
            ret = cmd.handler(session, **kwargs)
        else:
            ret = cmd.handler(session, dict(args))
    except QMPError:
        raise
    except QOMError as e:
        raise QMPError(str(e)) from None
    except Exception as e:  # a bug in a command: report it, keep the monitor alive
        traceback.print_exc(file=sys.stderr)
        raise QMPError(f"internal error in '{name}': {type(e).__name__}: {e}") from None
    return {} if cmd.ret_type is None else ret
