"""Request and response bodies: calendars (the secret iCalendar feed URLs, and the JSON calendar)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from partner_audit.api import Input, Output, text
from partner_audit.audits.schemas import AuditKind, AuditStatus, FeedOwner


class FeedCreate(Input):
    """A feed of one auditor's audits (`owner: auditor`; an auditor's own when `auditor_id` is left out) or of one
    provider's (`owner: provider`; a provider admin's own provider when `provider_id` is left out)."""

    owner: FeedOwner
    auditor_id: UUID | None = None
    provider_id: UUID | None = None
    label: text(120, min_length=0) = ""  # to tell one's feeds apart, e.g. "Work phone"


class FeedOut(Output):
    id: UUID
    owner: FeedOwner
    auditor_id: UUID | None
    auditor_name: str | None
    provider_id: UUID | None
    provider_name: str | None
    label: str
    created_at: datetime
    last_used_at: datetime | None  # when a calendar client last fetched it
    revoked_at: datetime | None


class FeedCreated(FeedOut):
    """The feed's secret address, shown this once: only a keyed hash of it is kept, so it cannot be shown again.
    Anyone holding it can read the feed; revoke the feed if it leaks."""

    url: str


class CalendarAuditor(Output):
    id: UUID
    name: str
    role: str  # lead or member


class CalendarEntry(Output):
    id: UUID
    provider_id: UUID
    provider_name: str
    kind: AuditKind
    status: AuditStatus
    title: str
    starts_on: date
    ends_on: date
    all_day: bool  # a visit over several days; a one-day audit runs 09:00 to 17:00 Pacific/Auckland
    team: list[CalendarAuditor]
    sequence: int  # raised on every change a calendar shows, as in the feeds
    cancelled_reason: str
    updated_at: datetime


@dataclass(frozen=True)
class CalendarFilter:
    starts: date | None = None  # today by default
    ends: date | None = None  # three months after starts by default
    auditor_id: UUID | None = None
    provider_id: UUID | None = None
