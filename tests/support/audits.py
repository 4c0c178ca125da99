"""Audits to test with, made straight in the tables until the audits service is on main: an audit of a provider,
its team, and the changes the audits service makes that a calendar or a spot-check sees (a new status, a raised
SEQUENCE, a cancellation).

Helpers only: ``from tests.support.audits import new_audit, set_status, change, cancel``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

from partner_audit.audits.tables import Audit, AuditAuditor


def new_audit(world, provider: dict[str, Any], *, kind: str = "device_spot_check", status: str = "scheduled",
              lead=None, members=(), starts_on: date | None = None, days: int = 1, title: str = "",
              **fields: Any) -> str:
    """An audit of ``provider`` led by ``lead`` (an Api person, default the world's auditor) with ``members``;
    its id."""
    lead = lead if lead is not None else world.auditor
    starts_on = starts_on or date.today() + timedelta(days=7)
    audit_id = uuid4()
    fields.setdefault("reasons", {"provider": "Tier 2: due for review"})

    async def make() -> None:
        await Audit.insert(Audit(
            id=audit_id, provider=provider["id"], kind=kind, status=status, title=title,
            starts_on=starts_on, ends_on=starts_on + timedelta(days=days - 1), lead_auditor=lead.user["id"],
            **fields)).run()
        team = [(lead, "lead"), *((m, "member") for m in members)]
        await AuditAuditor.insert(*[
            AuditAuditor(audit=audit_id, auditor=who.user["id"], role=role,
                         audit_auditor=f"{audit_id}:{who.user['id']}") for who, role in team]).run()

    world.run(make)
    return str(audit_id)


def change(world, audit_id: str, **values: Any) -> None:
    """A change a calendar shows, as the audits service makes it: the values, and SEQUENCE raised by one."""
    async def update() -> None:
        await Audit.update({**{getattr(Audit, k): v for k, v in values.items()},
                            Audit.sequence: Audit.sequence + 1, Audit.updated_at: datetime.now(UTC)}).where(
            Audit.id == audit_id).run()

    world.run(update)


def set_status(world, audit_id: str, status: str) -> None:
    change(world, audit_id, status=status)


def cancel(world, audit_id: str, reason: str = "The provider asked to move it") -> None:
    change(world, audit_id, status="cancelled", cancelled_reason=reason)
