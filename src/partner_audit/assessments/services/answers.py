"""Answers: saved all or none, each at the version it edits; and what an assessment lacks before submitting.
What an answer means (its values, when a question shows, when it needs evidence) is ``controls.answers``'s."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from partner_audit.assessments.schemas import AnswerIn
from partner_audit.assessments.services import questionnaire
from partner_audit.assessments.services.assessments import (
    ANSWER_COLUMNS,
    EDITABLE,
    S,
    answer_out,
    evidence_out,
    now,
    template_for,
    visible_assessment,
)
from partner_audit.assessments.tables import Answer, Assessment, Evidence
from partner_audit.controls.answers import Missing, normalise_answer
from partner_audit.errors import Conflict, Invalid
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller


async def save_answers(caller: Caller, assessment_id: UUID, items: list[AnswerIn]) -> list[dict[str, Any]]:
    """Save a batch of answers: all land or none do. Each names the version it edits; a stale one is a 409
    carrying the current value, so nobody overwrites a colleague's answer without seeing it."""
    policies.ANSWER_ASSESSMENT.check(caller)
    async with access_log.audited(caller, "assessment.answer", "assessment", assessment_id) as audit:
        assessment = await visible_assessment(caller, assessment_id)
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
                normalised.append((item, normalise_answer(question, item.value)))
            except Invalid as exc:
                reason = exc.errors[0]["message"] if exc.errors else exc.detail
                errors.append({"field": f"{where}.value", "message": f"{item.question_id}: {reason}"})
        if errors:
            raise Invalid(f"{len(errors)} answer(s) are not valid; nothing was saved.", errors=errors)
        saved = [await _save_one(caller, assessment_id, item, value) for item, value in normalised]
        if assessment["status"] in (S.not_started.value, S.returned.value):
            await Assessment.update({Assessment.status: S.in_progress.value, Assessment.updated_at: now()}).where(
                Assessment.id == assessment_id).run()
        else:
            await Assessment.update({Assessment.updated_at: now()}).where(Assessment.id == assessment_id).run()
        audit.details.append("questions " + ", ".join(i.question_id for i, _ in normalised))
        return saved


async def answer_at(key: str) -> dict[str, Any] | None:
    return await Answer.select(*ANSWER_COLUMNS).where(Answer.answer_key == key).first().run()


async def _save_one(caller: Caller, assessment_id: UUID, item: AnswerIn, value: Any) -> dict[str, Any]:
    key = f"{assessment_id}:{item.question_id}"
    stored = json.dumps(value)
    current = await answer_at(key)
    at = now()
    if current is None and item.version == 0:
        inserted = await Answer.insert(Answer(
            assessment=assessment_id, question_id=item.question_id, answer_key=key, value=stored,
            comment=item.comment, answered_by=caller.user_id, answered_at=at, version=1,
        )).on_conflict(target=Answer.answer_key, action="DO NOTHING").returning(Answer.id).run()
        if inserted:
            return answer_out(await answer_at(key))
        current = await answer_at(key)
    elif current is not None and current["version"] == item.version:
        changes = {
            Answer.value: stored, Answer.comment: item.comment, Answer.answered_by: caller.user_id,
            Answer.answered_at: at, Answer.version: item.version + 1,
        }
        if current["carried_from"] is not None and current["confirmed_at"] is None:
            # Saving a carried answer, changed or not, is the provider giving it again for this period.
            changes |= {Answer.confirmed_at: at, Answer.confirmed_by: caller.user_id}
        updated = await Answer.update(changes).where(
            Answer.answer_key == key, Answer.version == item.version).returning(Answer.id).run()
        if updated:
            return answer_out(await answer_at(key))
        current = await answer_at(key)
    raise _stale(item, current)


def _stale(item: AnswerIn, current: dict[str, Any] | None) -> Conflict:
    latest = current["version"] if current else 0
    return Conflict(
        f"Someone saved {item.question_id} after you opened it (you edited version {item.version}, it is now "
        f"version {latest}); nothing was saved. Review their answer and save again with version {latest}.",
        errors=[{"field": "version", "message": f"{item.question_id} is at version {latest}"}],
        current={k: answer_out(current)[k] for k in ("question_id", "value", "comment", "version", "answered_by",
                                                       "answered_at")} if current else None,
    )


async def missing_for_submit(assessment_id: UUID, template_version_id: UUID) -> list[Missing]:
    """Everything the assessment lacks before it can be submitted, from what is stored: read by the rules the
    questionnaire shows too (``questionnaire.standing``): answers, evidence (a file past its ``expires_on`` is kept
    and shown, but no longer counts), and carried answers not yet confirmed."""
    _, questions = await template_for(template_version_id)
    answers = {a["question_id"]: answer_out(a) for a in await Answer.select(*ANSWER_COLUMNS).where(
        Answer.assessment == assessment_id).run()}
    files = [evidence_out(e) for e in await Evidence.select(Evidence.question_id, Evidence.expires_on).where(
        Evidence.assessment == assessment_id).run()]
    return [Missing(question_id, what)
            for question_id, (_, lacks) in questionnaire.standing(questions.values(), answers, files).items()
            for what in lacks]
