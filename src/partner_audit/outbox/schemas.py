"""What the outbox API shows: a message's status and the message without its body."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import UUID

from partner_audit.api import Output


class Status(str, Enum):
    queued = "queued"  # not tried yet
    retrying = "retrying"  # tried and failed; tried again after its back-off
    failed = "failed"  # given up after MAX_ATTEMPTS: stays in the outbox for an admin to see
    sent = "sent"


class OutboxMessageOut(Output):
    """A message without its body: bodies hold single-use links that must not be reusable from here."""

    id: UUID
    to_address: str
    subject: str
    status: Status
    attempts: int
    last_error: str
    created_at: datetime
    send_after: datetime
    sent_at: datetime | None
