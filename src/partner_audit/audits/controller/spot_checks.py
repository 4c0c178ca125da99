"""HTTP for audits: spot_checks (filled in by its branch)."""

ROUTERS: list = []
