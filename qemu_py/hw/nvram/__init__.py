"""Device models: nvram."""
