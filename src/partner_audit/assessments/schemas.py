"""Request and response bodies for rollouts, assessments, answers and reviews."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar.datastructures import UploadFile

from partner_audit.api import LINES, Input, Output, text
from partner_audit.providers.schemas import ProviderKind, Region

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


class CommentOut(Output):
    id: UUID
    question_id: str | None
    author_id: UUID | None
    body: str
    created_at: datetime


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


class AssessmentDetail(AssessmentOut):
    answers: list[AnswerOut] = []
    comments: list[CommentOut] = []
    evidence: list[EvidenceOut] = []


@dataclass(frozen=True)
class AssessmentFilter:
    """What a list of assessments may be narrowed to."""

    rollout_id: UUID | None = None
    provider_id: UUID | None = None
    status: AssessmentStatus | None = None
    period: str | None = None
    overdue: bool | None = None


@dataclass
class WorkbookUpload:
    """The multipart/form-data body of an upload: the workbook in a field named ``file``."""

    file: UploadFile
