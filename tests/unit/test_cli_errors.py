"""Every command-line error is one line (QEMU's text), exit status 1, no traceback.

The named tests are the bad command lines a fuzz run turned into tracebacks or
wrongly accepted; each expected text was taken from QEMU 7.2 where QEMU has one.
``test_generated_bad_command_lines`` runs a few hundred more built from a table.
"""

import itertools
import os
import struct
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "loader"))
from elfgen import make_elf  # noqa: E402

from qemu_py.loader.x86boot import XEN_ELFNOTE_PHYS32_ENTRY  # noqa: E402

HLT = b"\xf4"


def run(*args, env=None, timeout=60):
    env = dict(os.environ if env is None else env)
    return subprocess.run([sys.executable, "-m", "qemu_py", *args, "-display", "none"],
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=env)


def refused(res, message):
    assert "Traceback" not in res.stderr + res.stdout, res.stderr
    assert res.returncode == 1, res.stderr
    assert res.stderr == f"qemu-py: {message}\n"


def pvh_elf(**kw):
    note = (b"Xen", XEN_ELFNOTE_PHYS32_ENTRY, struct.pack("<I", 0x100000))
    return make_elf(HLT * 0x100, 0x100000, 0x100000, notes=[note], **kw)


def mb_aout(bss_end, load_end=0):
    magic, flags = 0x1BADB002, 0x10000
    hdr = struct.pack("<III", magic, flags, (-(magic + flags)) & 0xFFFFFFFF)
    hdr += struct.pack("<IIIII", 0x100000, 0x100000, load_end, bss_end, 0x100020)
    return hdr + HLT * 0x100


ENOMEM_RAM = "cannot set up guest memory 'pc.ram': Cannot allocate memory"


@pytest.mark.parametrize("args", [["-m", "100T"], ["-m", "1P"], ["-M", "pc", "-m", "1000G"],
                                  ["-m", "8E"]],
                         ids=["m_100T", "m_1P", "pc_m_1000G", "m_8E_overflow"])
def test_huge_ram_is_cannot_set_up_guest_memory(args):
    res = run("-accel", "qtest", *args) if "-M" in args else run("-M", "pc", "-accel", "qtest",
                                                                   *args)
    refused(res, ENOMEM_RAM)


def test_pseries_m_100T_is_cannot_set_up_guest_memory():
    res = run("-M", "pseries", "-accel", "qtest", "-m", "100T",
              env=dict(os.environ, QEMU_PY_TARGET="ppc64"))
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stderr.startswith("qemu-py: cannot set up guest memory '")
    assert res.stderr.endswith("': Cannot allocate memory\n")


def test_pseries_htab_shift_46_memory_error():
    res = run("-M", "pseries,htab-shift=46", "-accel", "qtest",
              env=dict(os.environ, QEMU_PY_TARGET="ppc64"))
    refused(res, "Failed to allocate HTAB of requested size, try with smaller maxmem")


def test_kernel_elf_p_memsz_below_p_filesz(tmp_path):
    path = tmp_path / "k.elf"
    path.write_bytes(pvh_elf(memsz=0x10))
    refused(run("-M", "pc", "-kernel", str(path)),
            f"kernel '{path}': ELF segment at 0x100000 has p_filesz 0x100 above its "
            "p_memsz 0x10")


def test_kernel_elf_huge_p_memsz(tmp_path):
    path = tmp_path / "k.elf"
    path.write_bytes(pvh_elf(memsz=1 << 62, elf64=True))
    refused(run("-M", "pc", "-kernel", str(path)),
            "kernel: segment at 0x100000 (0x4000000000000000 bytes) does not fit in RAM "
            "(0x8000000 bytes below 4 GiB)")


def test_multiboot_bss_end_ffffffff(tmp_path):
    path = tmp_path / "mb.bin"
    path.write_bytes(mb_aout(0xFFFFFFFF))
    refused(run("-M", "pc", "-kernel", str(path)),
            "kernel: segment at 0x100000 (0xffefffff bytes) does not fit in RAM "
            "(0x8000000 bytes below 4 GiB)")


def test_kernel_dev_zero():
    # QEMU 7.2 sizes the image with lseek (0 for a device) and prints this errno text
    refused(run("-M", "pc", "-kernel", "/dev/zero"),
            "could not load kernel '/dev/zero': No such file or directory")


