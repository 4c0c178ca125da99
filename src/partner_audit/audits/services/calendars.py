"""When audits happen: secret iCalendar feed URLs (per auditor: the audits they are on; per provider: its audits)
and the JSON calendar.

A feed's address holds a token (``secrets.token_urlsafe(32)``) shown once, when the feed is made; only its keyed
hash is kept (``security.tokens.digest``, HMAC-SHA-256 under ``PA_SECRET_KEY``), and a fetch finds the feed by the
hash of what it was given, so the comparison is the database's equality on a digest nobody can aim at. An unknown
and a revoked token get the same 404.

A provider's people see their own provider's audits, and not the ones merely proposed (the agency's planning, not
yet a commitment); a provider feed shows the same. Only an auditor's own feed says why each audit was planned.
A feed stops working when the account of whoever made it (or of the auditor it follows) is deactivated.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from piccolo.query import Select

from partner_audit.api import Paging
from partner_audit.assessments.services.assessments import as_date
from partner_audit.audits import ics
from partner_audit.audits.schemas import AuditStatus, FeedOwner
from partner_audit.audits.schemas.calendars import CalendarFilter, FeedCreate
from partner_audit.audits.tables import Audit, AuditAuditor, CalendarFeed
from partner_audit.errors import Forbidden, Invalid, NotFound
from partner_audit.providers.tables import Provider
from partner_audit.security import access_log, policies, tokens
from partner_audit.security.caller import Caller, Role
from partner_audit.security.tables import User
from partner_audit.security.tenancy import can_see_provider, page_of, require_row, scoped

FEED_PAST = timedelta(days=366)  # a feed carries the last year's audits and every one to come
MAX_RANGE = timedelta(days=366)  # the JSON calendar answers at most a year at a time
DEFAULT_RANGE = timedelta(days=92)
AUDITOR_ROLES = (Role.auditor.value, Role.admin.value)  # who can be on an audit's team


def token_hash(token: str) -> str:
    """The feed token's keyed hash; the ``calendar:`` prefix keeps it apart from every other token's digest."""
    return tokens.digest(f"calendar:{token}")


def feed_path(token: str) -> str:
    return f"/api/v1/calendar-feeds/feed/{token}.ics"


# --- audits as calendars show them ----------------------------------------------------------------------------

AUDIT_COLUMNS = (Audit.id, Audit.provider, Audit.provider.name.as_alias("provider_name"), Audit.kind, Audit.status,
                 Audit.title, Audit.starts_on, Audit.ends_on, Audit.sequence, Audit.created_at, Audit.updated_at,
                 Audit.cancelled_reason, Audit.scope_areas, Audit.scope_controls, Audit.reasons)


def _json(value: Any, empty: Any) -> Any:
    if value is None or value == "":
        return empty
    return json.loads(value) if isinstance(value, str) else value


def _for_provider_people(query: Select, caller: Caller) -> Select:
    """A provider's people: their own provider's audits, and none merely proposed."""
    query = scoped(query, Audit.provider, caller)
    if caller.is_provider_role:
        query = query.where(Audit.status != AuditStatus.proposed.value)
    return query


def _on_team(auditor_id: Any) -> Any:
    return (Audit.lead_auditor == auditor_id) | Audit.id.is_in(
        AuditAuditor.select(AuditAuditor.audit).where(AuditAuditor.auditor == auditor_id))


async def _with_teams(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    teams: dict[str, list[dict[str, Any]]] = {str(r["id"]): [] for r in rows}
    if rows:
        members = await AuditAuditor.select(
            AuditAuditor.audit, AuditAuditor.auditor, AuditAuditor.auditor.full_name.as_alias("name"),
            AuditAuditor.role).where(AuditAuditor.audit.is_in([r["id"] for r in rows])).run()
        for m in sorted(members, key=lambda m: (m["role"] != "lead", m["name"])):
            teams[str(m["audit"])].append({"id": m["auditor"], "name": m["name"], "role": m["role"]})
    out = []
    for r in rows:
        starts, ends = as_date(r["starts_on"]), as_date(r["ends_on"])
        out.append({**r, "provider_id": r["provider"], "starts_on": starts, "ends_on": ends,
                    "all_day": ends > starts, "team": teams[str(r["id"])]})
    return out


def _scope_words(row: dict[str, Any]) -> list[str]:
    areas, controls = _json(row["scope_areas"], []), _json(row["scope_controls"], [])
    return ([f"focus area {a}" for a in areas] + [f"control {c}" for c in controls])


def _calendar_audit(row: dict[str, Any], with_reasons: bool) -> ics.CalendarAudit:
    reasons = _json(row["reasons"], {})
    if isinstance(reasons, dict):
        why = "; ".join(str(v) for v in reasons.values() if v) if with_reasons else str(reasons.get("provider", ""))
    else:
        why = str(reasons) if with_reasons else ""
    return ics.CalendarAudit(
        id=str(row["id"]), kind=row["kind"], status=row["status"], provider=row["provider_name"],
        starts_on=row["starts_on"], ends_on=row["ends_on"], sequence=row["sequence"] or 0,
        created_at=row["created_at"], updated_at=row["updated_at"], title=row["title"] or "",
        scope=_scope_words(row),
        team=[f"{m['name']} (lead)" if m["role"] == "lead" else m["name"] for m in row["team"]],
        why=why, cancelled_reason=row["cancelled_reason"] or "")


# --- feeds ----------------------------------------------------------------------------------------------------

FEED_COLUMNS = (*CalendarFeed.all_columns(exclude=[CalendarFeed.token_hash]),
                CalendarFeed.auditor.full_name.as_alias("auditor_name"),
                CalendarFeed.provider.name.as_alias("provider_name"))


def _feed_out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "auditor_id": row["auditor"], "provider_id": row["provider"]}


def _visible_feeds(query: Any, caller: Caller) -> Any:
    """An admin sees every feed; an auditor their own; a provider admin their provider's."""
    if caller.role == Role.admin:
        return query
    if caller.is_provider_role:
        return query.where(CalendarFeed.provider == caller.provider_id)
    return query.where(CalendarFeed.auditor == caller.user_id)


