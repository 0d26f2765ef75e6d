import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from harness import X86Bed  # noqa: E402


@pytest.fixture(params=["interp", "python", "llvm"])
def backend(request):
    return request.param


@pytest.fixture
def bed(backend):
    return X86Bed(backend)
