"""Every option the command line accepts, each with the test that proves it acts
(or is refused with QEMU's text). A new option without an entry fails here."""

import importlib
import subprocess
import sys

from qemu_py import QEMU_VERSION, __version__
from qemu_py.cli import OPTIONS, parse_args
from qemu_py.system.log import LOG_ITEMS

# option -> "module path::test function" proving its effect
OPTION_TESTS = {
    "gdb": "tests/unit/gdbstub/test_protocol.py::test_qsupported_lists_qemu_features",
    "s": "tests/unit/gdbstub/test_protocol.py::test_dash_s_is_gdb_on_tcp_port_1234",
    "D": "tests/unit/tcg/test_accel.py::test_log_items_and_file",
    "M": "tests/unit/test_cli.py::test_machine_help_lists_none",
    "machine": "tests/unit/qtest/test_launch_compat.py::test_python_qemuqtestmachine_fd_launch_shape",
    "S": "tests/unit/accel/kvm/test_kvm_boot.py::test_kvm_vcpu_starts_in_the_multiboot_entry_state",
    "accel": "tests/unit/test_cli.py::test_accel_help",
    "append": "tests/unit/loader/test_x86boot.py::test_multiboot_elf_state_and_info",
    "audio": "tests/unit/test_cli_errors.py::test_generated_bad_command_lines",
    "chardev": "tests/unit/monitor/test_qmp_client.py::test_emulator_listens_and_the_client_connects",
    "cpu": "tests/unit/hw/arm/test_virt.py::test_cpu_option_is_stored_and_checked",
    "d": "tests/unit/tcg/test_accel.py::test_log_items_and_file",
    "device": "tests/unit/monitor/test_balloon_commands.py::test_balloon_commands_with_and_without_a_device",
    "display": "tests/unit/test_cli_errors.py::test_generated_bad_command_lines",
    "enable-kvm": "tests/unit/test_cli_options.py::test_enable_kvm_selects_kvm",
    "global": "tests/unit/qom/test_globals.py::test_global_sets_the_default_and_the_device_option_wins",
    "icount": "tests/unit/tcg/test_accel.py::test_icount_clock_follows_instructions",
    "initrd": "tests/unit/hw/nvram/test_fw_cfg.py::test_kernel_initrd_and_cmdline_items",
    "kernel": "tests/unit/loader/test_x86boot.py::test_pvh_entry_note",
    "m": "tests/unit/test_cli_errors.py::test_initrd_larger_than_ram",
    "mon": "tests/unit/monitor/test_xp.py::test_xp_on_ram_written_with_qtest",
    "monitor": "tests/unit/monitor/test_qmp_wire.py::test_human_monitor_on_a_socket",
    "name": "tests/unit/monitor/test_dispatch.py::test_query_name_with_name_option",
    "no-reboot": "tests/unit/test_cli.py::test_parse_collects_options",
    "no-shutdown": "tests/unit/monitor/test_hmp.py::test_cont_after_shutdown_needs_a_reset",
    "no-user-config": "tests/unit/test_cli_options.py::test_no_user_config_is_accepted",
    "nodefaults": "tests/unit/accel/kvm/test_kvm_accel.py::test_reset_stub_runs_to_hlt_under_kvm",
    "nographic": "tests/unit/test_cli_options.py::test_nographic_puts_the_serial_port_on_stdio",
    "object": "tests/unit/hw/vfio/test_vfio_pci.py::test_identity_comes_from_the_device",
    "preconfig": "tests/unit/monitor/test_dispatch.py::test_preconfig_allows_only_allow_preconfig_commands",
    "qmp": "tests/unit/qtest/test_launch_compat.py::test_pypi_qemu_qmp_client",
    "qmp-pretty": "tests/unit/monitor/test_qmp_wire.py::test_several_monitors_and_a_reconnecting_client",
    "qtest": "tests/unit/monitor/test_xp.py::test_xp_on_ram_written_with_qtest",
    "qtest-log": "tests/unit/qtest/test_client.py::test_attach_and_reconnect_keep_machine_state",
    "rtc": "tests/unit/hw/rtc/test_mc146818rtc.py::test_date_from_rtc_base_in_bcd_and_leap_day_rollover",
    "run-with": "tests/unit/test_cli.py::test_run_with_exit_with_parent_ends_with_the_parent",
    "serial": "tests/unit/hw/arm/test_virt.py::test_pl011_output_reaches_serial_file_and_gic_sees_spi1",
    "smp": "tests/unit/test_cli_errors.py::test_smp_one_cpu_topologies_are_accepted",
    "trace": "tests/unit/system/test_trace.py::test_trace_help_lists_the_events_and_exits",
    "version": "tests/unit/test_cli_options.py::test_version",
    "vga": "tests/unit/test_cli_errors.py::test_generated_bad_command_lines",
    "h": "tests/unit/test_cli_options.py::test_help_lists_every_option",
    "help": "tests/unit/test_cli_options.py::test_help_lists_every_option",
}

