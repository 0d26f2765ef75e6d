"""Start the emulator from a :class:`MachineConfig`: the QEMU start-up sequence.

Order (as QEMU's vl.c): log and accelerator selection, chardevs, machine
object, monitors, qtest server, then machine init (or wait for
``x-exit-preconfig``), ``-device`` creation, reset, and the run state.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading

from . import help as helptext
from .config import MachineConfig
from .hw.core.machine import Container, find_machine
from .memory.hostmem import RamAllocationError
from .qom import QOMError
from .system.chardev import ChardevError, create_chardev, parse_legacy
from .system.clock import VirtualClock
from .system.error import error_report, prog_name, warn_report
from .system.log import LOG
from .system.mainloop import MainLoop
from .system.runstate import VM
from .system.startup import ACCELERATORS, StartupError

def _err(msg: str) -> int:
    return error_report(msg)


def _load_boards():
    """Import every machine and device module so their types register."""
    from .hw import catalog  # noqa: F401


def choose_accel(cfg: MachineConfig) -> str:
    wanted = cfg.accels or [("tcg", {})]
    failed = False
    for name, _props in wanted:
        if name not in ACCELERATORS:
            raise StartupError(f"-accel {name}: invalid accelerator {name}")
        if name == "kvm":
            from .accel.kvm.accel import kvm_init_error
            reason = kvm_init_error() if cfg.target == "x86_64" else \
                "the KVM accelerator supports x86_64 machines only"
            if reason is not None:
                print(f"{prog_name()}: -accel kvm: failed to initialize kvm: {reason}", file=sys.stderr)
                failed = True
                continue
        if failed and cfg.qtest is None:
            print(f"{prog_name()}: falling back to {name}", file=sys.stderr)
        return name
    raise StartupError("no accelerator found")


class Emulator:
    """Everything one run owns; built by :func:`build`, driven by :meth:`run`."""

    def __init__(self, cfg: MachineConfig):
        self.cfg = cfg
        self.chardevs: dict[str, object] = {}
        self.monitors: list = []
        self.qtest = None
        self.tcg = None

    def build(self):
        cfg = self.cfg
        _load_boards()
        from .qom.globals import set_globals
        set_globals(cfg.globals)
        from .system import trace
        try:
            trace_file = trace.configure(cfg.trace, cfg.log_items)
        except trace.TraceError as e:
            raise StartupError(str(e)) from None
        log_file = trace_file if trace_file is not None else cfg.log_file
        if "tid" in cfg.log_items:
            # one log file per thread, named from the template: qemu-py logs from one
            if log_file is None or "%d" not in log_file:
                raise StartupError("Filename template with '%d' required for 'tid'")
            log_file = log_file.replace("%d", str(threading.get_native_id()), 1)
        try:
            LOG.configure(cfg.log_items, log_file)
        except OSError as e:
            raise StartupError(f"Error opening logfile {log_file}: {e.strerror}") from None
        accel = choose_accel(cfg)
        source = "manual" if accel == "qtest" else ("icount" if cfg.icount is not None else "host")
        self.clock = VirtualClock(source)
        self.loop = MainLoop(self.clock)
        self.clock.on_change = self.loop.wake
        vm = self.vm = VM(self.clock, self.loop, no_reboot=cfg.no_reboot,
                          no_shutdown=cfg.no_shutdown)
        vm.config, vm.accel = cfg, accel
        vm.qom_root = root = Container()
        self.chardev_container = Container()
        root.add_child("chardevs", self.chardev_container)
        root.add_child("objects", Container())

        for opts in cfg.chardevs:
            cid = opts["id"]
            if cid in self.chardevs:
                raise StartupError(f"-chardev {opts['backend']},id={cid}: attempt to add "
                                   f"duplicate property '{cid}' to object (type 'container')")
            try:
                self._add_chardev(cid, opts)
            except ChardevError as e:
                text = ",".join([opts["backend"]] + [f"{k}={v}" for k, v in opts.items()
                                                     if k != "backend"])
                raise StartupError(f"-chardev {text}: {e}") from None

        mcls = find_machine(cfg.target, cfg.machine)
        if mcls is None:
            if cfg.machine is None:
                raise StartupError("No machine specified, and there is no default\n"
                                   "Use -machine help to list supported machines")
            raise StartupError("unsupported machine type\n"
                               "Use -machine help to list supported machines")
        try:
            machine = mcls(vm, cfg)
            machine.check_props()
        except (QOMError, RamAllocationError) as e:
            raise StartupError(str(e)) from None        # QEMU names no option here
        root.add_child("machine", machine)
        vm.machine = machine

        for n, (spec, mode, pretty) in enumerate(cfg.monitors + self._default_monitors()):
            chr_ = self._chardev_for(spec, f"compat_monitor{n}", "-mon" if spec.startswith("chardev:") else "-qmp")
            from .monitor import create_monitor
            self.monitors.append(create_monitor(vm, chr_, mode, pretty))

        if cfg.qtest is not None:
            from .qtest.log import QTestLog
            from .qtest.board import register_board_commands
            from .qtest.server import QTestServer
            try:
                chr_ = self._chardev_for(cfg.qtest, "qtest", None)
            except StartupError:
                raise StartupError(f'Failed to initialize device for qtest: "{cfg.qtest}"') from None
            try:
                log = QTestLog(cfg.qtest_log)
            except OSError as e:
                raise StartupError(f"-qtest-log {cfg.qtest_log}: {e.strerror}") from None
            self.qtest = QTestServer(vm, chr_, log, clock_commands=(accel == "qtest"))
            register_board_commands(self.qtest, machine)
            vm.qtest = self.qtest

        machine.serial_chardevs = self._serial_backends()
        self.gdb_chardev = None
        if cfg.gdb is not None and cfg.gdb != "none":
            from .gdbstub import chardev_spec
            try:
                self.gdb_chardev = self._chardev_for(chardev_spec(cfg.gdb), "gdb", None)
            except StartupError as e:
                raise StartupError(f"Could not open gdbserver on device '{cfg.gdb}': {e}") \
                    from None
        vm.finish_init = self.finish_init
        if cfg.preconfig:
            vm.preconfig = True
        else:
            self.finish_init()

    # -- chardevs ------------------------------------------------------------------------
    def _add_chardev(self, cid: str, opts: dict):
        vm = self.vm
        chr_ = create_chardev(self.loop, cid, opts,
                              on_exit=lambda: vm.request_shutdown("host-qmp-quit"))
        self.chardevs[cid] = chr_
        self.chardev_container.add_child(cid, chr_)
        return chr_

    def _chardev_for(self, spec: str, auto_id: str, option: str | None):
        if spec.startswith("chardev:"):
            cid = spec[len("chardev:"):]
            chr_ = self.chardevs.get(cid)
            if chr_ is None:
                raise StartupError(f"chardev \"{cid}\" not found" if option is None else
                                   f"{option} {spec}: chardev \"{cid}\" not found")
            return chr_
        if spec.startswith("mon:") and option is None:      # -qtest
            raise StartupError("mon: isn't supported in this context")
        try:
            opts = parse_legacy(spec)
            cid = auto_id
            n = 0
            while cid in self.chardevs:
                n += 1
                cid = f"{auto_id}{n}"
            chr_ = self._add_chardev(cid, opts)
            if spec.startswith("mon:") and option == "-serial":   # the monitor shares it (as QEMU's serial_parse)
                from .monitor import create_monitor
                self.monitors.append(create_monitor(self.vm, chr_, "readline"))
            return chr_
        except ChardevError as e:
            raise StartupError(f"{option} {spec}: {e}" if option else str(e)) from None

    def _default_monitor(self) -> bool:
        cfg = self.cfg
        return not (cfg.nodefaults or cfg.monitors
                    or any(s.startswith("mon:") for s in cfg.serials))

    def _default_monitors(self):
        """-nographic without -serial: the monitor is muxed with the serial port
        (see _serial_backends); with -serial but no monitor: ``-monitor stdio``."""
        cfg = self.cfg
        if cfg.nographic and cfg.serials and self._default_monitor():
            return [("stdio", "readline", False)]
        return []

    def _serial_backends(self):
        cfg = self.cfg
        specs = list(cfg.serials)
        if not specs and not cfg.nodefaults:
            if cfg.nographic:
                specs = ["mon:stdio"] if self._default_monitor() else ["stdio"]
            else:
                specs = ["null"]
        out = []
        for i, spec in enumerate(specs):
            if spec == "none":
                out.append(None)
                continue
            out.append(self._chardev_for(spec, f"serial{i}", "-serial"))
        return out

    # -- machine init ----------------------------------------------------------------------
    def finish_init(self):
        from .hw.core.devices import create_device
        vm, cfg = self.vm, self.cfg
        machine = vm.machine
        try:
            machine.init()
            from .system.objects import create_objects
            create_objects(vm, cfg.objects)
        except (QOMError, RamAllocationError) as e:
            raise StartupError(str(e)) from None
        for n, opts in enumerate(cfg.devices):
            try:
                create_device(machine, dict(opts), self.chardevs)
            except (QOMError, RamAllocationError) as e:
                # as QEMU's: the message is located at its -device option
                arg = cfg.device_args[n] if n < len(cfg.device_args) else opts.get("driver")
                raise StartupError(str(e), location=f"-device {arg}") from None
        vm.machine_ready = True
        from .qom.device import invalid_class_warnings
        for text in invalid_class_warnings():           # QEMU's qdev_prop_check_globals
            warn_report(text)
        machine.reset_tree()
        if vm.accel == "kvm" and getattr(machine, "MACHINE_NAME", "") != "none":
            # QEMU's -M none has no CPU: KVM then runs no vCPU and the VM idles
            from .accel.kvm.accel import KVMAccel
            from .accel.kvm.kvm import KVMError
            try:
                self.kvm = KVMAccel(vm, machine, self.loop)
            except KVMError as e:
                raise StartupError(f"-accel kvm: failed to initialize kvm: {e.strerror}") \
                    from None
        if vm.accel == "tcg":
            self._attach_tcg(machine)
        if self.gdb_chardev is not None:
            self._attach_gdb()
        if not cfg.start_paused:
            vm.start()

    def _attach_tcg(self, machine):
        from .accel.tcg import TCGConfigError, attach
        from .loader.elf import LoaderError
        props = dict(next((p for n, p in self.cfg.accels if n == "tcg"), {}))
        try:
            self.tcg = attach(self.vm, machine, self.cfg, props)
        except (TCGConfigError, LoaderError) as e:
            raise StartupError(str(e)) from None

    def _attach_gdb(self):
        from .gdbstub import GdbServer, SystemTarget
        if self.tcg is None:
            raise StartupError(f"-gdb {self.cfg.gdb}: guest debugging needs -accel tcg "
                               f"(not supported with -accel {self.vm.accel})")
        self.gdb = GdbServer(SystemTarget(self.vm, [self.tcg.cpu]), self.gdb_chardev)

    # -- running -------------------------------------------------------------------------------
    def run(self) -> int:
        vm = self.vm
        self.loop.install_signal_handlers(
            lambda signum: vm.request_shutdown("host-signal"))
        try:
            if self.tcg is not None:
                self.tcg.run(self.loop)
            else:
                self.loop.run()
            if self.monitors:                 # (the QMP modules load only when used)
                from .monitor import let_clients_hang_up
                let_clients_hang_up(self.loop, self.monitors)
        finally:
            for chr_ in self.chardevs.values():
                try:
                    chr_.close()
                except OSError:
                    pass
        return vm.exit_code


def _exit_with_parent():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() == 1:
            os._exit(0)
    except (OSError, AttributeError):
        pass


def answer_info(cfg: MachineConfig) -> int | None:
    """``-version`` and ``-help`` (and ``-xxx help``): print the answer and return
    the exit status; None when the command line asks for a run."""
    if cfg.version:
        print(helptext.version_text(), end="")
        return 0
    if cfg.help is not None:
        _load_boards()
        text = helptext.render(cfg)
        if text.startswith("ERROR:"):
            return _err(text[len("ERROR:"):])
        print(text, end="")
        return 1 if cfg.help == "d" else 0           # QEMU exits 1 after -d help
    if cfg.exit_with_parent:
        _exit_with_parent()
    return None


def run(cfg: MachineConfig) -> int:
    """Build the machine CFG describes and run it; the exit status."""
    emu = Emulator(cfg)
    try:
        emu.build()
    except StartupError as e:
        return _err(str(e))
    return emu.run()
