"""``info`` sub-commands: version, registers, irq, mtree, kvm, status, name, qtree, qom-tree,
and the qemu-py extension iotlb.

Texts as QEMU 7.2's hmp_info_* functions print them. Board hooks, used when
present: CPUs in ``machine.cpus`` with ``cpu_index`` and ``dump_state()``;
interrupt controllers with ``irq_statistics()`` (a list of counts, or None
when not available).
"""

from __future__ import annotations

from qemu_py import QEMU_PACKAGE, QEMU_VERSION
from qemu_py.qom import Device, resolve_path

from ..commands.machine import machine_cpus


def info_version(mon, args):
    major, minor, micro = QEMU_VERSION
    mon.out.write(f"{major}.{minor}.{micro}{QEMU_PACKAGE}\n")


def info_status(mon, args):
    vm = mon.vm
    text = "VM status: " + ("running" if vm.running else "paused")
    if not vm.running and vm.runstate != "paused":
        text += f" ({vm.runstate})"
    mon.out.write(text + "\n")


def info_name(mon, args):
    name = mon.vm.config.name
    if name is not None:
        mon.out.write(name + "\n")


def info_kvm(mon, args):
    mon.out.write("kvm support: " + ("enabled" if mon.vm.accel == "kvm" else "disabled") + "\n")


def _dump_cpu(mon, cpu):
    mon.out.write(f"\nCPU#{cpu.cpu_index}\n")
    dump = getattr(cpu, "dump_state", None)
    if dump is not None:
        mon.out.write(dump())


def info_registers(mon, args):
    cpus = machine_cpus(mon.vm)
    if args.get("cpustate_all"):
        for cpu in cpus:
            _dump_cpu(mon, cpu)
        return
    vcpu = args.get("vcpu", -1)
    if vcpu >= 0:
        cpu = next((c for c in cpus if c.cpu_index == vcpu), None)
    else:
        cpu = mon.current_cpu()
    if cpu is None:
        mon.out.write(f"CPU#{vcpu} not available\n" if vcpu >= 0 else "No CPU available\n")
        return
    _dump_cpu(mon, cpu)


def info_irq(mon, args):
    root = mon.vm.qom_root
    for _, child in root.children():
        for obj in child.walk():
            stats = getattr(obj, "irq_statistics", None)
            if stats is None:
                continue
            counts = stats()
            if counts is None:
                mon.out.write(f"IRQ statistics not available for {obj.TYPE_NAME}.\n")
            elif counts:
                mon.out.write(f"IRQ statistics for {obj.TYPE_NAME}:\n")
                for i, n in enumerate(counts):
                    if n > 0:
                        mon.out.write(f"{i:2d}: {n}\n")


def info_mtree(mon, args):
    """``-d`` (QEMU's dispatch-tree dump) is accepted and not modelled: qemu-py has no
    physmem dispatch tree to show."""
    from qemu_py.memory import mtree_info
    spaces = getattr(mon.vm.machine, "address_spaces", [])
    mon.out.write(mtree_info(spaces, flat=bool(args.get("flatview")),
                             owner=bool(args.get("owner")), disabled=bool(args.get("disabled"))))


def _qdev_value(value) -> str:
    if value is None:
        return "<null>"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def _print_dev(mon, dev, indent: int):
    pad = " " * indent
    out = mon.out
    out.write(f'{pad}dev: {dev.TYPE_NAME}, id "{dev.id or ""}"\n')
    pad += "  "
    names = list(dict.fromkeys(list(dev.gpio_in) + list(dev.gpio_out)))
    for name in names:
        n_in, n_out = len(dev.gpio_in.get(name, ())), len(dev.gpio_out.get(name, ()))
        if n_in:
            out.write(f'{pad}gpio-in "{name or ""}" {n_in}\n')
        if n_out:
            out.write(f'{pad}gpio-out "{name or ""}" {n_out}\n')
    for p in type(dev).declared_props():
        out.write(f"{pad}{p.name} = {_qdev_value(dev.prop_values.get(p.name))}\n")


def info_qtree(mon, args):
    """The devices of the machine on QEMU's main system bus (qemu-py has no other bus tree)."""
    from qemu_py.hw.core.machine import Machine
    mon.out.write("bus: main-system-bus\n  type System\n")
    machine = mon.vm.machine
    for obj in machine.walk():
        if isinstance(obj, Device) and not isinstance(obj, Machine) and obj.realized:
            _print_dev(mon, obj, 2)


def _print_composition(mon, obj, indent: int, is_root: bool):
    name = "" if is_root else obj.name_in_parent
    mon.out.write(f"{' ' * indent}/{name} ({obj.TYPE_NAME})\n")
    for _, child in sorted(obj.children(), key=lambda nc: nc[0].encode()):
        _print_composition(mon, child, indent + 2, False)


def info_qom_tree(mon, args):
    vm = mon.vm
    path = args.get("path")
    if path is not None:
        obj, ambiguous = resolve_path(vm.qom_root, path)
        if obj is None:
            mon.out.write(f"Path '{path}' could not be resolved.\n")
            return
        if ambiguous:
            mon.out.write(f"Warning: Path '{path}' is ambiguous.\n")
            return
    else:
        obj = vm.machine
    _print_composition(mon, obj, 0, obj is vm.qom_root)


def info_iotlb(mon, args):
    """qemu-py extension: the cached translations of every IOMMU that has an IOTLB."""
    root = mon.vm.qom_root
    found = False
    for obj in root.walk() if root is not None else ():
        dump = getattr(obj, "iotlb_dump_text", None)
        if dump is None:
            continue
        found = True
        mon.out.write(f"{obj.canonical_path()} ({obj.TYPE_NAME}):\n")
        text = dump()
        mon.out.write(text if text.endswith("\n") or not text else text + "\n")
    if not found:
        mon.out.write("No IOMMU with an IOTLB in this machine\n")


def info_balloon(mon, args):
    from qemu_py.hw.virtio.balloon import hmp_info_balloon
    mon.out.write(hmp_info_balloon(mon.vm))
