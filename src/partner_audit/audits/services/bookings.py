"""Auditors' days: one row per auditor per working day of an audit that is not cancelled, under a unique
"<auditor>:<day>" key, so the database itself refuses to put an auditor on two audits the same day, whichever
process books. Every service that sets an audit's dates or team books through here, inside its transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from uuid import UUID

from partner_audit import db
from partner_audit.audits import calendar
from partner_audit.audits.tables import AuditBooking
from partner_audit.errors import Conflict


def days_of(starts_on: date, ends_on: date, anniversary: calendar.AnniversaryDay | str | None) -> list[date]:
    """The working days an audit from ``starts_on`` to ``ends_on`` takes where its provider works."""
    return list(calendar.working_days(starts_on, ends_on, anniversary))


async def book(audit_id: UUID | str, auditor_ids: Iterable[UUID | str], days: Iterable[date]) -> None:
    """Book ``auditor_ids`` on ``days`` for the audit, replacing what it had booked. Call inside a transaction.

    An auditor already on another audit one of those days is a ``Conflict`` naming them, the day and that audit,
    and nothing is booked."""
    auditors = sorted({str(a) for a in auditor_ids})
    wanted = sorted(set(days))
    await release(audit_id)
    if not auditors or not wanted:
        return
    keys = [f"{a}:{d.isoformat()}" for a in auditors for d in wanted]
    taken = await AuditBooking.select(
        AuditBooking.auditor_day, AuditBooking.day, AuditBooking.audit,
        AuditBooking.audit.title.as_alias("audit_title"), AuditBooking.auditor.full_name.as_alias("auditor_name"),
    ).where(AuditBooking.auditor_day.is_in(keys)).limit(5)
    if taken:
        clash = taken[0]
        raise Conflict(
            f"{clash['auditor_name']} is already on another audit on {clash['day'].isoformat()}"
            f" ({clash['audit_title'] or clash['audit']}): nothing was double-booked.",
            clashes=[{"auditor": r["auditor_day"].split(":")[0], "day": r["day"].isoformat(),
                      "audit_id": str(r["audit"])} for r in taken])
    try:
        await AuditBooking.insert(*[
            AuditBooking(audit=str(audit_id), auditor=a, day=d, auditor_day=f"{a}:{d.isoformat()}")
            for a in auditors for d in wanted
        ])
    except Exception as exc:
        # Another process booked the same auditor and day between our check and our insert: the database's key
        # refused it, and the caller's transaction rolls back whole.
        if db.is_unique_violation(exc):
            raise Conflict("An auditor on this audit was booked on one of its days a moment ago by another change: "
                           "nothing was double-booked; look again and choose another day or auditor.") from exc
        raise


async def release(audit_id: UUID | str) -> None:
    """Free the audit's days (it was cancelled, or is being re-booked)."""
    await AuditBooking.delete().where(AuditBooking.audit == str(audit_id))


async def booked_days(auditor_ids: Iterable[UUID | str], start: date, end: date) -> dict[str, set[date]]:
    """Each auditor's booked days between ``start`` and ``end``: what a planner must leave free."""
    ids = [str(a) for a in auditor_ids]
    out: dict[str, set[date]] = {a: set() for a in ids}
    if not ids:
        return out
    rows = await AuditBooking.select(AuditBooking.auditor, AuditBooking.day).where(
        AuditBooking.auditor.is_in(ids) & (AuditBooking.day >= start) & (AuditBooking.day <= end))
    for row in rows:
        out[str(row["auditor"])].add(row["day"])
    return out


