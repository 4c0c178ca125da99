"""The summary sheet's headline figures, under the plan's recommendation 18 headings in its order, each beside
last quarter's with the change between them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from partner_audit.reports.quarters import Quarter
from partner_audit.reports.schemas import Distribution, Headline

# The plan's recommendation 18 headings, in its order: the summary sheet follows them.
PROGRESS = "Progress with the review findings"
BREACHES = "Privacy breaches and near-misses"
COMPLIANCE = "Compliance"
IMPLEMENTATION = "Implementation of agreed controls and recommendations"
TRENDS = "Trends"
HEADINGS = (PROGRESS, BREACHES, COMPLIANCE, IMPLEMENTATION, TRENDS)


def _headline(heading: str, label: str, value: Any, previous: Any, unit: str) -> Headline:
    def shown(x: Any) -> float | int | None:
        if x is None or pd.isna(x):
            return None
        return int(x) if unit == "count" else round(float(x), 1)

    value, previous = shown(value), shown(previous)
    change = None if value is None or previous is None else (
        value - previous if unit == "count" else round(value - previous, 1))
    return Headline(heading=heading, label=label, value=value, previous=previous, change=change, unit=unit)


# (heading, label, figure, unit), in the summary sheet's order.
HEADLINES: tuple[tuple[str, str, str, str], ...] = (
    (PROGRESS, "Corrective actions open", "actions_open", "count"),
    (PROGRESS, "Corrective actions overdue", "actions_overdue", "count"),
    (PROGRESS, "Corrective actions verified in the quarter", "actions_verified", "count"),
    (BREACHES, "Incidents (lost, stolen, damaged, misuse)", "incidents", "count"),
    (BREACHES, "Near misses", "near_misses", "count"),
    (BREACHES, "Notifiable breaches", "notifiable", "count"),
    (BREACHES, "Breach decisions overdue", "undecided_overdue", "count"),
    (COMPLIANCE, "Median verified score", "median_verified", "score"),
    (COMPLIANCE, "Median self-assessed score", "median_self_assessed", "score"),
    (COMPLIANCE, "Providers green (verified score)", "green_share", "%"),
    (COMPLIANCE, "Assurance gap (mean, audited providers)", "mean_gap", "score"),
    (IMPLEMENTATION, "Self-assessments due in the quarter submitted", "completion", "%"),
    (IMPLEMENTATION, "Recommendations implemented (green, per provider)", "implemented", "%"),
    (IMPLEMENTATION, "Devices overdue for return", "overdue_returns", "count"),
    (IMPLEMENTATION, "Device attestations overdue", "overdue_attestations", "count"),
    (TRENDS, "Providers with a score", "providers", "count"),
    (TRENDS, "Median verified score, change over four quarters", "year_change", "score"),
)


def figures(body: dict[str, Any], quarter: Quarter) -> dict[str, Any]:
    """The headline figures of one quarter's body (``_body``), unrounded, by name."""
    overall = next((d for d in body["distributions"] if d.dimension == "all"), None)
    median = overall.median_verified if overall else None
    points = {t.quarter: t for t in body["trend"]}
    year_ago = points.get(str(quarter.shifted(-4)))
    kinds = {i.kind: i.quarter for i in body["incidents"]}
    recommendations = [r for r in body["recommendations"] if not r.suppressed]
    rated = sum(r.implemented + r.partly + r.not_implemented for r in recommendations)
    due = sum(r.assessments for r in body["rollouts"])
    actions, devices = body["corrective_actions"], body["device_exceptions"]
    return {
        "actions_open": actions.open, "actions_overdue": actions.overdue,
        "actions_verified": actions.verified_in_quarter,
        "incidents": sum(n for kind, n in kinds.items() if kind != "near_miss"),
        "near_misses": kinds.get("near_miss", 0),
        "notifiable": body["breaches"].notifiable, "undecided_overdue": body["breaches"].undecided_overdue,
        "median_verified": median,
        "median_self_assessed": overall.median_self_assessed if overall else None,
        "green_share": _green_share(overall),
        "mean_gap": body["assurance_gap"].mean_gap,
        "completion": sum(r.accepted + r.submitted for r in body["rollouts"]) / due * 100 if due else None,
        "implemented": sum(r.implemented for r in recommendations) / rated * 100 if rated else None,
        "overdue_returns": devices.overdue_returns, "overdue_attestations": devices.overdue_attestations,
        "providers": overall.providers if overall else 0,
        "year_change": None if median is None or year_ago is None or year_ago.median_verified is None
        else median - year_ago.median_verified,
    }


def headlines(now: dict[str, Any], before: dict[str, Any]) -> list[Headline]:
    """The summary sheet's figures under recommendation 18's headings, each beside last quarter's."""
    return [_headline(heading, label, now[name], before[name], unit) for heading, label, name, unit in HEADLINES]


def _green_share(overall: Distribution | None) -> float | None:
    if overall is None or overall.suppressed or not sum(overall.bands.values()):
        return None
    return overall.bands.get("green", 0) / sum(overall.bands.values()) * 100
