"""HTTP for scores and reports, by part; thin: the rules are in ``reports.services``."""

from partner_audit.reports.controller import quarterly, scores

ROUTERS = [*scores.ROUTERS, *quarterly.ROUTERS]
