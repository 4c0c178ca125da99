"""``quarterly()``: one quarter's governance report, every figure from the parts of this package, shaped for its
edition's audience, with the headlines drawn from this quarter's figures and the previous quarter's.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd

from partner_audit.reports import scoring
from partner_audit.reports.aggregation.activity import (
    breaches,
    corrective_actions,
    device_exceptions,
    incidents,
    rollouts,
)
from partner_audit.reports.aggregation.edition import Edition
from partner_audit.reports.aggregation.facts import Facts
from partner_audit.reports.aggregation.scores import (
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
from partner_audit.reports.aggregation.summary import figures, headlines
from partner_audit.reports.quarters import Quarter
from partner_audit.reports.schemas import QuarterlyReport

TREND_QUARTERS = 8


def _body(facts: Facts, table: pd.DataFrame, quarter: Quarter, edition: Edition, today: date, now: datetime,
          attestation_days: int) -> dict[str, Any]:
    """Every figure of one quarter but the headlines."""
    control_titles, area_titles, placed = _titles(facts.library)
    scores = facts.scores
    return {
        **_headline_body(facts, table, quarter, edition, today, now, attestation_days, placed),
        "weakest_controls": weakest(scores.controls, table, quarter, "control", control_titles, edition),
        "weakest_recommendations": weakest(scores.recommendations, table, quarter, "recommendation",
                                           placed["title"], edition),
        "heatmap": heatmap(scores.areas, table, quarter, area_titles, edition),
        "providers": providers(table, quarter, facts.audits_closed, edition),
    }


def _headline_body(facts: Facts, table: pd.DataFrame, quarter: Quarter, edition: Edition, today: date,
                   now: datetime, attestation_days: int, placed: pd.DataFrame) -> dict[str, Any]:
    """The parts of a quarter's figures its headlines are drawn from: all the previous quarter needs."""
    # Open things are counted as at the quarter's end, or today while the quarter is still running.
    as_of = min(quarter.ends_on, today)
    return {
        "rollouts": rollouts(facts.assessments, quarter, today, edition),
        "distributions": distributions(table, quarter, edition),
        "trend": trend(table, quarter.last(TREND_QUARTERS), edition),
        "recommendations": recommendation_progress(facts.scores.recommendations, table, quarter, placed, edition),
        "assurance_gap": assurance_gap(table, quarter, facts.audits_closed, edition),
        "corrective_actions": corrective_actions(facts.actions, facts.providers, quarter, as_of, edition),
        "device_exceptions": device_exceptions(facts, quarter, as_of, attestation_days, edition),
        "incidents": incidents(facts.incidents, quarter),
        "breaches": breaches(facts.incidents, facts.breaches, quarter, now),
    }


def quarterly(facts: Facts, quarter: Quarter, edition: Edition, *, today: date, now: datetime,
              attestation_days: int) -> QuarterlyReport:
    """The quarterly governance report's figures for ``quarter``, shaped for ``edition``'s audience. The
    previous quarter's figures are made the same way, as at its own end, for the headlines' comparison."""
    table = provider_table(facts.providers, facts.standings, facts.scores)
    body = _body(facts, table, quarter, edition, today, now, attestation_days)
    before = _headline_body(facts, table, quarter.previous(), edition, today, now, attestation_days,
                            _titles(facts.library)[2])
    return QuarterlyReport(
        quarter=str(quarter), starts_on=quarter.starts_on, ends_on=quarter.ends_on,
        previous_quarter=str(quarter.previous()), audience=edition.audience, made_at=now,
        min_group_size=edition.min_group_size, bands=scoring.band_words(edition.green_from, edition.amber_from),
        headlines=headlines(figures(body, quarter), figures(before, quarter.previous())), **body)
