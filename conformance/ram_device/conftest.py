"""Fixtures of the ram_device suite: one rig per module and kind (building a
machine per hypothesis example would dominate the run time); every test
starts from an empty hardware access log."""

import pytest

from .rig import Rig


def pytest_collection_modifyitems(items):
    for item in items:
        if "conformance/ram_device" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.conformance)


@pytest.fixture(scope="module")
def inproc_rig():
    rig = Rig("inproc")
    yield rig
    rig.close()


@pytest.fixture(scope="module")
def qtest_rig(tmp_path_factory):
    rig = Rig("qtest", log_dir=str(tmp_path_factory.mktemp("ramd-qtest")))
    yield rig
    rig.close()


@pytest.fixture(params=["inproc", "qtest"])
def rig(request):
    rig = request.getfixturevalue(f"{request.param}_rig")
    rig.drain()
    return rig
