"""A planning request: load what the planner needs (providers, auditors, leave, conflicts, bookings, last closed
audits, scores), run ``audits.scheduler``, and keep its answer as an ``AuditPlan`` and one proposed ``Audit`` per
proposal, each with its reasons, lead and booked days; then accept the proposals, whole or in part, or discard
the rest.

Exactly once: a proposal's ``origin_key`` ("plan:<provider>:<due date>") is unique, its days are booked under the
bookings' unique keys, and accepting moves only audits still ``proposed`` (one UPDATE that says which rows it
changed), so accepting twice, or twenty times at once, changes each proposal once."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from partner_audit import db
from partner_audit.api import Paging
from partner_audit.assessments.services.assessments import as_date
from partner_audit.audits import calendar, scheduler
from partner_audit.audits.schemas import AuditOrigin, AuditorRole, AuditStatus, ConflictKind, PlanStatus
from partner_audit.audits.services import bookings, scores
from partner_audit.audits.tables import (
    Audit,
    AuditAuditor,
    AuditBooking,
    AuditorConflict,
    AuditorLeave,
    AuditorProfile,
    AuditPlan,
)
from partner_audit.errors import Conflict, Invalid, NotFound
from partner_audit.providers.schemas import ENGAGED_STATUSES
from partner_audit.providers.tables import Provider
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller, Role
from partner_audit.security.tables import User
from partner_audit.security.tenancy import page_of
from partner_audit.settings import Settings

MAX_DAYS = 400  # a plan covers at most about a year
# A provider under audit is not due again: proposed to reported (a reported audit waits on its corrective actions
# before it closes, and its close is what the next interval counts from).
OPEN = [AuditStatus.proposed.value, AuditStatus.scheduled.value, AuditStatus.in_progress.value,
        AuditStatus.reported.value]
LED = [AuditStatus.scheduled.value, AuditStatus.in_progress.value, AuditStatus.reported.value,
       AuditStatus.closed.value]
DISCARDED = "plan discarded"
_ROWS_A_STATEMENT = 500


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def _providers(start: date, end: date) -> list[scheduler.ProviderDue]:
    rows = await Provider.select(Provider.id, Provider.name, Provider.risk_tier, Provider.region,
                                 Provider.anniversary_day).where(
        Provider.status.is_in([s.value for s in ENGAGED_STATUSES]))
    ids = [str(r["id"]) for r in rows]
    last_closed: dict[str, date] = {}
    for row in await Audit.select(Audit.provider, Audit.starts_on, Audit.ends_on).where(
            Audit.status == AuditStatus.closed.value):
        day = as_date(row["ends_on"]) or as_date(row["starts_on"])
        key = str(row["provider"])
        if day and (key not in last_closed or day > last_closed[key]):
            last_closed[key] = day
    open_now = {str(r["provider"]) for r in await Audit.select(Audit.provider).where(
        Audit.status.is_in(OPEN) & ((Audit.starts_on <= end) | Audit.starts_on.is_null()))}
    latest = await scores.latest(ids)
    out = []
    for row in rows:
        key = str(row["id"])
        day = calendar.observed_by(row)
        score = latest.get(key)
        out.append(scheduler.ProviderDue(
            id=key, name=row["name"], tier=row["risk_tier"], anniversary=day, last_closed=last_closed.get(key),
            score=score.verified if score else None, audit_open=key in open_now))
    return out


async def _auditors(start: date, end: date, rules: scheduler.Rules) -> list[scheduler.Auditor]:
    people = await User.select(User.id, User.full_name).where(
        (User.role == Role.auditor.value) & (User.active == True))  # noqa: E712
    profiles = {str(p["auditor"]): p for p in await AuditorProfile.select(
        AuditorProfile.auditor, AuditorProfile.audits_per_week, AuditorProfile.active)}
    people = [p for p in people if profiles.get(str(p["id"]), {"active": True})["active"]]
    ids = [str(p["id"]) for p in people]
    if not ids:
        return []
    leave: dict[str, list[tuple[date, date]]] = defaultdict(list)
    for row in await AuditorLeave.select(AuditorLeave.auditor, AuditorLeave.starts_on, AuditorLeave.ends_on).where(
            AuditorLeave.auditor.is_in(ids) & (AuditorLeave.ends_on >= start) & (AuditorLeave.starts_on <= end)):
        leave[str(row["auditor"])].append((as_date(row["starts_on"]), as_date(row["ends_on"])))
    interest: dict[str, set[str]] = defaultdict(set)
    responsible: dict[str, dict[str, date | None]] = defaultdict(dict)
    for row in await AuditorConflict.select(AuditorConflict.auditor, AuditorConflict.provider, AuditorConflict.kind,
                                            AuditorConflict.ends_on).where(AuditorConflict.withdrawn_at.is_null()):
        who, provider = str(row["auditor"]), str(row["provider"])
        if row["kind"] == ConflictKind.interest.value:
            interest[who].add(provider)
        else:
            responsible[who][provider] = as_date(row["ends_on"])
    led: dict[str, dict[str, date]] = defaultdict(dict)
    since = scheduler.add_months(start, -rules.independence_months) - timedelta(days=1)
    for row in await Audit.select(Audit.lead_auditor, Audit.provider, Audit.starts_on, Audit.ends_on).where(
            Audit.lead_auditor.is_in(ids) & Audit.status.is_in(LED) & (Audit.ends_on >= since)):
        who, provider = str(row["lead_auditor"]), str(row["provider"])
        day = as_date(row["ends_on"]) or as_date(row["starts_on"])
        if provider not in led[who] or day > led[who][provider]:
            led[who][provider] = day
    reach = end + timedelta(days=7)  # a site visit's second day may fall past the range's last
    booked = await bookings.booked_days(ids, start - timedelta(days=7), reach)
    # Audits already booked, counted in the week of each one's first day (as the planner counts its own).
    first_days: dict[tuple[str, str], date] = {}
    for row in await AuditBooking.select(AuditBooking.auditor, AuditBooking.audit, AuditBooking.day).where(
            AuditBooking.auditor.is_in(ids) & (AuditBooking.day >= start - timedelta(days=7))
            & (AuditBooking.day <= reach)):
        key, day = (str(row["auditor"]), str(row["audit"])), as_date(row["day"])
        if key not in first_days or day < first_days[key]:
            first_days[key] = day
    weekly: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for (who, _audit), day in first_days.items():
        weekly[who][scheduler.monday_of(day)] += 1
    out = []
    for person in people:
        key = str(person["id"])
        profile = profiles.get(key)
        out.append(scheduler.Auditor(
            id=key, name=person["full_name"], audits_per_week=profile["audits_per_week"] if profile else None,
            leave=tuple(leave[key]), booked=frozenset(as_date(d) for d in booked.get(key, ())),
            audits_by_week=dict(weekly[key]), conflicts=frozenset(interest[key]),
            responsible=dict(responsible[key]), led=dict(led[key])))
    return out


def _check_range(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise Invalid.field("ends_on", f"{ends_on.isoformat()} is before starts_on {starts_on.isoformat()}")
    if (ends_on - starts_on).days > MAX_DAYS:
        raise Invalid.field("ends_on", f"a plan covers at most {MAX_DAYS} days: plan a year at a time")


async def plan(caller: Caller, starts_on: date, ends_on: date, settings: Settings,
               each: Callable[[list[Any]], Iterable[Any]] = lambda items: items) -> dict[str, Any]:
    """Plan the audits due from ``starts_on`` to ``ends_on`` and keep the plan. ``each`` wraps the proposals as
    they are stored (the command line shows progress with it)."""
    policies.PLAN_AUDITS.check(caller)
    _check_range(starts_on, ends_on)
    rules = scheduler.Rules.from_settings(settings)
    async with access_log.audited(caller, "audit_plan.create", "audit_plan") as audit:
        providers = await _providers(starts_on, ends_on)
        team = await _auditors(starts_on, ends_on, rules)
        result = scheduler.plan(starts_on, ends_on, providers, team, rules)
        settings_used = {**rules.as_dict(), "auditors": len(team), "providers": len(providers)}
        row = AuditPlan(starts_on=starts_on, ends_on=ends_on, status=PlanStatus.proposed.value,
                        skipped=json.dumps([_skip_out(s) for s in result.skipped]),
                        settings=json.dumps(settings_used), created_by=_user(caller))
        await row.save()
        audit.record_id = row.id
        await _store(caller, row.id, result.proposals, providers, each)
        audit.details.append(f"{starts_on.isoformat()} to {ends_on.isoformat()}: {len(result.proposals)} proposed, "
                             f"{len(result.skipped)} skipped")
        return await _plan_out(row.id)


def _user(caller: Caller) -> str | None:
    return str(caller.user_id) if caller.user_id else None


def _skip_out(skip: scheduler.Skip) -> dict[str, Any]:
    return {"provider_id": skip.provider_id, "provider_name": skip.provider_name,
            "due_on": skip.due_on.isoformat(), "code": skip.code, "reason": skip.reason}


async def _store(caller: Caller, plan_id: Any, proposals: list[scheduler.Proposal],
                 providers: list[scheduler.ProviderDue], each: Callable[[list[Any]], Iterable[Any]]) -> None:
    if not proposals:
        return
    keys = {p.provider_id: f"plan:{p.provider_id}:{p.due_on.isoformat()}" for p in proposals}
    # A key an earlier, discarded plan used stays with that audit: this one is the next of that due date.
    taken = {r["origin_key"] for r in await Audit.select(Audit.origin_key).where(
        Audit.provider.is_in(list(keys)) & (Audit.origin == AuditOrigin.plan.value))}
    now, made = datetime.now(UTC), []
    for proposal in proposals:
        key, n = keys[proposal.provider_id], 1
        while key in taken:
            n += 1
            key = f"{keys[proposal.provider_id]}:{n}"
        made.append(Audit(
            provider=proposal.provider_id, kind=proposal.kind.value, status=AuditStatus.proposed.value,
            title=f"{proposal.kind.value.replace('_', ' ').capitalize()}: {proposal.provider_name}",
            starts_on=proposal.starts_on, ends_on=proposal.ends_on, lead_auditor=proposal.auditor_id,
            origin=AuditOrigin.plan.value, origin_key=key, plan=plan_id, reasons=json.dumps(proposal.reasons),
            due_on=proposal.due_on, created_by=_user(caller), created_at=now, updated_at=now))
    team = [AuditAuditor(audit=a.id, auditor=p.auditor_id, role=AuditorRole.lead.value,
                         audit_auditor=f"{a.id}:{p.auditor_id}") for a, p in zip(made, proposals, strict=True)]
    try:
        # A few hundred rows a statement: PostgreSQL binds at most 32,767 values in one.
        for start in range(0, len(made), _ROWS_A_STATEMENT):
            await Audit.insert(*made[start:start + _ROWS_A_STATEMENT])
    except Exception as exc:
        if db.is_unique_violation(exc):
            raise Conflict("Another plan proposed some of these audits a moment ago: nothing was kept; look at "
                           "the latest plan, or plan again.") from exc
        raise
    for start in range(0, len(team), _ROWS_A_STATEMENT):
        await AuditAuditor.insert(*team[start:start + _ROWS_A_STATEMENT])
    for audit, proposal in each(list(zip(made, proposals, strict=True))):
        await bookings.book(audit.id, [proposal.auditor_id], proposal.days)
        await access_log.append(caller, action="audit.propose", record_type="audit", record_id=audit.id,
                                provider_id=proposal.provider_id, detail=f"plan {plan_id}")


async def _plan_row(plan_id: Any) -> dict[str, Any]:
    row = await AuditPlan.select().where(AuditPlan.id == str(plan_id)).first()
    if row is None:
        raise NotFound(f"No audit plan with id {plan_id}.")
    return row


async def _plan_out(plan_id: Any) -> dict[str, Any]:
    row = await _plan_row(plan_id)
    proposals = await Audit.select(
        Audit.id, Audit.provider.as_alias("provider_id"), Audit.provider.name.as_alias("provider_name"), Audit.kind,
        Audit.status, Audit.starts_on, Audit.ends_on, Audit.due_on, Audit.lead_auditor.as_alias("lead_auditor_id"),
        Audit.lead_auditor.full_name.as_alias("lead_auditor_name"), Audit.reasons, Audit.cancelled_reason,
    ).where(Audit.plan == str(plan_id)).order_by(Audit.starts_on).order_by(Audit.provider.name).order_by(Audit.id)
    for p in proposals:
        p["reasons"] = _json(p["reasons"]) or {}
    return {**row, "settings": _json(row["settings"]) or {}, "skipped": _json(row["skipped"]) or [],
            "proposals": proposals}


async def plans(caller: Caller, paging: Paging) -> tuple[list[dict[str, Any]], int]:
    """Plans, newest first, with how many audits each proposed and how many providers it skipped."""
    policies.PLAN_AUDITS.check(caller)

    async def counted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [str(r["id"]) for r in rows]
        made: dict[str, int] = defaultdict(int)
        if ids:
            for audit in await Audit.select(Audit.plan).where(Audit.plan.is_in(ids)):
                made[str(audit["plan"])] += 1
        return [{**r, "proposals": made[str(r["id"])], "skipped": len(_json(r["skipped"]) or [])} for r in rows]

    return await page_of(caller, paging, AuditPlan.select(), AuditPlan.count(), action="audit_plan.list",
                         record_type="audit_plan", order_by=[(AuditPlan.created_at, False), AuditPlan.id],
                         present=counted)


async def get(caller: Caller, plan_id: UUID) -> dict[str, Any]:
    policies.PLAN_AUDITS.check(caller)
    async with access_log.audited(caller, "audit_plan.read", "audit_plan", plan_id, writes=False):
        return await _plan_out(plan_id)


async def accept(caller: Caller, plan_id: UUID, audit_ids: list[UUID] | None = None) -> tuple[int, dict[str, Any]]:
    """Schedule the plan's proposals (``audit_ids``, or every one still proposed). Returns how many this call
    moved (none when they already were) and the plan."""
    policies.ACCEPT_AUDIT_PLAN.check(caller)
    async with access_log.audited(caller, "audit_plan.accept", "audit_plan", plan_id) as audit:
        row = await _plan_row(plan_id)
        if row["status"] == PlanStatus.discarded.value:
            raise Conflict("This plan was discarded: its proposals were declined. Plan again.")
        mine = {str(r["id"]): r["status"] for r in await Audit.select(Audit.id, Audit.status).where(
            Audit.plan == str(plan_id))}
        wanted = list(mine) if audit_ids is None else [str(a) for a in audit_ids]
        strangers = sorted({a for a in wanted if a not in mine})
        if strangers:
            raise Invalid.field("audit_ids", "not proposals of this plan: " + ", ".join(strangers[:5]))
        declined = sorted({a for a in wanted if mine[a] == AuditStatus.cancelled.value})
        if declined and audit_ids is not None:
            raise Conflict("Some of these proposals were declined or cancelled: " + ", ".join(declined[:5]))
        target = [a for a in wanted if mine[a] == AuditStatus.proposed.value]
        moved = []
        if target:
            moved = await Audit.update({
                Audit.status: AuditStatus.scheduled.value, Audit.sequence: Audit.sequence + 1,
                Audit.updated_at: datetime.now(UTC),
            }).where(Audit.id.is_in(target) & (Audit.status == AuditStatus.proposed.value)).returning(
                Audit.id, Audit.provider)
        for changed in moved:
            await access_log.append(caller, action="audit.schedule", record_type="audit", record_id=changed["id"],
                                    provider_id=changed["provider"], detail=f"accepted from plan {plan_id}")
        await _settle(plan_id, accepting=True)
        audit.details.append(f"{len(moved)} accepted")
        return len(moved), await _plan_out(plan_id)


async def _settle(plan_id: Any, *, accepting: bool) -> None:
    """The plan is decided once nothing in it is still proposed: accepted if any of it was (or it is being
    accepted), else discarded."""
    left = await Audit.count().where((Audit.plan == str(plan_id)) & (Audit.status == AuditStatus.proposed.value))
    if left:
        return
    taken = accepting or await Audit.exists().where(
        (Audit.plan == str(plan_id)) & (Audit.status != AuditStatus.cancelled.value))
    status = PlanStatus.accepted if taken else PlanStatus.discarded
    await AuditPlan.update({AuditPlan.status: status.value, AuditPlan.decided_at: datetime.now(UTC)}).where(
        (AuditPlan.id == str(plan_id)) & (AuditPlan.status == PlanStatus.proposed.value))


async def discard(caller: Caller, plan_id: UUID) -> tuple[int, dict[str, Any]]:
    """Decline every proposal still proposed: cancelled with the reason "plan discarded", their days freed."""
    policies.ACCEPT_AUDIT_PLAN.check(caller)
    async with access_log.audited(caller, "audit_plan.discard", "audit_plan", plan_id) as audit:
        await _plan_row(plan_id)
        declined = await Audit.update({
            Audit.status: AuditStatus.cancelled.value, Audit.cancelled_reason: DISCARDED,
            Audit.sequence: Audit.sequence + 1, Audit.updated_at: datetime.now(UTC),
        }).where((Audit.plan == str(plan_id)) & (Audit.status == AuditStatus.proposed.value)).returning(
            Audit.id, Audit.provider)
        for changed in declined:
            await bookings.release(changed["id"])
            await access_log.append(caller, action="audit.cancel", record_type="audit", record_id=changed["id"],
                                    provider_id=changed["provider"], detail=f"{DISCARDED} {plan_id}")
        await _settle(plan_id, accepting=False)
        audit.details.append(f"{len(declined)} declined")
        return len(declined), await _plan_out(plan_id)
