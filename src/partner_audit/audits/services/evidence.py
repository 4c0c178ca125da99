"""Audit evidence: what the auditor saw, attached to a finding, and the provider's proof of a fix, attached to a
corrective action's response. Files stream into the evidence store with their type checked from their bytes and
their sha256 computed on the way (``uploads.store_checked``, as assessment evidence does); no database
transaction is held while the bytes flow, and a file whose record fails is removed from the store again."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

from partner_audit.audits.schemas import ActionStatus, AuditStatus
from partner_audit.audits.services.actions import visible_action
from partner_audit.audits.services.audits import FINISHED
from partner_audit.audits.services.findings import EVIDENCE_COLUMNS, evidence_out, visible_finding
from partner_audit.audits.tables import AuditEvidence
from partner_audit.errors import Conflict, DomainError, TooLarge, Unavailable
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller
from partner_audit.security.policies import Policy
from partner_audit.security.tenancy import require_row, scoped
from partner_audit.storage import EvidenceStore
from partner_audit.uploads import named_for, store_checked


async def _finding_target(caller: Caller, finding_id: UUID) -> dict[str, Any]:
    finding = await visible_finding(caller, finding_id)
    if AuditStatus(finding["audit_status"]) in FINISHED:
        raise Conflict(f"The audit is {finding['audit_status']}: no more evidence can be attached to its findings.")
    return {"audit": finding["audit"], "finding": finding["id"], "action": None,
            "provider_id": finding["provider_id"], "what": f"finding on {finding['control_id']}"}


async def _action_target(caller: Caller, action_id: UUID) -> dict[str, Any]:
    action = await visible_action(caller, action_id)
    if AuditStatus(action["audit_status"]) in FINISHED or ActionStatus(action["status"]) not in (
            ActionStatus.open, ActionStatus.responded):
        raise Conflict(f"This corrective action is {action['status'].replace('_', ' ')}: evidence is attached "
                       "while it is open or awaiting verification.")
    return {"audit": action["audit"], "finding": None, "action": action["id"], "provider_id": action["provider"],
            "what": f"corrective action on {action['control_id']}"}


async def _attach(caller: Caller, policy: Policy, store: EvidenceStore, target: Callable[[], Awaitable[dict]],
                  record_type: str, record_id: UUID, filename: str, chunks: AsyncIterator[bytes],
                  max_bytes: int) -> dict[str, Any]:
    policy.check(caller)
    action = "audit_evidence.upload"
    try:
        await target()
    except DomainError as exc:
        await access_log.record_refusal(caller, action, record_type, record_id, None, exc)
        raise
    key = f"audit-evidence/{record_id}/{uuid4().hex}"  # ours: the person's file name never reaches the store
    try:
        stored, content_type = await store_checked(store, key, filename, chunks, max_bytes)
    except (TooLarge, Unavailable):
        raise
    except DomainError as exc:  # a file that is not what it claims: worth a line in the log
        await access_log.record_refusal(caller, action, record_type, record_id, None, exc)
        raise
    filename = named_for(filename, content_type)
    try:
        async with access_log.audited(caller, action, "audit_evidence") as audit_log:
            found = await target()  # again, in the transaction: the audit may have closed while the bytes flowed
            audit_log.provider_id = found["provider_id"]
            evidence = AuditEvidence(audit=found["audit"], finding=found["finding"], action=found["action"],
                                     filename=filename, content_type=content_type, size=stored.size,
                                     sha256=stored.sha256, storage_key=key, uploaded_by=caller.user_id)
            await evidence.save().run()
            audit_log.record_id = evidence.id
            audit_log.details.append(f"{found['what']}: {filename} ({stored.size} bytes, sha256 {stored.sha256})")
    except BaseException:
        await store.delete(key)
        raise
    row = await AuditEvidence.select(*EVIDENCE_COLUMNS).where(AuditEvidence.id == evidence.id).first().run()
    return evidence_out(row)


async def attach_to_finding(caller: Caller, store: EvidenceStore, finding_id: UUID, filename: str,
                            chunks: AsyncIterator[bytes], max_bytes: int) -> dict[str, Any]:
    """What the auditor saw, until the audit closes."""
    return await _attach(caller, policies.ATTACH_FINDING_EVIDENCE, store,
                         lambda: _finding_target(caller, finding_id), "finding", finding_id, filename, chunks,
                         max_bytes)


async def attach_to_action(caller: Caller, store: EvidenceStore, action_id: UUID, filename: str,
                           chunks: AsyncIterator[bytes], max_bytes: int) -> dict[str, Any]:
    """The provider's proof of a fix, with its response: their own provider's actions only."""
    return await _attach(caller, policies.ATTACH_ACTION_EVIDENCE, store,
                         lambda: _action_target(caller, action_id), "corrective_action", action_id, filename,
                         chunks, max_bytes)


async def evidence_for_download(caller: Caller, evidence_id: UUID) -> dict[str, Any]:
    policies.DOWNLOAD_AUDIT_EVIDENCE.check(caller)
    async with access_log.audited(caller, "audit_evidence.download", "audit_evidence", evidence_id,
                                  writes=False) as audit_log:
        query = AuditEvidence.select(*AuditEvidence.all_columns(),
                                     AuditEvidence.audit.provider.as_alias("provider_id")).where(
            AuditEvidence.id == str(evidence_id))
        row = require_row(await scoped(query, AuditEvidence.audit.provider, caller).first().run(), "evidence",
                          evidence_id)
        audit_log.provider_id = row["provider_id"]
        audit_log.details.append(row["filename"])
        return row
