"""Corrective actions: the fixes a finding asks of the provider. ``open → responded → verified``; the auditor may
return a response to open with a reason, or carry an action forward past the audit's close with a reason. An open
action past its due date is overdue. The provider's admin answers their own provider's actions; the auditors
raise, verify, return and carry them forward.

Each move checks the action's status under a lock (PostgreSQL row lock; SQLite's IMMEDIATE transaction), so the
same request sent twenty times at once moves it once and the others are told it already moved."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from partner_audit import db
from partner_audit.api import Paging
from partner_audit.audits.schemas import ActionStatus
from partner_audit.audits.schemas.audits import ActionCreate, ActionFilter
from partner_audit.audits.services.audits import FINISHED, AuditStatus, as_date, now
from partner_audit.audits.services.findings import evidence_of, visible_finding
from partner_audit.audits.tables import AuditEvidence, CorrectiveAction
from partner_audit.errors import Conflict, Invalid
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller
from partner_audit.security.policies import Policy
from partner_audit.security.tenancy import page_of, require_row, scoped

A = ActionStatus
PAST = {"respond": "answered", "verify": "verified", "return": "returned", "carry-forward": "carried forward"}
COLUMNS = (*CorrectiveAction.all_columns(), CorrectiveAction.finding.control_id.as_alias("control_id"),
           CorrectiveAction.finding.severity.as_alias("severity"),
           CorrectiveAction.audit.status.as_alias("audit_status"))


def overdue(status: str, due_on: date | str, today: date | None = None) -> int:
    """Days an action is overdue: still open past its due date (0 when it is not)."""
    late = ((today or now().date()) - as_date(due_on)).days
    return late if status == A.open.value and late > 0 else 0


async def actions_out(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    files = await evidence_of(AuditEvidence.action, [r["id"] for r in rows])
    today = now().date()
    out = []
    for r in rows:
        late = overdue(r["status"], r["due_on"], today)
        out.append({**r, "finding_id": r["finding"], "audit_id": r["audit"], "provider_id": r["provider"],
                    "due_on": as_date(r["due_on"]), "overdue": late > 0, "days_overdue": late,
                    "evidence": files[str(r["id"])]})
    return out


async def visible_action(caller: Caller, action_id: UUID | str, *, lock: bool = False) -> dict[str, Any]:
    if lock and not db.is_sqlite():
        await CorrectiveAction.select(CorrectiveAction.id).where(CorrectiveAction.id == str(action_id)).lock_rows(
            "UPDATE").run()
    row = await scoped(CorrectiveAction.select(*COLUMNS).where(CorrectiveAction.id == str(action_id)),
                       CorrectiveAction.provider, caller).first().run()
    return require_row(row, "corrective action", action_id)


async def _one(action_id: UUID | str) -> dict[str, Any]:
    row = await CorrectiveAction.select(*COLUMNS).where(CorrectiveAction.id == str(action_id)).first().run()
    (out,) = await actions_out([row])
    return out


async def raise_action(caller: Caller, finding_id: UUID, data: ActionCreate) -> dict[str, Any]:
    """Ask the provider for a fix, owned by a person there, due on a day not already past."""
    policies.RAISE_CORRECTIVE_ACTION.check(caller)
    async with access_log.audited(caller, "corrective_action.create", "corrective_action") as audit_log:
        finding = await visible_finding(caller, finding_id, lock=True)
        audit_log.provider_id = finding["provider_id"]
        if AuditStatus(finding["audit_status"]) in FINISHED:
            raise Conflict(f"The audit is {finding['audit_status']}: no more corrective actions can be raised on it.")
        if data.due_on < now().date():
            raise Invalid.field("due_on", f"{data.due_on.isoformat()} has passed: give the provider a day to come")
        action = CorrectiveAction(finding=str(finding_id), audit=finding["audit"], provider=finding["provider_id"],
                                  description=data.description.strip(), owner_name=data.owner_name.strip(),
                                  owner_email=(data.owner_email or "").strip().lower(), due_on=data.due_on,
                                  created_by=caller.user_id)
        await action.save().run()
        audit_log.record_id = action.id
        audit_log.details.append(f"on {finding['control_id']}, due {data.due_on.isoformat()}, "
                                 f"owner {data.owner_name.strip()}")
        return await _one(action.id)


async def _move(caller: Caller, policy: Policy, action_id: UUID, verb: str, allowed: tuple[A, ...], to: A,
                values: dict[Any, Any], detail: str = "") -> dict[str, Any]:
    policy.check(caller)
    async with access_log.audited(caller, f"corrective_action.{verb}", "corrective_action", action_id) as audit_log:
        action = await visible_action(caller, action_id, lock=True)
        audit_log.provider_id = action["provider"]
        if AuditStatus(action["audit_status"]) in FINISHED:
            raise Conflict(f"The audit is {action['audit_status']}: its corrective actions can no longer change.")
        if A(action["status"]) not in allowed:
            froms = " or ".join(a.value.replace("_", " ") for a in allowed)
            raise Conflict(f"This corrective action is {action['status'].replace('_', ' ')}; it can be "
                           f"{PAST[verb]} only when {froms}.")
        await CorrectiveAction.update({CorrectiveAction.status: to.value, CorrectiveAction.updated_at: now(),
                                       **values}).where(CorrectiveAction.id == str(action_id)).run()
        audit_log.details.append(f"{action['status']} -> {to.value}" + (f": {detail[:200]}" if detail else ""))
        return await _one(action_id)


async def respond(caller: Caller, action_id: UUID, response: str) -> dict[str, Any]:
    """The provider's admin says what was done (their own provider's actions only)."""
    return await _move(caller, policies.RESPOND_TO_CORRECTIVE_ACTION, action_id, "respond", (A.open,), A.responded,
                       {CorrectiveAction.response: response.strip(), CorrectiveAction.responded_by: caller.user_id,
                        CorrectiveAction.responded_at: now()})


async def verify(caller: Caller, action_id: UUID, note: str = "") -> dict[str, Any]:
    return await _move(caller, policies.VERIFY_CORRECTIVE_ACTION, action_id, "verify", (A.responded,), A.verified,
                       {CorrectiveAction.verification_note: note.strip(), CorrectiveAction.verified_by: caller.user_id,
                        CorrectiveAction.verified_at: now()})


async def return_action(caller: Caller, action_id: UUID, reason: str) -> dict[str, Any]:
    """Back to open: the response does not show the fix; the reason says what is missing."""
    return await _move(caller, policies.RETURN_CORRECTIVE_ACTION, action_id, "return", (A.responded,), A.open,
                       {CorrectiveAction.returned_reason: reason.strip()}, reason.strip())


async def carry_forward(caller: Caller, action_id: UUID, reason: str) -> dict[str, Any]:
    """Left open past the audit's close, on purpose: the reason says why and what happens next."""
    return await _move(caller, policies.CARRY_FORWARD_CORRECTIVE_ACTION, action_id, "carry-forward",
                       (A.open, A.responded), A.carried_forward,
                       {CorrectiveAction.carried_forward_reason: reason.strip()}, reason.strip())


