"""Device models: misc."""
