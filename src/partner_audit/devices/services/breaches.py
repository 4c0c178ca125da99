"""Privacy breach assessments under the Privacy Act 2020: every incident, a near miss too, gets one.

Two clocks, each shown with its rule and what is overdue:

- **assessment**: deciding whether the breach is likely to cause serious harm (s 112), judged on the s 113
  matters: (a) action taken to reduce the risk of harm, (b) how sensitive the information is, (c) the nature of
  the harm, (d) who has obtained or may obtain it, (e) whether a security measure protects it, (f) anything else.
  The Act says only "as soon as practicable" (s 114); the agency's own target is ``BreachClocks.assessment_hours``
  (``PA_BREACH_ASSESSMENT_HOURS``, 48 by default) from the incident's report, when the agency became aware.
  The matters (a) to (e) must be recorded before the decision is.
- **notification**: once serious harm is judged likely, the breach is notifiable and the Privacy Commissioner
  expects to hear within 72 hours (``PA_BREACH_NOTIFICATION_HOURS``); the affected people are notified as soon as
  practicable too (s 115), held here to the same clock. Recording the decision again does not restart it.

Who notifies (s 11): information a provider holds as the agency's agent is held by the agency, which then
notifies; otherwise the provider does. ``held_as_agent`` records which, and ``notifier`` follows it. An
assessment closes once decided and, for serious harm, once who notifies and both notification times are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from partner_audit.api import Paging
from partner_audit.devices.schemas import (
    BreachAssessmentFilter,
    BreachAssessmentUpdate,
    BreachStatus,
    ClockName,
    Notifier,
)
from partner_audit.devices.tables import BreachAssessment
from partner_audit.errors import Conflict, Invalid
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller
from partner_audit.security.tenancy import page_of, require_row, scoped

# Times people type may run a few minutes ahead of the server's clock.
CLOCK_SKEW = timedelta(minutes=5)
# The s 113 matters that must be recorded before deciding; (f), any other matter, may rightly be blank.
MATTERS = ("harm_reduction_action", "information_sensitivity", "nature_of_harm", "recipients", "security_protection")
MATTER_NAMES = {
    "harm_reduction_action": "s 113(a), the action taken to reduce the risk of harm",
    "information_sensitivity": "s 113(b), how sensitive the information is",
    "nature_of_harm": "s 113(c), the nature of the harm that may be caused",
    "recipients": "s 113(d), who has obtained or may obtain the information",
    "security_protection": "s 113(e), whether a security measure protects the information",
}


@dataclass(frozen=True)
class BreachClocks:
    """How long each clock runs, in hours (``settings.breach_assessment_hours`` and
    ``settings.breach_notification_hours``). A clock's due time is stored when it starts, so changing a setting
    moves the clocks that start after, not those running."""

    assessment_hours: int = 48
    notification_hours: int = 72

    @classmethod
    def of(cls, settings: Any) -> BreachClocks:
        return cls(settings.breach_assessment_hours, settings.breach_notification_hours)

    def assessment_due(self, reported_at: datetime) -> datetime:
        return reported_at + timedelta(hours=self.assessment_hours)


ASSESSMENT_COLUMNS = (
    *BreachAssessment.all_columns(),
    BreachAssessment.incident.kind.as_alias("incident_kind"),
    BreachAssessment.incident.device.asset_tag.as_alias("asset_tag"),
    BreachAssessment.incident.provider.as_alias("provider_id"),
    BreachAssessment.incident.occurred_at.as_alias("occurred_at"),
    BreachAssessment.incident.reported_at.as_alias("reported_at"),
)


def hours_since(moment: datetime) -> float:
    return round((datetime.now(UTC) - moment).total_seconds() / 3600, 1)


def _hours(start: datetime, end: datetime) -> str:
    hours = (end - start).total_seconds() / 3600
    return f"{hours:.0f} hours" if abs(hours - round(hours)) < 0.01 else f"{hours:.1f} hours"


def _notified(row: dict[str, Any]) -> datetime | None:
    """When notifying was done: both the Commissioner and the affected people told."""
    if row["commissioner_notified_at"] is None or row["individuals_notified_at"] is None:
        return None
    return max(row["commissioner_notified_at"], row["individuals_notified_at"])


def _clock(name: ClockName, rule: str, starts_at: datetime, due_at: datetime, stopped_at: datetime | None,
           running: bool, now: datetime) -> dict[str, Any]:
    live = running and stopped_at is None
    return {"name": name, "rule": rule, "starts_at": starts_at, "due_at": due_at, "stopped_at": stopped_at,
            "overdue": live and due_at < now,
            "hours_left": round((due_at - now).total_seconds() / 3600, 1) if live else None}


def assessment_out(row: dict[str, Any]) -> dict[str, Any]:
    now = datetime.now(UTC)
    is_open = row["status"] == BreachStatus.open.value
    decided = row["serious_harm_likely"] is not None
    clocks = [_clock(ClockName.assessment, "as soon as practicable (Privacy Act 2020 s 114); the agency's target: "
                     f"{_hours(row['reported_at'], row['due_at'])} from the report",
                     row["reported_at"], row["due_at"], row["assessed_at"] if decided else None, is_open, now)]
    if row["serious_harm_likely"] and row["notifiable_at"] is not None:
        clocks.append(_clock(ClockName.notification, "the Privacy Commissioner and the affected people, as soon as "
                             "practicable (ss 114, 115): the Commissioner expects "
                             f"{_hours(row['notifiable_at'], row['notification_due_at'])} from knowing the breach "
                             "is notifiable", row["notifiable_at"], row["notification_due_at"], _notified(row),
                             is_open, now))
    assessment_overdue = clocks[0]["overdue"]
    notification_overdue = len(clocks) > 1 and clocks[1]["overdue"]
    return {**row, "incident_id": row["incident"], "hours_since_incident": hours_since(row["occurred_at"]),
            "clocks": clocks, "assessment_overdue": assessment_overdue, "notification_overdue": notification_overdue,
            "overdue": assessment_overdue or notification_overdue,
            "missing_matters": [m for m in MATTERS if not row[m].strip()]}


def overdue_flags(row: dict[str, Any], now: datetime) -> tuple[bool, bool]:
    """(the decision is overdue, notifying is overdue), as ``assessment_out``'s clocks and ``overdue_clause``."""
    if row["status"] != BreachStatus.open.value:
        return False, False
    deciding = row["serious_harm_likely"] is None and row["due_at"] < now
    notifying = bool(row["serious_harm_likely"]) and row["notification_due_at"] is not None \
        and row["notification_due_at"] < now and _notified(row) is None
    return deciding, notifying