# -d item -> the test that sees it log (strace: a user-mode item that QEMU 7.2's system
# emulator accepts and that logs nothing there, as here)
LOG_ITEM_TESTS = {
    "out_asm": "tests/unit/tcg/test_accel.py::test_log_items_and_file",
    "in_asm": "tests/unit/tcg/test_accel.py::test_log_items_and_file",
    "op": "tests/unit/tcg/test_accel.py::test_log_items_and_file",
    "op_opt": "tests/unit/tcg/test_accel.py::test_log_items_and_file",
    "int": "tests/unit/tcg/test_accel.py::test_log_items_and_file",
    "exec": "tests/unit/tcg/test_accel.py::test_log_items_and_file",
    "cpu": "tests/unit/tcg/test_accel.py::test_log_items_and_file",
    "mmu": "tests/unit/target/i386/test_log_items.py::test_mmu_logs_fills_and_the_page_fault",
    "pcall": "tests/unit/target/i386/test_log_items.py::test_pcall_logs_lret",
    "cpu_reset": "tests/unit/target/i386/test_log_items.py::test_cpu_reset_dumps_the_state_being_reset",
    "unimp": "tests/unit/tcg/test_accel.py::test_log_items_and_file",
    "guest_errors": "tests/unit/tcg/test_accel.py::test_log_items_and_file",
    "nochain": "tests/unit/tcg/test_accel.py::test_log_items_and_file",
    "strace": "tests/unit/test_cli_options.py::test_strace_is_accepted_and_silent_as_in_qemu_system",
    "tid": "tests/unit/test_cli_options.py::test_tid_needs_a_template",
    "fpu": "tests/unit/target/i386/test_log_items.py::test_fpu_adds_the_fpu_state_to_the_cpu_log",
    "page": "tests/unit/user/test_page_dump.py::test_dash_d_page_logs_the_map_after_load_and_mmap",
    "op_ind": "tests/unit/test_cli_options.py::test_op_ind_and_plugin_are_accepted_and_silent",
    "plugin": "tests/unit/test_cli_options.py::test_op_ind_and_plugin_are_accepted_and_silent",
}


def _exists(ref):
    path, func = ref.split("::")
    mod = path[:-3].replace("/", ".")
    sys.path.insert(0, "/".join(path.split("/")[:-1]))
    try:
        return callable(getattr(importlib.import_module(mod), func, None))
    finally:
        sys.path.pop(0)


def test_every_option_has_a_proving_test():
    assert set(OPTION_TESTS) == set(OPTIONS)
    missing = [ref for ref in OPTION_TESTS.values() if not _exists(ref)]
    assert not missing


def test_every_log_item_has_a_proving_test():
    assert set(LOG_ITEM_TESTS) == set(LOG_ITEMS)
    missing = [ref for ref in LOG_ITEM_TESTS.values() if not _exists(ref)]
    assert not missing


