"""qemu-py-x86_64's command line: options, their environment twins, errors."""

import pytest

from qemu_py.user.main import UsageError, main, parse_args


def test_options_and_environment_twins():
    o, prog, args, action = parse_args(["-strace", "-L", "/x", "-E", "A=1,B=2", "-U", "C",
                                        "-s", "1M", "prog", "-strace", "arg"],
                                       {"QEMU_STACK_SIZE": "64k", "QEMU_CPU": "qemu64"})
    assert (prog, args, action) == ("prog", ["-strace", "arg"], None)
    assert o.strace and o.prefix == "/x" and o.set_env == ["A=1", "B=2"]
    assert o.unset_env == ["C"] and o.stack_size == 1 << 20     # the option wins
    o, *_ = parse_args(["prog"], {"QEMU_STRACE": "", "QEMU_LD_PREFIX": "/p"})
    assert o.strace and o.prefix == "/p"


@pytest.mark.parametrize("argv, text", [
    ([], "no user program specified"), (["-x"], "unknown option 'x'"),
    (["-L"], "'L' requires an argument"), (["-s", "0", "p"], "Invalid stack size: 0"),
    (["-cpu", "pentium9", "p"], "unable to find CPU model 'pentium9'"),
    (["-seed", "abc", "p"], "Invalid seed number: abc")])
def test_usage_errors(argv, text):
    with pytest.raises(UsageError, match=text):
        parse_args(argv, {})


def test_help_and_version(capsys):
    assert main(["-h"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: qemu-py-x86_64 [options] program [arguments...]\n")
    assert "-strace              QEMU_STRACE       log system calls" in out
    assert main(["-version"]) == 0
    assert capsys.readouterr().out.startswith("qemu-py-x86_64 version ")