def overdue_clause(now: datetime) -> Any:
    """Open assessments with a clock past due: undecided past the assessment's, or notifiable and not yet
    notified (the Commissioner or the affected people) past the notification's."""
    B = BreachAssessment
    undecided = B.serious_harm_likely.is_null() & (B.due_at < now)
    unnotified = (B.serious_harm_likely == True) & (B.notification_due_at < now) & (  # noqa: E712 (SQL)
        B.commissioner_notified_at.is_null() | B.individuals_notified_at.is_null())
    return (B.status == BreachStatus.open.value) & (undecided | unnotified)


def on_time_clause(now: datetime) -> Any:
    """The rest: closed, or no clock past due (``overdue_clause`` turned round, SQL's NULLs spelled out)."""
    B = BreachAssessment
    decided_or_in_time = B.serious_harm_likely.is_not_null() | (B.due_at >= now)
    notified_or_in_time = (B.serious_harm_likely.is_null() | (B.serious_harm_likely == False)  # noqa: E712
                           | B.notification_due_at.is_null() | (B.notification_due_at >= now)
                           | (B.commissioner_notified_at.is_not_null() & B.individuals_notified_at.is_not_null()))
    return (B.status != BreachStatus.open.value) | (decided_or_in_time & notified_or_in_time)


async def list_breach_assessments(caller: Caller, flt: BreachAssessmentFilter, paging: Paging
                                  ) -> tuple[list[dict[str, Any]], int]:
    policies.SEE_BREACH_ASSESSMENTS.check(caller)
    now = datetime.now(UTC)
    clauses = []
    if flt.status:
        clauses.append(BreachAssessment.status == flt.status.value)
    if flt.overdue is not None:
        clauses.append(overdue_clause(now) if flt.overdue else on_time_clause(now))
    if flt.serious_harm_likely is not None:
        clauses.append(BreachAssessment.serious_harm_likely == flt.serious_harm_likely)
    return await page_of(caller, paging, BreachAssessment.select(*ASSESSMENT_COLUMNS), BreachAssessment.count(),
                         action="breach_assessment.list", record_type="breach_assessment",
                         scope=BreachAssessment.incident.provider, where=clauses,
                         order_by=[BreachAssessment.due_at, BreachAssessment.id], provider_id=caller.provider_id,
                         present=lambda rows: [assessment_out(r) for r in rows])


