"""Submitting, and the auditors' side: returning, accepting, reopening; and the comment threads of both sides."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from partner_audit.assessments.schemas import AssessmentStatus
from partner_audit.assessments.services import questionnaire
from partner_audit.assessments.services.answers import missing_for_submit
from partner_audit.assessments.services.assessments import (
    COMMENT_COLUMNS,
    EDITABLE,
    S,
    now,
    template_for,
    visible_assessment,
)
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
        missing = await missing_for_submit(assessment_id, assessment["template_version_id"])
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


# When each side may write in a thread. Accepted is locked for everyone: a reviewer with more to say reopens it
# (with a reason) first. The provider's people write while the assessment is with them, as they answer; once it is
# submitted it is with the reviewers, who return it when they need an answer.
REVIEWER_MAY_COMMENT = frozenset({S.not_started, S.in_progress, S.submitted, S.returned})
PROVIDER_MAY_COMMENT = EDITABLE


async def add_comment(caller: Caller, assessment_id: UUID, question_id: str | None, body: str,
                      reply_to: UUID | None = None) -> dict[str, Any]:
    """A comment in the thread of one question (or, with no question, of the whole assessment). A reviewer's raises
    the question for the provider; a reply from the provider's people answers it. ``reply_to`` names the comment
    this one answers, which must be in the same thread."""
    policies.COMMENT_ON_ASSESSMENT.check(caller)
    if not body.strip():
        raise Invalid.field("body", "must not be empty")
    async with access_log.audited(caller, "assessment.comment", "assessment", assessment_id) as audit:
        assessment = await visible_assessment(caller, assessment_id)
        audit.provider_id = assessment["provider_id"]
        status = S(assessment["status"])
        reviewer = policies.RAISE_REVIEW_QUESTION.allows(caller)
        if status not in (REVIEWER_MAY_COMMENT if reviewer else PROVIDER_MAY_COMMENT):
            raise Conflict(
                "This assessment is accepted and locked: reopen it, with a reason, to comment again." if
                status is S.accepted else
                f"This assessment is {status.value} and with the reviewers; you can reply once they return it.")
        if question_id is not None:
            _, questions = await template_for(assessment["template_version_id"])
            if question_id not in questions:
                raise Invalid.field("question_id", f"no question {question_id!r} in this template")
        if reply_to is not None:
            answered = await ReviewComment.select(ReviewComment.id).where(
                ReviewComment.id == reply_to, ReviewComment.assessment == assessment_id,
                ReviewComment.question_id.is_null() if question_id is None
                else ReviewComment.question_id == question_id,
            ).first().run()
            if answered is None:
                # One wording whether the comment is elsewhere or nowhere: another assessment's comment is not
                # revealed to exist.
                where = f"question {question_id}" if question_id else "the assessment as a whole"
                raise Invalid.field("reply_to", f"is not a comment on {where} in this assessment")
        comment = ReviewComment(assessment=assessment_id, question_id=question_id, author=caller.user_id,
                                author_role=caller.role.value if caller.role else None, reply_to=reply_to,
                                body=body.strip(), created_at=now())
        await comment.save().run()
        audit.details.append(f"on {question_id or 'the assessment'}" + (f", replying to {reply_to}" if reply_to
                                                                          else ""))
        rows = await ReviewComment.select(*COMMENT_COLUMNS).where(ReviewComment.id == comment.id).run()
        return questionnaire.comment_out(rows[0])
