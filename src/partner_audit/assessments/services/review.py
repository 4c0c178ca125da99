"""Submitting, and the auditors' side: returning, accepting, reopening, and comments."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from partner_audit.assessments.schemas import AssessmentStatus
from partner_audit.assessments.services.answers import missing_for_submit, unconfirmed_for_submit
from partner_audit.assessments.services.assessments import EDITABLE, S, now, template_for, visible_assessment
from partner_audit.assessments.tables import Assessment, ReviewComment
from partner_audit.errors import Conflict, Invalid
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller


async def submit(caller: Caller, assessment_id: UUID) -> dict[str, Any]:
    policies.SUBMIT_ASSESSMENT.check(caller)
    async with access_log.audited(caller, "assessment.submit", "assessment", assessment_id) as audit:
        assessment = await visible_assessment(caller, assessment_id)
        audit.provider_id = assessment["provider_id"]
        if S(assessment["status"]) not in EDITABLE:
            raise Conflict(f"This assessment is {assessment['status']}; only one being worked on can be submitted.")
        missing = [*await missing_for_submit(assessment_id, assessment["template_version_id"]),
                   *await unconfirmed_for_submit(assessment_id, assessment["template_version_id"])]
        if missing:
            raise Invalid(
                f"{len(missing)} item(s) must be completed before submitting.",
                errors=[{"field": f"answers.{m.question_id}", "message": m.what} for m in missing],
            )
        await Assessment.update({
            Assessment.status: S.submitted.value, Assessment.submitted_at: now(),
            Assessment.submitted_by: caller.user_id, Assessment.updated_at: now(),
        }).where(Assessment.id == assessment_id).run()
        return await visible_assessment(caller, assessment_id)


async def _decide(caller: Caller, assessment_id: UUID, action: str, expected: set[AssessmentStatus],
                  new_status: AssessmentStatus, note: str) -> dict[str, Any]:
    async with access_log.audited(caller, f"assessment.{action}", "assessment", assessment_id) as audit:
        assessment = await visible_assessment(caller, assessment_id)
        audit.provider_id = assessment["provider_id"]
        if S(assessment["status"]) not in expected:
            allowed = " or ".join(sorted(s.value for s in expected))
            raise Conflict(f"Only a {allowed} assessment can be {action}ed; this one is {assessment['status']}.")
        await Assessment.update({
            Assessment.status: new_status.value, Assessment.decided_at: now(), Assessment.decided_by: caller.user_id,
            Assessment.decision_note: note, Assessment.updated_at: now(),
        }).where(Assessment.id == assessment_id, Assessment.status.is_in([s.value for s in expected])).run()
        audit.details.append(note)
        return await visible_assessment(caller, assessment_id)


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
        assessment = await visible_assessment(caller, assessment_id)
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
