"""Incidents: a device lost, stolen, damaged or misused, or a near miss. Every incident starts a breach
assessment (``breaches``) with its clock; lost and stolen also close the open assignment and mark the device."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from piccolo.query import Select

from partner_audit.api import Paging
from partner_audit.devices.schemas import BreachStatus, DeviceStatus, IncidentCreate, IncidentFilter, IncidentKind
from partner_audit.devices.services.breaches import (
    ASSESSMENT_COLUMNS,
    CLOCK_SKEW,
    BreachClocks,
    assessment_out,
    hours_since,
    overdue_flags,
)
from partner_audit.devices.services.visibility import find_device
from partner_audit.devices.tables import Assignment, BreachAssessment, Device, Incident
from partner_audit.errors import Invalid
from partner_audit.security import access_log, policies
from partner_audit.security.access_log import Audit
from partner_audit.security.caller import Caller
from partner_audit.security.tenancy import page_of, require_row, scoped

LOSSES = frozenset({IncidentKind.lost, IncidentKind.stolen})


def select_incidents() -> Select:
    return Incident.select(*Incident.all_columns(), Incident.device.asset_tag.as_alias("asset_tag"))


async def incidents_out(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    assessments: dict[str, dict[str, Any]] = {}
    if rows:
        found = await BreachAssessment.select(*ASSESSMENT_COLUMNS).where(
            BreachAssessment.incident.is_in([r["id"] for r in rows])).run()
        assessments = {str(a["incident"]): assessment_out(a) for a in found}
    return [{**r, "device_id": r["device"], "assignment_id": r["assignment"], "provider_id": r["provider"],
             "hours_since_incident": hours_since(r["occurred_at"]), "assessment": assessments[str(r["id"])]}
            for r in rows]


async def _incident(caller: Caller, incident_id: UUID) -> dict[str, Any]:
    row = await scoped(select_incidents().where(Incident.id == incident_id), Incident.provider, caller).first().run()
    (out,) = await incidents_out([require_row(row, "incident", incident_id)])
    return out


async def report_incident(caller: Caller, data: IncidentCreate, clocks: BreachClocks = BreachClocks()
                          ) -> dict[str, Any]:
    """Lost or stolen closes the open assignment (the device did not come back: no return date) and marks the
    device. Every incident, a near miss too, starts a breach assessment with its clock: the decision on serious
    harm is due ``clocks.assessment_hours`` after the report (see ``breaches``)."""
    policies.REPORT_INCIDENT.check(caller)
    async with access_log.audited(caller, "incident.report", "incident") as audit:
        return await open_incident(caller, data, clocks, audit)


async def open_incident(caller: Caller, data: IncidentCreate, clocks: BreachClocks, audit: Audit
                        ) -> dict[str, Any]:
    """``report_incident`` inside the caller's own logged transaction, for a service that opens an incident as
    part of its own action under its own policy (a device not seen at an audit's spot-check)."""
    now = datetime.now(UTC)
    if data.occurred_at > now + CLOCK_SKEW:
        raise Invalid.field("occurred_at", f"{data.occurred_at.isoformat()} is in the future")
    device = await find_device(caller, data.device_id)  # for a provider's people: held by their provider now
    current = await scoped(Assignment.select(Assignment.id, Assignment.provider).where(
        Assignment.open_device == data.device_id), Assignment.provider, caller).first().run()
    incident = Incident(
        device=data.device_id, assignment=current["id"] if current else None,
        provider=current["provider"] if current else None, kind=data.kind.value, occurred_at=data.occurred_at,
        reported_at=now, reported_by=data.reported_by.strip(), location=data.location.strip(),
        information_at_risk=data.information_at_risk.strip(), description=data.description,
        created_by=caller.user_id,
    )
    await incident.save().run()
    audit.record_id, audit.provider_id = incident.id, incident.provider
    audit.details.append(f"{data.kind.value}: device {device['asset_tag']}")
    if data.kind in LOSSES:
        if current:
            await Assignment.update({Assignment.closed_at: now, Assignment.open_device: None}).where(
                Assignment.id == current["id"]).run()
            audit.details.append(f"assignment {current['id']} closed")
        # Retired is final: a retired device that goes missing keeps its status, the incident records the loss.
        if device["status"] != DeviceStatus.retired.value:
            await Device.update({Device.status: data.kind.value, Device.updated_at: now}).where(
                Device.id == data.device_id).run()
    await BreachAssessment(incident=incident.id, due_at=clocks.assessment_due(now)).save().run()
    return await _incident(caller, incident.id)


async def get_incident(caller: Caller, incident_id: UUID) -> dict[str, Any]:
    policies.SEE_REGISTER.check(caller)
    async with access_log.audited(caller, "incident.read", "incident", incident_id, writes=False) as audit:
        incident = await _incident(caller, incident_id)
        audit.provider_id = incident["provider_id"]
        return incident


def _incident_clauses(flt: IncidentFilter) -> list[Any]:
    clauses = []
    if flt.kind:
        clauses.append(Incident.kind == flt.kind.value)
    if flt.device_id:
        clauses.append(Incident.device == flt.device_id)
    if flt.provider_id:
        clauses.append(Incident.provider == flt.provider_id)
    if flt.since:
        clauses.append(Incident.occurred_at >= datetime.combine(flt.since, datetime.min.time(), UTC))
    if flt.until:
        clauses.append(Incident.occurred_at < datetime.combine(flt.until, datetime.min.time(), UTC))
    return clauses


async def list_incidents(caller: Caller, flt: IncidentFilter, paging: Paging
                         ) -> tuple[list[dict[str, Any]], int]:
    policies.SEE_REGISTER.check(caller)
    return await page_of(caller, paging, select_incidents(), Incident.count(), action="incident.list",
                         record_type="incident", scope=Incident.provider, where=_incident_clauses(flt),
                         order_by=[(Incident.reported_at, False), Incident.id], provider_id=caller.provider_id,
                         present=incidents_out)


async def incident_summary(caller: Caller, flt: IncidentFilter) -> dict[str, Any]:
    """Counts for reporting: near misses apart from incidents; open, overdue and serious-harm assessments. Counts
    only, no personal information: governance reads it too."""
    policies.SEE_INCIDENT_SUMMARY.check(caller)
    clauses = _incident_clauses(IncidentFilter(provider_id=flt.provider_id, since=flt.since, until=flt.until))
    async with access_log.audited(caller, "incident.summary", "incident", provider_id=caller.provider_id, writes=False):
        query = scoped(Incident.select(Incident.kind), Incident.provider, caller)
        kinds = await (query.where(*clauses) if clauses else query).run()
        by_kind = {k.value: 0 for k in IncidentKind}
        for row in kinds:
            by_kind[row["kind"]] += 1
        assessments = scoped(BreachAssessment.select(
            BreachAssessment.status, BreachAssessment.due_at, BreachAssessment.serious_harm_likely,
            BreachAssessment.notification_due_at, BreachAssessment.commissioner_notified_at,
            BreachAssessment.individuals_notified_at), BreachAssessment.incident.provider, caller)
        incident_ids = scoped(Incident.select(Incident.id), Incident.provider, caller)
        if clauses:
            assessments = assessments.where(BreachAssessment.incident.is_in(incident_ids.where(*clauses)))
        found = await assessments.run()
        now = datetime.now(UTC)
        late = [overdue_flags(a, now) for a in found]
        return {
            "incidents": len(kinds) - by_kind[IncidentKind.near_miss.value],
            "near_misses": by_kind[IncidentKind.near_miss.value],
            "by_kind": by_kind,
            "open_assessments": sum(a["status"] == BreachStatus.open.value for a in found),
            "overdue_assessments": sum(deciding for deciding, _ in late),
            "overdue_notifications": sum(notifying for _, notifying in late),
            "serious_harm": sum(a["serious_harm_likely"] is True for a in found),
        }
