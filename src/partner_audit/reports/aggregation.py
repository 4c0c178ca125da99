"""Figures across providers: the quarterly report's aggregates, as pure functions from frames to the schemas'
structs. Every figure is computed with vectorised pandas (groupby, pivot, masks): no loop over groups, no
``apply`` with a Python function. Loops here only turn finished rows into structs.

What the frames hold (``services.quarterly`` reads them, one query a table; tests build them by hand):

- ``table`` (``provider_table``): one row per provider and quarter with a standing; provider_id, quarter, name,
  region, tier, kind, self_assessed, verified, completeness, audited, gap. Exited providers are left out.
- the engine's ``Scores`` over the same subjects, and the ``Library`` for titles.
- fact frames (``Facts``): the quarter's rollouts' assessments, closed audits, corrective actions, device
  assignments and attestations, spot-check items, incidents and breach assessments. Dates are ``datetime64``
  midnights (a timestamp as the New Zealand day it fell on); instants (breach clocks) are UTC ``datetime64``.

As-at rules. Scores stand as at the quarter's end (the contract). Counts of things open (corrective actions,
devices) are taken as at ``as_of``: the quarter's end, or today while the quarter is still running, rebuilt from
their dates (an action verified after the quarter's end was still open at it). Lateness of a round, and breach
clocks, are judged now: a round due in the quarter and still not submitted is late whenever the report is made.

Governance edition: no provider names or ids anywhere, the lists of providers, actions and devices by provider
empty, and any group of fewer providers than the minimum group size suppressed (its figures null, ``suppressed``
true). Where a struct has no ``suppressed`` flag (weakest controls, rounds), a part scored by too few providers or
a round of too few assessments is left out.

Numbers are rounded to one decimal here, at the edge, and nowhere earlier.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import pandas as pd

from partner_audit.audits.schemas import Severity
from partner_audit.devices.schemas import IncidentKind
from partner_audit.reports import scoring
from partner_audit.reports.quarters import Quarter
from partner_audit.reports.schemas import (
    AssuranceGap,
    Audience,
    Band,
    BreachFigures,
    CorrectiveActions,
    DeviceExceptions,
    Distribution,
    HeatCell,
    Headline,
    IncidentCount,
    OverdueAction,
    ProviderRow,
    QuarterlyReport,
    RecommendationProgress,
    RolloutProgress,
    TrendPoint,
    WeakPoint,
)

KIND_LABELS = {"iwi_maori": "Iwi/Māori provider", "ngo": "NGO", "contractor": "Contractor", "other": "Other"}
DIMENSIONS = ("all", "region", "tier", "kind")
ALL_PROVIDERS = "All providers"
BANDS = ("red", "amber", "green")
SUBMITTED = ("submitted", "accepted")
DEVICE_EXCEPTION_RESULTS = ("discrepancy", "not_seen")  # a sampled device not as the register says
WEAKEST = 10

# The plan's recommendation 18 headings, in its order: the summary sheet follows them.
PROGRESS = "Progress with the review findings"
BREACHES = "Privacy breaches and near-misses"
COMPLIANCE = "Compliance"
IMPLEMENTATION = "Implementation of agreed controls and recommendations"
TRENDS = "Trends"
HEADINGS = (PROGRESS, BREACHES, COMPLIANCE, IMPLEMENTATION, TRENDS)


@dataclass(frozen=True)
class Edition:
    """Who the figures are for, and the settings that shape them."""

    audience: Audience
    min_group_size: int
    green_from: float
    amber_from: float

    @property
    def governance(self) -> bool:
        return self.audience is Audience.governance

    def too_small(self, providers: pd.Series) -> pd.Series:
        """Which groups a governance reader may not see (always none for the full edition)."""
        return (providers < self.min_group_size) & self.governance

    def bands(self, scores: pd.Series) -> pd.Series:
        return scoring.bands(scores, self.green_from, self.amber_from)


@dataclass(frozen=True)
class Facts:
    """What the report stands on besides scores. Column lists are in the module's docstring and ``services``."""

    providers: pd.DataFrame  # provider_id, name, region, tier, kind, status
    standings: pd.DataFrame  # subject, provider_id, quarter, assessment_id, template_version, assessment_period, as_of
    scores: scoring.Scores
    library: scoring.Library
    assessments: pd.DataFrame  # rollout_id, rollout_name, period, due_on, status, submitted_on
    audits_closed: pd.DataFrame  # provider_id, closed_on
    actions: pd.DataFrame  # action_id, provider_id, audit_title, control_id, severity, description, due_on,
    #                        status, created_on, verified_on
    assignments: pd.DataFrame  # assignment_id, provider_id, starts_on, expected_return_on, returned_on, closed_on
    attestations: pd.DataFrame  # assignment_id, attested_on
    spot_checks: pd.DataFrame  # provider_id, result, recorded_on
    incidents: pd.DataFrame  # incident_id, provider_id, kind, occurred_on
    breaches: pd.DataFrame  # incident_id, status, due_at, serious_harm_likely, assessed_at, notification_due_at,
    #                         notified_at (both the Commissioner and the people told; NaT until then)


