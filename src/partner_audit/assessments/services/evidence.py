"""Evidence: files attached to an assessment's answers, kept in the evidence store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from partner_audit import db
from partner_audit.assessments.services.assessments import (
    EDITABLE,
    EVIDENCE_COLUMNS,
    S,
    evidence_out,
    template_for,
    today,
    visible_assessment,
)
from partner_audit.assessments.tables import Evidence
from partner_audit.errors import Conflict, DomainError, Invalid, TooLarge, Unavailable
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller
from partner_audit.security.tenancy import require_row, scoped
from partner_audit.storage import EvidenceStore
from partner_audit.uploads import named_for, store_checked


async def _evidence_target(caller: Caller, assessment_id: UUID, question_id: str) -> dict[str, Any]:
    assessment = await visible_assessment(caller, assessment_id)
    if S(assessment["status"]) not in EDITABLE:
        raise Conflict(f"This assessment is {assessment['status']}; evidence can only change while it is being "
                       "worked on.")
    _, questions = await template_for(assessment["template_version_id"])
    if question_id not in questions:
        raise Invalid.field("question_id", f"no question {question_id!r} in this template")
    return assessment


def expiry(text: str | None) -> date | None:
    """An ``expires_on`` form field: blank for none, else an ISO date not already past (a file that has expired
    would not count as evidence, so it is refused at once rather than accepted and then not counted)."""
    if text is None or not text.strip():
        return None
    try:
        last_day = date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid.field("expires_on", f'"{text.strip()[:40]}" is not a date (write it as YYYY-MM-DD, '
                                          "e.g. 2026-06-30)") from None
    return _not_past(last_day)


def _not_past(last_day: date | None) -> date | None:
    if last_day is not None and last_day < today():
        raise Invalid.field("expires_on", f"{last_day} has passed: a file that has expired does not count as "
                                          "evidence; attach a current one")
    return last_day


async def attach_evidence(caller: Caller, store: EvidenceStore, assessment_id: UUID, question_id: str,
                          filename: str, chunks: AsyncIterator[bytes], max_bytes: int,
                          expires_on: str | None = None) -> dict[str, Any]:
    """Stream a file into the evidence store, then record it. No database transaction is held while the
    bytes flow (on SQLite that would block every writer); if recording fails, the stored file is removed,
    and if the store fails, nothing is recorded. ``expires_on``: the form field, checked before any byte flows."""
    policies.ATTACH_EVIDENCE.check(caller)
    try:
        await _evidence_target(caller, assessment_id, question_id)
        last_day = expiry(expires_on)
    except DomainError as exc:
        await access_log.record_refusal(caller, "evidence.upload", "assessment", assessment_id, None, exc)
        raise
    key = f"evidence/{assessment_id}/{uuid4().hex}"  # ours: the person's file name never reaches the store
    try:
        stored, content_type = await store_checked(store, key, filename, chunks, max_bytes)
    except (TooLarge, Unavailable):
        raise
    except DomainError as exc:  # a file that is not what it claims: worth a line in the log
        await access_log.record_refusal(caller, "evidence.upload", "assessment", assessment_id, None, exc)
        raise
    filename = named_for(filename, content_type)
    try:
        async with access_log.audited(caller, "evidence.upload", "evidence") as audit:
            assessment = await _evidence_target(caller, assessment_id, question_id)
            audit.provider_id = assessment["provider_id"]
            evidence = Evidence(assessment=assessment_id, question_id=question_id, filename=filename,
                                content_type=content_type, size=stored.size, sha256=stored.sha256,
                                storage_key=key, uploaded_by=caller.user_id, expires_on=last_day)
            await evidence.save().run()
            audit.record_id = evidence.id
            audit.details.append(f"{question_id}: {filename} ({stored.size} bytes, sha256 {stored.sha256})"
                                 + (f", good until {last_day}" if last_day else ""))
    except BaseException:
        await store.delete(key)
        raise
    return evidence_out(await Evidence.select(*EVIDENCE_COLUMNS).where(Evidence.id == evidence.id).first().run())


async def change_evidence(caller: Caller, evidence_id: UUID, expires_on: date | None) -> dict[str, Any]:
    """Set or clear when a file stops being good evidence, while its assessment is being worked on. A carried
    file's row is this assessment's own: the row it was carried from keeps its date."""
    policies.DESCRIBE_EVIDENCE.check(caller)
    async with access_log.audited(caller, "evidence.update", "evidence", evidence_id) as audit:
        row = await _visible_evidence(caller, evidence_id)
        audit.provider_id = row["provider_id"]
        if S(row["assessment_status"]) not in EDITABLE:
            raise Conflict(f"The assessment is {row['assessment_status']}; its evidence cannot be changed now.")
        await Evidence.update({Evidence.expires_on: _not_past(expires_on)}).where(Evidence.id == evidence_id).run()
        audit.details.append(f"{row['question_id']}: {row['filename']} expires_on {row['expires_on']} -> "
                             f"{expires_on}")
        return evidence_out(await Evidence.select(*EVIDENCE_COLUMNS).where(Evidence.id == evidence_id).first().run())


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
    """Remove a file from an assessment; its bytes leave the store only with the last row naming them (evidence
    carried into a later period, or carried from an earlier one, shares them)."""
    policies.REMOVE_EVIDENCE.check(caller)
    async with access_log.audited(caller, "evidence.delete", "evidence", evidence_id) as audit:
        row = await _visible_evidence(caller, evidence_id)
        audit.provider_id = row["provider_id"]
        if S(row["assessment_status"]) not in EDITABLE:
            raise Conflict(f"The assessment is {row['assessment_status']}; its evidence cannot be removed now.")
        key = row["storage_key"]
        if not db.is_sqlite():
            # Every row naming the file, locked: two removals of rows sharing it take turns, so the second sees
            # the first's row gone and removes the bytes; a launch carrying the file holds its source row (SHARE)
            # until it commits, so its new row is seen here. SQLite has one writer at a time: no race to close.
            # In one order (by id), so two removals cannot each hold a row the other waits for.
            await Evidence.select(Evidence.id).where(Evidence.storage_key == key).order_by(Evidence.id).lock_rows(
                "UPDATE").run()
        await Evidence.delete().where(Evidence.id == evidence_id).run()
        shared = await Evidence.exists().where(Evidence.storage_key == key).run()
        audit.details.append(f"{row['question_id']}: {row['filename']}" +
                             ("; the stored file is kept: another assessment's evidence names it" if shared else ""))
    # After the commit: a file left behind by a failed delete is harmless; a record without its file is not.
    if not shared:
        await store.delete(key)
