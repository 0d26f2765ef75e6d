"""VFIO device assignment with a simulated host device.

``host_sim`` (the ``vfio-host-sim`` object: the VFIO device file and the
hardware behind it), ``rtl8168`` (a simulated RTL8168 NIC), ``container``
(groups, legacy containers, the simulated IOMMU, RAM-discard counting),
``region`` (vfio_region_ops and the ram_device mmaps), ``quirks`` (BAR
quirks) and ``pci`` (the ``vfio-pci`` device).  See docs/vfio.md.
"""

from . import host_sim, pci, rtl8168  # noqa: F401
