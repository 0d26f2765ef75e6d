import pytest

from qemu_py.system.opts import OptsError, parse_opts, split_opts


def test_escaped_comma_and_implied_key():
    assert split_opts("a,,b,c") == ["a,b", "c"]
    assert parse_opts("socket,id=x,path=/tmp/a,,b", implied_key="backend") == {
        "backend": "socket", "id": "x", "path": "/tmp/a,b"}


def test_bool_shorthands():
    assert parse_opts("server,nowait", bool_keys=("server", "wait")) == {"server": "on", "wait": "off"}


def test_bare_word_without_implied_key_is_an_error():
    with pytest.raises(OptsError, match="Invalid parameter 'bogus'"):
        parse_opts("a=1,bogus")
