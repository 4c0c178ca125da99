"""The assessment itself: who sees which, listing and reading it, and the template it is answered against.
What the other services share (the statuses that allow changes, the clock, the visible row) is here."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from partner_audit.api import Paging
from partner_audit.assessments.schemas import AssessmentFilter, AssessmentStatus
from partner_audit.assessments.services import questionnaire
from partner_audit.assessments.tables import Answer, Assessment, Evidence, ReviewComment
from partner_audit.controls import service as controls
from partner_audit.controls.schemas import Question, Template
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller
from partner_audit.security.tenancy import page_of, require_row, scoped

S = AssessmentStatus
EDITABLE = frozenset({S.not_started, S.in_progress, S.returned})
DONE = frozenset({S.submitted, S.accepted})


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return datetime.now(UTC).date()


# --- templates ---------------------------------------------------------------------------------------


# A loaded template version never changes, so its parsed form is safe to keep for the life of the process.
_TEMPLATES: dict[UUID, tuple[Template, dict[str, Question]]] = {}


async def template_for(version_id: UUID) -> tuple[Template, dict[str, Question]]:
    if version_id not in _TEMPLATES:
        _, template = await controls.get_version(version_id)
        _TEMPLATES[version_id] = (template, {q.id: q for _, _, q in template.questions()})
    return _TEMPLATES[version_id]


# --- assessments ---------------------------------------------------------------------------------------

_COLUMNS = (
    Assessment.id, Assessment.rollout, Assessment.provider, Assessment.provider.name.as_alias("provider_name"),
    Assessment.template_version, Assessment.period, Assessment.status, Assessment.opens_on, Assessment.due_on,
    Assessment.submitted_at, Assessment.decided_at, Assessment.decision_note, Assessment.updated_at,
)


def assessment_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row, "rollout_id": row["rollout"], "provider_id": row["provider"],
        "template_version_id": row["template_version"],
        "overdue": row["status"] not in {s.value for s in DONE} and row["due_on"] < today(),
    }


async def visible_assessment(caller: Caller, assessment_id: UUID) -> dict[str, Any]:
    query = Assessment.select(*_COLUMNS).where(Assessment.id == assessment_id)
    row = await scoped(query, Assessment.provider, caller).first().run()
    return assessment_out(require_row(row, "assessment", assessment_id))


async def list_assessments(caller: Caller, flt: AssessmentFilter, paging: Paging
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
            clauses.append((Assessment.due_on < today()) & Assessment.status.not_in(done))
        else:
            clauses.append((Assessment.due_on >= today()) | Assessment.status.is_in(done))
    return await page_of(caller, paging, Assessment.select(*_COLUMNS), Assessment.count(),
                         action="assessment.list", record_type="assessment", scope=Assessment.provider, where=clauses,
                         order_by=[Assessment.due_on, Assessment.id], provider_id=caller.provider_id,
                         present=lambda rows: [assessment_out(r) for r in rows])


# A comment with its author's name and email, in the same query: a thread never looks its authors up one by one.
COMMENT_COLUMNS = (
    *ReviewComment.all_columns(), ReviewComment.author.full_name.as_alias("author_name"),
    ReviewComment.author.email.as_alias("author_email"),
)


async def comments_of(assessment_id: UUID) -> list[dict[str, Any]]:
    """The assessment's comments, oldest first, as ``questionnaire.comment_out`` shows them."""
    rows = await ReviewComment.select(*COMMENT_COLUMNS).where(ReviewComment.assessment == assessment_id).order_by(
        ReviewComment.created_at).order_by(ReviewComment.id).run()
    return [questionnaire.comment_out(r) for r in rows]


async def detail(assessment: dict[str, Any]) -> dict[str, Any]:
    """The assessment with its answers, comments and files, and the questionnaire laid out from them
    (``questionnaire.view``): four reads whatever the template's size."""
    aid = assessment["id"]
    answers = [answer_out(a) for a in await Answer.select(*ANSWER_COLUMNS).where(Answer.assessment == aid).order_by(
        Answer.question_id).run()]
    comments = await comments_of(aid)
    evidence = [evidence_out(e) for e in await Evidence.select(*EVIDENCE_COLUMNS).where(
        Evidence.assessment == aid).order_by(Evidence.uploaded_at).run()]
    template, _ = await template_for(assessment["template_version_id"])
    return {
        **assessment,
        "answers": answers,
        "comments": comments,
        "evidence": evidence,
        **questionnaire.view(assessment["template_version_id"], template, answers, comments, evidence),
    }


# An answer or a file, with the period of the assessment it was carried from (``carry``), if it was.
ANSWER_COLUMNS = (*Answer.all_columns(), Answer.carried_from.period.as_alias("carried_from_period"))
EVIDENCE_COLUMNS = (*Evidence.all_columns(), Evidence.carried_from.period.as_alias("carried_from_period"))


def answer_out(row: dict[str, Any]) -> dict[str, Any]:
    value = row["value"]
    # A carried answer is the provider's word for this period only once confirmed (or saved again); any other
    # answer was given in this assessment, and giving it was the confirmation.
    confirmed = row.get("carried_from") is None or row.get("confirmed_at") is not None
    return {**row, "value": json.loads(value) if isinstance(value, str) else value, "confirmed": confirmed}


def as_date(value: date | str | None) -> date | None:
    """A Date column's value: SQLite may hand it back as ISO text."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def is_expired(expires_on: date | str | None, on: date | None = None) -> bool:
    """Evidence counts through its ``expires_on`` day, and not after it."""
    last_day = as_date(expires_on)
    return last_day is not None and last_day < (on or today())


def evidence_out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "expires_on": as_date(row.get("expires_on")), "expired": is_expired(row.get("expires_on"))}


async def get_assessment(caller: Caller, assessment_id: UUID) -> dict[str, Any]:
    policies.SEE_ASSESSMENTS.check(caller)
    async with access_log.audited(caller, "assessment.read", "assessment", assessment_id, writes=False) as audit:
        assessment = await visible_assessment(caller, assessment_id)
        audit.provider_id = assessment["provider_id"]
        return await detail(assessment)
