"""Rollouts and assessments: the timetable goes out, providers answer and submit, auditors review.

Lifecycle: not_started → in_progress → submitted → returned → in_progress … → accepted.
Accepted locks an assessment; an auditor may reopen it with a reason.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

from partner_audit import plaintext, spreadsheets
from partner_audit.assessments import xlsx
from partner_audit.assessments.schemas import AnswerIn, AssessmentStatus, RolloutCreate
from partner_audit.assessments.tables import Answer, Assessment, Evidence, ReviewComment, Rollout
from partner_audit.controls import answers
from partner_audit.controls import service as controls
from partner_audit.controls.schemas import Question, Template
from partner_audit.errors import Conflict, DomainError, Invalid, TooLarge, Unavailable
from partner_audit.plaintext import LINES
from partner_audit.providers.schemas import ENGAGED_STATUSES
from partner_audit.providers.tables import Provider
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller
from partner_audit.security.tenancy import require_row, scoped
from partner_audit.storage import EvidenceStore, StoreUnavailable
from partner_audit.storage import TooLarge as StoreTooLarge
from partner_audit.uploads import checked_chunks, named_for

S = AssessmentStatus
EDITABLE = frozenset({S.not_started, S.in_progress, S.returned})
DONE = frozenset({S.submitted, S.accepted})


def _now() -> datetime:
    return datetime.now(UTC)


def _today() -> date:
    return datetime.now(UTC).date()


# --- templates ---------------------------------------------------------------------------------------


# A loaded template version never changes, so its parsed form is safe to keep for the life of the process.
_TEMPLATES: dict[UUID, tuple[Template, dict[str, Question]]] = {}


async def template_for(version_id: UUID) -> tuple[Template, dict[str, Question]]:
    if version_id not in _TEMPLATES:
        _, template = await controls.get_version(version_id)
        _TEMPLATES[version_id] = (template, {q.id: q for _, _, q in template.questions()})
    return _TEMPLATES[version_id]


# --- rollouts ----------------------------------------------------------------------------------------


async def create_rollout(caller: Caller, data: RolloutCreate) -> dict[str, Any]:
    policies.PLAN_ROLLOUT.check(caller)
    if data.due_on < data.opens_on:
        raise Invalid.field("due_on", f"{data.due_on} is before opens_on {data.opens_on}")
    selection = {
        "risk_tiers": sorted(set(data.selection.risk_tiers)),
        "regions": sorted({r.value for r in data.selection.regions}),
        "kinds": sorted({k.value for k in data.selection.kinds}),
        "provider_ids": sorted({str(p) for p in data.selection.provider_ids}),
    }
    if not any(selection.values()):
        raise Invalid.field("selection", "choose providers by tier, region, kind or name")
    async with access_log.audited(caller, "rollout.create", "rollout") as audit:
        await controls.get_version(data.template_version_id)  # NotFound names it
        if selection["provider_ids"]:
            found = await Provider.count().where(Provider.id.is_in(selection["provider_ids"])).run()
            if found != len(selection["provider_ids"]):
                raise Invalid.field("selection.provider_ids", "names a provider that does not exist")
        rollout = Rollout(
            name=data.name.strip(), template_version=data.template_version_id, period=data.period,
            opens_on=data.opens_on, due_on=data.due_on, selection=json.dumps(selection), created_by=caller.user_id,
        )
        await rollout.save().run()
        audit.record_id = rollout.id
    return await get_rollout(caller, rollout.id, log=False)


def _rollout_out(row: dict[str, Any]) -> dict[str, Any]:
    selection = row["selection"]
    return {**row, "template_version_id": row["template_version"],
            "selection": json.loads(selection) if isinstance(selection, str) else selection}


async def get_rollout(caller: Caller, rollout_id: UUID, log: bool = True) -> dict[str, Any]:
    policies.SEE_ROLLOUTS.check(caller)
    async def fetch() -> dict[str, Any]:
        row = require_row(await Rollout.select().where(Rollout.id == rollout_id).first().run(), "rollout", rollout_id)
        return {**_rollout_out(row), "progress": await progress(rollout_id)}

    if not log:
        return await fetch()
    async with access_log.audited(caller, "rollout.read", "rollout", rollout_id):
        return await fetch()


async def list_rollouts(caller: Caller, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    policies.SEE_ROLLOUTS.check(caller)
    async with access_log.audited(caller, "rollout.list", "rollout"):
        rows = await Rollout.select().order_by(Rollout.created_at, ascending=False).offset(offset).limit(limit).run()
        return [_rollout_out(r) for r in rows], await Rollout.count().run()


async def _matching_providers(selection: dict[str, Any]) -> list[dict[str, Any]]:
    """Providers matching every criterion given, plus those named; only those taking part in rollouts."""
    criteria = []
    if selection.get("risk_tiers"):
        criteria.append(Provider.risk_tier.is_in(selection["risk_tiers"]))
    if selection.get("regions"):
        criteria.append(Provider.region.is_in(selection["regions"]))
    if selection.get("kinds"):
        criteria.append(Provider.kind.is_in(selection["kinds"]))
    base = Provider.select(Provider.id).where(Provider.status.is_in(list(ENGAGED_STATUSES)))
    matched = await base.where(*criteria).run() if criteria else []
    named = (await Provider.select(Provider.id).where(
        Provider.status.is_in(list(ENGAGED_STATUSES)), Provider.id.is_in(selection["provider_ids"])
    ).run()) if selection.get("provider_ids") else []
    seen: dict[str, dict[str, Any]] = {str(r["id"]): r for r in [*matched, *named]}
    return list(seen.values())


async def launch(caller: Caller, rollout_id: UUID) -> dict[str, Any]:
    """Create one assessment per matching provider. Launching again adds newly matching providers only."""
    policies.LAUNCH_ROLLOUT.check(caller)
    async with access_log.audited(caller, "rollout.launch", "rollout", rollout_id) as audit:
        rollout = require_row(await Rollout.select().where(Rollout.id == rollout_id).first().run(), "rollout",
                              rollout_id)
        template, _ = await template_for(rollout["template_version"])
        providers = await _matching_providers(_rollout_out(rollout)["selection"])
        rows = [
            Assessment(
                rollout=rollout_id, provider=p["id"], template_version=rollout["template_version"],
                period=rollout["period"], dedupe_key=f"{p['id']}:{rollout['period']}:{template.key}",
                opens_on=rollout["opens_on"], due_on=rollout["due_on"],
            )
            for p in providers
        ]
        created = 0
        if rows:
            # The unique key makes a second launch, even a concurrent one, a no-op for existing providers; the
            # rows the insert returns are the ones this launch made (counting before and after would also count
            # a concurrent launch's rows).
            inserted = await (Assessment.insert(*rows)
                              .on_conflict(target=Assessment.dedupe_key, action="DO NOTHING")
                              .returning(Assessment.id).run())
            created = len(inserted)
        await Rollout.update({Rollout.launched_at: _now()}).where(Rollout.id == rollout_id).run()
        audit.details.append(f"created {created} assessment(s)")
        return {"created": created, "already_there": len(providers) - created,
                "progress": await progress(rollout_id)}


async def progress(rollout_id: UUID) -> dict[str, Any]:
    rows = await Assessment.select(Assessment.status, Assessment.due_on).where(Assessment.rollout == rollout_id).run()
    by_status = {s.value: 0 for s in S}
    overdue = 0
    today = _today()
    for row in rows:
        by_status[row["status"]] += 1
        if row["status"] not in {s.value for s in DONE} and row["due_on"] < today:
            overdue += 1
    total = len(rows)
    accepted = by_status[S.accepted.value]
    return {"total": total, "by_status": by_status, "overdue": overdue,
            "percent_accepted": round(100 * accepted / total, 1) if total else 0.0}


# --- assessments ---------------------------------------------------------------------------------------

_COLUMNS = (
    Assessment.id, Assessment.rollout, Assessment.provider, Assessment.provider.name.as_alias("provider_name"),
    Assessment.template_version, Assessment.period, Assessment.status, Assessment.opens_on, Assessment.due_on,
    Assessment.submitted_at, Assessment.decided_at, Assessment.decision_note, Assessment.updated_at,
)


def _assessment_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row, "rollout_id": row["rollout"], "provider_id": row["provider"],
        "template_version_id": row["template_version"],
        "overdue": row["status"] not in {s.value for s in DONE} and row["due_on"] < _today(),
    }


async def _visible(caller: Caller, assessment_id: UUID) -> dict[str, Any]:
    query = Assessment.select(*_COLUMNS).where(Assessment.id == assessment_id)
    row = await scoped(query, Assessment.provider, caller).first().run()
    return _assessment_out(require_row(row, "assessment", assessment_id))


@dataclass(frozen=True)
class AssessmentFilter:
    rollout_id: UUID | None = None
    provider_id: UUID | None = None
    status: AssessmentStatus | None = None
    period: str | None = None
    overdue: bool | None = None


async def list_assessments(caller: Caller, flt: AssessmentFilter, offset: int, limit: int
                           ) -> tuple[list[dict[str, Any]], int]:
    policies.SEE_ASSESSMENTS.check(caller)
    clauses = []
    if flt.rollout_id:
        clauses.append(Assessment.rollout == flt.rollout_id)
    if flt.provider_id:
        clauses.append(Assessment.provider == flt.provider_id)
    if flt.status:
        clauses.append(Assessment.status == flt.status.value)
    if flt.period:
        clauses.append(Assessment.period == flt.period)
    if flt.overdue is not None:
        done = [s.value for s in DONE]
        if flt.overdue:
            clauses.append((Assessment.due_on < _today()) & Assessment.status.not_in(done))
        else:
            clauses.append((Assessment.due_on >= _today()) | Assessment.status.is_in(done))
    rows_q = scoped(Assessment.select(*_COLUMNS), Assessment.provider, caller)
    count_q = scoped(Assessment.count(), Assessment.provider, caller)
    if clauses:
        rows_q, count_q = rows_q.where(*clauses), count_q.where(*clauses)
    async with access_log.audited(caller, "assessment.list", "assessment", provider_id=caller.provider_id):
        rows = await rows_q.order_by(Assessment.due_on).order_by(Assessment.id).offset(offset).limit(limit).run()
        return [_assessment_out(r) for r in rows], await count_q.run()


async def _detail(assessment: dict[str, Any]) -> dict[str, Any]:
    aid = assessment["id"]
    answers = await Answer.select().where(Answer.assessment == aid).order_by(Answer.question_id).run()
    comments = await ReviewComment.select().where(ReviewComment.assessment == aid).order_by(
        ReviewComment.created_at).run()
    evidence = await Evidence.select().where(Evidence.assessment == aid).order_by(Evidence.uploaded_at).run()
    return {
        **assessment,
        "answers": [_answer_out(a) for a in answers],
        "comments": [{**c, "author_id": c["author"]} for c in comments],
        "evidence": evidence,
    }


def _answer_out(row: dict[str, Any]) -> dict[str, Any]:
    value = row["value"]
    return {**row, "value": json.loads(value) if isinstance(value, str) else value}


async def get_assessment(caller: Caller, assessment_id: UUID) -> dict[str, Any]:
    policies.SEE_ASSESSMENTS.check(caller)
    async with access_log.audited(caller, "assessment.read", "assessment", assessment_id) as audit:
        assessment = await _visible(caller, assessment_id)
        audit.provider_id = assessment["provider_id"]
        return await _detail(assessment)


async def save_answers(caller: Caller, assessment_id: UUID, items: list[AnswerIn]) -> list[dict[str, Any]]:
    """Save a batch of answers: all land or none do. Each names the version it edits; a stale one is a 409
    carrying the current value, so nobody overwrites a colleague's answer without seeing it."""
    policies.ANSWER_ASSESSMENT.check(caller)
    async with access_log.audited(caller, "assessment.answer", "assessment", assessment_id) as audit:
        assessment = await _visible(caller, assessment_id)
        audit.provider_id = assessment["provider_id"]
        if S(assessment["status"]) not in EDITABLE:
            raise Conflict(f"This assessment is {assessment['status']} and cannot be changed.")
        _, questions = await template_for(assessment["template_version_id"])
        errors, seen = [], set()
        normalised: list[tuple[AnswerIn, Any]] = []
        for index, item in enumerate(items):
            where = f"answers[{index}]"
            if item.question_id in seen:
                errors.append({"field": f"{where}.question_id", "message": f"{item.question_id} appears twice"})
                continue
            seen.add(item.question_id)
            question = questions.get(item.question_id)
            if question is None:
                errors.append({"field": f"{where}.question_id", "message": f"no question {item.question_id!r} "
                                                                            "in this template"})
                continue
            try:
                normalised.append((item, answers.normalise_answer(question, item.value)))
            except Invalid as exc:
                reason = exc.errors[0]["message"] if exc.errors else exc.detail
                errors.append({"field": f"{where}.value", "message": f"{item.question_id}: {reason}"})
        if errors:
            raise Invalid(f"{len(errors)} answer(s) are not valid; nothing was saved.", errors=errors)
        saved = [await _save_one(caller, assessment_id, item, value) for item, value in normalised]
        if assessment["status"] in (S.not_started.value, S.returned.value):
            await Assessment.update({Assessment.status: S.in_progress.value, Assessment.updated_at: _now()}).where(
                Assessment.id == assessment_id).run()
        else:
            await Assessment.update({Assessment.updated_at: _now()}).where(Assessment.id == assessment_id).run()
        audit.details.append("questions " + ", ".join(i.question_id for i, _ in normalised))
        return saved


