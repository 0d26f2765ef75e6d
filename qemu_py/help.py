"""Help listings in QEMU's layout, generated from the registries."""

from __future__ import annotations

from . import QEMU_VERSION, __version__
from .qom import Device, types_implementing
from .system.log import help_text as log_help_text
from .system.startup import ACCELERATORS
from .cmdline import OPTIONS

CATEGORIES = ("Controller/Bridge/Hub", "USB", "Storage", "Network", "Input", "Display", "Sound",
              "Misc", "CPU", "Watchdog", "Uncategorized")


def version_text() -> str:
    major, minor, micro = QEMU_VERSION
    # QEMU's layout: "QEMU emulator version X.Y.Z (PACKAGE)" then the copyright line;
    # qemu-py names itself where a QEMU build names its package
    return (f"QEMU emulator version {major}.{minor}.{micro} (qemu-py {__version__})\n"
            "Copyright (c) the qemu-py developers\n")


def machine_help(target: str) -> str:
    from .hw.core.machine import machines_for
    lines = ["Supported machines are:"]
    for cls in sorted(machines_for(target), key=lambda c: c.MACHINE_NAME):
        if cls.ALIAS:
            lines.append(f"{cls.ALIAS:<20} {cls.DESC} (alias of {cls.MACHINE_NAME})")
        default = " (default)" if target in cls.DEFAULT_FOR else ""
        lines.append(f"{cls.MACHINE_NAME:<20} {cls.DESC}{default}")
    return "\n".join(lines) + "\n"


def accel_help() -> str:
    return "Accelerators supported in QEMU binary:\n" + "".join(a + "\n" for a in ACCELERATORS)


def _bus_of(cls) -> str | None:
    return getattr(cls, "BUS", None)


def device_help() -> str:
    by_cat: dict[str, list[str]] = {}
    for ti in sorted(types_implementing("device"), key=lambda t: t.name):
        if not ti.user_creatable or not issubclass(ti.cls, Device):
            continue
        cat = getattr(ti.cls, "CATEGORY", "Uncategorized").replace(" devices", "")
        text = f'name "{ti.name}"'
        bus = _bus_of(ti.cls)
        if bus:
            text += f", bus {bus}"
        if ti.desc:
            text += f', desc "{ti.desc}"'
        by_cat.setdefault(cat, []).append(text)
    out = []
    for cat in CATEGORIES + tuple(c for c in by_cat if c not in CATEGORIES):
        if cat in by_cat:
            out.append(f"{cat} devices:")
            out.extend(by_cat[cat])
            out.append("")
    return "\n".join(out) + ("\n" if out else "")


def device_props_help(driver: str) -> str:
    from .hw.core.devices import lookup_device_type
    from .qom import QOMError
    try:
        ti = lookup_device_type(driver)
    except QOMError as e:
        return f"ERROR:{e}"
    props = ti.cls.declared_props()
    if not props:
        return "There are no options for " + driver + ".\n"
    lines = [f"{driver} options:"]
    for p in sorted(props, key=lambda p: p.name):
        left = f"  {p.name}=<{p.type}>"
        desc = p.description
        if p.default is not None:
            shown = p.fmt(p.default) if p.fmt else (
                "on" if p.default is True else "off" if p.default is False else str(p.default))
            desc = (desc + " " if desc else "") + f"(default: {shown})"
        lines.append(f"{left:<24} - {desc}" if desc else left)
    return "\n".join(lines) + "\n"


def cpu_help(target: str) -> str:
    from .hw.core.cpus import cpu_models
    models = cpu_models(target)
    if target == "x86_64":                  # QEMU's x86_cpu_list_entry: "x86 %-20s %s"
        lines = [f"x86 {name:<20} {desc}" for name, desc in models]
    else:
        lines = [f"  {name:<20} {desc}".rstrip() for name, desc in models]
    return "\n".join(["Available CPUs:"] + lines) + "\n"


def usage_text() -> str:
    """``-h`` as QEMU's ``help()`` prints it: version, usage line, then each
    section of the options the parser accepts with QEMU's descriptions."""
    from .help_options import HELP_ENTRIES
    from .system.error import prog_name
    out = [version_text(), f"usage: {prog_name()} [options]\n", "\n"]
    section = None
    for heading, name, text in HELP_ENTRIES:
        if name not in OPTIONS:
            continue
        if heading != section:
            if section is not None:
                out.append("\n")
            out.append(heading + "\n")
            section = heading
        out.append(text)
    out.append("\nWhen using -nographic, press 'ctrl-a h' to get some help.\n")
    return "".join(out)


def render(cfg) -> str:
    kind = cfg.help
    if kind == "machine":
        return machine_help(cfg.target)
    if kind == "accel":
        return accel_help()
    if kind == "device":
        return device_props_help(cfg.help_arg) if cfg.help_arg else device_help()
    if kind == "cpu":
        return cpu_help(cfg.target)
    if kind == "d":
        return log_help_text()
    return usage_text()
