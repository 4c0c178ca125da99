"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

import logging

from litestar import Controller, get
from litestar.di import NamedDependency

from partner_audit import db
from partner_audit.api import Output
from partner_audit.errors import OUTAGE_RETRY_SECONDS, Unavailable
from partner_audit.openapi import NO_DATABASE
from partner_audit.security.middleware import PUBLIC
from partner_audit.storage import EvidenceStore, StoreUnavailable

log = logging.getLogger(__name__)


class Health(Output):
    status: str
    database: str = "ok"
    evidence_store: str = "ok"


class HealthController(Controller):
    path = "/health"
    tags = ["Health"]
    opt = PUBLIC

    @get("/live", summary="Liveness", opt=NO_DATABASE)
    async def live(self) -> Health:
        """The process is up."""
        return Health(status="ok")

    @get("/ready", summary="Readiness")
    async def ready(self, store: NamedDependency[EvidenceStore]) -> Health:
        """The database and the evidence store both answer; 503 naming the one that does not.

        Anyone may ask, so the answer names the part and nothing more: the reason (an address, a path, a driver's
        message) goes to the server's log.
        """
        try:
            await db.engine().run_ddl("SELECT 1")
        except Exception as exc:  # any driver error means "not ready"
            log.warning("readiness: the database is not reachable", exc_info=exc)
            raise Unavailable("database is not reachable", retry_after=OUTAGE_RETRY_SECONDS) from exc
        try:
            await store.check()
        except StoreUnavailable as exc:
            log.warning("readiness: %s", exc)
            raise Unavailable("evidence store is not reachable", retry_after=OUTAGE_RETRY_SECONDS) from exc
        return Health(status="ok")