async def _save_one(caller: Caller, assessment_id: UUID, item: AnswerIn, value: Any) -> dict[str, Any]:
    key = f"{assessment_id}:{item.question_id}"
    stored = json.dumps(value)
    current = await Answer.select().where(Answer.answer_key == key).first().run()
    now = _now()
    if current is None and item.version == 0:
        inserted = await Answer.insert(Answer(
            assessment=assessment_id, question_id=item.question_id, answer_key=key, value=stored,
            comment=item.comment, answered_by=caller.user_id, answered_at=now, version=1,
        )).on_conflict(target=Answer.answer_key, action="DO NOTHING").returning(Answer.id).run()
        if inserted:
            return _answer_out(await Answer.select().where(Answer.answer_key == key).first().run())
        current = await Answer.select().where(Answer.answer_key == key).first().run()
    elif current is not None and current["version"] == item.version:
        updated = await Answer.update({
            Answer.value: stored, Answer.comment: item.comment, Answer.answered_by: caller.user_id,
            Answer.answered_at: now, Answer.version: item.version + 1,
        }).where(Answer.answer_key == key, Answer.version == item.version).returning(Answer.id).run()
        if updated:
            return _answer_out(await Answer.select().where(Answer.answer_key == key).first().run())
        current = await Answer.select().where(Answer.answer_key == key).first().run()
    raise _stale(item, current)


