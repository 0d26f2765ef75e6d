"""Device models: char."""
