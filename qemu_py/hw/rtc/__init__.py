"""Device models: rtc."""