def test_initrd_dev_zero(tmp_path):
    path = tmp_path / "mb.bin"
    path.write_bytes(mb_aout(0))
    refused(run("-M", "pc", "-kernel", str(path), "-initrd", "/dev/zero"),
            "could not load initrd '/dev/zero': No such file or directory")


def test_initrd_larger_than_ram(tmp_path):
    path, big = tmp_path / "mb.bin", tmp_path / "big"
    path.write_bytes(mb_aout(0))
    with open(big, "wb") as f:
        f.truncate(64 << 20)                    # sparse: no disk used
    refused(run("-M", "pc", "-m", "32M", "-kernel", str(path), "-initrd", str(big)),
            f"initrd '{big}' is too large (0x4000000 bytes; the guest has 0x2000000 bytes "
            "of RAM)")


def test_D_nonexistent_directory():
    refused(run("-M", "none", "-D", "/nonexistent/x"),
            "Error opening logfile /nonexistent/x: No such file or directory")


def test_D_a_directory(tmp_path):
    refused(run("-M", "none", "-D", str(tmp_path)),
            f"Error opening logfile {tmp_path}: Is a directory")


def test_trace_file_nonexistent_directory():
    refused(run("-M", "none", "-trace", "file=/nonexistent/x"),
            "Error opening logfile /nonexistent/x: No such file or directory")


@pytest.mark.skipif(not os.access("/dev/kvm", os.R_OK | os.W_OK),
                    reason="needs read/write access to /dev/kvm")
def test_machine_none_accel_kvm_idles_as_qemu():
    # QEMU's -M none has no CPU: with KVM the VM idles (no KVM_RUN of an empty VM)
    proc = subprocess.Popen([sys.executable, "-m", "qemu_py", "-M", "none", "-accel", "kvm",
                             "-display", "none"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3)
        assert proc.poll() is None
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=30)
    assert "Traceback" not in err and "KVM_RUN" not in err


@pytest.mark.parametrize("args,message", [
    (["-m", "16M,foo=1"], "-m 16M,foo=1: Invalid parameter 'foo'"),
    (["-M", "pc,usb=maybe"], "Parameter 'usb' expects 'on' or 'off'"),
    (["-M", "pc,graphics=x"], "Parameter 'graphics' expects 'on' or 'off'"),
    (["-smp", "abc"], "Parameter 'smp.cpus' expects integer"),
    (["-smp", "1,foo=2"], "Parameter 'smp.foo' is unexpected"),
    (["-smp", "cpus=2,sockets=3"], "Invalid CPU topology: product of the hierarchy must match "
     "maxcpus: sockets (3) * dies (1) * cores (0) * threads (1) != maxcpus (2)"),
    (["-smp", "2"], "-smp 2: 2 CPUs requested, but qemu-py emulates one CPU per machine "
     "(cpus=1 and maxcpus=1 only)"),
    (["-icount", "shift=abc"], "-icount shift=abc: icount: Invalid shift value"),
    (["-icount", "shift=11"], "-icount shift=11: icount: Invalid shift value"),
    (["-icount", "shift=auto,foo=1"], "-icount shift=auto,foo=1: Invalid parameter 'foo'"),
    (["-m", "abc"], "-m abc: Parameter 'size' expects a non-negative number below 2^64\n"
     "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
     "and exabytes, respectively."),
    (["-m", "16M,slots=abc"], "-m 16M,slots=abc: Parameter 'slots' expects a number"),
    (["-device", "nosuchdev"], "-device nosuchdev: 'nosuchdev' is not a valid device model name"),
], ids=lambda v: "_".join(v) if isinstance(v, list) else None)
def test_refused_as_qemu_refuses(args, message):
    refused(run("-M", "pc", "-accel", "qtest", *args) if args[0] != "-M" else
            run("-accel", "qtest", *args), message)


def test_smp_one_cpu_topologies_are_accepted():
    from qemu_py.system.smp import check_single_cpu, parse_smp
    for text in ("1", "cpus=1", "1,sockets=1,cores=1,threads=1,maxcpus=1", "sockets=1"):
        topo = parse_smp(text)
        check_single_cpu(topo)
        assert (topo.cpus, topo.maxcpus) == (1, 1)
    topo = parse_smp("4,sockets=2")
    assert (topo.sockets, topo.cores, topo.threads, topo.maxcpus) == (2, 2, 1, 4)


