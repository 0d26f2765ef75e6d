"""Machine and accelerator queries: name, uuid, target, machines, CPUs, KVM.

CPUs are read from ``machine.cpus`` when a board has them: objects with
``cpu_index``, ``canonical_path()`` and optionally ``instance_props()``
(socket-id, core-id, thread-id, ...). Machine classes may declare
``MAX_CPUS``, ``HOTPLUGGABLE_CPUS``, ``NUMA_MEM_SUPPORTED``,
``DEFAULT_CPU_TYPE``, ``DEFAULT_RAM_ID`` and ``DEPRECATION_REASON``.
"""

from __future__ import annotations

import threading

from ..errors import QMPError
from ...system.startup import ACCELERATORS

NULL_UUID = "00000000-0000-0000-0000-000000000000"


def query_name(session):
    name = session.vm.config.name
    return {"name": name} if name is not None else {}


def query_uuid(session):
    return {"UUID": getattr(session.vm.config, "uuid", None) or NULL_UUID}


def query_target(session):
    return {"arch": session.vm.config.target}


def query_machines(session):
    from qemu_py.hw.core.machine import machines_for
    target = session.vm.config.target
    out = []
    for cls in machines_for(target):
        info = {"name": cls.MACHINE_NAME}
        if cls.ALIAS:
            info["alias"] = cls.ALIAS
        if target in cls.DEFAULT_FOR:
            info["is-default"] = True
        info["cpu-max"] = getattr(cls, "MAX_CPUS", 1) or 1
        info["hotpluggable-cpus"] = bool(getattr(cls, "HOTPLUGGABLE_CPUS", False))
        info["numa-mem-supported"] = bool(getattr(cls, "NUMA_MEM_SUPPORTED", False))
        info["deprecated"] = bool(getattr(cls, "DEPRECATION_REASON", None))
        if getattr(cls, "DEFAULT_CPU_TYPE", None):
            info["default-cpu-type"] = cls.DEFAULT_CPU_TYPE
        if getattr(cls, "DEFAULT_RAM_ID", None):
            info["default-ram-id"] = cls.DEFAULT_RAM_ID
        out.append(info)
    return out[::-1]


def machine_cpus(vm) -> list:
    return list(getattr(vm.machine, "cpus", None) or [])


def _cpu_props(cpu) -> dict:
    props = getattr(cpu, "instance_props", None)
    return dict(props()) if props is not None else {}


def query_cpus_fast(session):
    vm = session.vm
    out = []
    for cpu in machine_cpus(vm):
        out.append({"cpu-index": cpu.cpu_index, "qom-path": cpu.canonical_path(),
                    "thread-id": threading.get_native_id(), "props": _cpu_props(cpu),
                    "target": vm.config.target})
    return out


def query_hotpluggable_cpus(session):
    machine = session.vm.machine
    if not getattr(type(machine), "HOTPLUGGABLE_CPUS", False):
        raise QMPError("The feature 'query-hotpluggable-cpus' is not enabled")
    out = []
    for cpu in machine_cpus(session.vm):
        entry = {"type": cpu.TYPE_NAME, "vcpus-count": 1, "props": _cpu_props(cpu)}
        if session.vm.machine_ready:
            entry["qom-path"] = cpu.canonical_path()
        out.append(entry)
    return out


def query_kvm(session):
    return {"enabled": session.vm.accel == "kvm", "present": True}


def query_accelerators(session):
    return {"enabled": session.vm.accel, "present": sorted(ACCELERATORS)}