async def _feed_owner(caller: Caller, data: FeedCreate) -> tuple[Any, Any, str]:
    """(auditor id, provider id, what the feed is of) for a new feed, as the caller may make it."""
    if data.owner == FeedOwner.auditor:
        if data.provider_id is not None:
            raise Invalid.field("provider_id", "an auditor's feed names no provider")
        if caller.is_provider_role:
            raise Forbidden("A provider's admin makes feeds of their own provider's audits, not an auditor's.")
        auditor_id = data.auditor_id or caller.user_id
        if caller.role != Role.admin and str(auditor_id) != str(caller.user_id):
            raise Forbidden("An auditor makes feeds of their own audits only.")
        user = await User.select(User.full_name, User.role).where(User.id == auditor_id).first().run()
        if user is None or user["role"] not in AUDITOR_ROLES:
            raise Invalid.field("auditor_id", f"no auditor with id {auditor_id}")
        return auditor_id, None, f"{user['full_name']}: audits"
    if data.auditor_id is not None:
        raise Invalid.field("auditor_id", "a provider's feed names no auditor")
    if caller.role == Role.auditor:
        raise Forbidden("An auditor makes feeds of their own audits, not a provider's.")
    provider_id = data.provider_id or caller.provider_id
    if provider_id is None:
        raise Invalid.field("provider_id", "say which provider's audits the feed is of")
    if not can_see_provider(caller, provider_id):
        raise NotFound(f"No provider with id {provider_id}.")
    provider = await Provider.select(Provider.name).where(Provider.id == provider_id).first().run()
    if provider is None:
        raise NotFound(f"No provider with id {provider_id}.")
    return None, provider_id, f"{provider['name']}: audits"


async def create_feed(caller: Caller, data: FeedCreate, public_url: str) -> dict[str, Any]:
    """A new feed and its secret address, returned this once."""
    policies.MANAGE_CALENDAR_FEEDS.check(caller)
    async with access_log.audited(caller, "calendar_feed.create", "calendar_feed") as log:
        auditor_id, provider_id, what = await _feed_owner(caller, data)
        token = secrets.token_urlsafe(32)
        feed = CalendarFeed(owner=data.owner.value, auditor=auditor_id, provider=provider_id,
                            token_hash=token_hash(token), label=data.label.strip() or what, created_by=caller.user_id)
        await feed.save().run()
        log.record_id, log.provider_id = feed.id, provider_id
        log.details.append(f"feed of {data.owner.value} {auditor_id or provider_id}")
        row = await CalendarFeed.select(*FEED_COLUMNS).where(CalendarFeed.id == feed.id).first().run()
        return {**_feed_out(row), "url": public_url.rstrip("/") + feed_path(token)}


async def list_feeds(caller: Caller, paging: Paging) -> tuple[list[dict[str, Any]], int]:
    policies.MANAGE_CALENDAR_FEEDS.check(caller)
    rows, total = await page_of(caller, paging, CalendarFeed.select(*FEED_COLUMNS), CalendarFeed.count(),
                                action="calendar_feed.list", record_type="calendar_feed", scope=_visible_feeds,
                                order_by=[(CalendarFeed.created_at, False), CalendarFeed.id],
                                provider_id=caller.provider_id)
    return [_feed_out(r) for r in rows], total


