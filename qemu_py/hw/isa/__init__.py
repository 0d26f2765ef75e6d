"""ISA bus and ISA bridges (PIIX3)."""