def _stale(item: AnswerIn, current: dict[str, Any] | None) -> Conflict:
    now = current["version"] if current else 0
    return Conflict(
        f"Someone saved {item.question_id} after you opened it (you edited version {item.version}, it is now "
        f"version {now}); nothing was saved. Review their answer and save again with version {now}.",
        errors=[{"field": "version", "message": f"{item.question_id} is at version {now}"}],
        current={k: _answer_out(current)[k] for k in ("question_id", "value", "comment", "version", "answered_by",
                                                       "answered_at")} if current else None,
    )


async def missing_for_submit(assessment_id: UUID, template_version_id: UUID) -> list[answers.Missing]:
    """What the assessment lacks before it can be submitted (``answers.missing``), from what is stored."""
    _, questions = await template_for(template_version_id)
    stored = {a["question_id"]: _answer_out(a)["value"]
              for a in await Answer.select(Answer.question_id, Answer.value).where(
                  Answer.assessment == assessment_id).run()}
    with_evidence = {e["question_id"] for e in await Evidence.select(Evidence.question_id).where(
        Evidence.assessment == assessment_id).run()}
    return answers.missing(questions.values(), stored, with_evidence)


async def submit(caller: Caller, assessment_id: UUID) -> dict[str, Any]:
    policies.SUBMIT_ASSESSMENT.check(caller)
    async with access_log.audited(caller, "assessment.submit", "assessment", assessment_id) as audit:
        assessment = await _visible(caller, assessment_id)
        audit.provider_id = assessment["provider_id"]
        if S(assessment["status"]) not in EDITABLE:
            raise Conflict(f"This assessment is {assessment['status']}; only one being worked on can be submitted.")
        missing = await missing_for_submit(assessment_id, assessment["template_version_id"])
        if missing:
            raise Invalid(
                f"{len(missing)} item(s) must be completed before submitting.",
                errors=[{"field": f"answers.{m.question_id}", "message": m.what} for m in missing],
            )
        await Assessment.update({
            Assessment.status: S.submitted.value, Assessment.submitted_at: _now(),
            Assessment.submitted_by: caller.user_id, Assessment.updated_at: _now(),
        }).where(Assessment.id == assessment_id).run()
        return await _visible(caller, assessment_id)


