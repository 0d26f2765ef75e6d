"""QEMU-style command line -> :class:`MachineConfig` (starting it is :mod:`qemu_py.cli`'s).

Options take one dash or two (``-S`` / ``--preconfig``). Errors use QEMU's
form ``PROGRAM: -OPTION: MESSAGE`` and exit 1, never a traceback.
"""

from __future__ import annotations

from .config import MachineConfig
from .system.opts import OptsError, parse_opts

TARGETS = ("x86_64", "aarch64", "ppc64")


class UsageError(Exception):
    """A bad command line; the text is printed after ``PROGRAM: -OPTION ARG: ``."""


class UnlocatedUsageError(UsageError):
    """A bad command line that QEMU reports without naming the option
    (``PROGRAM: MESSAGE``), e.g. the property checks of -smp and -machine."""


MEMORY_KEYS = ("size", "slots", "maxmem")
SIZE_EXPECTED = ("Parameter '{key}' expects a non-negative number below 2^64\n"
                 "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
                 "and exabytes, respectively.")


def _machine(cfg: MachineConfig, arg: str):
    opts = parse_opts(arg, implied_key="type")
    if "type" in opts:
        cfg.machine = opts.pop("type")
    if opts.get("accel"):
        for name in opts.pop("accel").split(":"):
            cfg.accels.append((name, {}))
    if cfg.machine == "help" or "help" in opts:
        cfg.help = "machine"
    cfg.machine_props.update(opts)


def _memory(cfg: MachineConfig, arg: str):
    from .system.numbers import NumberError, parse_size, strtou
    opts = parse_opts(arg, implied_key="size")
    for key in opts:
        if key not in MEMORY_KEYS:
            raise UsageError(f"Invalid parameter '{key}'")
    size = opts.get("size")
    if size is None:
        raise UsageError("Parameter 'size' is missing")
    try:
        val = parse_size(size, default_suffix="M")
    except NumberError:
        raise UsageError(SIZE_EXPECTED.format(key="size")) from None
    if "maxmem" in opts:
        try:
            parse_size(opts["maxmem"], default_suffix="M")
        except NumberError:
            raise UsageError(SIZE_EXPECTED.format(key="maxmem")) from None
    if "slots" in opts:
        try:
            strtou(opts["slots"])
        except NumberError:
            raise UsageError("Parameter 'slots' expects a number") from None
    if val == 0:
        raise UsageError("ram size is too small")
    cfg.ram_size = val


def _accel(cfg: MachineConfig, arg: str):
    opts = parse_opts(arg, implied_key="accel")
    name = opts.pop("accel", None)
    if name is None:
        raise UsageError("Parameter 'accel' is missing")
    if name == "help":
        cfg.help = "accel"
        return
    for n in name.split(":"):
        cfg.accels.append((n, dict(opts)))


def _device(cfg: MachineConfig, arg: str):
    opts = parse_opts(arg, implied_key="driver", bool_keys=("help",))
    if opts.get("driver") in ("help", "?"):
        cfg.help = "device"
        return
    if "help" in opts or opts.get("help") == "on":
        cfg.help, cfg.help_arg = "device", opts.get("driver")
        return
    cfg.devices.append(opts)
    cfg.device_args.append(arg)


def _mon(cfg: MachineConfig, arg: str):
    opts = parse_opts(arg, implied_key="chardev", bool_keys=("pretty",))
    if "chardev" not in opts:
        raise UsageError("Parameter 'chardev' is missing")
    mode = opts.get("mode", "readline")
    if mode not in ("control", "readline"):
        raise UsageError(f"Parameter 'mode' does not accept value '{mode}'")
    cfg.monitors.append(("chardev:" + opts["chardev"], mode, opts.get("pretty") == "on"))


def _name(cfg: MachineConfig, arg: str):
    opts = parse_opts(arg, implied_key="guest", bool_keys=("debug-threads",))
    cfg.name = opts.get("guest")


def _run_with(cfg: MachineConfig, arg: str):
    opts = parse_opts(arg)
    for key, val in opts.items():
        if key == "exit-with-parent":
            if val not in ("on", "off"):
                raise UsageError("Parameter 'exit-with-parent' expects 'on' or 'off'")
            cfg.exit_with_parent = val == "on"
        elif key not in ("async-teardown", "chroot", "user"):
            raise UsageError(f"Invalid parameter '{key}'")


def _log_items(cfg: MachineConfig, arg: str):
    if arg == "help":
        cfg.help = "d"
        return
    from .system.log import LOG_ITEMS
    for item in arg.split(","):
        if item not in LOG_ITEMS and not item.startswith("trace:"):
            raise UsageError(f"Invalid -d option \"{item}\"")
        cfg.log_items.append(item)


def _cpu(cfg: MachineConfig, arg: str):
    if arg == "help":
        cfg.help = "cpu"
    else:
        cfg.cpu = arg


def _display(cfg: MachineConfig, arg: str):
    kind = arg.split(",")[0]
    if kind not in ("none", "default"):
        raise UsageError(f"Display '{kind}' is not available (qemu-py has no graphical display)")
    cfg.display = "none"


def _audio(cfg: MachineConfig, arg: str):
    opts = parse_opts(arg, implied_key="driver")
    if opts.get("driver") != "none":
        raise UsageError(f"audio driver '{opts.get('driver')}' is not available (only 'none')")


