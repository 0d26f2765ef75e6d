"""Device models: pci."""
