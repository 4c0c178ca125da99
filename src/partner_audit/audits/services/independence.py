"""Auditor independence: who may be on an audit of a provider, and who may lead it.

The rule is written once, as pure functions over plain data (``History``), so the planner can judge thousands of
pairs from what it loaded in bulk and a person editing one audit's team is held to the same words:

- nobody with a declared conflict of interest with the provider is on any audit of it;
- nobody leads an audit of a provider they led an audit of, ending within ``audit_independence_months`` before
  its start (IIA: no reviewing one's own recent work as lead; an audit they lead later is not work under review);
- nobody leads an audit of a provider whose activity they were responsible for within that many months before
  its start (a responsibility conflict with no end date is still running).

``histories`` loads the facts for one provider and some auditors; ``check_team`` refuses a team in words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from partner_audit.audits.schemas import AuditStatus, ConflictKind
from partner_audit.audits.tables import Audit, AuditorConflict
from partner_audit.errors import Invalid
from partner_audit.security.tables import User

# Audits that count as having been led: one that never happened (cancelled) or nobody committed to (proposed) does not.
LED_STATUSES = (AuditStatus.scheduled.value, AuditStatus.in_progress.value, AuditStatus.reported.value,
                AuditStatus.closed.value)


@dataclass(frozen=True)
class History:
    """What independence is judged on, for one auditor and one provider."""

    name: str = "This auditor"
    interest: str | None = None  # a declared conflict of interest not withdrawn: its reason ("" if none given)
    responsible: bool = False  # a responsibility conflict not withdrawn
    responsible_until: date | None = None  # its last day (None with ``responsible``: still responsible)
    led_until: date | None = None  # the last day of the latest audit of the provider they led, ending before the start


def months_before(day: date, months: int) -> date:
    """The same day ``months`` months earlier, or that month's last day (31 March less one month: 28/29 Feb)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # unreachable: every month has a 28th


def member_barred_reason(history: History, provider_name: str) -> str | None:
    """Why the auditor may not be on any audit of the provider, in words, or None."""
    if history.interest is not None:
        why = f" ({history.interest})" if history.interest else ""
        return (f"{history.name} has declared a conflict of interest with {provider_name}{why}, so is never on its "
                "audits.")
    return None


def lead_barred_reason(history: History, provider_name: str, starts_on: date, months: int) -> str | None:
    """Why the auditor may not lead an audit of the provider starting ``starts_on``, in words, or None."""
    barred = member_barred_reason(history, provider_name)
    if barred:
        return barred
    since = months_before(starts_on, months)
    if history.led_until is not None and since <= history.led_until < starts_on:
        return (f"{history.name} led an audit of {provider_name} ending {history.led_until.isoformat()}, within "
                f"{months} months before {starts_on.isoformat()}: an auditor does not lead a review of a provider "
                f"they audited as lead in the previous {months} months.")
    if history.responsible and (history.responsible_until is None or history.responsible_until >= since):
        until = ("is still responsible" if history.responsible_until is None
                 else f"was responsible until {history.responsible_until.isoformat()}")
        return (f"{history.name} {until} for {provider_name}'s activity, within {months} months before "
                f"{starts_on.isoformat()}: an auditor does not lead a review of what they were responsible for.")
    return None


def _later(a: date | None, b: date | None) -> date | None:
    return b if a is None else a if b is None else max(a, b)


def _as_date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


async def histories(provider_id: UUID | str, auditor_ids: Iterable[UUID | str], starts_on: date,
                    exclude_audit: UUID | str | None = None) -> dict[str, History]:
    """Each auditor's ``History`` with the provider, for an audit starting ``starts_on`` (``exclude_audit``: the
    audit being edited, not its own past). Audits they lead later are not their past work."""
    ids = sorted({str(a) for a in auditor_ids})
    if not ids:
        return {}
    names = {str(r["id"]): r["full_name"] or r["email"] for r in await User.select(
        User.id, User.full_name, User.email).where(User.id.is_in(ids)).run()}
    found = {a: {"name": names.get(a, "This auditor"), "interest": None, "responsible": False,
                 "responsible_until": None, "led_until": None} for a in ids}
    conflicts = await AuditorConflict.select(
        AuditorConflict.auditor, AuditorConflict.kind, AuditorConflict.reason, AuditorConflict.ends_on).where(
        (AuditorConflict.provider == str(provider_id)) & AuditorConflict.auditor.is_in(ids)
        & AuditorConflict.withdrawn_at.is_null()).run()
    for row in conflicts:
        facts = found[str(row["auditor"])]
        if row["kind"] == ConflictKind.interest.value:
            facts["interest"] = row["reason"] or ""
        else:
            ends_on = _as_date(row["ends_on"])
            open_ended = facts["responsible"] and facts["responsible_until"] is None
            facts["responsible"] = True
            facts["responsible_until"] = None if open_ended or ends_on is None else _later(
                facts["responsible_until"], ends_on)
    led = Audit.select(Audit.lead_auditor, Audit.ends_on).where(
        (Audit.provider == str(provider_id)) & Audit.lead_auditor.is_in(ids) & Audit.status.is_in(LED_STATUSES)
        & (Audit.ends_on < starts_on))
    if exclude_audit is not None:
        led = led.where(Audit.id != str(exclude_audit))
    for row in await led.run():
        facts = found[str(row["lead_auditor"])]
        facts["led_until"] = _later(facts["led_until"], _as_date(row["ends_on"]))
    return {a: History(**facts) for a, facts in found.items()}


async def check_team(provider_id: UUID | str, provider_name: str, starts_on: date, lead_id: UUID | str | None,
                     member_ids: Iterable[UUID | str], months: int, exclude_audit: UUID | str | None = None) -> None:
    """Refuse a team that breaks independence, naming the auditor and the rule (422 on the field)."""
    members = [str(m) for m in member_ids]
    found = await histories(provider_id, [*members, *([lead_id] if lead_id else [])], starts_on, exclude_audit)
    if lead_id is not None:
        reason = lead_barred_reason(found[str(lead_id)], provider_name, starts_on, months)
        if reason:
            raise Invalid.field("lead_auditor_id", reason)
    for index, member in enumerate(members):
        if member == str(lead_id):
            continue
        reason = member_barred_reason(found[member], provider_name)
        if reason:
            raise Invalid.field(f"auditor_ids[{index}]", reason)
