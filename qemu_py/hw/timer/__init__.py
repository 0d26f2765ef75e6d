"""Device models: timer."""
