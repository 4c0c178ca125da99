"""Findings: what an audit found, one per control of its template (in its scope, when it has one), editable until
the audit closes. A critical finding proposes a follow-up audit, once, however often it is saved."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from partner_audit import db
from partner_audit.audits import calendar
from partner_audit.audits.schemas import AuditKind, AuditOrigin, AuditStatus, Severity
from partner_audit.audits.schemas.audits import FindingCreate, FindingUpdate
from partner_audit.audits.services.audits import (
    FINISHED,
    controls_in_scope,
    now,
    provider_of,
    template_of,
    visible_audit,
)
from partner_audit.audits.tables import Audit, AuditEvidence, Finding
from partner_audit.errors import Conflict, Invalid
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller
from partner_audit.security.tenancy import require_row, scoped

FOLLOW_UP_WORKING_DAYS = 20  # a critical finding's follow-up starts this many NZ working days after it is found
EVIDENCE_COLUMNS = (AuditEvidence.id, AuditEvidence.audit, AuditEvidence.finding, AuditEvidence.action,
                    AuditEvidence.filename, AuditEvidence.content_type, AuditEvidence.size, AuditEvidence.sha256,
                    AuditEvidence.uploaded_at)
COLUMNS = (*Finding.all_columns(), Finding.audit.provider.as_alias("provider_id"),
           Finding.audit.status.as_alias("audit_status"), Finding.audit.title.as_alias("audit_title"))


def evidence_out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "audit_id": row["audit"], "finding_id": row["finding"], "action_id": row["action"]}


async def evidence_of(column: Any, ids: list[Any]) -> dict[str, list[dict[str, Any]]]:
    """Files attached to each of ``ids`` (findings or actions, by ``column``)."""
    out: dict[str, list[dict[str, Any]]] = {str(i): [] for i in ids}
    if ids:
        for row in await AuditEvidence.select(*EVIDENCE_COLUMNS).where(column.is_in([str(i) for i in ids])).order_by(
                AuditEvidence.uploaded_at).run():
            out[str(row[column._meta.name])].append(evidence_out(row))
    return out


async def findings_out(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = [r["id"] for r in rows]
    files = await evidence_of(AuditEvidence.finding, ids)
    follow_ups = {}
    if ids:
        follow_ups = {r["origin_key"]: r["id"] for r in await Audit.select(Audit.id, Audit.origin_key).where(
            Audit.origin_key.is_in([f"finding:{i}" for i in ids])).run()}
    return [{**r, "audit_id": r["audit"], "evidence": files[str(r["id"])],
             "follow_up_audit_id": follow_ups.get(f"finding:{r['id']}")} for r in rows]


async def visible_finding(caller: Caller, finding_id: UUID | str, *, lock: bool = False) -> dict[str, Any]:
    if lock and not db.is_sqlite():
        await Finding.select(Finding.id).where(Finding.id == str(finding_id)).lock_rows("UPDATE").run()
    row = await scoped(Finding.select(*COLUMNS).where(Finding.id == str(finding_id)), Finding.audit.provider,
                       caller).first().run()
    return require_row(row, "finding", finding_id)


async def _one(finding_id: UUID | str) -> dict[str, Any]:
    (row,) = await findings_out([await Finding.select(*COLUMNS).where(Finding.id == str(finding_id)).first().run()])
    return row


def _editable(audit_status: str) -> None:
    if AuditStatus(audit_status) in FINISHED:
        raise Conflict(f"The audit is {audit_status}: its findings can no longer change.")


async def propose_follow_up(caller: Caller, finding: dict[str, Any], today: date | None = None) -> UUID | None:
    """A critical finding proposes a follow-up audit of the provider, once (its ``origin_key`` is the finding's),
    starting ``FOLLOW_UP_WORKING_DAYS`` working days after today, with no team yet. Call inside the transaction
    that saved the finding. Returns the new audit's id, or None when one was already proposed."""
    key = f"finding:{finding['id']}"
    if await Audit.exists().where(Audit.origin_key == key).run():
        return None
    audit = await Audit.select(Audit.id, Audit.title, Audit.provider, Audit.template_version,
                               Audit.starts_on).where(Audit.id == str(finding["audit"])).first().run()
    provider = await provider_of(audit["provider"])
    starts_on = calendar.add_working_days(today or now().date(), FOLLOW_UP_WORKING_DAYS, calendar.observed_by(provider))
    why = (f"A critical finding on control {finding['control_id']} in \"{audit['title'] or 'an audit'}\""
           + (f": {finding['observation'].strip()[:300]}" if finding["observation"].strip() else "")
           + f". The fix is followed up {FOLLOW_UP_WORKING_DAYS} working days on.")
    follow_up = Audit(provider=audit["provider"], kind=AuditKind.follow_up.value, status=AuditStatus.proposed.value,
                      title=f"Follow-up: {audit['title'] or finding['control_id']}"[:200],
                      template_version=audit["template_version"], scope_controls=[finding["control_id"]],
                      starts_on=starts_on, ends_on=starts_on, origin=AuditOrigin.critical_finding.value,
                      origin_key=key, follows=audit["id"], reasons={"provider": why}, created_by=caller.user_id)
    try:
        await follow_up.save().run()
    except Exception as exc:
        if db.is_unique_violation(exc):  # proposed by a change that committed a moment ago
            raise Conflict("This finding's follow-up audit was proposed a moment ago by another change: look "
                           "again.") from exc
        raise
    await access_log.append(caller, action="audit.propose", record_type="audit", record_id=follow_up.id,
                            provider_id=audit["provider"], detail=f"follow-up of a critical finding ({key})")
    return follow_up.id


async def record_finding(caller: Caller, audit_id: UUID, data: FindingCreate) -> dict[str, Any]:
    policies.RECORD_FINDING.check(caller)
    async with access_log.audited(caller, "finding.create", "finding") as audit_log:
        audit = await visible_audit(caller, audit_id, lock=True)
        audit_log.provider_id = audit["provider_id"]
        _editable(audit["status"])
        template = await template_of(audit["template_version_id"])
        if template is None:
            raise Conflict("This audit has no template version, so it has no controls to find on: set its scope "
                           "first (PATCH template_version_id).")
        if data.control_id not in controls_in_scope(template, [], []):
            raise Invalid.field("control_id", f"{data.control_id!r} is not a control of {template.title} version "
                                              f"{template.version}")
        if data.control_id not in controls_in_scope(template, audit["scope_areas"], audit["scope_controls"]):
            raise Invalid.field("control_id", f"{data.control_id!r} is outside this audit's scope")
        key = f"{audit_id}:{data.control_id}"
        existing = await Finding.select(Finding.id).where(Finding.audit_control == key).first().run()
        if existing:
            raise Conflict(f"This audit already has a finding on {data.control_id}: change that one "
                           f"(PATCH /api/v1/findings/{existing['id']}).", finding_id=str(existing["id"]))
        finding = Finding(audit=str(audit_id), control_id=data.control_id, audit_control=key,
                          rating=data.rating.value if data.rating else None, severity=data.severity.value,
                          observation=data.observation, recommendation=data.recommendation,
                          recorded_by=caller.user_id)
        try:
            await finding.save().run()
        except Exception as exc:
            if db.is_unique_violation(exc):
                raise Conflict(f"A finding on {data.control_id} was recorded a moment ago by another change: "
                               "look again and change that one.") from exc
            raise
        audit_log.record_id = finding.id
        audit_log.details.append(f"{data.control_id}: {data.rating.value if data.rating else 'not rated'}, "
                                 f"{data.severity.value}")
        if data.severity == Severity.critical:
            await propose_follow_up(caller, {"id": finding.id, "audit": audit_id, "control_id": data.control_id,
                                             "observation": data.observation})
        return await _one(finding.id)


async def update_finding(caller: Caller, finding_id: UUID, data: FindingUpdate) -> dict[str, Any]:
    policies.RECORD_FINDING.check(caller)
    changes = data.changes()
    async with access_log.audited(caller, "finding.update", "finding", finding_id) as audit_log:
        finding = await visible_finding(caller, finding_id, lock=True)
        audit_log.provider_id = finding["provider_id"]
        _editable(finding["audit_status"])
        values: dict[Any, Any] = {Finding.updated_at: now()}
        for key, column in (("rating", Finding.rating), ("severity", Finding.severity),
                            ("observation", Finding.observation), ("recommendation", Finding.recommendation)):
            if key in changes:
                value = changes[key]
                values[column] = value.value if hasattr(value, "value") else value
        await Finding.update(values).where(Finding.id == str(finding_id)).run()
        audit_log.details.append(f"{finding['control_id']}: changed " + ", ".join(sorted(changes)))
        if changes.get("severity") == Severity.critical:
            await propose_follow_up(caller, {**finding, "observation": changes.get("observation",
                                                                                    finding["observation"])})
        return await _one(finding_id)


async def get_finding(caller: Caller, finding_id: UUID) -> dict[str, Any]:
    policies.SEE_FINDINGS.check(caller)
    async with access_log.audited(caller, "finding.read", "finding", finding_id, writes=False) as audit_log:
        finding = await visible_finding(caller, finding_id)
        audit_log.provider_id = finding["provider_id"]
        (out,) = await findings_out([finding])
        return out


async def list_findings(caller: Caller, audit_id: UUID) -> list[dict[str, Any]]:
    """Every finding of the audit, by control."""
    policies.SEE_FINDINGS.check(caller)
    async with access_log.audited(caller, "finding.list", "audit", audit_id, writes=False) as audit_log:
        audit = await visible_audit(caller, audit_id)
        audit_log.provider_id = audit["provider_id"]
        rows = await Finding.select(*COLUMNS).where(Finding.audit == str(audit_id)).order_by(Finding.control_id).run()
        return await findings_out(rows)
