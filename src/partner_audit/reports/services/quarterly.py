"""The quarterly governance report (the plan's recommendation 18): who may have it and in which edition, what it
reads from the database, and its figures (``reports.aggregation``).

What it reads, one query a table and only the columns the figures need: the providers; the scores of the report
quarter and the seven before it (``frames.scores_as_at``, for the trend); the assessments of rounds due in the
quarter and the one before; closed audits; corrective actions with their finding's control and severity and their
audit's title; device assignments out at either quarter's end and their attestations; spot-check items, incidents
and their breach assessments of the two quarters. Timestamps become the New Zealand day they fell on, as the
score frames' do (``frames.nz_day``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from partner_audit.assessments.tables import Assessment
from partner_audit.audits.schemas import AuditStatus
from partner_audit.audits.tables import Audit, CorrectiveAction, SpotCheckItem
from partner_audit.devices.tables import Assignment, Attestation, BreachAssessment, Incident
from partner_audit.errors import Forbidden, Invalid
from partner_audit.reports import aggregation
from partner_audit.reports.quarters import Quarter
from partner_audit.reports.schemas import Audience, QuarterlyReport
from partner_audit.reports.services import frames
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller, Role
from partner_audit.settings import Settings, load_settings

NZ = ZoneInfo("Pacific/Auckland")
STEPS = ("providers", "scores", "self-assessment rounds", "audits and corrective actions", "devices",
         "incidents and breaches", "figures")

Progress = Callable[[str, int, int], None]


def nz_today() -> date:
    return datetime.now(NZ).date()


def edition_for(caller: Caller, asked: Audience | None) -> Audience:
    """Governance always gets the governance edition (and may not ask for the full one); everyone else the full
    edition unless they ask for the governance one (to see what the committee will see)."""
    if caller.role is Role.governance:
        if asked is Audience.full:
            raise Forbidden("The governance group receives the governance edition of the quarterly report, without "
                            "provider names: ask for audience=governance, or leave it out.")
        return Audience.governance
    return asked or Audience.full


def quarter_of(quarter: Quarter | str, today: date) -> Quarter:
    """The report's quarter: parsed if given as text, and one that has begun (a report on the future is empty)."""
    parsed = quarter if isinstance(quarter, Quarter) else Quarter.parse(quarter)
    if parsed.starts_on > today:
        raise Invalid.field("quarter", f"{parsed} has not begun yet (it starts on {parsed.starts_on:%-d %B %Y}): "
                                       f"ask for {Quarter.of(today)} or an earlier quarter")
    return parsed


async def quarterly_report(caller: Caller, quarter: Quarter | str, *, audience: Audience | None = None,
                           progress: Progress | None = None, today: date | None = None,
                           settings: Settings | None = None) -> QuarterlyReport:
    """The quarterly report for ``quarter`` in the edition the caller may have. ``progress(step, done, total)``
    is called before each step and once at the end; ``today`` (New Zealand) decides what is late and overdue
    while the quarter is still running."""
    policies.MAKE_QUARTERLY_REPORT.check(caller)
    edition_audience = edition_for(caller, audience)
    today = today or nz_today()
    settings = settings or load_settings()
    report_quarter = quarter_of(quarter, today)
    tell = progress or (lambda _step, _done, _total: None)
    edition = aggregation.Edition(audience=edition_audience, min_group_size=settings.report_min_group_size,
                                  green_from=settings.score_band_green_from,
                                  amber_from=settings.score_band_amber_from)
    async with access_log.audited(caller, "report.quarterly", "quarterly_report", str(report_quarter),
                                  writes=False) as audit_log:
        audit_log.details.append(f"audience={edition_audience.value}")
        facts = await _facts(report_quarter, tell)
        tell(STEPS[6], 6, len(STEPS))
        report = aggregation.quarterly(facts, report_quarter, edition, today=today, now=datetime.now(UTC),
                                       attestation_days=settings.attestation_days)
    tell("done", len(STEPS), len(STEPS))
    return report


# --- reading -------------------------------------------------------------------------------------------------------