async def _assessment(caller: Caller, assessment_id: UUID) -> dict[str, Any]:
    row = await scoped(BreachAssessment.select(*ASSESSMENT_COLUMNS).where(BreachAssessment.id == assessment_id),
                       BreachAssessment.incident.provider, caller).first().run()
    return assessment_out(require_row(row, "breach assessment", assessment_id))


async def get_breach_assessment(caller: Caller, assessment_id: UUID) -> dict[str, Any]:
    policies.SEE_BREACH_ASSESSMENTS.check(caller)
    async with access_log.audited(caller, "breach_assessment.read", "breach_assessment", assessment_id,
                                  writes=False) as audit:
        row = await _assessment(caller, assessment_id)
        audit.provider_id = row["provider_id"]
        return row


def _check_notified(field: str, when: datetime | None, occurred_at: datetime) -> None:
    if when is None:
        return
    if when > datetime.now(UTC) + CLOCK_SKEW:
        raise Invalid.field(field, f"{when.isoformat()} is in the future")
    if when < occurred_at:
        raise Invalid.field(field, f"{when.isoformat()} is before the incident ({occurred_at.isoformat()})")


def _missing_matters(current: dict[str, Any], changes: dict[str, Any]) -> list[dict[str, str]]:
    return [{"field": m, "message": f"record {MATTER_NAMES[m]}, before deciding whether serious harm is likely"}
            for m in MATTERS if not str(changes.get(m, current[m])).strip()]


