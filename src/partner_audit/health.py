"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from litestar import Controller, get
from litestar.datastructures import State

from partner_audit import db
from partner_audit.api import Output
from partner_audit.errors import Unavailable
from partner_audit.storage import StoreUnavailable


class Health(Output):
    status: str
    database: str = "ok"
    evidence_store: str = "ok"


class HealthController(Controller):
    path = "/health"
    tags = ["Health"]
    opt = {"exclude_from_auth": True}

    @get("/live")
    async def live(self) -> Health:
        """The process is up."""
        return Health(status="ok")

    @get("/ready")
    async def ready(self, state: State) -> Health:
        """The database and the evidence store both answer; 503 naming the one that does not."""
        try:
            await db.engine().run_ddl("SELECT 1")
        except Exception as exc:  # any driver error means "not ready", and says which
            raise Unavailable(f"database is not reachable: {exc}") from exc
        try:
            await state.store.check()
        except StoreUnavailable as exc:
            raise Unavailable(str(exc)) from exc
        return Health(status="ok")
