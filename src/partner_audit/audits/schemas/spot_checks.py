"""Request and response bodies: spot_checks."""
