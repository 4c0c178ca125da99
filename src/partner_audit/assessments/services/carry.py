"""The next period starts from what was accepted: a provider's new assessment of a template opens with the answers
and evidence of their last accepted assessment of that template (any version of it), each answer marked
unconfirmed until the provider confirms it unchanged or changes it.

- An answer is carried only when its question means the same in both versions (``question_fingerprint``); the
  answer's own comment goes with it (it explains the answer). Reviewers' comments stay with the old assessment.
- Evidence is carried by reference: a new row naming the same stored file (same key, same sha256), no copy of the
  bytes, for the questions whose answers can be carried. A file past its ``expires_on`` is carried too, shown as
  expired, and does not count as evidence (``answers.missing_for_submit``): the provider sees what to replace.
- Carrying happens once per assessment, inside the launch that creates it (the assessment's unique dedupe key
  decides which launch that is); ``answer_key`` and ``carry_key`` are unique, so nothing is carried twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar
from uuid import UUID

import msgspec

from partner_audit import db
from partner_audit.assessments.services.answers import answer_at
from partner_audit.assessments.services.assessments import (
    EDITABLE,
    S,
    answer_out,
    is_expired,
    now,
    template_for,
    visible_assessment,
)
from partner_audit.assessments.tables import Answer, Assessment, Evidence
from partner_audit.controls.answers import normalise_answer
from partner_audit.controls.schemas import Question, Template
from partner_audit.errors import Conflict, Invalid
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller

T = TypeVar("T")
_CHUNK = 500  # rows per INSERT and ids per IN (...): well inside both databases' limits on bound parameters


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def question_fingerprint(question: Question) -> str:
    """What an answer to ``question`` means: its type, text, options (values, labels, scores), bounds, whether
    "does not apply" is allowed, and its weight. An answer is carried only between questions with the same id and
    fingerprint. Help text, whether it is required, when it shows and when it needs evidence are left out: they
    change what is asked of the provider around the answer, not what the answer says (and submitting checks them
    against the new version anyway). Where the question sits (its area and control) is left out too."""
    meaning = {
        "type": question.type.value, "text": question.text.strip(),
        "options": [msgspec.to_builtins(o) for o in question.options],
        "min": question.min, "max": question.max, "allow_na": question.allow_na, "weight": question.weight,
    }
    return hashlib.sha256(json.dumps(meaning, sort_keys=True).encode()).hexdigest()


def unchanged_questions(old: Template, new: Template) -> set[str]:
    """Ids of the questions of ``new`` that mean the same as in ``old``."""
    before = {q.id: question_fingerprint(q) for _, _, q in old.questions()}
    return {q.id for _, _, q in new.questions() if before.get(q.id) == question_fingerprint(q)}


async def _last_accepted(template_key: str, providers: list[UUID], exclude: set[UUID]) -> dict[UUID, dict[str, Any]]:
    """Each provider's most recently accepted assessment of any version of the template."""
    found: dict[UUID, dict[str, Any]] = {}
    for chunk in _chunks(providers):
        rows = await Assessment.select(
            Assessment.id, Assessment.provider, Assessment.template_version, Assessment.period,
            Assessment.decided_at,
        ).where(
            Assessment.provider.is_in(list(chunk)), Assessment.status == S.accepted.value,
            Assessment.template_version.key == template_key,
        ).order_by(Assessment.decided_at, ascending=False).run()
        for row in rows:
            if row["id"] not in exclude:
                found.setdefault(row["provider"], row)
    return found


