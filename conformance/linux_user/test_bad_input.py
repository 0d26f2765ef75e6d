"""Programs that cannot run: one line naming the problem, exit status 1."""

from __future__ import annotations

import struct

import pytest

from .runner import emulator_argv, emulator_env, run


def _elf(machine=62, phnum=1, phoff=64, interp=None) -> bytes:
    ehdr = b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack(
        "<HHIQQQIHHHHHH", 2, machine, 1, 0x400078, phoff, 0, 0, 64, 56, phnum, 64, 0, 0)
    body = b""
    phdrs = [struct.pack("<IIQQQQQQ", 1, 5, 0, 0x400000, 0x400000, 0x1000, 0x1000, 0x1000)]
    if interp is not None:
        path = interp.encode() + b"\0"
        phdrs.insert(0, struct.pack("<IIQQQQQQ", 3, 4, 0x200, 0x400200, 0, len(path),
                                    len(path), 1))
        body = path
        ehdr = ehdr[:56] + struct.pack("<H", 2) + ehdr[58:]
    img = ehdr + b"".join(phdrs)
    img = img.ljust(0x200, b"\0") + body
    return img.ljust(0x1000, b"\xf4")


CASES = {
    "not_elf": (b"#!not really\nhello\n", "Invalid ELF image for this architecture"),
    "wrong_arch": (_elf(machine=183), "Invalid ELF image for this architecture"),
    "absurd_phdrs": (_elf(phnum=60000, phoff=0xFFFF_FFFF), "program headers: 60000"),
    "missing_interp": (_elf(interp="/nonexistent/ld.so"),
                       "Could not open '/nonexistent/ld.so': No such file or directory"),
}


@pytest.mark.conformance
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_program(tmp_path, case):
    data, text = CASES[case]
    path = tmp_path / case
    path.write_bytes(data)
    path.chmod(0o755)
    r = run(emulator_argv() + [str(path)], env=emulator_env())
    assert r.status == 1
    err = r.stderr.decode()
    assert err.count("\n") == 1 and err.startswith(f"qemu-py-x86_64: {path}: "), err
    assert text in err
    assert "Traceback" not in err


@pytest.mark.conformance
@pytest.mark.parametrize("argv, text", [
    ([], "no user program specified"),
    (["-bogus", "x"], "unknown option 'bogus'"),
    (["-s", "lots", "/bin/true"], "Invalid stack size: lots"),
    (["-d", "nope", "/bin/true"], 'Invalid -d option "nope"'),
    (["/nonexistent/program"], "/nonexistent/program: No such file or directory"),
])
def test_bad_command_line(argv, text):
    r = run(emulator_argv(argv), env=emulator_env())
    assert r.status == 1
    assert r.stderr.decode() == f"qemu-py-x86_64: {text}\n"
