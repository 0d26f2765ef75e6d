"""The fuzz targets by name. Each module defines ``one(data: bytes)`` and
``seeds() -> list[bytes]`` (the seed corpus it was committed with)."""

from __future__ import annotations

import importlib

TARGETS = {
    "qtest_lines": "qtest lines over none, pc, microvm, virt (SMMU, edu) and pseries",
    "qmp_documents": "QMP JSON documents: lexer, parser, dispatcher",
    "hmp_lines": "HMP command lines through human-monitor-command",
    "hmp_expr": "the HMP expression parser",
    "cmdline": "the command-line parser and machine construction",
    "kernel_image": "the -kernel loaders (ELF, multiboot, PVH, Linux bzImage)",
    "virtio_queue": "virtio queue processing of guest-written rings (balloon on pc)",
    "x86_code": "random x86-64 code executed at CPL3 by the TCG CPU",
}


def load(name: str):
    if name not in TARGETS:
        raise SystemExit(f"unknown fuzz target '{name}' (known: {', '.join(TARGETS)})")
    return importlib.import_module(f"tests.fuzz.targets.{name}")