async def _decide(caller: Caller, assessment_id: UUID, action: str, expected: set[AssessmentStatus],
                  new_status: AssessmentStatus, note: str) -> dict[str, Any]:
    async with access_log.audited(caller, f"assessment.{action}", "assessment", assessment_id) as audit:
        assessment = await _visible(caller, assessment_id)
        audit.provider_id = assessment["provider_id"]
        if S(assessment["status"]) not in expected:
            allowed = " or ".join(sorted(s.value for s in expected))
            raise Conflict(f"Only a {allowed} assessment can be {action}ed; this one is {assessment['status']}.")
        await Assessment.update({
            Assessment.status: new_status.value, Assessment.decided_at: _now(), Assessment.decided_by: caller.user_id,
            Assessment.decision_note: note, Assessment.updated_at: _now(),
        }).where(Assessment.id == assessment_id, Assessment.status.is_in([s.value for s in expected])).run()
        audit.details.append(note)
        return await _visible(caller, assessment_id)


async def return_to_provider(caller: Caller, assessment_id: UUID, reason: str) -> dict[str, Any]:
    policies.RETURN_ASSESSMENT.check(caller)
    return await _decide(caller, assessment_id, "return", {S.submitted}, S.returned, reason)


async def accept(caller: Caller, assessment_id: UUID, note: str) -> dict[str, Any]:
    policies.ACCEPT_ASSESSMENT.check(caller)
    return await _decide(caller, assessment_id, "accept", {S.submitted}, S.accepted, note)


