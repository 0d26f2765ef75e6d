"""The QMP schema of qemu-py: every type, command and event, declared once.

Order and spelling follow QEMU 7.2's ``qapi/*.json`` (run-state, control,
introspect, qom, qdev, machine, misc); ``query-commands`` and
``query-qmp-schema`` are generated from this table, and the dispatcher
checks arguments against it.
"""

from __future__ import annotations

from qemu_py.system.runstate import RUN_STATES, SHUTDOWN_CAUSES

from .commands import balloon, control, hmp, machine, qdev, qom, runstate
from .qapi import Schema

SYSEMU_TARGETS = (
    "aarch64", "alpha", "arm", "avr", "cris", "hppa", "i386", "loongarch64", "m68k",
    "microblaze", "microblazeel", "mips", "mips64", "mips64el", "mipsel", "nios2", "or1k",
    "ppc", "ppc64", "riscv32", "riscv64", "rx", "s390x", "sh4", "sh4eb", "sparc", "sparc64",
    "tricore", "x86_64", "xtensa", "xtensaeb",
)
ACCELERATORS = ("hvf", "kvm", "mshv", "nvmm", "qtest", "tcg", "whpx", "xen")

S = Schema()

# -- run-state.json ---------------------------------------------------------------------------
S.enum("RunState", RUN_STATES)
S.enum("ShutdownCause", SHUTDOWN_CAUSES)
S.struct("StatusInfo", {"running": "bool", "singlestep": "bool", "status": "RunState"})
S.command("query-status", runstate.query_status, returns="StatusInfo", allow_preconfig=True)
S.event("SHUTDOWN", {"guest": "bool", "reason": "ShutdownCause"})
S.event("POWERDOWN")
S.event("RESET", {"guest": "bool", "reason": "ShutdownCause"})
S.event("STOP")
S.event("RESUME")

# -- control.json -------------------------------------------------------------------------------
S.enum("QMPCapability", ("oob",))
S.struct("VersionTriple", {"major": "int", "minor": "int", "micro": "int"})
S.struct("VersionInfo", {"qemu": "VersionTriple", "package": "str"})
S.struct("CommandInfo", {"name": "str"})
S.command("qmp_capabilities", control.qmp_capabilities, {"*enable": ["QMPCapability"]},
          allow_preconfig=True)
S.command("query-version", control.query_version, returns="VersionInfo", allow_preconfig=True)
S.command("query-commands", control.query_commands, returns=["CommandInfo"],
          allow_preconfig=True)
S.command("quit", control.quit_, allow_preconfig=True)

# -- introspect.json ----------------------------------------------------------------------------
S.enum("SchemaMetaType", ("builtin", "enum", "array", "object", "alternate", "command", "event"))
S.enum("JSONType", ("string", "number", "int", "boolean", "null", "object", "array", "value"))
S.struct("SchemaInfoBuiltin", {"json-type": "JSONType"})
S.struct("SchemaInfoEnumMember", {"name": "str", "*features": ["str"]})
S.struct("SchemaInfoEnum", {"members": ["SchemaInfoEnumMember"], "values": ["str"]})
S.struct("SchemaInfoArray", {"element-type": "str"})
S.struct("SchemaInfoObjectMember", {"name": "str", "type": "str", "*default": "any",
                                    "*features": ["str"]})
S.struct("SchemaInfoObjectVariant", {"case": "str", "type": "str"})
S.struct("SchemaInfoObject", {"members": ["SchemaInfoObjectMember"], "*tag": "str",
                              "*variants": ["SchemaInfoObjectVariant"]})
S.struct("SchemaInfoAlternateMember", {"type": "str"})
S.struct("SchemaInfoAlternate", {"members": ["SchemaInfoAlternateMember"]})
S.struct("SchemaInfoCommand", {"arg-type": "str", "ret-type": "str", "*allow-oob": "bool"})
S.struct("SchemaInfoEvent", {"arg-type": "str"})
S.union("SchemaInfo", {"name": "str", "meta-type": "SchemaMetaType", "*features": ["str"]},
        "meta-type", {"builtin": "SchemaInfoBuiltin", "enum": "SchemaInfoEnum",
                      "array": "SchemaInfoArray", "object": "SchemaInfoObject",
                      "alternate": "SchemaInfoAlternate", "command": "SchemaInfoCommand",
                      "event": "SchemaInfoEvent"})
S.command("query-qmp-schema", control.query_qmp_schema, returns=["SchemaInfo"],
          allow_preconfig=True)

