"""Device models: intc."""
