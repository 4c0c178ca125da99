"""Evidence: files attached to an assessment's answers, kept in the evidence store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any
from uuid import UUID, uuid4

from partner_audit.assessments.services.assessments import EDITABLE, S, template_for, visible_assessment
from partner_audit.assessments.tables import Evidence
from partner_audit.errors import Conflict, DomainError, Invalid, TooLarge, Unavailable
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller
from partner_audit.security.tenancy import require_row, scoped
from partner_audit.storage import EvidenceStore, StoreUnavailable
from partner_audit.storage import TooLarge as StoreTooLarge
from partner_audit.uploads import checked_chunks, named_for


async def _evidence_target(caller: Caller, assessment_id: UUID, question_id: str) -> dict[str, Any]:
    assessment = await visible_assessment(caller, assessment_id)
    if S(assessment["status"]) not in EDITABLE:
        raise Conflict(f"This assessment is {assessment['status']}; evidence can only change while it is being "
                       "worked on.")
    _, questions = await template_for(assessment["template_version_id"])
    if question_id not in questions:
        raise Invalid.field("question_id", f"no question {question_id!r} in this template")
    return assessment


async def attach_evidence(caller: Caller, store: EvidenceStore, assessment_id: UUID, question_id: str,
                          filename: str, chunks: AsyncIterator[bytes], max_bytes: int) -> dict[str, Any]:
    """Stream a file into the evidence store, then record it. No database transaction is held while the
    bytes flow (on SQLite that would block every writer); if recording fails, the stored file is removed,
    and if the store fails, nothing is recorded."""
    policies.ATTACH_EVIDENCE.check(caller)
    try:
        await _evidence_target(caller, assessment_id, question_id)
    except DomainError as exc:
        await access_log.record_refusal(caller, "evidence.upload", "assessment", assessment_id, None, exc)
        raise
    key = f"evidence/{assessment_id}/{uuid4().hex}"  # ours: the person's file name never reaches the store
    found: dict[str, Any] = {}
    try:
        async with aclosing(checked_chunks(chunks, filename, found)) as checked:
            stored = await store.put(key, checked, max_bytes)
    except StoreTooLarge as exc:
        raise TooLarge(f"{filename} is larger than the {max_bytes // (1024 * 1024)} MB limit.",
                       errors=[{"field": "file", "message": "is too large"}]) from exc
    except StoreUnavailable as exc:
        raise Unavailable(f"The evidence store is not available, so {filename} was not saved. Try again "
                          "shortly.") from exc
    except DomainError as exc:  # a file that is not what it claims: worth a line in the log
        await access_log.record_refusal(caller, "evidence.upload", "assessment", assessment_id, None, exc)
        raise
    filename = named_for(filename, found["content_type"])
    try:
        async with access_log.audited(caller, "evidence.upload", "evidence") as audit:
            assessment = await _evidence_target(caller, assessment_id, question_id)
            audit.provider_id = assessment["provider_id"]
            evidence = Evidence(assessment=assessment_id, question_id=question_id, filename=filename,
                                content_type=found["content_type"], size=stored.size, sha256=stored.sha256,
                                storage_key=key, uploaded_by=caller.user_id)
            await evidence.save().run()
            audit.record_id = evidence.id
            audit.details.append(f"{question_id}: {filename} ({stored.size} bytes, sha256 {stored.sha256})")
    except BaseException:
        await store.delete(key)
        raise
    return await Evidence.select().where(Evidence.id == evidence.id).first().run()


async def _visible_evidence(caller: Caller, evidence_id: UUID) -> dict[str, Any]:
    query = Evidence.select(*Evidence.all_columns(), Evidence.assessment.status.as_alias("assessment_status"),
                            Evidence.assessment.provider.as_alias("provider_id")).where(Evidence.id == evidence_id)
    row = await scoped(query, Evidence.assessment.provider, caller).first().run()
    return require_row(row, "evidence", evidence_id)


async def evidence_for_download(caller: Caller, evidence_id: UUID) -> dict[str, Any]:
    policies.DOWNLOAD_EVIDENCE.check(caller)
    async with access_log.audited(caller, "evidence.download", "evidence", evidence_id, writes=False) as audit:
        row = await _visible_evidence(caller, evidence_id)
        audit.provider_id = row["provider_id"]
        return row


async def remove_evidence(caller: Caller, store: EvidenceStore, evidence_id: UUID) -> None:
    policies.REMOVE_EVIDENCE.check(caller)
    async with access_log.audited(caller, "evidence.delete", "evidence", evidence_id) as audit:
        row = await _visible_evidence(caller, evidence_id)
        audit.provider_id = row["provider_id"]
        if S(row["assessment_status"]) not in EDITABLE:
            raise Conflict(f"The assessment is {row['assessment_status']}; its evidence cannot be removed now.")
        await Evidence.delete().where(Evidence.id == evidence_id).run()
        audit.details.append(f"{row['question_id']}: {row['filename']}")
    # After the commit: a file left behind by a failed delete is harmless; a record without its file is not.
    await store.delete(row["storage_key"])
