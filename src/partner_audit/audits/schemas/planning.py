"""Request and response bodies: planning."""
