"""Privacy breach assessments: every incident, a near miss too, gets one, due ``BREACH_ASSESSMENT_DAYS`` after it
was reported. It records whether serious harm is likely and, if so, when the Privacy Commissioner and the
affected people were notified; it closes only once those are recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from partner_audit.api import Paging
from partner_audit.devices.schemas import BreachAssessmentFilter, BreachAssessmentUpdate, BreachStatus
from partner_audit.devices.tables import BreachAssessment
from partner_audit.errors import Conflict, Invalid
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller
from partner_audit.security.tenancy import page_of, require_row, scoped

# How long the agency gives itself to decide whether a breach is likely to cause serious harm. The Privacy Act
# 2020 (s 114) asks for notification of a notifiable breach "as soon as practicable" and names no number of days;
# this is the outer limit the register holds assessments to, after which an open one is flagged overdue.
BREACH_ASSESSMENT_DAYS = 30
# Times people type may run a few minutes ahead of the server's clock.
CLOCK_SKEW = timedelta(minutes=5)

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


def assessment_out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "incident_id": row["incident"], "hours_since_incident": hours_since(row["occurred_at"]),
            "overdue": row["status"] == BreachStatus.open.value and row["due_at"] < datetime.now(UTC)}


async def list_breach_assessments(caller: Caller, flt: BreachAssessmentFilter, paging: Paging
                                  ) -> tuple[list[dict[str, Any]], int]:
    policies.SEE_BREACH_ASSESSMENTS.check(caller)
    now = datetime.now(UTC)
    clauses = []
    if flt.status:
        clauses.append(BreachAssessment.status == flt.status.value)
    if flt.overdue is True:
        clauses.append((BreachAssessment.status == BreachStatus.open.value) & (BreachAssessment.due_at < now))
    elif flt.overdue is False:
        clauses.append((BreachAssessment.status != BreachStatus.open.value) | (BreachAssessment.due_at >= now))
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


async def update_breach_assessment(caller: Caller, assessment_id: UUID, data: BreachAssessmentUpdate
                                   ) -> dict[str, Any]:
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
        values: dict[Any, Any] = {BreachAssessment._meta.get_column_by_name(f): v for f, v in changes.items()}
        if "serious_harm_likely" in changes:
            values[BreachAssessment.assessed_at] = datetime.now(UTC)
            values[BreachAssessment.assessed_by] = caller.user_id
        if values:
            audit.details.append("changed " + ", ".join(sorted(changes)))
            await BreachAssessment.update(values).where(BreachAssessment.id == assessment_id).run()
        return await _assessment(caller, assessment_id)


def closing_errors(assessment: dict[str, Any]) -> list[dict[str, str]]:
    """What an assessment lacks before it may close: the decision, and for serious harm both notifications."""
    if assessment["serious_harm_likely"] is None:
        return [{"field": "serious_harm_likely", "message": "decide whether serious harm is likely first"}]
    if not assessment["serious_harm_likely"]:
        return []
    return [{"field": field, "message": f"serious harm is likely: record when {who} were notified"}
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
