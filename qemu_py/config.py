"""The plain configuration that the command line produces (no side effects)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MachineConfig:
    target: str = "x86_64"
    machine: str | None = None                 # machine type name as given (None: default)
    machine_props: dict[str, str] = field(default_factory=dict)
    ram_size: int | None = None                # bytes; None: the machine's default
    accels: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    cpu: str | None = None
    smp: str | None = None
    qtest: str | None = None                   # chardev spec for -qtest
    qtest_log: str | None = None               # None: stderr; "none": no log
    chardevs: list[dict[str, str]] = field(default_factory=list)
    monitors: list[tuple[str, str, bool]] = field(default_factory=list)  # (chardev spec, mode, pretty)
    serials: list[str] = field(default_factory=list)
    devices: list[dict[str, str]] = field(default_factory=list)
    device_args: list[str] = field(default_factory=list)      # each -device's text
    objects: list[dict[str, str]] = field(default_factory=list)
    globals: list = field(default_factory=list)             # -global: GlobalProp
    display: str | None = None
    nographic: bool = False
    nodefaults: bool = False
    start_paused: bool = False                 # -S
    gdb: str | None = None                     # -gdb DEV / -s
    preconfig: bool = False
    no_reboot: bool = False
    no_shutdown: bool = False
    name: str | None = None
    log_items: list[str] = field(default_factory=list)   # -d
    log_file: str | None = None                          # -D
    trace: list[str] = field(default_factory=list)
    exit_with_parent: bool = False
    kernel: str | None = None
    append: str | None = None
    initrd: str | None = None
    rtc: dict[str, str] = field(default_factory=dict)
    icount: dict[str, str] | None = None
    # help and information requests
    help: str | None = None                    # 'machine', 'accel', 'device', 'cpu', 'd', 'usage'
    help_arg: str | None = None                # e.g. the driver for `-device DRIVER,help`
    version: bool = False
