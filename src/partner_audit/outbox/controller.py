"""HTTP for the outbox: admins see what mail went out, what is waiting and what failed.

Thin: the rules are in ``service``.
"""

from __future__ import annotations

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from partner_audit.api import Page, PageNumber, PageSize, window
from partner_audit.outbox import service
from partner_audit.outbox.schemas import OutboxMessageOut, Status
from partner_audit.security import policies
from partner_audit.security.caller import Caller
from partner_audit.security.controller import CALLER


class OutboxController(Controller):
    path = "/api/v1/outbox"
    tags = ["Outbox"]
    dependencies = CALLER
    guards = [policies.READ_OUTBOX.guard]

    @get("/")
    async def list_outbox(
        self,
        caller: NamedDependency[Caller],
        status: FromQuery[Status | None] = None,
        page: PageNumber = 1,
        page_size: PageSize = 50,
    ) -> Page[OutboxMessageOut]:
        """Newest first. `failed` messages were given up on after repeated SMTP errors: see `last_error`."""
        offset, limit = window(page, page_size)
        rows, total = await service.list_outbox(caller, status, offset, limit)
        return Page(items=[msgspec.convert(r, OutboxMessageOut) for r in rows], total=total, page=page,
                    page_size=page_size)


ROUTERS = [OutboxController]
