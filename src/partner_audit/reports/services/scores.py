"""Scores for the people who read them: one provider's over time (the agency's teams, and that provider's own
people), and their spread across providers by region, tier or kind (the agency's teams and governance).

Governance sees aggregates only: no provider's name or id, and a group of fewer providers than
PA_REPORT_MIN_GROUP_SIZE shows its size and nothing else, since its figures could point at one provider.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

import pandas as pd

from partner_audit.errors import DomainError
from partner_audit.providers.tables import Provider
from partner_audit.reports import aggregation, scoring
from partner_audit.reports.quarters import Quarter
from partner_audit.reports.schemas import (
    AssessmentScores,
    Audience,
    Band,
    Distribution,
    PartScore,
    ProviderScoresOut,
    Score,
)
from partner_audit.reports.services import frames
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller, Role
from partner_audit.security.tenancy import require_row, scoped
from partner_audit.settings import Settings

MAX_QUARTERS = 20  # five years of one provider's scores in one answer
DEFAULT_QUARTERS = 8
Dimension = Literal["all", "region", "tier", "kind"]
DIMENSIONS: tuple[str, ...] = ("all", "region", "tier", "kind")


class BadQuery(DomainError):
    """A query parameter that cannot be answered as asked (a quarter range backwards or too long)."""

    status_code = 400
    title = "Bad request"


def nz_today() -> date:
    return datetime.now(ZoneInfo(frames.NZ)).date()


def quarter_range(start: Quarter | None, end: Quarter | None, today: date | None = None) -> list[Quarter]:
    """The quarters from ``start`` to ``end`` (both included, oldest first): by default the eight to this one."""
    end = end or Quarter.of(today or nz_today())
    start = start or end.shifted(-(DEFAULT_QUARTERS - 1))
    if start > end:
        raise BadQuery(f"from: {start} is after to ({end}): give the earlier quarter first",
                       errors=[{"field": "from", "message": f"{start} is after {end}"}])
    count = (end.year - start.year) * 4 + end.number - start.number + 1
    if count > MAX_QUARTERS:
        raise BadQuery(f"from: {start} to {end} is {count} quarters; ask for at most {MAX_QUARTERS} at a time",
                       errors=[{"field": "from", "message": f"at most {MAX_QUARTERS} quarters before `to`"}])
    return end.last(count)


# --- one provider's scores over time ---------------------------------------------------------------------------


async def provider_scores(caller: Caller, provider_id: UUID | str, quarters: list[Quarter], *,
                          settings: Settings) -> ProviderScoresOut:
    """``provider_id``'s scores at the end of each quarter, oldest first: overall, by focus area, control and plan
    recommendation, self-assessed and verified, with bands. A provider's people see their own provider only;
    another provider's id is answered as one that does not exist."""
    policies.SEE_PROVIDER_SCORES.check(caller)
    async with access_log.audited(caller, "scores.read", "provider", provider_id, provider_id, writes=False) as log:
        query = Provider.select(Provider.id, Provider.name).where(Provider.id == str(provider_id))
        provider = require_row(await scoped(query, Provider.id, caller).first().run(), "provider", provider_id)
        standing, library, scores = await frames.scored(quarters, [str(provider["id"])])
        log.details.append(f"{quarters[0]} to {quarters[-1]}" if quarters else "no quarters")
    titles = _titles(library)
    green, amber = settings.score_band_green_from, settings.score_band_amber_from
    by_quarter = standing.set_index("quarter")
    overall = _with_bands(scores.overall, green, amber).to_dict("index")
    areas = _parts(_with_bands(scores.areas, green, amber), "area_id", titles["areas"])
    controls = _parts(_with_bands(scores.controls, green, amber), "control_id", titles["controls"])
    recommendations = _parts(_with_bands(_with_counts(scores.recommendations, scores.controls, library, standing),
                                         green, amber), "recommendation", {})
    out = []
    for quarter in quarters:
        key = str(quarter)
        if key not in by_quarter.index:
            out.append(_no_standing(provider["id"], key))
            continue
        row = by_quarter.loc[key]
        subject = row["subject"]
        figures = overall.get(subject, {})
        self_assessed, verified = _score(figures, "self_assessed"), _score(figures, "verified")
        gap = (figures["self_assessed"] - figures["verified"]
               if _present(figures.get("self_assessed")) and _present(figures.get("verified")) else None)
        out.append(AssessmentScores(
            provider_id=provider["id"], quarter=key, assessment_id=UUID(row["assessment_id"]),
            assessment_period=row["assessment_period"], self_assessed=self_assessed, verified=verified,
            gap=_round(gap), audited=bool(figures.get("audited", False)),
            areas=areas.get(subject, []), controls=controls.get(subject, []),
            recommendations=recommendations.get(subject, []),
        ))
    return ProviderScoresOut(provider_id=provider["id"], provider_name=provider["name"], quarters=out)


