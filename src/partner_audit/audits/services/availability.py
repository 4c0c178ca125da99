"""Auditors' availability, which the planner works within: capacity (audits a week), leave, and declared
conflicts (of interest: never on an audit of that provider; of responsibility: not leading one for a while after).

An auditor manages their own; an admin anyone's. A conflict names a provider, so every change to one, and every
reading of them, is in the access log with that provider."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from partner_audit.api import Paging
from partner_audit.audits.schemas import ConflictKind
from partner_audit.audits.schemas.planning import CapacityIn, ConflictIn, LeaveIn
from partner_audit.audits.tables import AuditorConflict, AuditorLeave, AuditorProfile
from partner_audit.errors import Forbidden, Invalid, NotFound
from partner_audit.providers.tables import Provider
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller, Role
from partner_audit.security.tables import User
from partner_audit.security.tenancy import page_of
from partner_audit.settings import Settings


def _own_or_admin(caller: Caller, auditor_id: UUID | str, what: str) -> None:
    if caller.role == Role.auditor and str(caller.user_id) != str(auditor_id):
        raise Forbidden(f"An auditor manages only their own {what}; an admin records anyone's.")


async def _auditor(auditor_id: UUID | str) -> dict[str, Any]:
    row = await User.select(User.id, User.full_name, User.email).where(
        (User.id == str(auditor_id)) & (User.role == Role.auditor.value) & (User.active == True)  # noqa: E712
    ).first()
    if row is None:
        raise NotFound(f"No auditor with id {auditor_id}.")
    return row


async def auditors(caller: Caller, settings: Settings) -> list[dict[str, Any]]:
    """Every active auditor with their capacity (the setting's default where they recorded none)."""
    policies.SEE_AUDITOR_AVAILABILITY.check(caller)
    async with access_log.audited(caller, "auditor.list", "auditor", writes=False):
        people = await User.select(User.id, User.full_name, User.email).where(
            (User.role == Role.auditor.value) & (User.active == True)  # noqa: E712
        ).order_by(User.full_name).order_by(User.id)
        profiles = {str(p["auditor"]): p for p in await AuditorProfile.select(
            AuditorProfile.auditor, AuditorProfile.audits_per_week, AuditorProfile.active)}
    out = []
    for person in people:
        profile = profiles.get(str(person["id"]))
        out.append({**person,
                    "audits_per_week": profile["audits_per_week"] if profile else settings.auditor_audits_per_week,
                    "default_capacity": profile is None, "planned": bool(profile["active"]) if profile else True})
    return out


async def set_capacity(caller: Caller, auditor_id: UUID, data: CapacityIn, settings: Settings) -> dict[str, Any]:
    policies.MANAGE_AUDITOR_AVAILABILITY.check(caller)
    _own_or_admin(caller, auditor_id, "capacity")
    async with access_log.audited(caller, "auditor.capacity", "auditor", auditor_id) as audit:
        person = await _auditor(auditor_id)
        now = datetime.now(UTC)
        values = {AuditorProfile.audits_per_week: data.audits_per_week, AuditorProfile.active: data.active,
                  AuditorProfile.updated_at: now}
        if await AuditorProfile.exists().where(AuditorProfile.auditor == str(auditor_id)):
            await AuditorProfile.update(values).where(AuditorProfile.auditor == str(auditor_id))
        else:
            await AuditorProfile(auditor=str(auditor_id), audits_per_week=data.audits_per_week,
                                 active=data.active, updated_at=now).save()
        audit.details.append(f"{data.audits_per_week} a week" + ("" if data.active else ", not planned"))
    return {**person, "audits_per_week": data.audits_per_week, "default_capacity": False, "planned": data.active}


async def add_leave(caller: Caller, auditor_id: UUID, data: LeaveIn) -> dict[str, Any]:
    policies.MANAGE_AUDITOR_AVAILABILITY.check(caller)
    _own_or_admin(caller, auditor_id, "leave")
    if data.ends_on < data.starts_on:
        raise Invalid.field("ends_on", f"{data.ends_on.isoformat()} is before starts_on {data.starts_on.isoformat()}")
    if (data.ends_on - data.starts_on).days > 366:
        raise Invalid.field("ends_on", "leave longer than a year: set the auditor's capacity to not planned instead")
    async with access_log.audited(caller, "auditor.leave.add", "auditor_leave") as audit:
        await _auditor(auditor_id)
        row = AuditorLeave(auditor=str(auditor_id), starts_on=data.starts_on, ends_on=data.ends_on,
                           note=data.note.strip())
        await row.save()
        audit.record_id = row.id
        audit.details.append(f"{data.starts_on.isoformat()} to {data.ends_on.isoformat()}")
        return await _leave_row(row.id)


async def _leave_row(leave_id: Any) -> dict[str, Any]:
    return await AuditorLeave.select(
        AuditorLeave.id, AuditorLeave.auditor.as_alias("auditor_id"), AuditorLeave.starts_on, AuditorLeave.ends_on,
        AuditorLeave.note, AuditorLeave.created_at).where(AuditorLeave.id == str(leave_id)).first()


async def leave(caller: Caller, auditor_id: UUID, since: date | None = None) -> list[dict[str, Any]]:
    """An auditor's leave, ending on or after ``since`` (all of it when absent), earliest first."""
    policies.SEE_AUDITOR_AVAILABILITY.check(caller)
    async with access_log.audited(caller, "auditor.leave.list", "auditor", auditor_id, writes=False):
        await _auditor(auditor_id)
        query = AuditorLeave.select(
            AuditorLeave.id, AuditorLeave.auditor.as_alias("auditor_id"), AuditorLeave.starts_on,
            AuditorLeave.ends_on, AuditorLeave.note, AuditorLeave.created_at,
        ).where(AuditorLeave.auditor == str(auditor_id))
        if since is not None:
            query = query.where(AuditorLeave.ends_on >= since)
        return await query.order_by(AuditorLeave.starts_on).order_by(AuditorLeave.id)


async def remove_leave(caller: Caller, auditor_id: UUID, leave_id: UUID) -> None:
    policies.MANAGE_AUDITOR_AVAILABILITY.check(caller)
    _own_or_admin(caller, auditor_id, "leave")
    async with access_log.audited(caller, "auditor.leave.remove", "auditor_leave", leave_id):
        found = await AuditorLeave.exists().where(
            (AuditorLeave.id == str(leave_id)) & (AuditorLeave.auditor == str(auditor_id)))
        if not found:
            raise NotFound(f"No leave with id {leave_id} for that auditor.")
        await AuditorLeave.delete().where(AuditorLeave.id == str(leave_id))


_CONFLICT_COLUMNS = (
    AuditorConflict.id, AuditorConflict.auditor.as_alias("auditor_id"),
    AuditorConflict.auditor.full_name.as_alias("auditor_name"), AuditorConflict.provider.as_alias("provider_id"),
    AuditorConflict.provider.name.as_alias("provider_name"), AuditorConflict.kind, AuditorConflict.reason,
    AuditorConflict.ends_on, AuditorConflict.declared_at, AuditorConflict.withdrawn_at,
)


async def _conflict_row(conflict_id: Any) -> dict[str, Any] | None:
    return await AuditorConflict.select(*_CONFLICT_COLUMNS).where(AuditorConflict.id == str(conflict_id)).first()


async def declare_conflict(caller: Caller, data: ConflictIn) -> dict[str, Any]:
    """Declare (or declare again, after a withdrawal) a conflict with a provider. Declaring the same one twice
    updates its reason and end; it stays one declaration."""
    policies.DECLARE_CONFLICT.check(caller)
    auditor_id = data.auditor_id or caller.user_id
    if auditor_id is None:
        raise Invalid.field("auditor_id", "say whose conflict this is")
    _own_or_admin(caller, auditor_id, "conflicts")
    if data.kind == ConflictKind.interest and data.ends_on is not None:
        raise Invalid.field("ends_on", "only a responsibility ends: a conflict of interest holds until withdrawn")
    async with access_log.audited(caller, "auditor.conflict.declare", "auditor_conflict",
                                  provider_id=data.provider_id) as audit:
        await _auditor(auditor_id)
        if not await Provider.exists().where(Provider.id == data.provider_id):
            raise NotFound(f"No provider with id {data.provider_id}.")
        key = f"{auditor_id}:{data.provider_id}:{data.kind.value}"
        existing = await AuditorConflict.select(AuditorConflict.id).where(
            AuditorConflict.auditor_provider_kind == key).first()
        now = datetime.now(UTC)
        values = {AuditorConflict.reason: data.reason.strip(), AuditorConflict.ends_on: data.ends_on,
                  AuditorConflict.withdrawn_at: None, AuditorConflict.declared_at: now,
                  AuditorConflict.declared_by: str(caller.user_id) if caller.user_id else None}
        if existing:
            conflict_id = existing["id"]
            await AuditorConflict.update(values).where(AuditorConflict.id == conflict_id)
        else:
            row = AuditorConflict(auditor=str(auditor_id), provider=str(data.provider_id), kind=data.kind.value,
                                  reason=data.reason.strip(), ends_on=data.ends_on, auditor_provider_kind=key,
                                  declared_by=str(caller.user_id) if caller.user_id else None, declared_at=now)
            await row.save()
            conflict_id = row.id
        audit.record_id = conflict_id
        audit.details.append(f"{data.kind.value} declared for auditor {auditor_id}")
        return await _conflict_row(conflict_id)


async def conflicts(caller: Caller, paging: Paging, auditor_id: UUID | None = None, provider_id: UUID | None = None,
                    withdrawn: bool = False) -> tuple[list[dict[str, Any]], int]:
    """Declared conflicts (the standing ones; with ``withdrawn`` those withdrawn too), by auditor then provider,
    a page at a time."""
    policies.SEE_AUDITOR_AVAILABILITY.check(caller)
    clauses = []
    if auditor_id is not None:
        clauses.append(AuditorConflict.auditor == str(auditor_id))
    if provider_id is not None:
        clauses.append(AuditorConflict.provider == str(provider_id))
    if not withdrawn:
        clauses.append(AuditorConflict.withdrawn_at.is_null())
    return await page_of(caller, paging, AuditorConflict.select(*_CONFLICT_COLUMNS), AuditorConflict.count(),
                         action="auditor.conflict.list", record_type="auditor_conflict", where=clauses,
                         order_by=[AuditorConflict.auditor.full_name, AuditorConflict.provider.name,
                                   AuditorConflict.id], provider_id=provider_id)


async def withdraw_conflict(caller: Caller, conflict_id: UUID) -> dict[str, Any]:
    policies.DECLARE_CONFLICT.check(caller)
    async with access_log.audited(caller, "auditor.conflict.withdraw", "auditor_conflict", conflict_id) as audit:
        row = await _conflict_row(conflict_id)
        if row is None:
            raise NotFound(f"No conflict with id {conflict_id}.")
        audit.provider_id = row["provider_id"]
        _own_or_admin(caller, row["auditor_id"], "conflicts")
        if row["withdrawn_at"] is None:
            await AuditorConflict.update({AuditorConflict.withdrawn_at: datetime.now(UTC)}).where(
                AuditorConflict.id == str(conflict_id))
        return await _conflict_row(conflict_id)
