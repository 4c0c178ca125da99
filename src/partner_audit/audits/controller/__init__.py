"""HTTP for audits, by part; thin: the rules are in ``audits.services``."""

from partner_audit.audits.controller import audits, calendars, planning, spot_checks

ROUTERS = [*audits.ROUTERS, *planning.ROUTERS, *spot_checks.ROUTERS, *calendars.ROUTERS]
