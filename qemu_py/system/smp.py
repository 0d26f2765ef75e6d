"""``-smp``: QEMU 7.2's CPU topology parsing (``machine_parse_smp_config``).

Keys ``cpus`` (implied), ``sockets``, ``dies``, ``clusters``, ``cores``,
``threads``, ``maxcpus``; omitted values are derived as QEMU does for current
machine types (cores preferred over sockets), and an inconsistent topology is
refused with QEMU's texts. qemu-py runs one CPU per machine, so a topology of
more than one CPU is then refused with a message saying so.
"""

from __future__ import annotations

from dataclasses import dataclass

from .numbers import NumberError, strtou
from .opts import OptsError, parse_opts

KEYS = ("cpus", "sockets", "dies", "clusters", "cores", "threads", "maxcpus")


class SmpError(ValueError):
    pass


@dataclass
class SmpTopology:
    cpus: int
    sockets: int
    dies: int
    clusters: int
    cores: int
    threads: int
    maxcpus: int


def parse_smp(text: str) -> SmpTopology:
    try:
        opts = parse_opts(text, implied_key="cpus")
    except OptsError as e:
        raise SmpError(str(e)) from None
    val = {}
    for key, raw in opts.items():
        if key not in KEYS:
            raise SmpError(f"Parameter 'smp.{key}' is unexpected")
        try:
            val[key] = strtou(raw)
        except NumberError:
            raise SmpError(f"Parameter 'smp.{key}' expects integer") from None
    for key, v in val.items():
        if v == 0:
            raise SmpError("CPU topology parameters must be greater than zero")
    cpus, maxcpus = val.get("cpus", 0), val.get("maxcpus", 0)
    dies, clusters = val.get("dies", 1), val.get("clusters", 1)
    sockets, cores, threads = val.get("sockets", 0), val.get("cores", 0), val.get("threads", 0)
    if cpus == 0 and maxcpus == 0:
        sockets, cores, threads = sockets or 1, cores or 1, threads or 1
    else:
        maxcpus = maxcpus or cpus
        sockets, threads = sockets or 1, threads or 1
        cores = cores or maxcpus // (sockets * dies * clusters * threads)
    total = sockets * dies * clusters * cores * threads
    maxcpus = maxcpus or total
    cpus = cpus or maxcpus
    hier = f"sockets ({sockets}) * dies ({dies}) * cores ({cores}) * threads ({threads})"
    if total != maxcpus:
        raise SmpError("Invalid CPU topology: product of the hierarchy must match maxcpus: "
                       f"{hier} != maxcpus ({maxcpus})")
    if maxcpus < cpus:
        raise SmpError("Invalid CPU topology: maxcpus must be equal to or greater than smp: "
                       f"{hier} == maxcpus ({maxcpus}) < smp_cpus ({cpus})")
    return SmpTopology(cpus, sockets, dies, clusters, cores, threads, maxcpus)


def check_single_cpu(topo: SmpTopology) -> None:
    """qemu-py emulates one CPU per machine (and no CPU hotplug)."""
    if topo.cpus > 1 or topo.maxcpus > 1:
        raise SmpError(f"{max(topo.cpus, topo.maxcpus)} CPUs requested, but qemu-py emulates "
                       "one CPU per machine (cpus=1 and maxcpus=1 only)")
