"""Fuzz targets: one module per parser or guest-facing path, each a function
``one(data: bytes)`` that feeds DATA to qemu-py in process and raises
:class:`~tests.fuzz.harness.Finding` (or lets any other exception escape)
when the emulator misbehaves.

* ``python -m tests.fuzz list`` names the targets;
* ``python -m tests.fuzz run TARGET --seconds N`` runs a coverage-guided
  campaign with atheris (libFuzzer) over the committed seed corpus
  (``corpus/TARGET/``) plus a work corpus in the cache directory;
* ``python -m tests.fuzz replay TARGET FILE...`` runs inputs once and says
  what each did;
* ``tests/fuzz/test_fuzz.py`` (the default test run) replays every seed and
  every regression input (``regressions/TARGET/NAME``: a finding, named after
  the failure it caused) and runs each target for a short bounded campaign.
"""
