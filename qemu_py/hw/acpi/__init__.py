"""ACPI for the x86 boards: the static tables (:mod:`.tables`, :mod:`.aml`) a
kernel booted without firmware reads, and the fixed-hardware PM block
(:mod:`.pm`) with the PM timer and the S5 soft-off control."""