async def _rows_of(table: type[Answer] | type[Evidence], assessment_ids: list[UUID]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for chunk in _chunks(assessment_ids):
        query = table.select().where(table.assessment.is_in(list(chunk))).order_by(table.id)
        if table is Evidence and not db.is_sqlite():
            # Held until the launch commits: a concurrent removal of a source file waits, then sees the carried row
            # naming its stored file, so it does not delete the bytes (SQLite's single writer needs no lock).
            query = query.lock_rows("SHARE")
        rows += await query.run()
    return rows


async def _insert(table: type[Answer] | type[Evidence], rows: list[Any], key: Any) -> int:
    inserted = 0
    for chunk in _chunks(rows):
        inserted += len(await table.insert(*chunk).on_conflict(target=key, action="DO NOTHING")
                        .returning(table.id).run())
    return inserted


async def carry_forward(caller: Caller, template: Template, created: Iterable[dict[str, Any]]) -> int:
    """Carry into each newly created assessment (``{"id", "provider"}``) what its provider's last accepted
    assessment of the template holds. Run inside the launch's transaction; logs one entry per assessment carried
    into. Returns how many assessments received something."""
    created = list(created)
    sources = await _last_accepted(template.key, [c["provider"] for c in created], {c["id"] for c in created})
    if not sources:
        return 0
    source_ids = [s["id"] for s in sources.values()]
    answers_by: dict[UUID, list[dict[str, Any]]] = {}
    for row in await _rows_of(Answer, source_ids):
        answers_by.setdefault(row["assessment"], []).append(row)
    files_by: dict[UUID, list[dict[str, Any]]] = {}
    for row in await _rows_of(Evidence, source_ids):
        files_by.setdefault(row["assessment"], []).append(row)
    questions = {q.id: q for _, _, q in template.questions()}
    new_answers: list[Answer] = []
    new_files: list[Evidence] = []
    carried_into = 0
    for assessment in created:
        source = sources.get(assessment["provider"])
        if source is None:
            continue
        old, _ = await template_for(source["template_version"])
        same = unchanged_questions(old, template)
        answers, skipped = [], []
        for row in answers_by.get(source["id"], []):
            value = answer_out(row)["value"]
            if value is None:
                continue
            if row["question_id"] not in same:
                skipped.append(row["question_id"])
                continue
            try:  # the same meaning should take the same value; a value that no longer fits is not carried
                value = normalise_answer(questions[row["question_id"]], value)
            except Invalid:
                skipped.append(row["question_id"])
                continue
            answers.append(Answer(
                assessment=assessment["id"], question_id=row["question_id"],
                answer_key=f"{assessment['id']}:{row['question_id']}", value=json.dumps(value),
                comment=row["comment"], answered_by=row["answered_by"], answered_at=row["answered_at"], version=1,
                carried_from=source["id"],
            ))
        files = [Evidence(
            assessment=assessment["id"], question_id=f["question_id"], filename=f["filename"],
            content_type=f["content_type"], size=f["size"], sha256=f["sha256"], storage_key=f["storage_key"],
            uploaded_by=f["uploaded_by"], uploaded_at=f["uploaded_at"], expires_on=f["expires_on"],
            carried_from=source["id"], carry_key=f"{assessment['id']}:{f['id']}",
        ) for f in files_by.get(source["id"], []) if f["question_id"] in same]
        if not answers and not files:
            continue
        new_answers += answers
        new_files += files
        carried_into += 1
        expired = sum(1 for f in files if is_expired(f.expires_on))
        detail = (f"from {source['id']} ({source['period']}): {len(answers)} answer(s), {len(files)} evidence "
                  f"file(s) ({expired} expired)")
        if skipped:
            detail += "; not carried, as the question changed: " + ", ".join(sorted(skipped))
        await access_log.append(caller, action="assessment.carry", record_type="assessment",
                                record_id=assessment["id"], provider_id=assessment["provider"], detail=detail)
    await _insert(Answer, new_answers, Answer.answer_key)
    await _insert(Evidence, new_files, Evidence.carry_key)
    return carried_into


async def confirm(caller: Caller, assessment_id: UUID, question_ids: list[str]) -> list[dict[str, Any]]:
    """Confirm carried answers unchanged, all or none. Confirming one already confirmed (by someone else a moment
    ago, or by saving it) changes nothing and is not an error, so a repeated request is safe."""
    policies.CONFIRM_ANSWERS.check(caller)
    async with access_log.audited(caller, "assessment.confirm", "assessment", assessment_id) as audit:
        assessment = await visible_assessment(caller, assessment_id)
        audit.provider_id = assessment["provider_id"]
        if S(assessment["status"]) not in EDITABLE:
            raise Conflict(f"This assessment is {assessment['status']} and cannot be changed.")
        _, questions = await template_for(assessment["template_version_id"])
        stored = {a["question_id"]: a for a in await Answer.select(
            Answer.question_id, Answer.carried_from).where(Answer.assessment == assessment_id).run()}
        errors, seen = [], set()
        for index, question_id in enumerate(question_ids):
            field = f"question_ids[{index}]"
            if question_id in seen:
                errors.append({"field": field, "message": f"{question_id} appears twice"})
            elif question_id not in questions:
                errors.append({"field": field, "message": f"no question {question_id!r} in this template"})
            elif question_id not in stored or stored[question_id]["carried_from"] is None:
                errors.append({"field": field, "message": f"{question_id} has no answer carried from an earlier "
                                                          "assessment to confirm"})
            seen.add(question_id)
        if errors:
            raise Invalid(f"{len(errors)} question(s) cannot be confirmed; nothing was confirmed.", errors=errors)
        at = now()
        keys = [f"{assessment_id}:{q}" for q in question_ids]
        confirmed = await Answer.update({Answer.confirmed_at: at, Answer.confirmed_by: caller.user_id}).where(
            Answer.answer_key.is_in(keys), Answer.confirmed_at.is_null()).returning(Answer.question_id).run()
        changes = {Assessment.updated_at: at}
        if assessment["status"] in (S.not_started.value, S.returned.value):
            changes[Assessment.status] = S.in_progress.value
        await Assessment.update(changes).where(Assessment.id == assessment_id).run()
        newly = sorted(r["question_id"] for r in confirmed)
        audit.details.append("confirmed " + (", ".join(newly) if newly else "nothing new") +
                             (f" (already confirmed: {', '.join(sorted(set(question_ids) - set(newly)))})"
                              if len(newly) < len(question_ids) else ""))
        return [answer_out(await answer_at(key)) for key in keys]
