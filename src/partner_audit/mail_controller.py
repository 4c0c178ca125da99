"""HTTP for the outbox: admins see what mail went out, what is waiting and what failed.

Kept apart from ``mail`` (as each domain keeps its controller apart from its service) so the services and the
``send-mail`` command that enqueue and deliver mail do not depend on the web layer.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from partner_audit import mail
from partner_audit.api import Output, Page, Paging
from partner_audit.security import policies
from partner_audit.security.caller import Caller


class OutboxMessageOut(Output):
    """A message without its body: bodies hold single-use links that must not be reusable from here."""

    id: UUID
    to_address: str
    subject: str
    status: mail.Status
    attempts: int
    last_error: str
    created_at: datetime
    send_after: datetime
    sent_at: datetime | None


class OutboxController(Controller):
    path = "/outbox"
    tags = ["Outbox"]
    guards = [policies.READ_OUTBOX.guard]

    @get("/")
    async def list_outbox(
        self,
        caller: NamedDependency[Caller],
        paging: NamedDependency[Paging],
        status: FromQuery[mail.Status | None] = None,
    ) -> Page[OutboxMessageOut]:
        """Newest first. `failed` messages were given up on after repeated SMTP errors: see `last_error`."""
        rows, total = await mail.list_outbox(caller, status, paging)
        return Page.of(rows, total, paging, OutboxMessageOut)


ROUTERS = [OutboxController]
