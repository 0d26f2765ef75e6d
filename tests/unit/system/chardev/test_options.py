"""Bad chardev options: QEMU's text on one line (plus QEMU's hint), exit status 1,
no traceback; and the odd but valid ones QEMU accepts."""

import os
import subprocess
import sys

import pytest

PROG = "qemu-py"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))))
ENV = dict(os.environ, PYTHONPATH=ROOT)

BAD = [
    (["-chardev", "stdio,id=x,signal=maybe"],
     "-chardev stdio,id=x,signal=maybe: Parameter 'signal' expects 'on' or 'off'\n"),
    (["-chardev", "null,id="],
     "-chardev null,id=: Parameter 'id' expects an identifier\n"
     "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.\n"),
    (["-chardev", "null,id=1x"],
     "-chardev null,id=1x: Parameter 'id' expects an identifier\n"
     "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.\n"),
    (["-chardev", "null,id=x,foo=1"], "-chardev null,id=x,foo=1: Invalid parameter 'foo'\n"),
    (["-chardev", "null,id=x,mux=maybe"],
     "-chardev null,id=x,mux=maybe: Parameter 'mux' expects 'on' or 'off'\n"),
    (["-chardev", "null,id=x,logappend=2"],
     "-chardev null,id=x,logappend=2: Parameter 'logappend' expects 'on' or 'off'\n"),
    (["-chardev", "nosuch,id=x"], "-chardev nosuch,id=x: 'nosuch' is not a valid char driver name\n"),
    (["-chardev", "socket,id=s,host=localhost,port=99999999999999999999"],
     "-chardev socket,id=s,host=localhost,port=99999999999999999999: address resolution failed for localhost:99999999999999999999: "
     "Servname not supported for ai_socktype\n"),
    (["-chardev", "socket,id=s,fd=99999999999999999999"],
     "-chardev socket,id=s,fd=99999999999999999999: Invalid file descriptor number '99999999999999999999'\n"),
    (["-chardev", "socket,id=s,fd=myfd"],
     "-chardev socket,id=s,fd=myfd: File descriptor named 'myfd' has not been found\n"),
    (["-chardev", "null,id=n,logfile=/nonexistent/dir/log"],
     "-chardev null,id=n,logfile=/nonexistent/dir/log: Unable to open logfile /nonexistent/dir/log: "
     "No such file or directory\n"),
    (["-serial", "stdio", "-monitor", "stdio"],
     "-serial stdio: cannot use stdio by multiple character devices\n"),
    (["-nographic", "-serial", "stdio"],       # the default monitor took stdio first
     "-serial stdio: cannot use stdio by multiple character devices\n"),
    (["-chardev", "socket,id=s,path=/nonexistent/s,telnet=on"],
     "-chardev socket,id=s,path=/nonexistent/s,telnet=on: "
     "telnet=on is not supported by qemu-py (no telnet protocol)\n"),
    (["-qtest", "mon:stdio"], 'Failed to initialize device for qtest: "mon:stdio"\n'),
]


def run(args, timeout=20, **kw):
    if "input" not in kw:
        kw["stdin"] = subprocess.DEVNULL
    return subprocess.run([sys.executable, "-m", "qemu_py", "-M", "none", "-display", "none",
                           *args], capture_output=True, text=True, timeout=timeout, env=ENV,
                          **kw)


@pytest.mark.parametrize("args,text", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_chardev_option_is_refused_with_qemus_text(args, text):
    r = run(args)
    assert (r.returncode, r.stderr) == (1, f"{PROG}: {text}")


@pytest.mark.parametrize("args", [
    ["-chardev", "pipe,id=p,path=/dev/null"],
    ["-serial", "pipe:/dev/null"],
    ["-monitor", "pipe:/dev/null"],
    ["-qtest", "pipe:/dev/null"],
    ["-monitor", "mon:null"],
    ["-chardev", "null,id=c,mux=on", "-mon", "chardev=c", "-serial", "chardev:c"],
])
def test_pipe_on_any_file_and_mux_forms_are_accepted(args):
    """QEMU opens PATH itself when PATH.in/PATH.out are missing; /dev/null reads as
    end of file. The machine runs until the signal, with no error at all."""
    p = subprocess.Popen([sys.executable, "-m", "qemu_py", "-M", "none", "-display", "none",
                          *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,
                         env=ENV)
    try:
        out, err = p.communicate(timeout=1.5)
    except subprocess.TimeoutExpired:
        p.terminate()
        out, err = p.communicate(timeout=20)
    assert "Traceback" not in err and "Error" not in err, err
    assert p.returncode == 0, err


def test_logfile_gets_what_the_monitor_writes_and_logappend_appends(tmp_path):
    log = tmp_path / "mon.log"
    log.write_text("before\n")
    r = run(["-chardev", f"stdio,id=c,logfile={log},logappend=on", "-mon", "chardev=c"],
            input="info status\nquit\n")
    assert r.returncode == 0, r.stderr
    assert log.read_text().startswith("before\nQEMU ") and "VM status: running" in log.read_text()
    assert log.read_bytes().count(b"VM status") == r.stdout.count("VM status") == 1
    r = run(["-chardev", f"stdio,id=c,logfile={log}", "-mon", "chardev=c"],
            input="quit\n")
    assert not log.read_text().startswith("before")
