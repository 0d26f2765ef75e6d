"""Imports every board and device module so that their QOM types register."""

from .core import null_machine  # noqa: F401
from .i386 import pc  # noqa: F401
from .i386 import microvm  # noqa: F401
from .misc import debugexit  # noqa: F401
from .pci import testdev  # noqa: F401
from .arm import virt as arm_virt  # noqa: F401
from .ppc import spapr  # noqa: F401
from .vfio import pci as vfio_pci  # noqa: F401
from .virtio import balloon as virtio_balloon  # noqa: F401
