"""Figures across providers: the quarterly report's aggregates, as pure functions from frames to the schemas'
structs. Every figure is computed with vectorised pandas (groupby, pivot, masks): no loop over groups, no
``apply`` with a Python function. Loops here only turn finished rows into structs.

Its parts, each pure and each taking the frames below:

edition     who the figures are for (``Edition``: the audience and the settings that shape them), and the helpers
            that round and blank figures at the edge
facts       what the report stands on besides scores (``Facts``), and the empty frames of an empty register
scores      figures of scores: the provider table, distributions by region, tier and kind, the trend, the weakest
            controls and recommendations, recommendations by implementation, the heatmap, providers by score and
            the assurance gap
activity    figures of what providers and auditors did: rollouts, corrective actions, device exceptions,
            incidents and breach assessments
summary     the headline figures under recommendation 18's headings, each beside last quarter's
report      ``quarterly()``: the whole report of one quarter, assembled from the parts above

What the frames hold (``services.quarterly`` reads them, one query a table; tests build them by hand):

- ``table`` (``provider_table``): one row per provider and quarter with a standing; provider_id, quarter, name,
  region, tier, kind, self_assessed, verified, completeness, audited, gap. Exited providers are left out.
- the engine's ``Scores`` over the same subjects, and the ``Library`` for titles.
- fact frames (``Facts``): the quarter's rollouts' assessments, closed audits, corrective actions, device
  assignments and attestations, spot-check items, incidents and breach assessments. Dates are ``datetime64``
  midnights (a timestamp as the New Zealand day it fell on); instants (breach clocks) are UTC ``datetime64``.

As-at rules. Scores stand as at the quarter's end (the contract); how things open, late rounds and breach clocks
are counted is in ``activity``'s docstring.

Governance edition: no provider names or ids anywhere, the lists of providers, actions and devices by provider
empty, and any group of fewer providers than the minimum group size suppressed (its figures null, ``suppressed``
true). Where a struct has no ``suppressed`` flag (weakest controls, rounds), a part scored by too few providers or
a round of too few assessments is left out.

Numbers are rounded to one decimal in this package, at the edge, and nowhere earlier.
"""

from partner_audit.reports.aggregation.activity import (
    DEVICE_EXCEPTION_RESULTS,
    SUBMITTED,
    breaches,
    corrective_actions,
    device_exceptions,
    incidents,
    rollouts,
)
from partner_audit.reports.aggregation.edition import Edition
from partner_audit.reports.aggregation.facts import Facts, empty_frames
from partner_audit.reports.aggregation.report import TREND_QUARTERS, quarterly
from partner_audit.reports.aggregation.scores import (
    ALL_PROVIDERS,
    BANDS,
    DIMENSIONS,
    KIND_LABELS,
    WEAKEST,
    _titles,
    assurance_gap,
    distributions,
    heatmap,
    provider_table,
    providers,
    recommendation_progress,
    trend,
    weakest,
)
from partner_audit.reports.aggregation.summary import (
    BREACHES,
    COMPLIANCE,
    HEADINGS,
    HEADLINES,
    IMPLEMENTATION,
    PROGRESS,
    TRENDS,
    figures,
    headlines,
)

# ``_titles`` stays importable from here: the benchmark and the tests call it directly.
__all__ = [
    "ALL_PROVIDERS", "BANDS", "BREACHES", "COMPLIANCE", "DEVICE_EXCEPTION_RESULTS", "DIMENSIONS", "HEADINGS",
    "HEADLINES", "IMPLEMENTATION", "KIND_LABELS", "PROGRESS", "SUBMITTED", "TRENDS", "TREND_QUARTERS", "WEAKEST",
    "Edition", "Facts", "_titles", "assurance_gap", "breaches", "corrective_actions", "device_exceptions",
    "distributions", "empty_frames", "figures", "headlines", "heatmap", "incidents", "provider_table", "providers",
    "quarterly", "recommendation_progress", "rollouts", "trend", "weakest",
]
