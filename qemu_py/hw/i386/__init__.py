"""Device models: i386."""