def test_prefix_is_the_program_basename(tmp_path):
    # run under another name (as an installed qemu-py-system-x86_64 script is)
    script = tmp_path / "qemu-py-system-x86_64"
    script.write_text(f"#!{sys.executable}\nimport sys\nfrom qemu_py.cli import main_x86_64\n"
                      "sys.exit(main_x86_64())\n")
    script.chmod(0o755)
    res = subprocess.run([str(script), "-m", "16M,foo=1"], capture_output=True, text=True,
                         timeout=60, stdin=subprocess.DEVNULL)
    assert res.returncode == 1
    assert res.stderr == "qemu-py-system-x86_64: -m 16M,foo=1: Invalid parameter 'foo'\n"


# -- generated bad command lines --------------------------------------------------------------
BAD_VALUES = ["", ",", "=", "abc", "-1", "0x", "1_0", "99999999999999999999999", "8E", "100T",
              "/nonexistent/x", "on", "help,foo=1", "a,,b", "\x00"[:0] + "é"]
OPTIONS_WITH_VALUES = ["-m", "-smp", "-icount", "-M", "-accel", "-d", "-D", "-cpu", "-device",
                       "-name", "-run-with", "-kernel", "-initrd", "-display", "-vga", "-audio",
                       "-rtc", "-trace", "-object", "-global", "-serial", "-mon"]


def _generated():
    for opt, val in itertools.product(OPTIONS_WITH_VALUES, BAD_VALUES):
        yield [opt, val]
    for opt in OPTIONS_WITH_VALUES:
        yield [opt]                                       # missing argument
        yield [opt, "x=" + "9" * 30]


def test_generated_bad_command_lines(tmp_path):
    """Each line either starts (then it is stopped: it was valid), prints help, or ends with one
    error report and exit status 1; never a traceback.  It runs in a temporary directory: values
    such as ``-D ,`` are valid log file names."""
    lines = list(_generated())
    assert len(lines) > 300
    code = (
        "import sys, io, contextlib, json\n"
        "from qemu_py.cli import main\n"
        "from qemu_py import launch\n"
        "class Started(Exception): pass\n"
        "def started(self): raise Started()\n"
        "launch.Emulator.run = started\n"
        "out = []\n"
        "for args in json.load(sys.stdin):\n"
        "    err = io.StringIO()\n"
        "    try:\n"
        "        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):\n"
        "            rc = main(args + ['-M', 'pc', '-accel', 'qtest', '-display', 'none',\n"
        "                               '-nodefaults'])\n"
        "    except Started:\n"
        "        rc = 'started'\n"
        "    except BaseException as e:\n"
        "        rc = 'raised ' + type(e).__name__ + ': ' + str(e)[:200]\n"
        "    out.append([args, rc, err.getvalue()])\n"
        "print(json.dumps(out))\n")
    import json
    res = subprocess.run([sys.executable, "-c", code], input=json.dumps(lines), cwd=tmp_path,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    bad, refused_count = [], 0
    for args, rc, err in json.loads(res.stdout):
        if rc in ("started", 0):                          # valid: started, or printed help
            continue
        refused_count += 1
        if rc != 1 or not err.startswith("qemu-py: ") or "Traceback" in err:
            bad.append((args, rc, err[-300:]))
    assert not bad, bad[:20]
    assert refused_count > 250


def test_device_error_after_preconfig_is_the_message_alone_in_qmp():
    """x-exit-preconfig creates the -device list; its QMP error is the message
    without the ``-device ARG:`` location, which only the start-up print has."""
    from tests.unit.monitor.harness import BASE, InProcess
    e = InProcess([*BASE, "--preconfig", "-device", "nosuchdev,id=d0"])
    try:
        reply = e.qmp().execute("x-exit-preconfig")
    finally:
        e.close()
    assert reply == {"error": {"class": "GenericError",
                               "desc": "'nosuchdev' is not a valid device model name"}}


def test_device_error_at_start_up_names_the_option():
    res = run("-M", "none", "-accel", "qtest", "-device", "nosuchdev,id=d0")
    assert res.returncode == 1
    assert res.stderr.endswith(
        "-device nosuchdev,id=d0: 'nosuchdev' is not a valid device model name\n")