# --- small helpers -------------------------------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    """A figure for the edge: one decimal, or None for a missing one."""
    if value is None or pd.isna(value):
        return None
    return round(float(value), 1)


def _shown_difference(value: Any, previous: Any) -> float | None:
    """A change or gap between two figures as shown: the difference of the one-decimal figures, so what a reader
    sees adds up (80.6 beside 80.7 is a change of -0.1, whatever the figures were before rounding)."""
    a, b = _num(value), _num(previous)
    return None if a is None or b is None else round(a - b, 1)


def _int(value: Any) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


def _band(value: Any) -> Band | None:
    return None if value is None or pd.isna(value) else Band(value)


def _day(value: date) -> pd.Timestamp:
    return pd.Timestamp(value)


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _none_if_suppressed(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """Blank a suppressed group's figures (NaN, shown as null), so no figure of a small group leaves."""
    frame = frame.copy()
    for column in columns:
        frame[column] = frame[column].astype(float).mask(frame["suppressed"])
    return frame


# --- the provider table --------------------------------------------------------------------------------------------


def provider_table(providers: pd.DataFrame, standings: pd.DataFrame, scores: scoring.Scores) -> pd.DataFrame:
    """One row per provider and quarter with a standing (exited providers left out), with its overall scores."""
    overall = scores.overall[["self_assessed", "verified", "completeness", "audited"]]
    table = standings[["subject", "provider_id", "quarter"]].merge(
        overall, left_on="subject", right_index=True, how="left")
    table = table.merge(providers[["provider_id", "name", "region", "tier", "kind", "status"]], on="provider_id")
    table = table[table["status"] != "exited"].drop(columns="status")
    table["audited"] = table["audited"].fillna(False).astype(bool)
    table["gap"] = table["self_assessed"] - table["verified"]
    return table.reset_index(drop=True)


# --- distributions and trend ---------------------------------------------------------------------------------------


def _by_dimension(table: pd.DataFrame) -> pd.DataFrame:
    """Each row once per dimension it is grouped by: all, its region, its tier, its kind."""
    kind = table["kind"].map(KIND_LABELS).fillna(table["kind"])
    return pd.concat([
        table.assign(dimension="all", group=ALL_PROVIDERS),
        table.assign(dimension="region", group=table["region"]),
        table.assign(dimension="tier", group="Tier " + table["tier"].astype(int).astype(str)),
        table.assign(dimension="kind", group=kind),
    ], ignore_index=True)


def _spread(frame: pd.DataFrame, keys: list[str], edition: Edition) -> pd.DataFrame:
    """Providers, medians and quartiles per group (pandas' default linear interpolation between ranks), and
    whether the group is too small to show: judged on the providers whose scores make the figures, so a group
    of five with two scored shows nothing to governance."""
    grouped = frame.groupby(keys, sort=False)
    stats = grouped.agg(providers=("provider_id", "nunique"), median_self_assessed=("self_assessed", "median"),
                        median_verified=("verified", "median"), scored_self=("self_assessed", "count"),
                        scored_verified=("verified", "count"))
    stats["q1_verified"] = grouped["verified"].quantile(0.25)
    stats["q3_verified"] = grouped["verified"].quantile(0.75)
    stats["suppressed"] = edition.too_small(stats[["scored_self", "scored_verified"]].min(axis=1))
    return _none_if_suppressed(stats, ["median_self_assessed", "median_verified", "q1_verified", "q3_verified"])


def distributions(table: pd.DataFrame, quarter: Quarter, edition: Edition) -> list[Distribution]:
    """The spread of overall scores by dimension as at ``quarter``'s end, each group beside its own previous
    quarter. Governance: a group smaller than the minimum in either quarter shows no figure for that quarter."""
    now, before = str(quarter), str(quarter.previous())
    long = _by_dimension(table[table["quarter"].isin([now, before])])
    stats = _spread(long, ["dimension", "group", "quarter"], edition)
    quarters = stats.index.get_level_values("quarter")
    current = stats[quarters == now].droplevel("quarter")
    previous = stats.loc[quarters == before, "median_verified"].droplevel("quarter")
    current = current.join(previous.rename("median_verified_previous"), how="left")

    latest = long[long["quarter"] == now].assign(band=lambda f: edition.bands(f["verified"]))
    counts = (latest.dropna(subset=["band"]).groupby(["dimension", "group", "band"]).size()
              .unstack("band", fill_value=0).reindex(columns=list(BANDS), fill_value=0))
    current = current.join(counts, how="left")
    current[list(BANDS)] = current[list(BANDS)].fillna(0).astype(int)

    current = current.reset_index()
    current["order"] = current["dimension"].map({d: i for i, d in enumerate(DIMENSIONS)})
    current = current.sort_values(["order", "group"])
    return [Distribution(
        dimension=row["dimension"], group=row["group"], providers=int(row["providers"]),
        suppressed=bool(row["suppressed"]),
        median_self_assessed=_num(row["median_self_assessed"]), median_verified=_num(row["median_verified"]),
        q1_verified=_num(row["q1_verified"]), q3_verified=_num(row["q3_verified"]),
        median_verified_previous=_num(row["median_verified_previous"]),
        change=None if row["suppressed"] else _shown_difference(row["median_verified"],
                                                                row["median_verified_previous"]),
        bands={} if row["suppressed"] else {b: int(row[b]) for b in BANDS},
    ) for row in current.to_dict("records")]


def trend(table: pd.DataFrame, quarters: list[Quarter], edition: Edition) -> list[TrendPoint]:
    """All providers' spread in each quarter, oldest first; a quarter with no standing shows no figures."""
    names = [str(q) for q in quarters]
    stats = _spread(table[table["quarter"].isin(names)], ["quarter"], edition).reindex(names)
    stats["providers"] = stats["providers"].fillna(0).astype(int)
    # A quarter nobody stood in has no figures to hide.
    stats["suppressed"] = stats["suppressed"].astype("boolean").fillna(False).astype(bool) & (stats["providers"] > 0)
    return [TrendPoint(
        quarter=name, providers=int(row["providers"]), suppressed=bool(row["suppressed"]),
        median_self_assessed=_num(row["median_self_assessed"]), median_verified=_num(row["median_verified"]),
        q1_verified=_num(row["q1_verified"]), q3_verified=_num(row["q3_verified"]),
    ) for name, row in zip(names, stats.to_dict("records"), strict=True)]


# --- parts: controls, recommendations, areas -----------------------------------------------------------------------


def _titles(library: scoring.Library) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """(control id -> title, area id -> title, recommendation -> its area's title and its controls). Where
    template versions differ, the last version read names it."""
    questions = library.questions
    controls = questions.drop_duplicates("control_id", keep="last").set_index("control_id")["control_title"]
    areas = questions.drop_duplicates("area_id", keep="last").set_index("area_id")["area_title"]
    placed = library.recommendations.merge(
        questions.drop_duplicates(["template_version", "control_id"])[
            ["template_version", "control_id", "area_title"]],
        on=["template_version", "control_id"], how="left")
    placed = placed.drop_duplicates(["recommendation", "control_id"]).sort_values(["recommendation", "control_id"])
    grouped = placed.groupby("recommendation")
    recommendations = pd.DataFrame({"title": grouped["area_title"].first(),
                                    "controls": grouped["control_id"].unique()})
    return controls, areas, recommendations


def _current(parts: pd.DataFrame, table: pd.DataFrame, quarter: Quarter) -> pd.DataFrame:
    """The rows of a part frame (index subject, part) for the providers standing in ``quarter``."""
    subjects = table.loc[table["quarter"] == str(quarter), "subject"]
    return parts[parts.index.get_level_values("subject").isin(subjects)].reset_index()


def weakest(parts: pd.DataFrame, table: pd.DataFrame, quarter: Quarter, kind: str, titles: pd.Series,
            edition: Edition, top: int = WEAKEST) -> list[WeakPoint]:
    """The ``top`` controls or recommendations with the lowest mean verified score across providers, with how
    many providers' verified score of it is red. Governance: one scored by fewer providers than the minimum is
    left out (a mean of two providers would show their scores)."""
    key = "control_id" if kind == "control" else "recommendation"
    rows = _current(parts, table, quarter)
    rows = rows.assign(red=(edition.bands(rows["verified"]) == "red").astype(int))
    stats = rows.groupby(key).agg(providers=("verified", "count"), mean_self_assessed=("self_assessed", "mean"),
                                  mean_verified=("verified", "mean"), red=("red", "sum"))
    stats = stats[(stats["providers"] > 0) & ~edition.too_small(stats["providers"])]
    stats = stats.sort_values(["mean_verified", "red"], ascending=[True, False], kind="stable").head(top)
    stats["title"] = stats.index.map(titles)
    return [WeakPoint(
        kind=kind, id=str(part), title=str(row["title"]) if pd.notna(row["title"]) else str(part),
        providers=int(row["providers"]), mean_self_assessed=_num(row["mean_self_assessed"]),
        mean_verified=_num(row["mean_verified"]), red=int(row["red"]),
    ) for part, row in zip(stats.index, stats.to_dict("records"), strict=True)]


def recommendation_progress(parts: pd.DataFrame, table: pd.DataFrame, quarter: Quarter, placed: pd.DataFrame,
                            edition: Edition) -> list[RecommendationProgress]:
    """Each plan recommendation by the band of each provider's verified score of it: green implemented, amber
    partly, red not implemented. ``placed``: recommendation -> title, controls (from ``_titles``)."""
    rows = _current(parts, table, quarter)
    rows = rows.assign(band=edition.bands(rows["verified"]))
    grouped = rows.groupby("recommendation")
    stats = pd.DataFrame({"providers": grouped["verified"].count(), "median_verified": grouped["verified"].median()})
    counts = (rows.dropna(subset=["band"]).groupby(["recommendation", "band"]).size()
              .unstack("band", fill_value=0).reindex(columns=list(BANDS), fill_value=0))
    stats = stats.join(counts).fillna({b: 0 for b in BANDS})
    stats = stats.reindex(stats.index.union(placed.index))
    stats["providers"] = stats["providers"].fillna(0)
    stats["suppressed"] = edition.too_small(stats["providers"])
    stats = _none_if_suppressed(stats, ["median_verified", *BANDS]).join(placed, how="left")
    return [RecommendationProgress(
        recommendation=int(number), title=str(row["title"]) if isinstance(row["title"], str) else "",
        controls=[] if isinstance(row["controls"], float) else [str(c) for c in row["controls"]],  # NaN: none
        providers=int(row["providers"]), suppressed=bool(row["suppressed"]),
        median_verified=_num(row["median_verified"]), implemented=_int(row["green"]), partly=_int(row["amber"]),
        not_implemented=_int(row["red"]),
    ) for number, row in zip(stats.index, stats.to_dict("records"), strict=True)]


def heatmap(areas: pd.DataFrame, table: pd.DataFrame, quarter: Quarter, titles: pd.Series,
            edition: Edition) -> list[HeatCell]:
    """Each focus area's median verified score in each region, as a band too."""
    rows = _current(areas, table, quarter).merge(table[["subject", "region"]], on="subject")
    grouped = rows.groupby(["area_id", "region"])
    cells = pd.DataFrame({"providers": grouped["verified"].count(), "median_verified": grouped["verified"].median()})
    cells["suppressed"] = edition.too_small(cells["providers"])
    cells = _none_if_suppressed(cells, ["median_verified"])
    cells["band"] = edition.bands(cells["median_verified"])
    cells = cells.reset_index().sort_values(["area_id", "region"])
    cells["area_title"] = cells["area_id"].map(titles).fillna(cells["area_id"])
    return [HeatCell(
        area_id=str(row["area_id"]), area_title=str(row["area_title"]), region=str(row["region"]),
        providers=int(row["providers"]), suppressed=bool(row["suppressed"]),
        median_verified=_num(row["median_verified"]), band=_band(row["band"]),
    ) for row in cells.to_dict("records")]


# --- providers and the assurance gap -------------------------------------------------------------------------------


def _provider_frame(table: pd.DataFrame, quarter: Quarter, audits_closed: pd.DataFrame,
                    edition: Edition) -> pd.DataFrame:
    now = table[table["quarter"] == str(quarter)]
    before = table.loc[table["quarter"] == str(quarter.previous()), ["provider_id", "verified"]]
    rows = now.merge(before.rename(columns={"verified": "verified_previous"}), on="provider_id", how="left")
    rows["self_band"] = edition.bands(rows["self_assessed"])
    rows["verified_band"] = edition.bands(rows["verified"])
    closed = audits_closed[audits_closed["closed_on"] <= _day(quarter.ends_on)]
    last = closed.groupby("provider_id")["closed_on"].max().rename("last_audit_closed_on")
    return rows.merge(last, left_on="provider_id", right_index=True, how="left")


def _provider_rows(rows: pd.DataFrame) -> list[ProviderRow]:
    return [ProviderRow(
        provider_id=_uuid(row["provider_id"]), provider_name=str(row["name"]), region=str(row["region"]),
        tier=int(row["tier"]), kind=str(row["kind"]),
        self_assessed=_num(row["self_assessed"]), self_band=_band(row["self_band"]),
        verified=_num(row["verified"]), verified_band=_band(row["verified_band"]),
        gap=_shown_difference(row["self_assessed"], row["verified"]),
        completeness=_num(row["completeness"]), change=_shown_difference(row["verified"], row["verified_previous"]),
        last_audit_closed_on=None if pd.isna(row["last_audit_closed_on"]) else row["last_audit_closed_on"].date(),
    ) for row in rows.to_dict("records")]


def providers(table: pd.DataFrame, quarter: Quarter, audits_closed: pd.DataFrame,
              edition: Edition) -> list[ProviderRow]:
    """Providers by verified score, lowest first (where to look first), those with no verified score last.
    Empty for governance."""
    if edition.governance:
        return []
    rows = _provider_frame(table, quarter, audits_closed, edition)
    return _provider_rows(rows.sort_values(["verified", "name"], na_position="last", kind="stable"))


def assurance_gap(table: pd.DataFrame, quarter: Quarter, audits_closed: pd.DataFrame,
                  edition: Edition) -> AssuranceGap:
    """How far self-assessed scores outrun verified ones among providers with at least one audit rating."""
    rows = _provider_frame(table, quarter, audits_closed, edition)
    rows = rows[rows["audited"] & rows["gap"].notna()]
    audited = len(rows)
    suppressed = bool(edition.too_small(pd.Series([audited])).iloc[0])
    gaps = rows["gap"]
    hidden = suppressed or audited == 0
    return AssuranceGap(
        providers_audited=audited, suppressed=suppressed,
        mean_gap=None if hidden else _num(gaps.mean()), median_gap=None if hidden else _num(gaps.median()),
        largest_gap=None if hidden else _num(gaps.max()), outrunning=0 if suppressed else int((gaps > 0).sum()),
        by_provider=[] if edition.governance else _provider_rows(
            rows.sort_values(["gap", "name"], ascending=[False, True], kind="stable")),
    )


# --- rollouts ------------------------------------------------------------------------------------------------------


def rollouts(assessments: pd.DataFrame, quarter: Quarter, today: date, edition: Edition) -> list[RolloutProgress]:
    """Rounds due in the quarter: how far along their assessments are now, and how many were late: submitted
    after the due date, or still not submitted with the due date passed. Governance: a round of fewer
    assessments than the minimum is left out (it would show a few providers' progress)."""
    due = assessments[(assessments["due_on"] >= _day(quarter.starts_on))
                      & (assessments["due_on"] <= _day(quarter.ends_on))]
    status = due["status"]
    submitted = due["submitted_on"]
    flags = pd.DataFrame({
        "rollout_id": due["rollout_id"],
        "accepted": status == "accepted",
        "submitted": status == "submitted",
        "in_progress": status.isin(["in_progress", "returned"]),
        "not_started": status == "not_started",
        "late": (submitted > due["due_on"]) | (submitted.isna() & ~status.isin(SUBMITTED)
                                                & (due["due_on"] < _day(today))),
    })
    counts = flags.groupby("rollout_id").agg(
        assessments=("accepted", "size"), accepted=("accepted", "sum"), submitted=("submitted", "sum"),
        in_progress=("in_progress", "sum"), not_started=("not_started", "sum"), late=("late", "sum"))
    about = due.drop_duplicates("rollout_id").set_index("rollout_id")[["rollout_name", "period", "due_on"]]
    counts = counts.join(about)
    counts = counts[~edition.too_small(counts["assessments"])]
    counts["completion"] = (counts["accepted"] + counts["submitted"]) / counts["assessments"] * 100
    counts = counts.sort_values(["due_on", "rollout_name"])
    return [RolloutProgress(
        rollout_id=_uuid(rollout), name=str(row["rollout_name"]), period=str(row["period"]),
        due_on=row["due_on"].date(), assessments=int(row["assessments"]), accepted=int(row["accepted"]),
        submitted=int(row["submitted"]), in_progress=int(row["in_progress"]), not_started=int(row["not_started"]),
        late=int(row["late"]), completion=_num(row["completion"]) or 0.0,
    ) for rollout, row in zip(counts.index, counts.to_dict("records"), strict=True)]


# --- corrective actions --------------------------------------------------------------------------------------------


def _open_actions(actions: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Actions open at the end of ``as_of``: raised by then and not verified by then. Open, responded (waiting
    for the auditor) and carried forward are all still to be put right: only the auditor's verification ends an
    action, and its date says whether it had ended by ``as_of``."""
    verified = actions["verified_on"]
    return actions[(actions["created_on"] <= as_of) & (verified.isna() | (verified > as_of))]


def corrective_actions(actions: pd.DataFrame, providers_frame: pd.DataFrame, quarter: Quarter, as_of: date,
                       edition: Edition) -> CorrectiveActions:
    """Open, overdue (open past its due date) and by severity as at ``as_of``; verified within the quarter."""
    day = _day(as_of)
    still = _open_actions(actions, day)
    overdue = still[still["due_on"] < day]
    severity = still.groupby("severity").size().reindex([s.value for s in Severity], fill_value=0)
    verified = actions["verified_on"]
    in_quarter = (verified >= _day(quarter.starts_on)) & (verified <= _day(quarter.ends_on))
    listed: list[OverdueAction] = []
    if not edition.governance:
        named = overdue.merge(providers_frame[["provider_id", "name"]], on="provider_id", how="left")
        named = named.assign(days_overdue=(day - named["due_on"]).dt.days).sort_values(
            ["days_overdue", "name"], ascending=[False, True], kind="stable")
        listed = [OverdueAction(
            action_id=_uuid(row["action_id"]), provider_name=str(row["name"]), audit_title=str(row["audit_title"]),
            control_id=None if pd.isna(row["control_id"]) else str(row["control_id"]), severity=str(row["severity"]),
            title=str(row["description"]), due_on=row["due_on"].date(), days_overdue=int(row["days_overdue"]),
            status=str(row["status"]),
        ) for row in named.to_dict("records")]
    return CorrectiveActions(open=len(still), overdue=len(overdue), verified_in_quarter=int(in_quarter.sum()),
                             by_severity={k: int(v) for k, v in severity.items()}, overdue_actions=listed)


# --- devices -------------------------------------------------------------------------------------------------------


_DEVICE_COUNTS = ("devices_held", "overdue_returns", "overdue_attestations", "spot_check_discrepancies",
                  "lost_or_stolen")


def device_exceptions(facts: Facts, quarter: Quarter, as_of: date, attestation_days: int,
                      edition: Edition) -> DeviceExceptions:
    """Devices out with providers' people at ``as_of``: past their expected return, or with an attestation owed
    more than ``attestation_days`` after the last one (or the start); spot-check items recorded in the quarter
    that found the device not as the register says; devices lost or stolen in the quarter."""
    day = _day(as_of)
    assignments = facts.assignments
    # Out until returned, or until closed without a return (a device lost or stolen closes its assignment).
    held = assignments[(assignments["starts_on"] <= day)
                       & (assignments["returned_on"].isna() | (assignments["returned_on"] > day))
                       & (assignments["closed_on"].isna() | (assignments["closed_on"] > day))]
    attested = facts.attestations[facts.attestations["attested_on"] <= day]
    last = attested.groupby("assignment_id")["attested_on"].max().rename("last_attested_on")
    held = held.merge(last, left_on="assignment_id", right_index=True, how="left")
    since = held["last_attested_on"].fillna(held["starts_on"])
    held = held.assign(
        overdue_returns=held["expected_return_on"].notna() & (held["expected_return_on"] < day),
        overdue_attestations=since + pd.Timedelta(days=attestation_days) < day,
        devices_held=True,
    )
    start, end = _day(quarter.starts_on), _day(quarter.ends_on)
    checks = facts.spot_checks
    found = checks[checks["result"].isin(DEVICE_EXCEPTION_RESULTS)
                   & (checks["recorded_on"] >= start) & (checks["recorded_on"] <= end)]
    incidents = facts.incidents
    gone = incidents[incidents["kind"].isin(["lost", "stolen"])
                     & (incidents["occurred_on"] >= start) & (incidents["occurred_on"] <= end)]

    per_provider = pd.concat([
        held.groupby("provider_id")[["devices_held", "overdue_returns", "overdue_attestations"]].sum(),
        found.groupby("provider_id").size().rename("spot_check_discrepancies"),
        gone.groupby("provider_id").size().rename("lost_or_stolen"),
    ], axis=1).reindex(columns=list(_DEVICE_COUNTS)).fillna(0).astype(int)
    listed: list[dict[str, str | int]] = []
    if not edition.governance:
        exceptions = per_provider[per_provider[list(_DEVICE_COUNTS[1:])].sum(axis=1) > 0]
        named = exceptions.join(facts.providers.set_index("provider_id")["name"], how="left")
        named = named.sort_values(["overdue_returns", "overdue_attestations", "name"], ascending=[False, False, True])
        listed = [{"provider_name": str(row["name"]), **{c: int(row[c]) for c in _DEVICE_COUNTS}}
                  for row in named.to_dict("records")]
    return DeviceExceptions(
        devices_held=len(held), overdue_returns=int(held["overdue_returns"].sum()),
        overdue_attestations=int(held["overdue_attestations"].sum()), spot_check_discrepancies=len(found),
        lost_or_stolen=len(gone), by_provider=listed)


# --- incidents and breaches ----------------------------------------------------------------------------------------


def _in(frame: pd.DataFrame, column: str, quarter: Quarter) -> pd.DataFrame:
    return frame[(frame[column] >= _day(quarter.starts_on)) & (frame[column] <= _day(quarter.ends_on))]


def incidents(frame: pd.DataFrame, quarter: Quarter) -> list[IncidentCount]:
    """Incidents and near misses by kind, this quarter and the one before, every kind listed."""
    kinds = [k.value for k in IncidentKind]
    now = _in(frame, "occurred_on", quarter).groupby("kind").size().reindex(kinds, fill_value=0)
    before = _in(frame, "occurred_on", quarter.previous()).groupby("kind").size().reindex(kinds, fill_value=0)
    return [IncidentCount(kind=k, quarter=int(now[k]), previous=int(before[k])) for k in kinds]


def breaches(incidents_frame: pd.DataFrame, breaches_frame: pd.DataFrame, quarter: Quarter,
             now: datetime) -> BreachFigures:
    """Breach assessments of the quarter's incidents against their two clocks (devices.services.breaches):
    deciding by ``due_at``; notifying (the Commissioner and the people both told) by ``notification_due_at``.
    Overdue: still open, the clock passed and not done, as at ``now``."""
    ids = _in(incidents_frame, "occurred_on", quarter)["incident_id"]
    rows = breaches_frame[breaches_frame["incident_id"].isin(ids)]
    instant = pd.Timestamp(now)
    open_ = rows["status"] == "open"
    decided = rows["serious_harm_likely"].notna()
    notifiable = rows["serious_harm_likely"].eq(True)
    notified = rows["notified_at"]
    return BreachFigures(
        assessments=len(rows), decided=int(decided.sum()),
        decided_on_time=int((decided & (rows["assessed_at"] <= rows["due_at"])).sum()),
        undecided_overdue=int((open_ & ~decided & (rows["due_at"] < instant)).sum()),
        notifiable=int(notifiable.sum()),
        notified_on_time=int((notifiable & (notified <= rows["notification_due_at"])).sum()),
        notification_overdue=int((open_ & notifiable & notified.isna()
                                  & (rows["notification_due_at"] < instant)).sum()),
    )


# --- headlines -----------------------------------------------------------------------------------------------------


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


# --- the report ----------------------------------------------------------------------------------------------------

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


def empty_frames() -> dict[str, pd.DataFrame]:
    """Fact frames with their columns and no rows: what a report over an empty register stands on."""
    day, instant = "datetime64[ns]", "datetime64[ns, UTC]"
    return {
        "assessments": _frame({"rollout_id": object, "rollout_name": object, "period": object, "due_on": day,
                               "status": object, "submitted_on": day}),
        "audits_closed": _frame({"provider_id": object, "closed_on": day}),
        "actions": _frame({"action_id": object, "provider_id": object, "audit_title": object, "control_id": object,
                           "severity": object, "description": object, "due_on": day, "status": object,
                           "created_on": day, "verified_on": day}),
        "assignments": _frame({"assignment_id": object, "provider_id": object, "starts_on": day,
                               "expected_return_on": day, "returned_on": day, "closed_on": day}),
        "attestations": _frame({"assignment_id": object, "attested_on": day}),
        "spot_checks": _frame({"provider_id": object, "result": object, "recorded_on": day}),
        "incidents": _frame({"incident_id": object, "provider_id": object, "kind": object, "occurred_on": day}),
        "breaches": _frame({"incident_id": object, "status": object, "due_at": instant, "serious_harm_likely": object,
                            "assessed_at": instant, "notification_due_at": instant, "notified_at": instant}),
    }


def _frame(columns: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})
