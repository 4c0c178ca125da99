"""Triggers: events that propose a follow-up audit, with the reason in words.

* An accepted self-assessment that scores (as the provider gave it) under ``settings.follow_up_score_below``
  proposes a follow-up of that provider (origin ``low_score``, key ``assessment:<id>``). Only each provider's
  latest accepted assessment counts: an older one a newer acceptance has replaced describes a state that is gone.
* A device lost or stolen at a provider proposes a follow-up, or a device spot-check where the provider holds
  more than a handful of devices (origin ``lost_device``, key ``incident:<id>``). The reason names the device's
  asset tag and the day, never the holder.

A proposal is an audit in status ``proposed`` with no team: an auditor schedules it or cancels it. It starts on
the 20th New Zealand working day after the run (where the provider works), so there is time to put a team on it.

Run by ``partner-audit audits follow-ups`` (cron) as the system. Safe to run again, and in several processes at
once: ``Audit.origin_key`` is unique, each proposal is inserted in a transaction of its own with ON CONFLICT DO
NOTHING, and only the process whose insert landed writes the access log entry and reports it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from partner_audit import db
from partner_audit.assessments.tables import Assessment
from partner_audit.audits import calendar
from partner_audit.audits.schemas import AuditKind, AuditOrigin, AuditStatus
from partner_audit.audits.services import scores
from partner_audit.audits.tables import Audit
from partner_audit.devices.schemas import IncidentKind
from partner_audit.devices.tables import Assignment, Incident
from partner_audit.providers.schemas import ProviderStatus
from partner_audit.providers.tables import Provider
from partner_audit.security import access_log
from partner_audit.security.caller import Caller
from partner_audit.settings import Settings

NZ = ZoneInfo("Pacific/Auckland")
LEAD_WORKING_DAYS = 20  # a proposal starts four working weeks out: time to choose a team and tell the provider
# A provider holding more devices than this after a loss gets a device spot-check instead of a follow-up: up to
# here an auditor can see every device on a follow-up visit (a 95%/5% sample of ten is nearly all ten anyway);
# beyond it, a statistical sample of the register is the proportionate way to learn whether the loss is a pattern.
HANDFUL_OF_DEVICES = 10
# A loss older than this proposes nothing (on a first run, say): the next planned audit covers it.
INCIDENT_LOOKBACK = timedelta(days=365)
LOSSES = (IncidentKind.lost.value, IncidentKind.stolen.value)
ACTOR = "follow-ups"


@dataclass(frozen=True)
class Proposal:
    """One audit a trigger proposed, and why."""

    audit_id: str
    provider_id: str
    provider_name: str
    kind: AuditKind
    origin: AuditOrigin
    origin_key: str
    starts_on: date
    reasons: dict[str, str]


@dataclass(frozen=True)
class _Candidate:
    provider_id: str
    kind: AuditKind
    origin: AuditOrigin
    origin_key: str
    title: str
    reasons: dict[str, str]


def _nz_day(moment: datetime) -> date:
    return moment.astimezone(NZ).date()


def _words(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def observes(anniversary: calendar.AnniversaryDay) -> str:
    if anniversary is calendar.AnniversaryDay.none:
        return "it observes no anniversary day"
    name = {"hawkes_bay": "Hawke's Bay"}.get(anniversary.value, anniversary.value.replace("_", " ").title())
    return f"it observes {name} Anniversary Day"


async def _existing_keys(keys: Iterable[str]) -> set[str]:
    wanted = sorted(set(keys))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        rows = await Audit.select(Audit.origin_key).where(Audit.origin_key.is_in(wanted[start:start + 500]))
        found.update(r["origin_key"] for r in rows)
    return found


async def _latest_accepted(today: date) -> dict[str, dict[str, Any]]:
    """Each provider's latest accepted assessment by ``today``, chosen as ``scores.latest`` chooses it."""
    query = Assessment.select(Assessment.id, Assessment.provider, Assessment.template_version, Assessment.period,
                              Assessment.decided_at).where(Assessment.status == "accepted")
    newest: dict[str, dict[str, Any]] = {}
    for row in await query:
        if row["decided_at"] is None or _nz_day(row["decided_at"]) > today:
            continue
        key = str(row["provider"])
        if key not in newest or (row["decided_at"], str(row["id"])) > (newest[key]["decided_at"], str(newest[key]["id"])):
            newest[key] = row
    return newest


async def _low_scores(settings: Settings, latest: dict[str, dict[str, Any]]) -> list[_Candidate]:
    done = await _existing_keys(f"assessment:{a['id']}" for a in latest.values())
    fresh = {p: a for p, a in latest.items() if f"assessment:{a['id']}" not in done}
    scored = await scores.latest(fresh)
    threshold = settings.follow_up_score_below
    out = []
    for provider_id, score in scored.items():
        assessment = fresh[provider_id]
        if str(assessment["id"]) != score.assessment_id or score.self_assessed is None:
            continue
        if score.self_assessed >= threshold:
            continue
        out.append(_Candidate(
            provider_id, AuditKind.follow_up, AuditOrigin.low_score, f"assessment:{assessment['id']}",
            f"Follow-up: {assessment['period']} self-assessment scored {score.self_assessed:.1f}",
            {"provider": f"the {assessment['period']} self-assessment, accepted on "
                         f"{_words(_nz_day(assessment['decided_at']))}, scored {score.self_assessed:.1f}, "
                         f"under the threshold of {threshold}"},
        ))
    return out


