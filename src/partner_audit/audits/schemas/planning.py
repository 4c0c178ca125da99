"""Request and response bodies: planning (risk-based plans and their proposals) and auditors' availability
(capacity, leave, declared conflicts)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

from partner_audit.api import LINES, Input, Output, text
from partner_audit.audits.schemas import AuditKind, AuditStatus, ConflictKind, PlanStatus

AuditsPerWeek = Annotated[int, msgspec.Meta(ge=1, le=25, description="How many audits the auditor takes on a week")]


# --- availability ---------------------------------------------------------------------------------------------


class CapacityIn(Input):
    audits_per_week: AuditsPerWeek
    active: bool = True  # False: not planned at all (away for long, or no longer auditing)


class AuditorOut(Output):
    id: UUID
    full_name: str
    email: str
    audits_per_week: int
    default_capacity: bool  # True: no capacity recorded, the setting's default applies
    planned: bool  # False: their capacity says they are not to be planned


class LeaveIn(Input):
    starts_on: date
    ends_on: date
    note: text(200, min_length=0) = ""


class LeaveOut(Output):
    id: UUID
    auditor_id: UUID
    starts_on: date
    ends_on: date
    note: str
    created_at: datetime


class ConflictIn(Input):
    provider_id: UUID
    reason: text(1000, characters=LINES)
    # Whose conflict: the caller's own when absent; an admin records anyone's.
    auditor_id: UUID | None = None
    kind: ConflictKind = ConflictKind.interest
    # A responsibility: the last day they were responsible (absent: still are).
    ends_on: date | None = None


class ConflictOut(Output):
    id: UUID
    auditor_id: UUID
    auditor_name: str
    provider_id: UUID
    provider_name: str
    kind: ConflictKind
    reason: str
    ends_on: date | None
    declared_at: datetime
    withdrawn_at: datetime | None


# --- plans -------------------------------------------------------------------------------------------------------


class PlanRequest(Input):
    starts_on: date
    ends_on: date


class AcceptIn(Input):
    # The proposals to accept; all of them still proposed when absent.
    audit_ids: Annotated[list[UUID], msgspec.Meta(max_length=10_000)] | None = None


class Reasons(Output):
    provider: str = ""
    date: str = ""
    auditor: str = ""


class ProposalOut(Output):
    id: UUID
    provider_id: UUID
    provider_name: str
    kind: AuditKind
    status: AuditStatus
    starts_on: date
    ends_on: date
    due_on: date | None
    lead_auditor_id: UUID | None
    lead_auditor_name: str | None
    reasons: Reasons
    cancelled_reason: str


class SkippedOut(Output):
    provider_id: UUID
    provider_name: str
    due_on: date
    code: str  # independence, capacity or too_late
    reason: str


class PlanOut(Output):
    id: UUID
    starts_on: date
    ends_on: date
    status: PlanStatus
    settings: dict[str, Any]
    created_at: datetime
    decided_at: datetime | None
    proposals: list[ProposalOut]
    skipped: list[SkippedOut]


class PlanSummary(Output):
    id: UUID
    starts_on: date
    ends_on: date
    status: PlanStatus
    created_at: datetime
    decided_at: datetime | None
    proposals: int  # audits it proposed, whatever became of them
    skipped: int  # due providers it could not place


class PlanDecision(Output):
    changed: int  # proposals this request accepted or declined: 0 when it was already done
    plan: PlanOut