async def get_action(caller: Caller, action_id: UUID) -> dict[str, Any]:
    policies.SEE_CORRECTIVE_ACTIONS.check(caller)
    async with access_log.audited(caller, "corrective_action.read", "corrective_action", action_id,
                                  writes=False) as audit_log:
        action = await visible_action(caller, action_id)
        audit_log.provider_id = action["provider"]
        (out,) = await actions_out([action])
        return out


async def list_actions(caller: Caller, flt: ActionFilter, paging: Paging) -> tuple[list[dict[str, Any]], int]:
    """Filtered by status, overdue, provider or audit; overdue first by due date. A provider's admin sees their
    own provider's."""
    policies.SEE_CORRECTIVE_ACTIONS.check(caller)
    clauses = []
    today = now().date()
    if flt.status:
        clauses.append(CorrectiveAction.status == flt.status.value)
    if flt.provider_id:
        clauses.append(CorrectiveAction.provider == str(flt.provider_id))
    if flt.audit_id:
        clauses.append(CorrectiveAction.audit == str(flt.audit_id))
    if flt.overdue is True:
        clauses.append((CorrectiveAction.status == A.open.value) & (CorrectiveAction.due_on < today))
    elif flt.overdue is False:
        clauses.append((CorrectiveAction.status != A.open.value) | (CorrectiveAction.due_on >= today))
    return await page_of(caller, paging, CorrectiveAction.select(*COLUMNS), CorrectiveAction.count(),
                         action="corrective_action.list", record_type="corrective_action",
                         scope=CorrectiveAction.provider, where=clauses,
                         order_by=[CorrectiveAction.due_on, CorrectiveAction.id], provider_id=caller.provider_id,
                         present=actions_out)
