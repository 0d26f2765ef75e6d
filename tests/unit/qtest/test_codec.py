from qemu_py.qtest.codec import decode_write_hex, glib_b64_decode_inplace


def test_write_hex_zero_fills_and_ignores_extra():
    assert decode_write_hex(b"0xAABB", 4) == bytes([0xAA, 0xBB, 0, 0])
    assert decode_write_hex(b"0x112233", 2) == bytes([0x11, 0x22])
    assert decode_write_hex(b"zzaabb", 2) == bytes([0xAA, 0xBB])   # prefix unchecked


def test_write_hex_odd_tail_and_bad_digits():
    assert decode_write_hex(b"0xAAB", 2) == bytes([0xAA, 0])
    assert decode_write_hex(b"0xg1", 1) == bytes([0xF1])            # bad high nibble
    assert decode_write_hex(b"0x1g", 1) == bytes([0xFF])            # bad low nibble


def test_glib_base64_inplace_quirk():
    decoded, buf = glib_b64_decode_inplace(b"AQIDBA==")
    assert decoded == bytes([1, 2, 3, 4])
    assert buf == bytes([1, 2, 3, 4, 0x42, 0x41, 0x3D, 0x3D])


def test_glib_base64_skips_garbage_and_drops_partial_group():
    assert glib_b64_decode_inplace(b"AQ*ID")[0] == bytes([1, 2, 3])
    assert glib_b64_decode_inplace(b"AQIDBA")[0] == bytes([1, 2, 3])