async def revoke_feed(caller: Caller, feed_id: UUID) -> dict[str, Any]:
    """Ends every subscription to the feed; revoking it again changes nothing."""
    policies.MANAGE_CALENDAR_FEEDS.check(caller)
    async with access_log.audited(caller, "calendar_feed.revoke", "calendar_feed", feed_id) as log:
        found = await _visible_feeds(CalendarFeed.select(*FEED_COLUMNS).where(CalendarFeed.id == feed_id),
                                     caller).first().run()
        require_row(found, "calendar feed", feed_id)
        log.provider_id = found["provider"]
        await CalendarFeed.update({CalendarFeed.revoked_at: datetime.now(UTC)}).where(
            CalendarFeed.id == feed_id, CalendarFeed.revoked_at.is_null()).run()
        return _feed_out(await CalendarFeed.select(*FEED_COLUMNS).where(CalendarFeed.id == feed_id).first().run())


async def read_feed(who: Caller, token: str) -> tuple[str, bytes]:
    """The feed behind ``token`` as iCalendar: (its name, the bytes). ``who`` is the anonymous client, for the log.
    Public: the token is the credential, so an unknown and a revoked one get the same answer."""
    unknown = NotFound("No calendar feed at this address: it may have been revoked.")
    if not token or len(token) > 100:
        raise unknown
    now = datetime.now(UTC)
    async with access_log.audited(who, "calendar_feed.read", "calendar_feed") as log:
        feed = await CalendarFeed.select(
            *FEED_COLUMNS, CalendarFeed.created_by.active.as_alias("maker_active"),
            CalendarFeed.auditor.active.as_alias("auditor_active"),
        ).where(CalendarFeed.token_hash == token_hash(token), CalendarFeed.revoked_at.is_null()).first().run()
        # A feed stops with the account of whoever made it, or of the auditor it follows: someone who has left
        # keeps no window on the audits.
        if feed is None or feed["maker_active"] in (False, 0) or feed["auditor_active"] in (False, 0):
            raise unknown
        log.record_id, log.provider_id = feed["id"], feed["provider"]
        await CalendarFeed.update({CalendarFeed.last_used_at: now}).where(CalendarFeed.id == feed["id"]).run()
        query = Audit.select(*AUDIT_COLUMNS).where(Audit.ends_on >= (now - FEED_PAST).date())
        if feed["owner"] == FeedOwner.auditor.value:
            query, name = query.where(_on_team(feed["auditor"])), f"Audits: {feed['auditor_name']}"
        else:
            query = query.where(Audit.provider == feed["provider"], Audit.status != AuditStatus.proposed.value)
            name = f"Audits: {feed['provider_name']}"
        rows = await _with_teams(await query.order_by(Audit.starts_on).order_by(Audit.id).run())
        log.details.append(f"{len(rows)} audits")
        with_reasons = feed["owner"] == FeedOwner.auditor.value
        return name, ics.feed(name, [_calendar_audit(r, with_reasons) for r in rows], now)


# --- the JSON calendar ----------------------------------------------------------------------------------------


def calendar_range(starts: date | None, ends: date | None, today: date) -> tuple[date, date]:
    """The days asked for: from ``starts`` (today) to ``ends`` (three months on), a year at most."""
    starts = starts or today
    ends = ends or starts + DEFAULT_RANGE
    if ends < starts:
        raise Invalid.field("to", f"{ends} is before from {starts}")
    if ends - starts > MAX_RANGE:
        raise Invalid.field("to", "ask for a year at most at a time")
    return starts, ends


async def calendar(caller: Caller, flt: CalendarFilter, paging: Paging) -> tuple[list[dict[str, Any]], int]:
    """Audits on any day from ``flt.starts`` to ``flt.ends``, soonest first."""
    policies.SEE_CALENDAR.check(caller)
    starts, ends = calendar_range(flt.starts, flt.ends, date.today())
    clauses = [Audit.starts_on <= ends, Audit.ends_on >= starts]
    if flt.provider_id:
        clauses.append(Audit.provider == flt.provider_id)
    if flt.auditor_id:
        clauses.append(_on_team(flt.auditor_id))
    return await page_of(caller, paging, Audit.select(*AUDIT_COLUMNS), Audit.count(), action="calendar.read",
                         record_type="audit", scope=_for_provider_people, where=clauses,
                         order_by=[Audit.starts_on, Audit.id], provider_id=caller.provider_id, present=_with_teams)
