"""Audits: creating one, changing its dates, scope and team, and taking it through
``proposed → scheduled → in_progress → reported → closed`` (or ``cancelled``, with a reason, before it closes).

Dates are working days where the provider works (``audits.calendar``); the team are active auditors (or admins)
who are independent of the provider (``independence``); their days are booked through ``bookings`` so nobody is
on two audits a day; every change a calendar shows raises ``Audit.sequence``; every change and every read is in
the access log. A provider's people see their own provider's audits only.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from partner_audit import db
from partner_audit.api import Paging
from partner_audit.assessments.services.assessments import template_for
from partner_audit.assessments.tables import Assessment
from partner_audit.audits import calendar
from partner_audit.audits.schemas import ActionStatus, AuditorRole, AuditStatus, Severity
from partner_audit.audits.schemas.audits import AuditCreate, AuditFilter, AuditUpdate
from partner_audit.audits.services import bookings, independence
from partner_audit.audits.tables import Audit, AuditAuditor, CorrectiveAction, Finding
from partner_audit.controls.schemas import Template
from partner_audit.errors import Conflict, Invalid
from partner_audit.providers.tables import Provider
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller, Role
from partner_audit.security.tables import User
from partner_audit.security.tenancy import page_of, require_row, scoped

S = AuditStatus
# Statuses whose team holds its days booked, and in which dates, scope and team may change.
ACTIVE = frozenset({S.proposed, S.scheduled, S.in_progress})
FINISHED = frozenset({S.closed, S.cancelled})
AUDITOR_ROLES = (Role.auditor.value, Role.admin.value)

COLUMNS = (*Audit.all_columns(), Audit.provider.name.as_alias("provider_name"))


def now() -> datetime:
    return datetime.now(UTC)


def as_date(value: date | str | None) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def audit_out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "provider_id": row["provider"], "template_version_id": row["template_version"],
            "assessment_id": row["assessment"], "lead_auditor_id": row["lead_auditor"], "follows_id": row["follows"],
            "scope_areas": _json(row["scope_areas"]), "scope_controls": _json(row["scope_controls"]),
            "reasons": _json(row["reasons"]), "starts_on": as_date(row["starts_on"]),
            "ends_on": as_date(row["ends_on"])}


async def visible_audit(caller: Caller, audit_id: UUID | str, *, lock: bool = False) -> dict[str, Any]:
    """The audit, if the caller may see it (a foreign one reads as absent); ``lock``: held until the transaction
    ends (PostgreSQL; SQLite's IMMEDIATE transaction already has the only write lock)."""
    if lock and not db.is_sqlite():
        await Audit.select(Audit.id).where(Audit.id == str(audit_id)).lock_rows("UPDATE").run()
    row = await scoped(Audit.select(*COLUMNS).where(Audit.id == str(audit_id)), Audit.provider, caller).first().run()
    return audit_out(require_row(row, "audit", audit_id))


async def provider_of(provider_id: UUID | str, field: str = "provider_id") -> dict[str, Any]:
    row = await Provider.select(Provider.id, Provider.name, Provider.region, Provider.anniversary_day).where(
        Provider.id == str(provider_id)).first().run()
    if row is None:
        raise Invalid.field(field, f"no provider with id {provider_id}")
    return row


def check_dates(starts_on: date, ends_on: date, provider: dict[str, Any]) -> None:
    """No audit starts or ends on a day off where the provider works: a weekend, a public holiday, or the
    anniversary day it observes."""
    if ends_on < starts_on:
        raise Invalid.field("ends_on", f"{ends_on.isoformat()} is before the start, {starts_on.isoformat()}")
    anniversary = calendar.observed_by(provider)
    for field, day in (("starts_on", starts_on), ("ends_on", ends_on)):
        reason = calendar.day_off(day, anniversary)
        if reason:
            raise Invalid.field(field, f"{day.isoformat()} is {reason}, not a working day where {provider['name']} "
                                       "works: choose a working day")


async def template_of(version_id: UUID | str | None) -> Template | None:
    if version_id is None:
        return None
    try:
        template, _ = await template_for(UUID(str(version_id)))
    except Exception as exc:  # NotFound from the control library: a bad reference in the body, not a missing page
        raise Invalid.field("template_version_id", f"no template version with id {version_id}") from exc
    return template


def check_scope(template: Template | None, areas: list[str], controls: list[str]) -> None:
    if template is None:
        if areas or controls:
            raise Invalid.field("template_version_id", "is needed to scope an audit by focus areas or controls")
        return
    area_ids = {a.id for a in template.areas}
    control_ids = {c.id for a in template.areas for c in a.controls}
    for index, key in enumerate(areas):
        if key not in area_ids:
            raise Invalid.field(f"scope_areas[{index}]", f"{key!r} is not a focus area of {template.title} "
                                                         f"version {template.version}")
    for index, key in enumerate(controls):
        if key not in control_ids:
            raise Invalid.field(f"scope_controls[{index}]", f"{key!r} is not a control of {template.title} "
                                                            f"version {template.version}")


def controls_in_scope(template: Template, areas: list[str], controls: list[str]) -> set[str]:
    """The controls an audit covers: those named, and those of the focus areas named; all, when none are."""
    if not areas and not controls:
        return {c.id for a in template.areas for c in a.controls}
    return {c.id for a in template.areas for c in a.controls if a.id in areas or c.id in controls}


async def reviewed_assessment(provider_id: UUID | str, assessment_id: UUID | str | None) -> dict[str, Any] | None:
    """The accepted self-assessment the audit reviews: the one named (the provider's, and accepted), or the
    provider's latest accepted one (None if it has none)."""
    query = Assessment.select(Assessment.id, Assessment.template_version, Assessment.status, Assessment.provider)
    if assessment_id is not None:
        row = await query.where(Assessment.id == str(assessment_id)).first().run()
        if row is None or str(row["provider"]) != str(provider_id):
            raise Invalid.field("assessment_id", f"no self-assessment {assessment_id} of this provider")
        if row["status"] != "accepted":
            raise Invalid.field("assessment_id", f"the self-assessment is {row['status']}: an audit reviews an "
                                                 "accepted one")
        return row
    return await query.where((Assessment.provider == str(provider_id)) & (Assessment.status == "accepted")).order_by(
        Assessment.decided_at, ascending=False).first().run()


async def check_people(lead_id: UUID | None, member_ids: list[UUID]) -> None:
    """The lead and the others are active users whose role is auditor or admin."""
    wanted = [str(p) for p in ([lead_id] if lead_id else []) + list(member_ids)]
    if not wanted:
        return
    rows = await User.select(User.id, User.role, User.active, User.full_name).where(User.id.is_in(wanted)).run()
    found = {str(r["id"]): r for r in rows}
    named = [("lead_auditor_id", lead_id)] if lead_id else []
    named += [(f"auditor_ids[{i}]", m) for i, m in enumerate(member_ids)]
    for field, person in named:
        row = found.get(str(person))
        if row is None or row["role"] not in AUDITOR_ROLES:
            raise Invalid.field(field, f"{person} is not an auditor")
        if not row["active"]:
            raise Invalid.field(field, f"{row['full_name']} is no longer active")


async def team_of(audit_id: UUID | str) -> list[dict[str, Any]]:
    rows = await AuditAuditor.select(
        AuditAuditor.auditor, AuditAuditor.role, AuditAuditor.auditor.full_name.as_alias("name"),
        AuditAuditor.auditor.email.as_alias("email")).where(AuditAuditor.audit == str(audit_id)).order_by(
        AuditAuditor.role).order_by(AuditAuditor.auditor.full_name).run()
    return [{**r, "auditor_id": r["auditor"]} for r in rows]


async def _save_team(audit_id: UUID | str, lead_id: UUID | str | None, member_ids: list[UUID | str]) -> list[str]:
    await AuditAuditor.delete().where(AuditAuditor.audit == str(audit_id)).run()
    team = ([(str(lead_id), AuditorRole.lead)] if lead_id else []) + [
        (str(m), AuditorRole.member) for m in dict.fromkeys(str(m) for m in member_ids) if str(m) != str(lead_id)]
    if team:
        await AuditAuditor.insert(*[AuditAuditor(audit=str(audit_id), auditor=a, role=role.value,
                                                 audit_auditor=f"{audit_id}:{a}") for a, role in team]).run()
    return [a for a, _ in team]


async def _book(audit: dict[str, Any], provider: dict[str, Any], team: list[str]) -> None:
    """Book the team's working days of the audit (or free them, for an audit no longer running)."""
    if S(audit["status"]) in ACTIVE and team:
        await bookings.book(audit["id"], team, bookings.days_of(audit["starts_on"], audit["ends_on"],
                                                                calendar.observed_by(provider)))
    else:
        await bookings.release(audit["id"])


def _shown(values: dict[Any, Any]) -> dict[Any, Any]:
    """A change a calendar shows: its SEQUENCE goes up by one."""
    return {**values, Audit.sequence: Audit.sequence + 1, Audit.updated_at: now()}


async def _read(caller: Caller, audit_id: UUID | str) -> dict[str, Any]:
    audit = await visible_audit(caller, audit_id)
    findings = await Finding.count().where(Finding.audit == str(audit_id)).run()
    actions = await CorrectiveAction.select(CorrectiveAction.status, CorrectiveAction.due_on).where(
        CorrectiveAction.audit == str(audit_id)).run()
    summary = {s.value: 0 for s in ActionStatus}
    today = now().date()
    for row in actions:
        summary[row["status"]] += 1
    summary["total"] = len(actions)
    summary["overdue"] = sum(r["status"] == ActionStatus.open.value and as_date(r["due_on"]) < today
                             for r in actions)
    return {**audit, "team": await team_of(audit_id), "findings": findings, "actions": summary}


async def create_audit(caller: Caller, data: AuditCreate, *, independence_months: int = 12) -> dict[str, Any]:
    policies.CREATE_AUDIT.check(caller)
    async with access_log.audited(caller, "audit.create", "audit") as audit_log:
        provider = await provider_of(data.provider_id)
        audit_log.provider_id = provider["id"]
        check_dates(data.starts_on, data.ends_on, provider)
        assessment = await reviewed_assessment(provider["id"], data.assessment_id)
        version = data.template_version_id or (assessment["template_version"] if assessment else None)
        check_scope(await template_of(version), data.scope_areas, data.scope_controls)
        await check_people(data.lead_auditor_id, data.auditor_ids)
        await independence.check_team(provider["id"], provider["name"], data.starts_on, data.lead_auditor_id,
                                      data.auditor_ids, independence_months)
        audit = Audit(provider=provider["id"], kind=data.kind.value, title=data.title.strip(),
                      template_version=version, assessment=assessment["id"] if assessment else None,
                      scope_areas=list(data.scope_areas), scope_controls=list(data.scope_controls),
                      starts_on=data.starts_on, ends_on=data.ends_on, lead_auditor=data.lead_auditor_id,
                      created_by=caller.user_id)
        await audit.save().run()
        audit_log.record_id = audit.id
        team = await _save_team(audit.id, data.lead_auditor_id, data.auditor_ids)
        await _book({"id": audit.id, "status": S.proposed, "starts_on": data.starts_on, "ends_on": data.ends_on},
                     provider, team)
        audit_log.details.append(f"{data.kind.value} {data.starts_on}..{data.ends_on}, team of {len(team)}")
        return await _read(caller, audit.id)


async def update_audit(caller: Caller, audit_id: UUID, data: AuditUpdate, *, independence_months: int = 12
                       ) -> dict[str, Any]:
    """Change dates, title, scope or team while the audit has not been reported; the team is re-checked and
    re-booked whenever the dates or the team change."""
    policies.EDIT_AUDIT.check(caller)
    changes = data.changes()
    async with access_log.audited(caller, "audit.update", "audit", audit_id) as audit_log:
        audit = await visible_audit(caller, audit_id, lock=True)
        audit_log.provider_id = audit["provider_id"]
        if S(audit["status"]) not in ACTIVE:
            raise Conflict(f"This audit is {audit['status']}: its dates, scope and team can no longer change.")
        provider = await provider_of(audit["provider_id"])
        merged = {**audit, **changes}
        team = await team_of(audit_id)
        lead = merged["lead_auditor_id"]
        members = changes.get("auditor_ids", [m["auditor_id"] for m in team if m["role"] == AuditorRole.member.value])
        if "starts_on" in changes or "ends_on" in changes:
            check_dates(merged["starts_on"], merged["ends_on"], provider)
        scope_keys = ("template_version_id", "scope_areas", "scope_controls", "assessment_id")
        if any(k in changes for k in scope_keys):
            if "assessment_id" in changes and changes["assessment_id"] is not None:
                await reviewed_assessment(provider["id"], changes["assessment_id"])
            check_scope(await template_of(merged["template_version_id"]), merged["scope_areas"],
                        merged["scope_controls"])
        team_changed = "lead_auditor_id" in changes or "auditor_ids" in changes
        if lead is None and S(audit["status"]) != S.proposed:
            raise Invalid.field("lead_auditor_id", f"a {audit['status'].replace('_', ' ')} audit keeps a lead auditor: "
                                                   "name another instead")
        if team_changed or "starts_on" in changes:
            await check_people(lead, list(members) if team_changed else [])
            await independence.check_team(provider["id"], provider["name"], merged["starts_on"], lead, members,
                                          independence_months, exclude_audit=audit_id)
        values: dict[Any, Any] = {Audit.updated_at: now()}
        columns = {"title": Audit.title, "starts_on": Audit.starts_on, "ends_on": Audit.ends_on,
                   "template_version_id": Audit.template_version, "scope_areas": Audit.scope_areas,
                   "scope_controls": Audit.scope_controls, "assessment_id": Audit.assessment,
                   "lead_auditor_id": Audit.lead_auditor}
        for key, value in changes.items():
            if key in columns:
                values[columns[key]] = value.strip() if key == "title" else (
                    str(value) if isinstance(value, UUID) else value)
        shown = team_changed or any(k in changes for k in ("title", "starts_on", "ends_on"))
        await Audit.update(_shown(values) if shown else values).where(Audit.id == str(audit_id)).run()
        if team_changed:
            booked = await _save_team(audit_id, lead, members)
        else:
            booked = [m["auditor_id"] for m in team]
        if team_changed or "starts_on" in changes or "ends_on" in changes:
            await _book({**merged, "id": audit_id}, provider, booked)
        audit_log.details.append("changed " + ", ".join(sorted(changes)) if changes else "nothing changed")
        return await _read(caller, audit_id)


async def _transition(caller: Caller, audit_id: UUID, action: str, allowed_from: frozenset[S], to: S,
                      extra: dict[Any, Any] | None = None, check: Any = None, detail: str = "") -> dict[str, Any]:
    async with access_log.audited(caller, f"audit.{action}", "audit", audit_id) as audit_log:
        audit = await visible_audit(caller, audit_id, lock=True)
        audit_log.provider_id = audit["provider_id"]
        if S(audit["status"]) not in allowed_from:
            froms = " or ".join(sorted(s.value for s in allowed_from))
            raise Conflict(f"This audit is {audit['status']}: it can be {to.value.replace('_', ' ')} only from "
                           f"{froms}.")
        if check is not None:
            await check(audit)
        await Audit.update(_shown({Audit.status: to.value, **(extra or {})})).where(Audit.id == str(audit_id)).run()
        if to in FINISHED:
            await bookings.release(audit_id)
        elif S(audit["status"]) == S.proposed and to == S.scheduled:
            provider = await provider_of(audit["provider_id"])
            await _book({**audit, "status": to}, provider, [m["auditor_id"] for m in await team_of(audit_id)])
        audit_log.details.append(f"{audit['status']} -> {to.value}" + (f": {detail}" if detail else ""))
        return await _read(caller, audit_id)


async def _has_lead(audit: dict[str, Any]) -> None:
    if audit["lead_auditor_id"] is None:
        raise Conflict("Name a lead auditor before scheduling this audit (PATCH lead_auditor_id).",
                       errors=[{"field": "lead_auditor_id", "message": "is needed to schedule"}])


async def schedule(caller: Caller, audit_id: UUID) -> dict[str, Any]:
    """A proposed audit is committed to: it needs a lead auditor; the team's days stay booked."""
    policies.SCHEDULE_AUDIT.check(caller)
    return await _transition(caller, audit_id, "schedule", frozenset({S.proposed}), S.scheduled, check=_has_lead)


async def start(caller: Caller, audit_id: UUID) -> dict[str, Any]:
    policies.START_AUDIT.check(caller)
    return await _transition(caller, audit_id, "start", frozenset({S.scheduled}), S.in_progress)


async def report(caller: Caller, audit_id: UUID, summary: str = "") -> dict[str, Any]:
    policies.REPORT_AUDIT.check(caller)
    return await _transition(caller, audit_id, "report", frozenset({S.in_progress}), S.reported,
                             {Audit.summary: summary.strip(), Audit.reported_at: now()})


async def closing_blockers(audit_id: UUID | str) -> list[str]:
    """What keeps an audit from closing, in words: findings not rated, and high or critical findings whose
    corrective actions are not all verified or carried forward (or that have none)."""
    findings = await Finding.select(Finding.id, Finding.control_id, Finding.rating, Finding.severity).where(
        Finding.audit == str(audit_id)).order_by(Finding.control_id).run()
    actions = await CorrectiveAction.select(CorrectiveAction.finding, CorrectiveAction.status,
                                            CorrectiveAction.description).where(
        CorrectiveAction.audit == str(audit_id)).run()
    done = (ActionStatus.verified.value, ActionStatus.carried_forward.value)
    blockers = []
    for finding in findings:
        if finding["rating"] is None:
            blockers.append(f"the finding on {finding['control_id']} is not rated")
        if finding["severity"] in (Severity.high.value, Severity.critical.value):
            own = [a for a in actions if str(a["finding"]) == str(finding["id"])]
            if not own:
                blockers.append(f"the {finding['severity']} finding on {finding['control_id']} has no corrective "
                                "action")
            for action in own:
                if action["status"] not in done:
                    blockers.append(f"the corrective action on {finding['control_id']} "
                                    f"(\"{action['description'][:60]}\") is {action['status']}, not verified or "
                                    "carried forward")
    return blockers


async def _closable(audit: dict[str, Any]) -> None:
    blockers = await closing_blockers(audit["id"])
    if blockers:
        raise Conflict("This audit cannot close yet: " + "; ".join(blockers) + ".",
                       errors=[{"field": "findings", "message": b} for b in blockers])


async def close(caller: Caller, audit_id: UUID) -> dict[str, Any]:
    """A reported audit closes once every finding is rated and every high or critical finding's corrective
    actions are verified or carried forward; otherwise a 409 lists what blocks it."""
    policies.CLOSE_AUDIT.check(caller)
    return await _transition(caller, audit_id, "close", frozenset({S.reported}), S.closed,
                             {Audit.closed_at: now()}, check=_closable)


async def cancel(caller: Caller, audit_id: UUID, reason: str) -> dict[str, Any]:
    """Cancelled, with a reason, from any state before closed; the team's days are freed. It stays in calendars,
    marked cancelled."""
    policies.CANCEL_AUDIT.check(caller)
    return await _transition(caller, audit_id, "cancel", frozenset(S) - FINISHED, S.cancelled,
                             {Audit.cancelled_reason: reason.strip()}, detail=reason.strip()[:200])


async def get_audit(caller: Caller, audit_id: UUID) -> dict[str, Any]:
    policies.SEE_AUDITS.check(caller)
    async with access_log.audited(caller, "audit.read", "audit", audit_id, writes=False) as audit_log:
        found = await _read(caller, audit_id)
        audit_log.provider_id = found["provider_id"]
        return found


async def list_audits(caller: Caller, flt: AuditFilter, paging: Paging) -> tuple[list[dict[str, Any]], int]:
    policies.SEE_AUDITS.check(caller)
    clauses = []
    if flt.provider_id:
        clauses.append(Audit.provider == str(flt.provider_id))
    if flt.status:
        clauses.append(Audit.status == flt.status.value)
    if flt.kind:
        clauses.append(Audit.kind == flt.kind.value)
    if flt.starts_from:
        clauses.append(Audit.ends_on >= flt.starts_from)
    if flt.ends_by:
        clauses.append(Audit.starts_on <= flt.ends_by)
    return await page_of(caller, paging, Audit.select(*COLUMNS), Audit.count(), action="audit.list",
                         record_type="audit", scope=Audit.provider, where=clauses,
                         order_by=[Audit.starts_on, Audit.id], provider_id=caller.provider_id,
                         present=lambda rows: [audit_out(r) for r in rows])
