"""human-monitor-command: one HMP command line, its output as the return string."""

from __future__ import annotations

from ..errors import QMPError
from ..hmp.monitor import run_command_line
from .machine import machine_cpus


def human_monitor_command(session, command_line, cpu_index=None):
    vm = session.vm
    if cpu_index is not None:
        cpus = machine_cpus(vm) if vm.machine is not None else []
        if not any(c.cpu_index == cpu_index for c in cpus):
            raise QMPError("Parameter 'cpu-index' expects a CPU number")
    text = run_command_line(vm, command_line, cpu_index)
    if getattr(vm.loop, "quit_requested", False):
        session.closing = True            # the line was "quit": this client asked to end
    return text
