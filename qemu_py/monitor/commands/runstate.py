"""Run-state commands: query-status, stop, cont, resets and x-exit-preconfig."""

from __future__ import annotations

from ..errors import QMPError
from ...system.startup import StartupError

NEEDS_RESET = ("internal-error", "shutdown")


def query_status(session):
    vm = session.vm
    return {"running": vm.running, "singlestep": False, "status": vm.runstate}


def stop(session):
    session.vm.stop()


def cont(session):
    vm = session.vm
    if vm.runstate in NEEDS_RESET:
        raise QMPError("Resetting the Virtual Machine is required")
    if vm.runstate == "suspended":
        return
    vm.start()


def system_reset(session):
    session.vm.system_reset()


def system_powerdown(session):
    session.vm.system_powerdown()


def x_exit_preconfig(session):
    vm = session.vm
    if not vm.preconfig:
        raise QMPError("The command is permitted only before machine initialization")
    try:
        vm.exit_preconfig()
    except StartupError as e:
        raise QMPError(e.message) from None            # the -device location is not part of it