async def reopen(caller: Caller, assessment_id: UUID, reason: str) -> dict[str, Any]:
    policies.REOPEN_ASSESSMENT.check(caller)
    return await _decide(caller, assessment_id, "reopen", {S.accepted}, S.in_progress, reason)


async def add_comment(caller: Caller, assessment_id: UUID, question_id: str | None, body: str) -> dict[str, Any]:
    policies.COMMENT_ON_ASSESSMENT.check(caller)
    async with access_log.audited(caller, "assessment.comment", "assessment", assessment_id) as audit:
        assessment = await _visible(caller, assessment_id)
        audit.provider_id = assessment["provider_id"]
        if question_id is not None:
            _, questions = await template_for(assessment["template_version_id"])
            if question_id not in questions:
                raise Invalid.field("question_id", f"no question {question_id!r} in this template")
        comment = ReviewComment(assessment=assessment_id, question_id=question_id, author=caller.user_id,
                                body=body.strip())
        await comment.save().run()
        audit.record_id = assessment_id
        row = await ReviewComment.select().where(ReviewComment.id == comment.id).first().run()
        return {**row, "author_id": row["author"]}



# --- evidence ----------------------------------------------------------------------------------------------


async def _evidence_target(caller: Caller, assessment_id: UUID, question_id: str) -> dict[str, Any]:
    assessment = await _visible(caller, assessment_id)
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
    async with access_log.audited(caller, "evidence.download", "evidence", evidence_id) as audit:
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