def _vga(cfg: MachineConfig, arg: str):
    if arg != "none":
        raise UsageError(f"VGA '{arg}' is not available (only 'none')")


def _icount(cfg: MachineConfig, arg: str):
    from .system.numbers import NumberError, strtoi
    opts = parse_opts(arg, implied_key="shift", bool_keys=("sleep", "align"))
    for key in opts:
        if key not in ICOUNT_KEYS:
            raise UsageError(f"Invalid parameter '{key}'")
    shift = opts.get("shift")
    if shift is not None and shift != "auto":
        try:
            value = strtoi(shift)
        except NumberError:
            value = -1
        if not 0 <= value <= MAX_ICOUNT_SHIFT:
            raise UsageError("icount: Invalid shift value")
    cfg.icount = opts


MAX_ICOUNT_SHIFT = 10
ICOUNT_KEYS = ("shift", "sleep", "align", "rr", "rrfile", "rrsnapshot")


def _smp(cfg: MachineConfig, arg: str):
    from .system.smp import SmpError, check_single_cpu, parse_smp
    try:
        topo = parse_smp(arg)
    except SmpError as e:
        raise UnlocatedUsageError(str(e)) from None
    try:
        check_single_cpu(topo)
    except SmpError as e:
        raise UsageError(str(e)) from None
    cfg.smp = arg


def _global(cfg: MachineConfig, arg: str):
    from .qom.globals import GlobalError, parse_global
    try:
        cfg.globals.append(parse_global(arg))
    except GlobalError as e:
        raise UsageError(str(e)) from None


def _set(attr, value=True):
    def handler(cfg, _arg=None):
        setattr(cfg, attr, value)
    return handler


def _store(attr):
    def handler(cfg, arg):
        setattr(cfg, attr, arg)
    return handler


def _append_to(attr, parse=None):
    def handler(cfg, arg):
        getattr(cfg, attr).append(parse(arg) if parse else arg)
    return handler


def _chardev(arg):
    from .system.chardev.factory import parse_chardev_opts
    from .system.chardev import ChardevError
    try:
        return parse_chardev_opts(arg)
    except ChardevError as e:
        raise UsageError(str(e)) from None


def _help(cfg, _arg=None):
    cfg.help = "usage"


def _version(cfg, _arg=None):
    cfg.version = True


def _nographic(cfg, _arg=None):
    cfg.nographic = True
    cfg.display = "none"


def _ignore(_cfg, _arg=None):
    pass


# option name -> (takes an argument, handler)
OPTIONS = {
    "M": (True, _machine), "machine": (True, _machine), "m": (True, _memory),
    "accel": (True, _accel), "enable-kvm": (False, lambda c, a=None: c.accels.append(("kvm", {}))),
    "cpu": (True, _cpu), "smp": (True, _smp),
    "qtest": (True, _store("qtest")), "qtest-log": (True, _store("qtest_log")),
    "chardev": (True, _append_to("chardevs", _chardev)),
    "mon": (True, _mon),
    "qmp": (True, lambda c, a: c.monitors.append((a, "control", False))),
    "qmp-pretty": (True, lambda c, a: c.monitors.append((a, "control", True))),
    "monitor": (True, lambda c, a: c.monitors.append((a, "readline", False))),
    "serial": (True, _append_to("serials")),
    "device": (True, _device),
    "object": (True, _append_to("objects", lambda a: parse_opts(a, implied_key="qom-type"))),
    "global": (True, _global),
    "display": (True, _display), "nographic": (False, _nographic), "vga": (True, _vga),
    "audio": (True, _audio), "nodefaults": (False, _set("nodefaults")),
    "no-user-config": (False, _ignore),
    "S": (False, _set("start_paused")),
    "s": (False, lambda c, a=None: setattr(c, "gdb", "tcp::1234")), "gdb": (True, _store("gdb")), "preconfig": (False, _set("preconfig")),
    "no-reboot": (False, _set("no_reboot")), "no-shutdown": (False, _set("no_shutdown")),
    "name": (True, _name), "d": (True, _log_items), "D": (True, _store("log_file")),
    "trace": (True, _append_to("trace")), "run-with": (True, _run_with),
    "kernel": (True, _store("kernel")), "append": (True, _store("append")),
    "initrd": (True, _store("initrd")),
    "rtc": (True, lambda c, a: c.rtc.update(parse_opts(a))),
    "icount": (True, _icount),
    "h": (False, _help), "help": (False, _help), "version": (False, _version),
}


def parse_args(argv: list[str], target: str = "x86_64") -> MachineConfig:
    cfg = MachineConfig(target=target)
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-") or arg == "-":
            raise UsageError(f"{arg}: drive images are not supported (qemu-py has no block layer)")
        name = arg[2:] if arg.startswith("--") else arg[1:]
        spec = OPTIONS.get(name)
        if spec is None:
            raise UsageError(f"{arg}: invalid option")
        takes_arg, handler = spec
        if takes_arg:
            if i + 1 >= len(argv):
                raise UsageError(f"{arg}: requires an argument")
            value = argv[i + 1]
            i += 2
            try:
                handler(cfg, value)
            except UnlocatedUsageError:
                raise
            except (OptsError, UsageError) as e:
                raise UsageError(f"{arg} {value}: {e}") from None
        else:
            handler(cfg)
            i += 1
    return cfg