async def _facts(quarter: Quarter, tell: Progress) -> aggregation.Facts:
    before = quarter.previous()
    # Timestamps are read a day either side of the two quarters' span, then placed on their New Zealand day.
    since = datetime.combine(before.starts_on - timedelta(days=1), datetime.min.time(), UTC)
    until = datetime.combine(quarter.ends_on + timedelta(days=2), datetime.min.time(), UTC)
    empty = aggregation.empty_frames()

    tell(STEPS[0], 0, len(STEPS))
    providers = await frames.providers()
    tell(STEPS[1], 1, len(STEPS))
    standings, scores = await frames.scores_as_at(quarter.last(aggregation.TREND_QUARTERS))
    library = await frames.library_of(standings["template_version"].unique())

    tell(STEPS[2], 2, len(STEPS))
    rows = await Assessment.select(
        Assessment.rollout.as_alias("rollout_id"), Assessment.rollout.name.as_alias("rollout_name"),
        Assessment.rollout.period.as_alias("period"), Assessment.rollout.due_on.as_alias("due_on"),
        Assessment.status, Assessment.submitted_at.as_alias("submitted_on"),
    ).where((Assessment.rollout.due_on >= before.starts_on) & (Assessment.rollout.due_on <= quarter.ends_on)).run()
    assessments = _frame(rows, empty["assessments"])

    tell(STEPS[3], 3, len(STEPS))
    rows = await Audit.select(Audit.provider.as_alias("provider_id"), Audit.closed_at.as_alias("closed_on")).where(
        (Audit.status == AuditStatus.closed.value) & Audit.closed_at.is_not_null() & (Audit.closed_at < until)).run()
    audits_closed = _frame(rows, empty["audits_closed"])
    A = CorrectiveAction
    rows = await A.select(
        A.id.as_alias("action_id"), A.provider.as_alias("provider_id"), A.audit.title.as_alias("audit_title"),
        A.finding.control_id.as_alias("control_id"), A.finding.severity.as_alias("severity"), A.description,
        A.due_on, A.status, A.created_at.as_alias("created_on"), A.verified_at.as_alias("verified_on"),
    ).where((A.created_at < until) & (A.verified_at.is_null() | (A.verified_at >= since))).run()
    actions = _frame(rows, empty["actions"])

    tell(STEPS[4], 4, len(STEPS))
    out = (Assignment.starts_on <= quarter.ends_on) & (
        Assignment.returned_on.is_null() | (Assignment.returned_on > before.ends_on)) & (
        Assignment.closed_at.is_null() | (Assignment.closed_at >= since))
    rows = await Assignment.select(
        Assignment.id.as_alias("assignment_id"), Assignment.provider.as_alias("provider_id"), Assignment.starts_on,
        Assignment.expected_return_on, Assignment.returned_on, Assignment.closed_at.as_alias("closed_on"),
    ).where(out).run()
    assignments = _frame(rows, empty["assignments"])
    T = Attestation
    rows = await T.select(T.assignment.as_alias("assignment_id"), T.attested_at.as_alias("attested_on")).where(
        (T.attested_at < until) & (T.assignment.starts_on <= quarter.ends_on)
        & (T.assignment.returned_on.is_null() | (T.assignment.returned_on > before.ends_on))).run()
    attestations = _frame(rows, empty["attestations"])
    S = SpotCheckItem
    rows = await S.select(S.assignment.provider.as_alias("provider_id"), S.result,
                          S.recorded_at.as_alias("recorded_on")).where(
        S.result.is_not_null() & (S.recorded_at >= since) & (S.recorded_at < until)).run()
    spot_checks = _frame(rows, empty["spot_checks"])

    tell(STEPS[5], 5, len(STEPS))
    rows = await Incident.select(Incident.id.as_alias("incident_id"), Incident.provider.as_alias("provider_id"),
                                 Incident.kind, Incident.occurred_at.as_alias("occurred_on")).where(
        (Incident.occurred_at >= since) & (Incident.occurred_at < until)).run()
    incidents = _frame(rows, empty["incidents"])
    B = BreachAssessment
    rows = await B.select(
        B.incident.as_alias("incident_id"), B.status, B.due_at, B.serious_harm_likely, B.assessed_at,
        B.notification_due_at, B.commissioner_notified_at, B.individuals_notified_at,
    ).where((B.incident.occurred_at >= since) & (B.incident.occurred_at < until)).run()
    breaches = _breaches(rows, empty["breaches"])

    return aggregation.Facts(
        providers=providers, standings=standings, scores=scores, library=library, assessments=assessments,
        audits_closed=audits_closed, actions=actions, assignments=assignments, attestations=attestations,
        spot_checks=spot_checks, incidents=incidents, breaches=breaches)


def _frame(rows: list[dict[str, Any]], like: pd.DataFrame) -> pd.DataFrame:
    """Rows as a frame shaped like ``like``: ids as text, days (from dates, or from timestamps as their New
    Zealand day) as ``datetime64`` midnights, instants in UTC."""
    if not rows:
        return like.copy()
    found = pd.DataFrame(rows)
    out = {}
    for name, dtype in like.dtypes.items():
        column = found[name]
        if str(dtype) == "datetime64[ns]":
            out[name] = _days(column)
        elif str(dtype) == "datetime64[ns, UTC]":
            out[name] = pd.to_datetime(column, utc=True).astype("datetime64[ns, UTC]")
        elif name in _FLAGS:
            out[name] = column.astype(object)
        else:  # ids (UUIDs from PostgreSQL) and text, as text; None stays None
            out[name] = column.astype(str).astype(object).where(column.notna(), None)
    return pd.DataFrame(out, columns=list(like.columns))


_FLAGS = {"serious_harm_likely"}  # true, false or None: kept as they are


def _days(column: pd.Series) -> pd.Series:
    """Dates as midnights; timestamps as the New Zealand day they fell on."""
    known = column.dropna()
    if len(known) and isinstance(known.iloc[0], datetime):
        return frames.nz_day(pd.to_datetime(column, utc=True))
    return pd.to_datetime(column).astype("datetime64[ns]")


def _breaches(rows: list[dict[str, Any]], like: pd.DataFrame) -> pd.DataFrame:
    """Breach assessments with ``notified_at``: when notifying was done, the later of the Commissioner and the
    affected people being told, NaT until both are (as ``devices.services.breaches`` judges its clock)."""
    if not rows:
        return like.copy()
    found = pd.DataFrame(rows)
    commissioner = pd.to_datetime(found["commissioner_notified_at"], utc=True)
    people = pd.to_datetime(found["individuals_notified_at"], utc=True)
    found["notified_at"] = commissioner.where(commissioner > people, people).where(
        commissioner.notna() & people.notna())
    found["serious_harm_likely"] = found["serious_harm_likely"].astype(object)
    return _frame(found.to_dict("records"), like)