async def import_workbook(caller: Caller, assessment_id: UUID, content: bytes) -> list[dict[str, Any]]:
    """Apply a filled offline workbook (``xlsx``): every row is checked first, then the answers all land through
    ``save_answers`` or none do. A blank cell leaves the saved answer alone, and a row that changes nothing is
    not saved again. The workbook carries each answer's version when it was downloaded: an answer someone has
    changed since is reported, not overwritten. Returns the answers saved."""
    policies.ANSWER_ASSESSMENT.check(caller)
    action = "assessment.workbook_upload"
    # The file is read and checked outside any transaction: a transaction held while a workbook is parsed would
    # hold every other writer (on SQLite, everyone signing in) for as long as the parse takes.
    provider_id = None
    try:
        provider_id = (await _visible(caller, assessment_id))["provider_id"]  # a foreign id: 404, file unread
        book = await spreadsheets.in_worker(xlsx.read, content)
    except DomainError as exc:
        await access_log.record_refusal(caller, action, "assessment", assessment_id, provider_id, exc)
        raise
    async with access_log.audited(caller, action, "assessment", assessment_id) as audit:
        assessment = await _visible(caller, assessment_id)
        audit.provider_id = assessment["provider_id"]
        if S(assessment["status"]) not in EDITABLE:
            raise Conflict(f"This assessment is {assessment['status']} and cannot be changed.")
        template, questions = await template_for(assessment["template_version_id"])
        book.require_for(assessment, controls.content_hash(template))
        stored = {a["question_id"]: _answer_out(a) for a in await Answer.select().where(
            Answer.assessment == assessment_id).run()}
        errors: list[dict[str, str]] = []
        stale: list[dict[str, str]] = []
        items: list[AnswerIn] = []
        rows_of: dict[str, int] = {}
        for row in book.rows:
            errors += [{"field": cell, "message": message} for cell, message in row.problems]
            if row.question_id in rows_of:
                errors.append({"field": row.id_cell, "message": f"{row.question_id} is also on row "
                                                                f"{rows_of[row.question_id]}: answer it once"})
                continue
            if row.question_id is not None:
                rows_of[row.question_id] = row.number
            if row.problems:
                continue
            question = questions.get(row.question_id)
            if question is None:
                errors.append({"field": row.id_cell, "message": f'there is no question "{row.question_id}" in '
                                                                "this assessment"})
                continue
            current = stored.get(row.question_id)
            value = current["value"] if current else None
            if row.answer is not None:
                try:
                    value = answers.normalise_answer(question, xlsx.answer_from_cell(question, row.answer))
                except Invalid as exc:
                    errors.append({"field": row.answer_cell,
                                   "message": exc.errors[0]["message"] if exc.errors else exc.detail})
                    continue
            comment = row.comment if row.comment is not None else (current["comment"] if current else "")
            if len(comment) > xlsx.COMMENT_MAX:
                errors.append({"field": row.comment_cell, "message": f"is too long ({len(comment)} characters; "
                                                                     f"at most {xlsx.COMMENT_MAX})"})
                continue
            # The cells' text, checked as an answer typed on the web is (api.Input) before it becomes one.
            bad = plaintext.problem_in(value, LINES, row.answer_cell) or plaintext.problem_in(comment, LINES,
                                                                                              row.comment_cell)
            if bad:
                errors.append({"field": bad[0], "message": bad[1]})
                continue
            if current is not None and (value, comment) == (current["value"], current["comment"]):
                continue
            version = current["version"] if current else 0
            if book.versions.get(row.question_id, 0) != version:
                stale.append({"field": row.answer_cell if row.answer is not None else row.comment_cell,
                              "message": f"{row.question_id} was changed on the web after this workbook was "
                                         f"downloaded (it is now version {version}); download a fresh workbook "
                                         "or change this answer on the web"})
                continue
            items.append(AnswerIn(question_id=row.question_id, value=value, comment=comment, version=version))
        if errors:
            raise Invalid(f"{len(errors)} cell(s) in the workbook need fixing; nothing was saved.",
                          errors=errors + stale)
        if stale:
            raise Conflict(f"{len(stale)} answer(s) were changed by someone else after this workbook was "
                           "downloaded; nothing was saved.", errors=stale)
        audit.details.append(f"{len(items)} answer(s) changed, from rows of a workbook")
        return await save_answers(caller, assessment_id, items) if items else []

