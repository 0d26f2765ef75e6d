"""Fixtures of the BBML2 suite.

``mode`` runs a test twice: "qemu" (default behaviour, which must match QEMU
7.2) and "strict" (``strict-arch=on``). ``make(**kw)`` builds a programmed
SMMU (a :class:`~.rig.Setup`) on the selected rig: "inproc" (this process)
or "qtest" (the ``virt`` machine with an ``edu`` device, driven over the
qtest protocol).
"""

import pytest

from .rig import Setup
from .qtest_rig import QTestRig, qtest_available

RIGS = ["inproc", "qtest"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "smmu_bbml2" in str(item.fspath):
            item.add_marker(pytest.mark.conformance)


@pytest.fixture(params=["qemu", "strict"])
def mode(request):
    return request.param


@pytest.fixture(params=RIGS)
def rig_kind(request):
    if request.param == "qtest" and not qtest_available():
        pytest.fail("the qtest rig needs the aarch64 virt machine and the edu device")
    return request.param


@pytest.fixture
def make(mode, rig_kind, request):
    made = []

    def factory(**kw):
        strict = mode == "strict"
        rig = QTestRig(strict=strict) if rig_kind == "qtest" else None
        if rig is not None:
            made.append(rig)
        return Setup(strict=strict, rig=rig, **kw)

    yield factory
    for rig in made:
        rig.close()


@pytest.fixture
def make_inproc(mode):
    def factory(**kw):
        return Setup(strict=mode == "strict", **kw)
    return factory
