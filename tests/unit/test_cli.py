"""Command-line behaviour: QEMU's syntax, its error texts, exit status 1, no traceback."""

import subprocess
import sys

import pytest

from qemu_py.cli import UsageError, parse_args


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "qemu_py", *args], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL, env=env)


@pytest.mark.parametrize("args,message", [
    (["-foo"], "qemu-py: -foo: invalid option\n"),
    (["--bogus-option"], "qemu-py: --bogus-option: invalid option\n"),
    (["-m"], "qemu-py: -m: requires an argument\n"),
    (["-M", "no-such-board"], "qemu-py: unsupported machine type\n"
                              "Use -machine help to list supported machines\n"),
    (["-accel", "warp"], "qemu-py: -accel warp: invalid accelerator warp\n"),
    (["-m", "lots"], "qemu-py: -m lots: Parameter 'size' expects a non-negative number below "
                     "2^64\nOptional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, "
                     "peta-\nand exabytes, respectively.\n"),
    (["-d", "nonsense"], "qemu-py: -d nonsense: Invalid -d option \"nonsense\"\n"),
    (["-chardev", "socket,path=/x"], "qemu-py: -chardev socket,path=/x: Parameter 'id' is missing\n"),
    (["-chardev", "bogus,id=a"], "qemu-py: -chardev bogus,id=a: 'bogus' is not a valid char driver name\n"),
    (["-M", "none", "-device", "no-such-device"], "qemu-py: -device no-such-device: 'no-such-device' is not a valid device "
     "model name\n"),
    (["-M", "none", "-qtest", "unix:/nonexistent/dir/sock"],
     "qemu-py: Failed to initialize device for qtest: \"unix:/nonexistent/dir/sock\"\n"),
    (["-M", "none", "-qtest", "chardev:missing"],
     "qemu-py: Failed to initialize device for qtest: \"chardev:missing\"\n"),
])
def test_errors_are_qemu_style(args, message):
    res = run(*args)
    assert res.returncode == 1
    assert res.stderr == message
    assert "Traceback" not in res.stdout + res.stderr


def test_machine_help_lists_none():
    res = run("-M", "help")
    assert res.returncode == 0
    assert res.stdout.startswith("Supported machines are:\n")
    assert "\nnone                 empty machine\n" in res.stdout


def test_accel_help():
    res = run("-accel", "help")
    assert res.stdout == "Accelerators supported in QEMU binary:\nqtest\ntcg\nkvm\n"


def test_d_help_lists_log_items():
    res = run("-d", "help")
    assert "guest_errors" in res.stdout and "unimp" in res.stdout


def test_parse_collects_options():
    cfg = parse_args(["-M", "pc,accel=qtest", "-m", "64M", "-S", "--preconfig", "-name", "guest=vm1",
                      "-serial", "stdio", "-serial", "null", "-run-with", "exit-with-parent=on",
                      "-no-reboot", "-nodefaults", "-audio", "none", "-vga", "none"])
    assert cfg.machine == "pc" and cfg.accels == [("qtest", {})]
    assert cfg.ram_size == 64 << 20 and cfg.start_paused and cfg.preconfig
    assert cfg.name == "vm1" and cfg.serials == ["stdio", "null"]
    assert cfg.exit_with_parent and cfg.no_reboot and cfg.nodefaults


def test_parse_rejects_bad_run_with():
    with pytest.raises(UsageError, match="exit-with-parent"):
        parse_args(["-run-with", "exit-with-parent=maybe"])


def test_run_with_exit_with_parent_ends_with_the_parent(tmp_path):
    import os
    import signal
    import time
    pidfile = tmp_path / "child.pid"
    # a parent shell starts the emulator in the background, records its pid, then waits
    script = (f"{sys.executable} -m qemu_py -M none -run-with exit-with-parent=on "
              f"-accel qtest & echo $! > {pidfile}; wait")
    parent = subprocess.Popen(["/bin/sh", "-c", script])
    for _ in range(200):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        time.sleep(0.05)
    child = int(pidfile.read_text())
    time.sleep(1.0)                      # let the emulator reach its main loop
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    for _ in range(200):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(child, signal.SIGKILL)
        raise AssertionError("the emulator outlived its parent")