async def update_breach_assessment(caller: Caller, assessment_id: UUID, data: BreachAssessmentUpdate,
                                   clocks: BreachClocks = BreachClocks()) -> dict[str, Any]:
    """Record the s 113 matters, the decision, who notifies, and the notifications. Judging serious harm likely
    starts the notification clock once: the same decision recorded again leaves it running from the first."""
    policies.UPDATE_BREACH_ASSESSMENT.check(caller)
    changes = data.changes()
    async with access_log.audited(caller, "breach_assessment.update", "breach_assessment", assessment_id) as audit:
        current = await _assessment(caller, assessment_id)
        audit.provider_id = current["provider_id"]
        if current["status"] != BreachStatus.open.value:
            raise Conflict("This breach assessment is closed and cannot be changed.",
                           errors=[{"field": "status", "message": "is closed"}])
        for field in ("commissioner_notified_at", "individuals_notified_at"):
            _check_notified(field, changes.get(field), current["occurred_at"])
        decision = changes.get("serious_harm_likely", current["serious_harm_likely"])
        if changes.get("serious_harm_likely") is not None:
            missing = _missing_matters(current, changes)
            if missing:
                raise Invalid("Serious harm is judged on the Privacy Act's s 113 matters: record them first ("
                              + "; ".join(MATTER_NAMES[e["field"]] for e in missing) + ").", errors=missing)
        elif decision is not None and any(m in changes and not str(changes[m]).strip() for m in MATTERS):
            raise Invalid("The decision on serious harm rests on the s 113 matters: a matter cannot be blanked "
                          "once decided.", errors=[{"field": m, "message": "cannot be blank once decided"}
                                                    for m in MATTERS if m in changes and not str(changes[m]).strip()])
        now = datetime.now(UTC)
        starts: dict[Any, Any] = {}
        values: dict[Any, Any] = {BreachAssessment._meta.get_column_by_name(f): v.strip() if isinstance(v, str) and
                                  f != "notes" else v for f, v in changes.items()}
        if "serious_harm_likely" in changes:
            values[BreachAssessment.assessed_at] = now if decision is not None else None
            values[BreachAssessment.assessed_by] = caller.user_id if decision is not None else None
            if decision is True and not current["serious_harm_likely"]:
                starts = {BreachAssessment.notifiable_at: now,
                          BreachAssessment.notification_due_at: now + timedelta(hours=clocks.notification_hours)}
                audit.details.append(f"notifiable: notify within {clocks.notification_hours} hours")
            elif decision is True:  # the same decision again: the clock keeps running from the first
                values.pop(BreachAssessment.assessed_at)
                values.pop(BreachAssessment.assessed_by)
            else:  # not notifiable after all: no clock (judged likely again later, it starts then)
                values[BreachAssessment.notifiable_at] = None
                values[BreachAssessment.notification_due_at] = None
        if "held_as_agent" in changes:
            agent = changes["held_as_agent"]
            values[BreachAssessment.notifier] = (None if agent is None else
                                                 Notifier.agency.value if agent else Notifier.provider.value)
        if values:
            audit.details.append("changed " + ", ".join(sorted(changes)))
            await BreachAssessment.update(values).where(BreachAssessment.id == assessment_id).run()
        if starts:
            # Only a clock not yet started starts: of two people recording the decision at once, the first
            # starts it and the second's leaves it running (the condition is checked again on the row itself).
            await BreachAssessment.update(starts).where(BreachAssessment.id == assessment_id,
                                                        BreachAssessment.notifiable_at.is_null()).run()
        return await _assessment(caller, assessment_id)


def closing_errors(assessment: dict[str, Any]) -> list[dict[str, str]]:
    """What an assessment lacks before it may close: the decision on the s 113 matters, and for serious harm who
    notifies and both notifications."""
    if assessment["serious_harm_likely"] is None:
        return [{"field": "serious_harm_likely", "message": "decide whether serious harm is likely first"}]
    errors = _missing_matters(assessment, {})
    if not assessment["serious_harm_likely"]:
        return errors
    if assessment["held_as_agent"] is None:
        errors.append({"field": "held_as_agent", "message": "serious harm is likely: record whether the provider "
                                                            "held the information as the agency's agent (s 11), "
                                                            "which decides who notifies"})
    return errors + [{"field": field, "message": f"serious harm is likely: record when {who} were notified"}
                     for field, who in (("commissioner_notified_at", "the Privacy Commissioner"),
                                        ("individuals_notified_at", "the affected people"))
                     if assessment[field] is None]


async def close_breach_assessment(caller: Caller, assessment_id: UUID) -> dict[str, Any]:
    policies.CLOSE_BREACH_ASSESSMENT.check(caller)
    async with access_log.audited(caller, "breach_assessment.close", "breach_assessment", assessment_id) as audit:
        current = await _assessment(caller, assessment_id)
        audit.provider_id = current["provider_id"]
        if current["status"] != BreachStatus.open.value:
            raise Conflict("This breach assessment is already closed.",
                           errors=[{"field": "status", "message": "is closed"}])
        errors = closing_errors(current)
        if errors:
            raise Invalid("The breach assessment cannot close yet: " + "; ".join(
                f"{e['field']}: {e['message']}" for e in errors), errors=errors)
        await BreachAssessment.update({BreachAssessment.status: "closed"}).where(
            BreachAssessment.id == assessment_id).run()
        audit.details.append("serious harm likely" if current["serious_harm_likely"] else "no serious harm")
        return await _assessment(caller, assessment_id)