async def _devices_held(provider_ids: list[str]) -> dict[str, int]:
    held = dict.fromkeys(provider_ids, 0)
    if provider_ids:
        rows = await Assignment.select(Assignment.provider).where(
            Assignment.open_device.is_not_null() & Assignment.provider.is_in(provider_ids))
        for row in rows:
            held[str(row["provider"])] += 1
    return held


async def _losses(today: date) -> list[_Candidate]:
    end_of_today = datetime.combine(today + timedelta(days=1), time(), NZ).astimezone(UTC)
    rows = await Incident.select(
        Incident.id, Incident.kind, Incident.occurred_at, Incident.provider,
        Incident.device.asset_tag.as_alias("asset_tag"),
    ).where(
        Incident.kind.is_in(list(LOSSES)) & Incident.provider.is_not_null()
        & (Incident.reported_at < end_of_today) & (Incident.reported_at >= end_of_today - INCIDENT_LOOKBACK)
    ).order_by(Incident.reported_at)
    done = await _existing_keys(f"incident:{r['id']}" for r in rows)
    rows = [r for r in rows if f"incident:{r['id']}" not in done]
    held = await _devices_held(sorted({str(r["provider"]) for r in rows}))
    out = []
    for row in rows:
        provider_id = str(row["provider"])
        when = _words(_nz_day(row["occurred_at"]))
        count = held[provider_id]
        reasons = {"provider": f"device {row['asset_tag']} was reported {row['kind']} on {when}"}
        if count > HANDFUL_OF_DEVICES:
            kind = AuditKind.device_spot_check
            reasons["kind"] = (f"a device spot-check: the provider holds {count} agency devices, more than the "
                               f"{HANDFUL_OF_DEVICES} a follow-up visit can see one by one, so a sample shows "
                               "whether the loss is a pattern")
            title = f"Device spot-check after {row['asset_tag']} was {row['kind']}"
        else:
            kind = AuditKind.follow_up
            reasons["kind"] = (f"a follow-up: the provider holds {count} agency device(s), few enough to see "
                               "every one")
            title = f"Follow-up after {row['asset_tag']} was {row['kind']}"
        out.append(_Candidate(provider_id, kind, AuditOrigin.lost_device, f"incident:{row['id']}", title, reasons))
    return out


async def _propose(caller: Caller, candidate: _Candidate, provider: dict[str, Any],
                   scope: dict[str, Any] | None, starts_on: date) -> str | None:
    """Insert one proposal in a transaction of its own; None when another run proposed it first."""
    audit_id = uuid4()
    async with db.transaction():
        inserted = await Audit.insert(Audit(
            id=audit_id, provider=candidate.provider_id, kind=candidate.kind.value,
            status=AuditStatus.proposed.value, title=candidate.title[:200],
            template_version=scope["template_version"] if scope else None,
            assessment=scope["id"] if scope else None,
            starts_on=starts_on, ends_on=starts_on, origin=candidate.origin.value, origin_key=candidate.origin_key,
            reasons=candidate.reasons, created_by=None,
        )).on_conflict(target=Audit.origin_key, action="DO NOTHING").returning(Audit.id).run()
        if not inserted:
            return None
        await access_log.append(
            caller, action="audit.propose", record_type="audit", record_id=audit_id, provider_id=provider["id"],
            detail=f"{candidate.kind.value} proposed by a trigger ({candidate.origin_key}): "
                   + "; ".join(candidate.reasons.values()))
    return str(audit_id)


async def propose_follow_ups(settings: Settings, today: date) -> list[Proposal]:
    """Propose every follow-up the triggers call for that no run has proposed yet; returns those this run
    proposed (another process's proposals are not repeated here)."""
    caller = Caller.system(ACTOR)
    latest = await _latest_accepted(today)
    candidates = [*await _low_scores(settings, latest), *await _losses(today)]
    if not candidates:
        return []
    provider_ids = sorted({c.provider_id for c in candidates})
    providers = {str(p["id"]): p for p in await Provider.select(
        Provider.id, Provider.name, Provider.region, Provider.anniversary_day, Provider.status,
    ).where(Provider.id.is_in(provider_ids))}
    proposed = []
    for candidate in candidates:
        provider = providers[candidate.provider_id]
        if provider["status"] == ProviderStatus.exited.value:
            continue  # the agency no longer contracts it: nothing to follow up
        anniversary = calendar.observed_by(provider)
        starts_on = calendar.add_working_days(today, LEAD_WORKING_DAYS, anniversary)
        reasons = {**candidate.reasons, "date": (
            f"{_words(starts_on)}, the {LEAD_WORKING_DAYS}th New Zealand working day after {_words(today)} where "
            f"the provider works ({observes(anniversary)}): "
            "time to choose a team; the auditor who schedules it may move it")}
        candidate = _Candidate(candidate.provider_id, candidate.kind, candidate.origin, candidate.origin_key,
                               candidate.title, reasons)
        audit_id = await _propose(caller, candidate, provider, latest.get(candidate.provider_id), starts_on)
        if audit_id is None:
            continue
        proposed.append(Proposal(audit_id, candidate.provider_id, provider["name"], candidate.kind,
                                 candidate.origin, candidate.origin_key, starts_on, reasons))
    return proposed


__all__ = ["HANDFUL_OF_DEVICES", "LEAD_WORKING_DAYS", "Proposal", "propose_follow_ups"]
