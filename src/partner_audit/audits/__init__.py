"""Audits: risk-based plans of audits within auditors' capacity and independence, the audits and their findings,
corrective actions, device spot-checks, calendar feeds and reminders."""
