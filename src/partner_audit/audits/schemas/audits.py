"""Request and response bodies: audits."""
