"""HTTP for audits: planning (filled in by its branch)."""

ROUTERS: list = []
