"""HTTP for the outbox: admins see what mail went out, what is waiting and what failed.

Thin: the rules are in ``service``.
"""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from partner_audit.api import Page, Paging
from partner_audit.outbox import service
from partner_audit.outbox.schemas import OutboxMessageOut, Status
from partner_audit.security import policies
from partner_audit.security.caller import Caller


class OutboxController(Controller):
    path = "/outbox"
    tags = ["Outbox"]
    guards = [policies.READ_OUTBOX.guard]

    @get("/", summary="List outgoing mail")
    async def list_outbox(
        self,
        caller: NamedDependency[Caller],
        paging: NamedDependency[Paging],
        status: FromQuery[Status | None] = None,
    ) -> Page[OutboxMessageOut]:
        """Newest first. `failed` messages were given up on after repeated SMTP errors: see `last_error`."""
        rows, total = await service.list_outbox(caller, status, paging)
        return Page.of(rows, total, paging, OutboxMessageOut)


ROUTERS = [OutboxController]
