import pytest

from qemu_py.system.numbers import NumberError, parse_size, strtoi, strtou


@pytest.mark.parametrize("text,value", [
    ("4096", 4096), ("0x1000", 0x1000), ("0X1F", 0x1F), ("010", 8), (" \t0x1000", 0x1000),
    ("-1", 0xFFFFFFFFFFFFFFFF), ("+5", 5), ("0", 0), ("0xffffffffffffffff", 2**64 - 1),
])
def test_strtou_accepts_c_literals(text, value):
    assert strtou(text) == value


@pytest.mark.parametrize("text", ["", "0x1000x", "zzz", "1\r", "0x", "09", "1_0", "0x10000000000000000",
                                  " ", "-", "1 "])
def test_strtou_rejects_what_qemu_rejects(text):
    with pytest.raises(NumberError):
        strtou(text)


def test_strtou_negative_wraps_at_width():
    assert strtou("-1", 32) == 0xFFFFFFFF
    assert strtou("-2") == 2**64 - 2


def test_strtoi_ranges():
    assert strtoi("-9223372036854775808") == -(2**63)
    with pytest.raises(NumberError):
        strtoi("9223372036854775808")
    assert strtoi("2147483647", 32) == 2**31 - 1
    with pytest.raises(NumberError):
        strtoi("2147483648", 32)


@pytest.mark.parametrize("text,default,value", [
    ("64M", "b", 64 << 20), ("64", "M", 64 << 20), ("1G", "M", 1 << 30), ("1.5k", "b", 1536),
    ("0x1000", "b", 4096), ("16m", "M", 16 << 20),
])
def test_parse_size(text, default, value):
    assert parse_size(text, default) == value


@pytest.mark.parametrize("text", ["", "abc", "12Q", "-1", "0x"])
def test_parse_size_rejects(text):
    with pytest.raises(NumberError):
        parse_size(text)
