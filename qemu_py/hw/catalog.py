"""Imports every board and device module so that their QOM types register."""

from .core import null_machine  # noqa: F401
