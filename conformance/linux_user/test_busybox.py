"""Debian's busybox-static applets under qemu-py and natively: byte-identical."""

from __future__ import annotations

import pytest

from .runner import compare

NUMBERS = "".join(f"{(i * 37) % 101}\n" for i in range(200)).encode()
TEXT = b"the quick brown fox\njumps over\nthe lazy dog\nthe end\n"

CASES = {
    "echo": (["echo", "hello", "world"], b""),
    "printf": (["printf", "%s=%05d %x\\n", "a", "42", "255"], b""),
    "seq": (["seq", "2", "3", "40"], b""),
    "sort": (["sort", "-n"], NUMBERS),
    "uniq": (["uniq", "-c"], b"a\na\nb\nc\nc\nc\n"),
    "md5sum": (["md5sum"], NUMBERS),
    "sha256sum": (["sha256sum"], NUMBERS),
    "wc": (["wc"], TEXT),
    "tr": (["tr", "a-z", "A-Z"], TEXT),
    "sed": (["sed", "-e", "s/the/THE/g", "-e", "2d"], TEXT),
    "awk": (["awk", "{ s += $1; n++ } END { printf \"%d %.3f\\n\", s, s / n }"], NUMBERS),
    "grep": (["grep", "-n", "the"], TEXT),
    "cut": (["cut", "-d", " ", "-f", "2"], TEXT),
    "od": (["od", "-A", "x", "-t", "x1z"], TEXT),
    "base64": (["base64"], NUMBERS),
    "expr": (["expr", "7", "*", "6"], b""),
    "false": (["false"], b""),
}


@pytest.mark.conformance
@pytest.mark.parametrize("applet", sorted(CASES))
def test_applet(busybox, applet):
    args, stdin = CASES[applet]
    mismatch = compare([busybox] + args, stdin=stdin)
    assert mismatch is None, mismatch


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "one.txt").write_text("one\n")
    (tmp_path / "a" / "b" / "two.txt").write_text("two\n" * 100)
    (tmp_path / "c").symlink_to("a/one.txt")
    for p in [tmp_path / "a" / "one.txt", tmp_path / "a" / "b" / "two.txt"]:
        p.touch()
        __import__("os").utime(p, (1_600_000_000, 1_600_000_000))
    return tmp_path


@pytest.mark.conformance
@pytest.mark.parametrize("args", [["ls"], ["ls", "-la", "--color=never", "a"], ["find", "."],
                                  ["find", ".", "-name", "*.txt", "-type", "f"],
                                  ["tar", "cf", "-", "a"], ["du", "-s", "a"]],
                         ids=["ls", "ls-la", "find", "find-name", "tar", "du"])
def test_tree_applet(busybox, tree, args):
    mismatch = compare([busybox] + args, cwd=str(tree))
    assert mismatch is None, mismatch


@pytest.mark.conformance
def test_writer_to_closed_pipe_dies_of_sigpipe(busybox):
    """seq writing into a pipe whose reader has gone: killed by SIGPIPE like natively."""
    import subprocess

    from .runner import emulator_argv, emulator_env

    def status(argv, env=None):
        w = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env)
        w.stdout.readline()
        w.stdout.close()
        return w.wait(timeout=300)
    native = status([busybox, "seq", "1", "1000000"])
    emulated = status(emulator_argv() + [busybox, "seq", "1", "1000000"], emulator_env())
    assert native == emulated == -13
