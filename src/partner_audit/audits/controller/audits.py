"""HTTP for audits: audits (filled in by its branch)."""

ROUTERS: list = []
