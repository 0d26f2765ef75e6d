"""Virtio: the device core with split virtqueues (``virtio``), the modern PCI
transport (``virtio_pci``), the virtio-mmio transports of microvm
(``virtio_mmio``) and the balloon (``balloon``)."""

from . import balloon, virtio, virtio_mmio, virtio_pci  # noqa: F401
