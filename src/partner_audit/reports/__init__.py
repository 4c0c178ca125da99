"""Scores and reports: how well each provider's controls hold, self-assessed and as its auditors verified them,
and the quarterly governance report (the plan's recommendation 18).

- ``scoring``: the score engine, pure functions over pandas frames (question → control → focus area → overall,
  per plan recommendation, completeness, audit findings overriding what they rated, bands).
- ``aggregation``: figures across providers (region, tier, kind, quarter), vectorised.
- ``services``: reading the frames from the database, scores and aggregates for each role, the quarterly report.
- ``xlsx``: the quarterly report as a workbook. ``controller``: the API.
"""
