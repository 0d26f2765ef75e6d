"""QMP balloon / query-balloon and HMP info balloon, with QEMU 7.2's error texts."""

from qemu_py.qtest import QMPError, QTest


def test_balloon_commands_with_and_without_a_device():
    with QTest(["-M", "pc", "-m", "128M", "-device", "virtio-balloon-pci"]) as qt:
        assert qt.qmp("query-balloon") == {"actual": 128 << 20}
        assert qt.qmp("balloon", value=64 << 20) == {}
        assert qt.hmp("info balloon") == "balloon: actual=128\r\n"   # the guest has not acted
        try:
            qt.qmp("balloon", value="big")
            raise AssertionError("a string value was accepted")
        except QMPError as e:
            assert e.desc == "Invalid parameter type for 'value', expected: integer"
    with QTest(["-M", "pc"]) as qt:
        try:
            qt.qmp("query-balloon")
            raise AssertionError("query-balloon without a balloon succeeded")
        except QMPError as e:
            assert (e.error_class, e.desc) == ("DeviceNotActive",
                                               "No balloon device has been activated")
        assert "query-balloon" in [c["name"] for c in qt.qmp("query-commands")]
