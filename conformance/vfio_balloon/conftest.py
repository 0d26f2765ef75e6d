"""Marks the vfio_balloon suite as conformance tests."""

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "conformance/vfio_balloon" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.conformance)
