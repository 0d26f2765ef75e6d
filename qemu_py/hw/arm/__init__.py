"""Arm boards and Arm-specific devices: the SMMUv3 and the ``virt`` machine."""
