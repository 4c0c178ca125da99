"""Request and response bodies: audits, their findings and corrective actions, and the files attached to them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

from partner_audit.api import FILE, Email, Input, Output, text
from partner_audit.audits.schemas import (
    ActionStatus,
    AuditKind,
    AuditOrigin,
    AuditorRole,
    AuditStatus,
    Rating,
    Severity,
)
from partner_audit.plaintext import LINES

Key = text(80)  # a focus area's or a control's id in a template, e.g. `privacy-lead`
Keys = Annotated[list[Key], msgspec.Meta(max_length=200)]
Team = Annotated[list[UUID], msgspec.Meta(max_length=20)]
Reason = text(2000, characters=LINES)
Note = text(10_000, min_length=0, characters=LINES)

# --- audits ----------------------------------------------------------------------------------------------------


class AuditCreate(Input):
    """An audit of a provider. With no `assessment_id`, the provider's latest accepted self-assessment is the one
    it reviews (if it has one); with no `template_version_id`, that assessment's template version is its scope.
    Empty `scope_areas` and `scope_controls` mean the whole template."""

    provider_id: UUID
    kind: AuditKind
    title: text(200)
    starts_on: date
    ends_on: date
    template_version_id: UUID | None = None
    scope_areas: Keys = []
    scope_controls: Keys = []
    assessment_id: UUID | None = None
    lead_auditor_id: UUID | None = None
    auditor_ids: Team = []  # the other auditors on the team


class AuditUpdate(Input):
    """Change the fields given: dates, title, scope or team (`lead_auditor_id` null removes the lead)."""

    title: text(200) | msgspec.UnsetType = msgspec.UNSET
    starts_on: date | msgspec.UnsetType = msgspec.UNSET
    ends_on: date | msgspec.UnsetType = msgspec.UNSET
    template_version_id: UUID | None | msgspec.UnsetType = msgspec.UNSET
    scope_areas: Keys | msgspec.UnsetType = msgspec.UNSET
    scope_controls: Keys | msgspec.UnsetType = msgspec.UNSET
    assessment_id: UUID | None | msgspec.UnsetType = msgspec.UNSET
    lead_auditor_id: UUID | None | msgspec.UnsetType = msgspec.UNSET
    auditor_ids: Team | msgspec.UnsetType = msgspec.UNSET


class AuditReport(Input):
    summary: Note = ""


class AuditCancel(Input):
    reason: Reason


@dataclass(frozen=True)
class AuditFilter:
    provider_id: UUID | None = None
    status: AuditStatus | None = None
    kind: AuditKind | None = None
    starts_from: date | None = None  # audits still running on or after this day
    ends_by: date | None = None  # audits starting on or before this day


class TeamMember(Output):
    auditor_id: UUID
    name: str
    email: str
    role: AuditorRole


class ActionsSummary(Output):
    total: int
    open: int
    responded: int
    verified: int
    carried_forward: int
    overdue: int


class AuditOut(Output):
    id: UUID
    provider_id: UUID
    provider_name: str
    kind: AuditKind
    status: AuditStatus
    title: str
    template_version_id: UUID | None
    assessment_id: UUID | None
    scope_areas: list[str]
    scope_controls: list[str]
    starts_on: date
    ends_on: date
    lead_auditor_id: UUID | None
    origin: AuditOrigin
    follows_id: UUID | None
    reasons: dict[str, Any]
    cancelled_reason: str
    summary: str
    sequence: int  # raised on every change a calendar shows
    created_at: datetime
    updated_at: datetime
    reported_at: datetime | None
    closed_at: datetime | None


class AuditDetail(AuditOut):
    team: list[TeamMember]
    findings: int
    actions: ActionsSummary


# --- findings --------------------------------------------------------------------------------------------------


class FindingCreate(Input):
    """What the audit found for one control of its template (in its scope, when it has one)."""

    control_id: Key
    rating: Rating | None = None  # null until rated; every finding must be rated before the audit closes
    severity: Severity = Severity.low
    observation: Note = ""
    recommendation: Note = ""


class FindingUpdate(Input):
    rating: Rating | None | msgspec.UnsetType = msgspec.UNSET
    severity: Severity | msgspec.UnsetType = msgspec.UNSET
    observation: Note | msgspec.UnsetType = msgspec.UNSET
    recommendation: Note | msgspec.UnsetType = msgspec.UNSET


class AuditEvidenceOut(Output):
    id: UUID
    audit_id: UUID
    finding_id: UUID | None
    action_id: UUID | None
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime


class FindingOut(Output):
    id: UUID
    audit_id: UUID
    provider_id: UUID
    control_id: str
    rating: Rating | None
    severity: Severity
    observation: str
    recommendation: str
    created_at: datetime
    updated_at: datetime
    follow_up_audit_id: UUID | None  # the follow-up audit a critical finding proposed
    evidence: list[AuditEvidenceOut]


class AuditEvidenceUpload(msgspec.Struct, kw_only=True):
    """An audit evidence upload's form: the file."""

    file: FILE


# --- corrective actions ------------------------------------------------------------------------------------------


class ActionCreate(Input):
    description: text(5000, characters=LINES)
    owner_name: text(120)  # who at the provider owns the fix
    due_on: date
    owner_email: Email | None = None


class ActionRespond(Input):
    response: text(5000, characters=LINES)


class ActionVerify(Input):
    note: Note = ""


class ActionReason(Input):
    reason: Reason


@dataclass(frozen=True)
class ActionFilter:
    status: ActionStatus | None = None
    overdue: bool | None = None
    provider_id: UUID | None = None
    audit_id: UUID | None = None


class ActionOut(Output):
    id: UUID
    finding_id: UUID
    audit_id: UUID
    provider_id: UUID
    control_id: str
    severity: Severity
    description: str
    owner_name: str
    owner_email: str
    due_on: date
    status: ActionStatus
    overdue: bool  # still open past its due date
    days_overdue: int
    response: str
    responded_at: datetime | None
    verification_note: str
    verified_at: datetime | None
    returned_reason: str
    carried_forward_reason: str
    created_at: datetime
    updated_at: datetime
    evidence: list[AuditEvidenceOut]
