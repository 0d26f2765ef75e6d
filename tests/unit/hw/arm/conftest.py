"""Fixtures for the SMMUv3 unit tests: an in-process rig (RAM + SMMUv3 + one
requester at SID 8), a driver, and stage-1 tables in guest RAM."""

import os
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from conformance.smmu_bbml2.rig import Setup  # noqa: E402

@pytest.fixture
def setup():
    return Setup()


@pytest.fixture
def make_setup():
    return Setup