def _titles(library: scoring.Library) -> dict[str, dict[str, str]]:
    questions = library.questions
    areas = questions.drop_duplicates("area_id").set_index("area_id")["area_title"].to_dict()
    controls = questions.drop_duplicates("control_id").set_index("control_id")["control_title"].to_dict()
    return {"areas": areas, "controls": controls}


COUNTS = ["answered", "not_applicable", "unanswered"]


def _with_counts(recommendations: pd.DataFrame, controls: pd.DataFrame, library: scoring.Library,
                 standing: pd.DataFrame) -> pd.DataFrame:
    """The recommendations' scores with their questions' counts: the sums over the controls that carry each (a
    question sits in one control, so none is counted twice), as the engine gives recommendations no counts."""
    carried = controls[COUNTS].reset_index().merge(
        standing[["subject", "template_version"]], on="subject").merge(
        library.recommendations, on=["template_version", "control_id"])
    counts = carried.groupby(["subject", "recommendation"])[COUNTS].sum()
    return recommendations.join(counts, how="left")


def _with_bands(frame: pd.DataFrame, green: float, amber: float) -> pd.DataFrame:
    frame = frame.copy()
    for column in ("self_assessed", "verified"):
        frame[f"{column}_band"] = scoring.bands(frame[column], green, amber)
    return frame


def _parts(frame: pd.DataFrame, part: str, titles: dict[Any, str]) -> dict[str, list[PartScore]]:
    """Each subject's part scores (areas, controls or recommendations) in the engine's order."""
    out: dict[str, list[PartScore]] = {}
    for row in frame.reset_index().to_dict("records"):
        ident = row[part]
        name = str(int(ident)) if part == "recommendation" else str(ident)
        title = f"Recommendation {name}" if part == "recommendation" else titles.get(ident, name)
        rating = row.get("rating")
        out.setdefault(row["subject"], []).append(PartScore(
            id=name, title=title, self_assessed=_score(row, "self_assessed"), verified=_score(row, "verified"),
            rating=rating if isinstance(rating, str) else None))
    return out


def _score(row: dict[str, Any], column: str) -> Score:
    value, band = row.get(column), row.get(f"{column}_band")
    return Score(score=_round(value), band=Band(band) if isinstance(band, str) else None,
                 completeness=_round(row.get("completeness")), answered=_count(row.get("answered")),
                 not_applicable=_count(row.get("not_applicable")), unanswered=_count(row.get("unanswered")))


def _no_standing(provider_id: Any, quarter: str) -> AssessmentScores:
    nothing = Score(score=None, band=None, completeness=None, answered=0, not_applicable=0, unanswered=0)
    return AssessmentScores(provider_id=provider_id, quarter=quarter, assessment_id=None, assessment_period=None,
                            self_assessed=nothing, verified=nothing, gap=None, audited=False, areas=[], controls=[],
                            recommendations=[])


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _round(value: Any) -> float | None:
    """One decimal, at the edge only (the engine keeps full precision)."""
    return round(float(value), 1) if _present(value) else None


def _count(value: Any) -> int:
    return int(value) if _present(value) else 0


# --- across providers ------------------------------------------------------------------------------------------


async def aggregates(caller: Caller, quarter: Quarter, dimension: Dimension = "all", *,
                     settings: Settings) -> list[Distribution]:
    """The spread of providers' overall scores at the end of ``quarter``, by ``dimension`` (one group for
    "all"), with the previous quarter's median beside each group's. Counted: every provider with a standing
    that has not exited. Governance: groups smaller than the minimum group size are suppressed."""
    policies.SEE_SCORE_AGGREGATES.check(caller)
    if dimension not in DIMENSIONS:
        raise BadQuery(f"dimension: must be one of {', '.join(DIMENSIONS)}",
                       errors=[{"field": "dimension", "message": f"must be one of {', '.join(DIMENSIONS)}"}])
    async with access_log.audited(caller, "scores.aggregate", "scores", writes=False) as log:
        log.details.append(f"{quarter} by {dimension}")
        standing, _, scores = await frames.scored([quarter.previous(), quarter], None)
        registry = await frames.providers()
    if standing.empty:
        return []
    table = aggregation.provider_table(registry, standing, scores)
    audience = Audience.governance if caller.role is Role.governance else Audience.full
    edition = aggregation.Edition(audience, settings.report_min_group_size, settings.score_band_green_from,
                                  settings.score_band_amber_from)
    return [d for d in aggregation.distributions(table, quarter, edition) if d.dimension == dimension]
