"""``device_add`` of a PCI device over QMP on a running ``pc`` (with the shared QTest client)."""

import pytest

from qemu_py.qtest.client import QTest


@pytest.fixture
def qt(tmp_path):
    q = QTest(["-M", "pc"], log_dir=str(tmp_path)).launch()
    yield q
    q.close()


def test_device_add_pci_testdev_appears_in_config_space(qt):
    assert qt.qmp("device_add", driver="pci-testdev", id="td0") == {}
    qt.outl(0xcf8, 0x80000000 | (2 << 11))          # first free slot after 00.0 and 01.0
    assert qt.inl(0xcfc) == 0x00051b36
    with pytest.raises(Exception, match="Duplicate device ID 'td0'"):
        qt.qmp("device_add", driver="pci-testdev", id="td0")
