"""Request and response bodies for rollouts, assessments, answers and reviews."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar.datastructures import UploadFile

from partner_audit.api import FILE, LINES, Input, Output, text
from partner_audit.controls.schemas import Condition, Evidence, Option, QuestionType
from partner_audit.providers.schemas import ProviderKind, Region
from partner_audit.security.caller import Role

Period = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-(Q[1-4]|H[12]|FY)$", description="e.g. 2025-Q3, 2025-H1, 2025-FY")]
QuestionId = Annotated[str, msgspec.Meta(min_length=1, max_length=80)]


class AssessmentStatus(str, Enum):
    not_started = "not_started"
    in_progress = "in_progress"
    submitted = "submitted"
    returned = "returned"
    accepted = "accepted"


class Selection(Input):
    """Providers matching every given list; ``provider_ids`` adds named providers whatever they match."""

    risk_tiers: list[Annotated[int, msgspec.Meta(ge=1, le=3)]] = []
    regions: list[Region] = []
    kinds: list[ProviderKind] = []
    provider_ids: list[UUID] = []


class RolloutCreate(Input):
    name: text(200)
    template_version_id: UUID
    period: Period
    opens_on: date
    due_on: date
    selection: Selection


class RolloutProgress(Output):
    total: int
    by_status: dict[str, int]
    overdue: int
    percent_accepted: float


class RolloutOut(Output):
    id: UUID
    name: str
    template_version_id: UUID
    period: str
    opens_on: date
    due_on: date
    selection: dict[str, Any]
    created_at: datetime
    launched_at: datetime | None
    progress: RolloutProgress | None = None


class LaunchOut(Output):
    created: int
    already_there: int
    carried_into: Annotated[int, msgspec.Meta(
        description="How many of the assessments created opened with answers carried from their provider's last "
                    "accepted assessment of the same template")]
    progress: RolloutProgress


class AnswerIn(Input):
    question_id: QuestionId
    value: Any = None
    comment: text(5000, min_length=0, characters=LINES) = ""
    version: Annotated[int, msgspec.Meta(ge=0)] = 0  # 0 for a question not yet answered


class AnswersIn(Input):
    answers: Annotated[list[AnswerIn], msgspec.Meta(min_length=1, max_length=500)]


class AnswerOut(Output):
    question_id: str
    value: Any
    comment: str
    version: int
    answered_by: UUID | None
    answered_at: datetime
    carried_from: Annotated[UUID | None, msgspec.Meta(
        description="The accepted assessment this answer was carried from, or null if it was given here")] = None
    carried_from_period: Annotated[str | None, msgspec.Meta(description="That assessment's period")] = None
    confirmed: Annotated[bool, msgspec.Meta(
        description="False while a carried answer awaits confirmation (POST .../answers/confirm, or saving it); "
                    "submitting is refused until every shown one is confirmed")] = True
    confirmed_at: Annotated[datetime | None, msgspec.Meta(description="When a carried answer was confirmed")] = None
    confirmed_by: Annotated[UUID | None, msgspec.Meta(description="Who confirmed a carried answer")] = None


class ConfirmIn(Input):
    """The carried answers confirmed unchanged, by question id."""

    question_ids: Annotated[list[QuestionId], msgspec.Meta(min_length=1, max_length=500)]


class CommentIn(Input):
    body: text(5000, characters=LINES)
    question_id: QuestionId | None = None
    reply_to: UUID | None = None  # the comment this one answers: on the same assessment and question


class CommentAuthor(Output):
    id: UUID
    name: str  # their name, or their email when they gave none
    role: Role | None  # the role they wrote as


class CommentOut(Output):
    id: UUID
    question_id: str | None
    author_id: UUID | None
    author: CommentAuthor | None  # None only for an account that no longer exists
    body: str
    created_at: datetime
    reply_to: UUID | None = None


class DecisionIn(Input):
    reason: text(2000, characters=LINES)


class AcceptIn(Input):
    note: text(2000, min_length=0, characters=LINES) = ""


class EvidenceOut(Output):
    id: UUID
    question_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: UUID | None
    uploaded_at: datetime
    expires_on: Annotated[date | None, msgspec.Meta(
        description="The last day the file is good evidence; null if it does not expire")] = None
    expired: Annotated[bool, msgspec.Meta(
        description="Past its expires_on: it no longer satisfies a question that needs evidence")] = False
    carried_from: Annotated[UUID | None, msgspec.Meta(
        description="The accepted assessment this file was carried from (the same stored file), or null")] = None
    carried_from_period: Annotated[str | None, msgspec.Meta(description="That assessment's period")] = None


class EvidenceChange(Input):
    """``expires_on``: the last day the file is good evidence (e.g. a policy reviewed annually), or null for none."""

    expires_on: date | None


class AssessmentOut(Output):
    id: UUID
    rollout_id: UUID
    provider_id: UUID
    provider_name: str
    template_version_id: UUID
    period: str
    status: AssessmentStatus
    opens_on: date
    due_on: date
    overdue: bool
    submitted_at: datetime | None
    decided_at: datetime | None
    decision_note: str
    updated_at: datetime


class Progress(Output):
    """How far an area, or the whole assessment, has come. Hidden questions count nowhere but ``questions``."""

    questions: int  # in the template
    shown: int  # shown, given the answers so far
    required: int  # shown and required
    answered: int  # shown and answered ("does not apply" is an answer)
    missing_answers: int  # shown, required and not answered
    missing_evidence: int  # shown, answered, and the answer needs a file (one not past its expiry) not attached
    unconfirmed: int  # shown, with an answer carried from the last period not yet confirmed
    lacking: int  # shown questions that lack anything at all before submitting
    complete: bool  # nothing lacking: submitting would not be refused for any question


class QuestionView(Output):
    """One question as its provider sees it: the question, then where it stands in this assessment."""

    id: str
    text: str
    help: str
    type: QuestionType
    options: list[Option]
    min: float | None
    max: float | None
    allow_na: bool
    weight: float
    required: bool  # when shown, it must be answered
    show_if: Condition | None  # shown only when that earlier question's answer is one of these
    evidence_rule: Evidence  # never, always, or on_answers (those in evidence_on)
    evidence_on: list[str]
    shown: bool
    answered: bool
    needs_evidence: bool  # shown, and its answer asks for a file
    has_evidence: bool  # a file not past its expiry is attached
    missing: list[str]  # what it still lacks before the assessment can be submitted, as submitting names it
    answer: AnswerOut | None
    evidence: list[EvidenceOut]  # the files attached to this question
    comments: list[CommentOut]  # its thread, oldest first
    raised: bool  # a reviewer has commented on it
    answered_since_raised: bool  # since the reviewer's last comment: a reply by the provider's people, the
    # answer changed, or a file attached


class ControlView(Output):
    id: str
    title: str
    description: str
    recommendations: list[int]
    questions: list[QuestionView]


class AreaView(Output):
    id: str
    title: str
    progress: Progress
    controls: list[ControlView]


class TemplateRef(Output):
    key: str
    title: str
    version: str


class AssessmentDetail(AssessmentOut):
    answers: list[AnswerOut] = []
    comments: list[CommentOut] = []
    evidence: list[EvidenceOut] = []
    template: TemplateRef | None = None
    areas: list[AreaView] = []  # the questionnaire, in the template's order
    progress: Progress | None = None
    assessment_comments: list[CommentOut] = []  # the thread on the whole assessment (no question)
    raised_questions: int = 0  # questions a reviewer commented on
    raised_awaiting_answer: int = 0  # of those, not answered since the reviewer's last comment


@dataclass(frozen=True)
class AssessmentFilter:
    """What a list of assessments may be narrowed to."""

    rollout_id: UUID | None = None
    provider_id: UUID | None = None
    status: AssessmentStatus | None = None
    period: str | None = None
    overdue: bool | None = None


# Documents the form in /schema only: ``uploads.form_fields_first`` reads it, streaming.
class EvidenceUpload(msgspec.Struct, kw_only=True):
    """The evidence upload's form, in this order: the question (and when the evidence expires), then the file (it
    streams to the store as it arrives, so the other fields must come first)."""

    question_id: Annotated[str, msgspec.Meta(min_length=1, description="The question the evidence is for, e.g. "
                                                                      "`has-lead`")]
    # An empty example: Swagger UI fills a form with examples, and would otherwise offer today's date, which
    # would make the evidence expire tonight.
    expires_on: Annotated[date, msgspec.Meta(description="Optional: the last day the file is good evidence (not a "
                                                         "past date)",
                                             extra_json_schema={"example": ""})] | msgspec.UnsetType = msgspec.UNSET
    file: FILE


@dataclass
class WorkbookUpload:
    """The multipart/form-data body of an upload: the workbook in a field named ``file``."""

    file: UploadFile
