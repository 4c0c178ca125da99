"""The demo's audits: a year of them, so the plans, calendars, reports and pages have something to show.

- four audits closed over the past year, each with findings rated against the plan's controls, the high and
  medium ones' corrective actions answered by the provider's privacy lead and verified by the auditor;
- one reported a few weeks ago whose corrective action is still open and due soon (``partner-audit reminders``
  tells the provider's privacy lead);
- three scheduled in the coming weeks, their teams booked;
- a device spot-check in progress at the provider holding the most devices: its sample drawn from a recorded
  seed, every sampled device seen but one, which differs from the register;
- the follow-ups the triggers propose (the lost and the stolen device), as ``partner-audit audits follow-ups`` does.

Made through the audit services as the auditors and the providers' privacy leads would, then dated back where the
services, rightly, only take today (a corrective action is raised due on a day to come; a report is dated when it
is written). Safe to run again: when the first demo audit is there, the audits are left as they were.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from partner_audit.audits import calendar
from partner_audit.audits.schemas import AuditKind, ConflictKind, Rating, Severity, SpotCheckResult
from partner_audit.audits.schemas.audits import ActionCreate, AuditCreate, FindingCreate
from partner_audit.audits.schemas.planning import CapacityIn, ConflictIn, LeaveIn
from partner_audit.audits.schemas.spot_checks import SampleDraw, SpotCheckRecord
from partner_audit.audits.services import actions, audits, availability, findings, spot_checks, triggers
from partner_audit.audits.tables import Audit, CorrectiveAction, Finding
from partner_audit.controls import service as controls
from partner_audit.controls.tables import TemplateVersion
from partner_audit.demo import DEMO_DOMAIN, DemoProvider
from partner_audit.devices.tables import Assignment
from partner_audit.progress import progress
from partner_audit.providers.schemas import ProviderStatus
from partner_audit.providers.tables import Provider
from partner_audit.security import service as security
from partner_audit.security.caller import Caller, Role
from partner_audit.security.tables import User
from partner_audit.settings import Settings

FIRST_TITLE = "Annual privacy review"  # the first demo audit's title starts so: its presence means "already made"
SPOT_CHECK_SEED = "demo-spot-check-2026"
# (email local part, full name): the assurance team beside the printed auditor login (not printed: sign in as it).
MORE_AUDITORS = [("auditor.two", "Losa Assurance"), ("auditor.three", "Ben Reviewer")]

# What the closed audits found, by the place of the control in the plan's template: (rating, severity,
# observation, recommendation, corrective action or None).
FOUND = [
    (Rating.effective, Severity.low, "The privacy lead is named, known to staff and reports to the board.",
     "Keep the quarterly report to the board.", None),
    (Rating.partly_effective, Severity.medium,
     "The privacy policy is published but was last reviewed more than two years ago.",
     "Review the policy against the Privacy Act 2020 and record the review.",
     "Review the privacy policy, have the board approve it, and record the date of the review."),
    (Rating.ineffective, Severity.high,
     "Three of the eight staff sampled had not done the privacy training the contract requires.",
     "Train every staff member before they reach client information, and keep the record.",
     "Train the three staff members and keep a record of completion for every staff member."),
]


@dataclass(frozen=True)
class Plan:
    """One demo audit: where, what, when (working days from today: negative for the past) and how far it got."""

    title: str
    kind: AuditKind
    offset: int  # working days from today to its start
    days: int  # how many working days it takes
    state: str  # closed, reported, scheduled


PAST_AND_COMING = [
    Plan(f"{FIRST_TITLE} 2025-26", AuditKind.site_visit, -230, 2, "closed"),
    Plan("Desktop review of the self-assessment", AuditKind.desktop_review, -170, 1, "closed"),
    Plan("Site visit: records and devices", AuditKind.site_visit, -110, 2, "closed"),
    Plan("Desktop review of privacy training", AuditKind.desktop_review, -65, 1, "closed"),
    Plan("Site visit: access to client records", AuditKind.site_visit, -15, 2, "reported"),
    Plan("Site visit", AuditKind.site_visit, 10, 2, "scheduled"),
    Plan("Desktop review", AuditKind.desktop_review, 20, 1, "scheduled"),
    Plan("Site visit", AuditKind.site_visit, 30, 2, "scheduled"),
]


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), UTC)


def _working(day: date, anniversary: calendar.AnniversaryDay) -> date:
    """``day``, or the working day after it where the provider works."""
    return day if calendar.is_working_day(day, anniversary) else calendar.add_working_days(day, 1, anniversary)


async def _auditors(system: Caller, staff: dict[str, Caller]) -> list[Caller]:
    team = [staff["auditor"]]
    for local, full_name in MORE_AUDITORS:
        email = f"{local}@{DEMO_DOMAIN}"
        row = await User.select(User.id).where(User.email == email).first().run()
        if row is None:
            row = await security.create_user(system, email=email, full_name=full_name, role=Role.auditor,
                                             password=secrets.token_urlsafe(24), provider_id=None)
        team.append(Caller(user_id=row["id"], email=email, role=Role.auditor, provider_id=None))
    return team


async def _availability(system: Caller, settings: Settings, team: list[Caller], providers: list[DemoProvider],
                        today: date) -> str:
    """What a plan must work around: each auditor's capacity, leave in the coming weeks, a declared conflict of
    interest and a past responsibility."""
    for auditor, per_week in zip(team, (2, 2, 1), strict=False):
        await availability.set_capacity(system, auditor.user_id, CapacityIn(audits_per_week=per_week), settings)
    leave_from = today + timedelta(days=21)
    await availability.add_leave(system, team[1].user_id, LeaveIn(
        starts_on=leave_from, ends_on=leave_from + timedelta(days=13), note="annual leave"))
    # On a provider the next plan will find due (never audited), so the plan shows the conflict kept.
    onboarding = await Provider.select(Provider.id, Provider.name).where(
        Provider.status == ProviderStatus.onboarding.value).order_by(Provider.name).first().run()
    conflicted = (onboarding["id"], onboarding["name"]) if onboarding else (providers[0].id, providers[0].name)
    await availability.declare_conflict(system, ConflictIn(
        auditor_id=team[2].user_id, provider_id=conflicted[0], kind=ConflictKind.interest,
        reason="A close family member sits on the provider's board."))
    await availability.declare_conflict(system, ConflictIn(
        auditor_id=team[0].user_id, provider_id=providers[1].id, kind=ConflictKind.responsibility,
        reason="Managed the provider's contract before joining the assurance team.",
        ends_on=today - timedelta(days=120)))
    return (f"auditors' availability: capacity 2, 2 and 1 audits a week; {team[1].email.split('@')[0]} on leave from "
            f"{leave_from.isoformat()} for two weeks; {team[2].email.split('@')[0]} declared a conflict with "
            f"{conflicted[1]}; {team[0].email.split('@')[0]} was responsible for {providers[1].name} until "
            f"{(today - timedelta(days=120)).isoformat()}")


async def _plan_version() -> dict[str, Any] | None:
    rows = await TemplateVersion.select().order_by(TemplateVersion.loaded_at, ascending=False).run()
    return next((r for r in rows if r["key"].startswith("pip")), rows[0] if rows else None)


async def _backdate_audit(audit_id: Any, starts: date, ends: date, anniversary: Any, closed: bool) -> date:
    """Date the report (five working days after the visit) and the close as they were; returns the report day."""
    reported = calendar.add_working_days(ends, 5, anniversary)
    values: dict[Any, Any] = {Audit.created_at: _at(starts - timedelta(days=30)), Audit.reported_at: _at(reported),
                              Audit.updated_at: _at(reported)}
    if closed:
        values[Audit.closed_at] = _at(reported + timedelta(days=30))
        values[Audit.updated_at] = values[Audit.closed_at]
    await Audit.update(values).where(Audit.id == audit_id).run()
    await Finding.update({Finding.created_at: _at(ends, 15), Finding.updated_at: _at(ends, 15)}).where(
        Finding.audit == audit_id).run()
    return reported


async def _audit(plan: Plan, provider: DemoProvider, anniversary: Any, lead: Caller, member: Caller | None,
                 version_id: Any, control_ids: list[str], today: date) -> dict[str, int]:
    starts = _working(calendar.add_working_days(today, plan.offset, anniversary), anniversary)
    ends = calendar.add_working_days(starts, plan.days - 1, anniversary)
    audit = await audits.create_audit(lead, AuditCreate(
        provider_id=provider.id, kind=plan.kind, title=f"{plan.title}: {provider.name}"[:200], starts_on=starts,
        ends_on=ends, template_version_id=version_id, lead_auditor_id=lead.user_id,
        auditor_ids=[member.user_id] if member else []))
    await audits.schedule(lead, audit["id"])
    made = {"findings": 0, "verified": 0, "open": 0}
    if plan.state == "scheduled":
        return made
    await audits.start(lead, audit["id"])
    open_action = None
    for (rating, severity, observation, recommendation, fix), control_id in zip(FOUND, control_ids, strict=False):
        finding = await findings.record_finding(lead, audit["id"], FindingCreate(
            control_id=control_id, rating=rating, severity=severity, observation=observation,
            recommendation=recommendation))
        made["findings"] += 1
        if fix is None:
            continue
        action = await actions.raise_action(lead, finding["id"], ActionCreate(
            description=fix, owner_name="The privacy lead", due_on=today + timedelta(days=30)))
        if plan.state == "reported" and severity is Severity.high:
            open_action = action  # the fix is still to come: due soon
            made["open"] += 1
            continue
        await actions.respond(provider.lead, action["id"], "Done: the record is attached to our file note.")
        await actions.verify(lead, action["id"], "Seen the record; it shows the fix.")
        made["verified"] += 1
    await audits.report(lead, audit["id"], "What we found, control by control, is in the findings.")
    if plan.state == "closed":
        await audits.close(lead, audit["id"])
    reported = await _backdate_audit(audit["id"], starts, ends, anniversary, plan.state == "closed")
    # The actions were raised with the report and answered within the month; the open one falls due soon.
    for row in await CorrectiveAction.select(CorrectiveAction.id).where(CorrectiveAction.audit == audit["id"]).run():
        due = reported + timedelta(days=28)
        values: dict[Any, Any] = {CorrectiveAction.created_at: _at(reported), CorrectiveAction.due_on: due,
                                  CorrectiveAction.responded_at: _at(due - timedelta(days=6)),
                                  CorrectiveAction.verified_at: _at(due - timedelta(days=3))}
        if open_action is not None and str(row["id"]) == str(open_action["id"]):
            values = {CorrectiveAction.created_at: _at(reported),
                      CorrectiveAction.due_on: calendar.add_working_days(today, 3, anniversary)}
        await CorrectiveAction.update(values).where(CorrectiveAction.id == row["id"]).run()
    return made


async def _spot_check(provider: DemoProvider, anniversary: Any, lead: Caller, version_id: Any,
                      today: date) -> tuple[int, int]:
    """A spot-check that began on the last working day: its sample drawn, all seen but one discrepancy."""
    day = today if calendar.is_working_day(today, anniversary) else calendar.add_working_days(today, -1, anniversary)
    audit = await audits.create_audit(lead, AuditCreate(
        provider_id=provider.id, kind=AuditKind.device_spot_check, title=f"Device spot-check: {provider.name}"[:200],
        starts_on=day, ends_on=day, template_version_id=version_id, lead_auditor_id=lead.user_id))
    await audits.schedule(lead, audit["id"])
    await audits.start(lead, audit["id"])
    sample = await spot_checks.draw_sample(lead, audit["id"], SampleDraw(seed=SPOT_CHECK_SEED))
    items = sample["items"]
    for i, item in enumerate(items):
        if i == len(items) - 1:
            result = SpotCheckRecord(result=SpotCheckResult.discrepancy,
                                     note="The serial number on the laptop is not the one in the register.")
        else:
            result = SpotCheckRecord(result=SpotCheckResult.seen)
        await spot_checks.record(lead, item["id"], result)
    return len(items), sample["population_size"]


async def load(system: Caller, settings: Settings, staff: dict[str, Caller], active: list[DemoProvider],
               today: date) -> list[str]:
    if await Audit.exists().where(Audit.title.like(f"{FIRST_TITLE}%")).run():
        return ["the audits were already there: left as they were"]
    version = await _plan_version()
    if version is None or len(active) < len(PAST_AND_COMING) + 1:
        return ["no audits: they need the plan's template and enough active providers"]
    control_ids = [c.id for area in controls.template_of(version).areas for c in area.controls]
    # One finding on each of three controls from different parts of the plan.
    chosen = [control_ids[0], control_ids[len(control_ids) // 3], control_ids[2 * len(control_ids) // 3]]
    team = await _auditors(system, staff)
    rows = {str(r["id"]): r for r in await Provider.select(Provider.id, Provider.region, Provider.anniversary_day)}
    anniversary = {str(p.id): calendar.observed_by(rows[str(p.id)]) for p in active}

    held: dict[str, int] = {str(p.id): 0 for p in active}
    for row in await Assignment.select(Assignment.provider).where(Assignment.open_device.is_not_null()).run():
        if str(row["provider"]) in held:
            held[str(row["provider"])] += 1
    spot = max(active, key=lambda p: (held[str(p.id)], -p.index))
    others = [p for p in active if p is not spot]

    totals = {"findings": 0, "verified": 0, "open": 0}
    for n, (plan, provider) in enumerate(progress(list(zip(PAST_AND_COMING, others, strict=False)), "audits")):
        lead, member = team[n % len(team)], team[(n + 1) % len(team)] if plan.kind is AuditKind.site_visit else None
        made = await _audit(plan, provider, anniversary[str(provider.id)], lead, member, version["id"], chosen, today)
        totals = {k: totals[k] + made[k] for k in totals}
    sampled, population = await _spot_check(spot, anniversary[str(spot.id)], team[-1], version["id"], today)
    availability_made = await _availability(system, settings, team, others, today)
    proposed = await triggers.propose_follow_ups(settings, today)

    counts = {state: sum(p.state == state for p in PAST_AND_COMING) for state in ("closed", "reported", "scheduled")}
    return [
        f"{len(PAST_AND_COMING) + 1} audits by {len(team)} auditors: {counts['closed']} closed over the past year and "
        f"{counts['reported']} reported, with {totals['findings']} findings and {totals['verified']} verified "
        f"corrective actions ({totals['open']} still open, due in three working days); {counts['scheduled']} "
        "scheduled in the coming weeks",
        f"a device spot-check in progress at {spot.name}: {sampled} of its {population} devices sampled from seed "
        f"{SPOT_CHECK_SEED}, one differing from the register",
        availability_made,
        f"{len(proposed)} follow-up audit(s) proposed by triggers: "
        + ("; ".join(f"{p.provider_name} ({p.reasons['provider']})" for p in proposed) or "none"),
    ]
