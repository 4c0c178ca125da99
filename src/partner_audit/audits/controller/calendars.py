"""HTTP for audits: calendars (filled in by its branch)."""

ROUTERS: list = []
