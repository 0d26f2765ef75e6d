import pytest

from .harness import InProcess


@pytest.fixture
def session():
    s = InProcess(["-M", "none", "-m", "16M", "-accel", "qtest"])
    yield s
    s.close()
