import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(params=["interp", "python", "llvm"])
def backend(request):
    return request.param
