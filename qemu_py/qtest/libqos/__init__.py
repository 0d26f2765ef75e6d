"""qtest-side driver helpers: the test acts as the guest (QEMU's libqos, in Python).

* ``inproc``: ``InProcessQTest``, the QTest client API on a machine built
  in this process (same qtest server code, no socket);
* ``malloc``: a guest-RAM allocator;
* ``pci``: PCI enumeration, config space, BAR sizing and mapping, MSI-X;
* ``virtio``: a split-virtqueue driver (feature negotiation, queue set-up
  in guest RAM, descriptor chains, used-ring polling);
* ``virtio_pci`` / ``virtio_mmio``: the two transports;
* ``balloon``: virtio-balloon inflate/deflate/stats.

Every helper works on anything with the QTest accessors (``readl``,
``writel``, ``memread``, ``memwrite``, ``outl``, ``inl``, ``clock_step``):
a :class:`~qemu_py.qtest.client.QTest` or an ``InProcessQTest``.
"""