def run(*args):
    return subprocess.run([sys.executable, "-m", "qemu_py", *args], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_enable_kvm_selects_kvm():
    assert parse_args(["-enable-kvm"]).accels == [("kvm", {})]


def test_no_user_config_is_accepted():
    # QEMU's meaning: read no user configuration file; qemu-py reads none at all
    assert parse_args(["-no-user-config"]) == parse_args([])


def test_nographic_puts_the_serial_port_on_stdio():
    from qemu_py.launch import Emulator
    emu = Emulator(parse_args(["-M", "none", "-nographic"]))
    seen = []
    emu._chardev_for = lambda spec, auto_id, option: seen.append(spec)
    emu._serial_backends()
    assert seen == ["mon:stdio"] and emu.cfg.display == "none"
    plain = Emulator(parse_args(["-M", "none"]))
    plain._chardev_for = lambda spec, auto_id, option: seen.append(spec)
    plain._serial_backends()
    assert seen == ["mon:stdio", "null"]


def test_version():
    res = run("-version")
    assert res.returncode == 0 and res.stdout.startswith("QEMU emulator version ")


# accepted but, as in QEMU's -h, not listed: -M (QEMU's short form of -machine) and the
# qtest options (QEMU's are internal too)
UNLISTED = {"M", "qtest", "qtest-log"}


def test_help_lists_every_option():
    res = run("-h")
    assert res.returncode == 0
    for name in set(OPTIONS) - UNLISTED - {"help", "preconfig"}:
        assert f"\n-{name} " in res.stdout or f"\n-{name}\n" in res.stdout, name
    assert "\n-h or -help     display this help and exit\n" in res.stdout
    assert "\n--preconfig     pause QEMU" in res.stdout


VERSION_LINE = "QEMU emulator version {}.{}.{} (qemu-py {})".format(*QEMU_VERSION, __version__)


def test_help_is_qemus_layout_with_its_descriptions():
    from qemu_py.help_options import HELP_ENTRIES
    res = run("-h")
    lines = res.stdout.splitlines()
    assert lines[:4] == [VERSION_LINE,
                         "Copyright (c) the qemu-py developers",
                         "usage: qemu-py [options]", ""]
    assert lines[4] == "Standard options:"
    assert "-cpu cpu        select CPU ('-cpu help' for list)" in lines
    assert ("-d item1,...    enable logging of specified items (use '-d help' for a list of "
            "log items)") in lines
    # every entry names an option the parser has, and sections are separated by one blank
    assert {name for _, name, _ in HELP_ENTRIES} <= set(OPTIONS)
    headings = [h for h in dict.fromkeys(h for h, _, _ in HELP_ENTRIES)]
    for h in headings[1:]:
        assert f"\n\n{h}\n" in res.stdout
    # options qemu-py does not accept are not listed
    assert "\n-hda" not in res.stdout and "\n-netdev" not in res.stdout
    assert "\n-chardev pty" not in res.stdout and "\n-chardev stdio" in res.stdout


def test_help_lines_are_qemus_where_qemu_py_does_not_differ():
    import shutil
    import pytest
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        pytest.skip("the QEMU 7.2 oracle qemu-system-x86_64 is not installed")
    theirs = set(subprocess.run([qemu, "-h"], capture_output=True, text=True).stdout
                 .splitlines())
    ours = run("-h").stdout.splitlines()
    differ = [line for line in ours[3:] if line not in theirs]
    assert differ == [
        "                supported accelerators are kvm, qtest or tcg (default: tcg)",
        "                select accelerator (kvm, qtest or tcg; use 'help' for a list)",
        '                "-display none"',
        "-vga [none]",
        "-run-with [async-teardown=on|off][,chroot=dir][,user=username|uid:gid]"
        "[,exit-with-parent=on|off]",
        "                set miscellaneous process lifecycle options (qemu-py acts on",
        "                exit-with-parent only; the others are accepted and ignored)"]


def test_log_help_is_qemus():
    res = run("-d", "help")
    assert res.returncode == 1                        # as QEMU's
    names = [line.split()[0] for line in res.stdout.splitlines()[1:]
             if line and line[0].islower() and line[15:16] == " "]
    assert names == ["out_asm", "in_asm", "op", "op_opt", "op_ind", "int", "exec", "cpu",
                     "fpu", "mmu", "pcall", "cpu_reset", "unimp", "guest_errors", "page",
                     "nochain", "plugin", "strace", "tid", "trace:PATTERN"]
    assert "plugin          output from TCG plugins\n\nstrace" in res.stdout


def test_log_help_is_the_oracles_byte_for_byte():
    import shutil
    import pytest
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        pytest.skip("the QEMU 7.2 oracle qemu-system-x86_64 is not installed")
    theirs = subprocess.run([qemu, "-d", "help"], capture_output=True, text=True)
    assert run("-d", "help").stdout == theirs.stdout


def test_op_ind_and_plugin_are_accepted_and_silent(tmp_path):
    # op_ind logs the ops before indirect lowering, which QEMU does only for TBs using
    # indirect globals: x86 has none (nor has qemu-py's IR); plugin logs plugin output
    # and qemu-py loads no plugins. Both are accepted, and log nothing, as QEMU's x86.
    from qemu_py.launch import Emulator
    from qemu_py.system.log import LOG
    log = tmp_path / "log"
    saved = LOG.items, LOG.fp
    try:
        emu = Emulator(parse_args(["-M", "none", "-accel", "qtest", "-nodefaults",
                                   "-d", "op_ind,plugin", "-D", str(log)]))
        emu.build()
        assert LOG.enabled("op_ind") and LOG.enabled("plugin")
    finally:
        LOG.fp.close()
        LOG.items, LOG.fp = saved
    assert log.read_text() == ""


def test_version_is_qemus_layout():
    res = run("-version")
    assert res.stdout == (VERSION_LINE + "\n"
                          "Copyright (c) the qemu-py developers\n")


def test_strace_is_accepted_and_silent_as_in_qemu_system(tmp_path):
    from qemu_py.launch import Emulator
    from qemu_py.system.log import LOG
    log = tmp_path / "log"
    saved = LOG.items, LOG.fp
    try:
        emu = Emulator(parse_args(["-M", "none", "-accel", "qtest", "-nodefaults",
                                   "-d", "strace", "-D", str(log)]))
        emu.build()
        assert LOG.enabled("strace")
    finally:
        LOG.fp.close()
        LOG.items, LOG.fp = saved
    assert log.read_text() == ""


def test_tid_needs_a_template():
    import pytest

    from qemu_py.launch import Emulator, StartupError
    with pytest.raises(StartupError, match="Filename template with '%d' required for 'tid'"):
        Emulator(parse_args(["-M", "none", "-accel", "qtest", "-d", "tid"])).build()