# -- qom.json --------------------------------------------------------------------------------------
S.struct("ObjectPropertyInfo", {"name": "str", "type": "str", "*description": "str",
                                "*default-value": "any"})
S.struct("ObjectTypeInfo", {"name": "str", "*abstract": "bool", "*parent": "str"})
S.command("qom-list", qom.qom_list, {"path": "str"}, ["ObjectPropertyInfo"],
          allow_preconfig=True)
S.command("qom-get", qom.qom_get, {"path": "str", "property": "str"}, "any",
          allow_preconfig=True)
S.command("qom-set", qom.qom_set, {"path": "str", "property": "str", "value": "any"},
          allow_preconfig=True)
S.command("qom-list-types", qom.qom_list_types, {"*implements": "str", "*abstract": "bool"},
          ["ObjectTypeInfo"], allow_preconfig=True)

# -- qdev.json -------------------------------------------------------------------------------------
S.command("device-list-properties", qom.device_list_properties, {"typename": "str"},
          ["ObjectPropertyInfo"])
S.command("device_add", qdev.device_add, {"driver": "str", "*bus": "str", "*id": "str"},
          gen=False, features=("json-cli", "json-cli-hotplug"))
S.command("device_del", qdev.device_del, {"id": "str"})
S.event("DEVICE_DELETED", {"*device": "str", "path": "str"})

# -- machine.json ----------------------------------------------------------------------------------
S.enum("SysEmuTarget", SYSEMU_TARGETS)
S.struct("CpuInstanceProperties", {"*node-id": "int", "*socket-id": "int", "*die-id": "int",
                                   "*cluster-id": "int", "*core-id": "int", "*thread-id": "int"})
S.struct("CpuInfoFast", {"cpu-index": "int", "qom-path": "str", "thread-id": "int",
                         "*props": "CpuInstanceProperties", "target": "SysEmuTarget"})
S.struct("MachineInfo", {"name": "str", "*alias": "str", "*is-default": "bool",
                         "cpu-max": "int", "hotpluggable-cpus": "bool",
                         "numa-mem-supported": "bool", "deprecated": "bool",
                         "*default-cpu-type": "str", "*default-ram-id": "str"})
S.struct("TargetInfo", {"arch": "SysEmuTarget"})
S.struct("UuidInfo", {"UUID": "str"})
S.struct("HotpluggableCPU", {"type": "str", "vcpus-count": "int",
                             "props": "CpuInstanceProperties", "*qom-path": "str"})
S.struct("KvmInfo", {"enabled": "bool", "present": "bool"})
S.command("system_reset", runstate.system_reset)
S.command("system_powerdown", runstate.system_powerdown)
S.command("query-cpus-fast", machine.query_cpus_fast, returns=["CpuInfoFast"])
S.command("query-machines", machine.query_machines, returns=["MachineInfo"])
S.command("query-target", machine.query_target, returns="TargetInfo")
S.command("query-uuid", machine.query_uuid, returns="UuidInfo", allow_preconfig=True)
S.command("query-hotpluggable-cpus", machine.query_hotpluggable_cpus,
          returns=["HotpluggableCPU"], allow_preconfig=True)
S.command("query-kvm", machine.query_kvm, returns="KvmInfo")
S.struct("BalloonInfo", {"actual": "int"})
S.command("balloon", balloon.balloon, {"value": "int"})
S.command("query-balloon", balloon.query_balloon, returns="BalloonInfo")
S.event("BALLOON_CHANGE", {"actual": "int"})

# -- accelerator.json ------------------------------------------------------------------------------
S.enum("Accelerator", ACCELERATORS)
S.struct("AcceleratorInfo", {"enabled": "Accelerator", "present": ["Accelerator"]})
S.command("query-accelerators", machine.query_accelerators, returns="AcceleratorInfo")

# -- misc.json -------------------------------------------------------------------------------------
S.struct("NameInfo", {"*name": "str"})
S.command("query-name", machine.query_name, returns="NameInfo", allow_preconfig=True)
S.command("stop", runstate.stop)
S.command("cont", runstate.cont)
S.command("x-exit-preconfig", runstate.x_exit_preconfig, allow_preconfig=True,
          features=("unstable",))
S.command("human-monitor-command", hmp.human_monitor_command,
          {"command-line": "str", "*cpu-index": "int"}, "str", allow_preconfig=True,
          features=("savevm-monitor-nodes",))

SCHEMA = S.finish()
