"""Attestations: every open assignment owes one every ``PA_ATTESTATION_DAYS`` (from its start, then from its last
attestation): the holder confirms they still hold the device and use it only for authorised work.

Holders usually have no account, so the service mails them a single-use link that expires after
``PA_ATTESTATION_LINK_DAYS``. Only the token's SHA-256 is kept: the database alone cannot make a working link.
The link is used up by a conditional UPDATE (``used_at IS NULL AND expires_at > now``) in the transaction that
records the attestation, so a double submit or two tabs record one attestation, never two. Partnerships and
admins may also record an attestation taken in person. Every attestation is in the access log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any
from uuid import UUID

from partner_audit import db
from partner_audit.api import Paging
from partner_audit.devices.schemas import AttestationMethod, InPersonAttestation
from partner_audit.devices.services.visibility import sees_holder
from partner_audit.devices.tables import Assignment, Attestation, AttestationLink
from partner_audit.errors import Conflict, Invalid
from partner_audit.outbox import service as outbox
from partner_audit.security import access_log, policies, tokens
from partner_audit.security.caller import Caller
from partner_audit.security.tenancy import require_row, scoped
from partner_audit.settings import Settings


# --- rules -----------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def link_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url}/attest/{token}"


def due_on(settings: Settings, starts_on: date, last_attested_at: datetime | None) -> date:
    """The day the next attestation is owed: N days after the last one, or after the assignment started."""
    since = last_attested_at.astimezone(UTC).date() if last_attested_at else starts_on
    return since + timedelta(days=settings.attestation_days)


_ASSIGNMENT_COLUMNS = (
    Assignment.id, Assignment.device, Assignment.provider, Assignment.holder_name, Assignment.holder_email,
    Assignment.starts_on, Assignment.open_device,
    Assignment.device.asset_tag.as_alias("asset_tag"),
    Assignment.device.make.as_alias("make"),
    Assignment.device.model.as_alias("model"),
    Assignment.provider.name.as_alias("provider_name"),
)


async def _last_attested(assignment_ids: list[Any]) -> dict[str, datetime]:
    if not assignment_ids:
        return {}
    # Read as rows, not as MAX(): SQLite hands an aggregate of timestamps back as text.
    rows = await Attestation.select(Attestation.assignment, Attestation.attested_at).where(
        Attestation.assignment.is_in(assignment_ids)).run()
    last: dict[str, datetime] = {}
    for r in rows:
        key = str(r["assignment"])
        last[key] = max(r["attested_at"], last.get(key, r["attested_at"]))
    return last


async def _open_assignment(caller: Caller, assignment_id: UUID) -> dict[str, Any]:
    row = await scoped(Assignment.select(*_ASSIGNMENT_COLUMNS).where(Assignment.id == assignment_id),
                       Assignment.provider, caller).first().run()
    require_row(row, "assignment", assignment_id)
    if row["open_device"] is None:
        raise Conflict(f"Assignment {assignment_id} is closed: the device came back, there is nothing to attest.")
    return row


def _mail_body(settings: Settings, assignment: dict[str, Any], token: str, expires_at: datetime) -> str:
    device = " ".join(p for p in (assignment["make"], assignment["model"]) if p) or "device"
    return (
        f"Kia ora {assignment['holder_name']},\n\n"
        f"You hold the agency {device} with asset tag {assignment['asset_tag']}. Every "
        f"{settings.attestation_days} days we ask you to confirm that you still have it and use it only for "
        "the work it was issued for.\n\n"
        f"Please confirm here (the link works once, until {expires_at:%d %B %Y}):\n"
        f"{link_url(settings, token)}\n\n"
        "If you no longer have the device, or it has been used for anything else, do not confirm: tell your "
        "organisation's privacy lead or the agency's partnerships team today.\n"
    )


async def _issue(settings: Settings, assignment: dict[str, Any], now: datetime) -> tuple[str, datetime, UUID]:
    """Make a link and mail it; inside the caller's transaction, so neither exists without the other."""
    token = tokens.new_secret(prefix="")  # 256 bits: not guessable within a link's life
    expires_at = now + timedelta(days=settings.attestation_link_days)
    await AttestationLink.insert(AttestationLink(
        assignment=assignment["id"], token_hash=tokens.digest(token), expires_at=expires_at, created_at=now,
    )).run()
    message_id = await outbox.enqueue(
        assignment["holder_email"], f"Please confirm you still hold agency device {assignment['asset_tag']}",
        _mail_body(settings, assignment, token, expires_at))
    return token, expires_at, message_id


async def issue_link(settings: Settings, caller: Caller, assignment_id: UUID) -> dict[str, Any]:
    """Mail the holder a new single-use link (earlier unused links keep working until they expire)."""
    policies.REQUEST_ATTESTATION.check(caller)
    async with access_log.audited(caller, "attestation.link_issued", "assignment", assignment_id) as audit:
        assignment = await _open_assignment(caller, assignment_id)
        audit.provider_id = assignment["provider"]
        _, expires_at, message_id = await _issue(settings, assignment, _now())
        audit.details.append(f"device {assignment['asset_tag']}; link expires {expires_at:%Y-%m-%d}")
    return {"assignment_id": assignment_id, "expires_at": expires_at, "outbox_message_id": message_id}


async def _live_links(assignment_ids: list[Any], now: datetime) -> dict[str, datetime]:
    if not assignment_ids:
        return {}
    rows = await AttestationLink.select(AttestationLink.assignment, AttestationLink.expires_at).where(
        AttestationLink.assignment.is_in(assignment_ids), AttestationLink.used_at.is_null(),
        AttestationLink.expires_at > now).run()
    live: dict[str, datetime] = {}
    for r in rows:
        key = str(r["assignment"])
        live[key] = max(r["expires_at"], live.get(key, r["expires_at"]))
    return live


@dataclass(frozen=True)
class Owed:
    assignment: dict[str, Any]
    last_attested_at: datetime | None
    due_on: date
    link_expires_at: datetime | None


async def _owed(settings: Settings, caller: Caller, by: date, now: datetime) -> list[Owed]:
    """Open assignments (the caller may see) whose next attestation is due on or before ``by``, soonest first."""
    rows = await scoped(Assignment.select(*_ASSIGNMENT_COLUMNS).where(Assignment.open_device.is_not_null()),
                        Assignment.provider, caller).run()
    ids = [r["id"] for r in rows]
    last, live = await _last_attested(ids), await _live_links(ids, now)
    owed = []
    for row in rows:
        key = str(row["id"])
        due = due_on(settings, row["starts_on"], last.get(key))
        if due <= by:
            owed.append(Owed(row, last.get(key), due, live.get(key)))
    return sorted(owed, key=lambda o: (o.due_on, o.assignment["asset_tag"]))


async def send_due_links(settings: Settings, caller: Caller, within_days: int) -> list[dict[str, Any]]:
    """Issue a link for every open assignment due within ``within_days`` (or overdue) that has no live link.
    Safe to run again: an assignment with a live link is skipped. One transaction per link, so a failure part
    way leaves the links already mailed in place."""
    policies.REQUEST_ATTESTATION.check(caller)
    now = _now()
    issued = []
    for owed in await _owed(settings, caller, now.date() + timedelta(days=within_days), now):
        if owed.link_expires_at is not None:
            continue
        async with access_log.audited(caller, "attestation.link_issued", "assignment", owed.assignment["id"],
                                      owed.assignment["provider"]) as audit:
            # Under the write lock, a link issued by a concurrent run since the list was read is seen here.
            if await _live_links([owed.assignment["id"]], now):
                continue
            _, expires_at, _ = await _issue(settings, owed.assignment, now)
            audit.details.append(f"device {owed.assignment['asset_tag']} due {owed.due_on}; scheduled run")
        issued.append({"asset_tag": owed.assignment["asset_tag"], "due_on": owed.due_on, "expires_at": expires_at})
    return issued


async def list_overdue(settings: Settings, caller: Caller, paging: Paging
                       ) -> tuple[list[dict[str, Any]], int]:
    """Open assignments past their attestation due date, most overdue first. Scoped to a provider's own."""
    policies.SEE_REGISTER.check(caller)
    now = _now()
    today = now.date()
    async with access_log.audited(caller, "attestation.overdue", "assignment", provider_id=caller.provider_id,
                                  writes=False):
        owed = await _owed(settings, caller, today - timedelta(days=1), now)
        items = []
        for o in owed[paging.offset:paging.offset + paging.limit]:
            a = o.assignment
            visible = sees_holder(caller, a["provider"])
            if visible:
                await access_log.append(caller, action="assignment.holder_read", record_type="assignment",
                                        record_id=a["id"], provider_id=a["provider"], detail="attestation.overdue")
            items.append({
                "assignment_id": a["id"], "device_id": a["device"], "asset_tag": a["asset_tag"],
                "provider_id": a["provider"], "provider_name": a["provider_name"],
                "holder_name": a["holder_name"] if visible else None,
                "holder_email": a["holder_email"] if visible else None, "holder_visible": visible,
                "starts_on": a["starts_on"], "last_attested_at": o.last_attested_at, "due_on": o.due_on,
                "days_overdue": (today - o.due_on).days, "link_expires_at": o.link_expires_at,
            })
    return items, len(owed)


def _attestation_out(settings: Settings, row: dict[str, Any], starts_on: date) -> dict[str, Any]:
    return {**row, "assignment_id": row["assignment"],
            "next_due_on": due_on(settings, starts_on, row["attested_at"])}


def _unconfirmed(holds_device: bool, authorised_use_only: bool, detail: str) -> Invalid | None:
    errors = [{"field": f, "message": "must be confirmed"} for f, ok in
              (("holds_device", holds_device), ("authorised_use_only", authorised_use_only)) if not ok]
    return Invalid(detail, errors=errors) if errors else None


async def record_in_person(settings: Settings, caller: Caller, assignment_id: UUID,
                           data: InPersonAttestation) -> dict[str, Any]:
    """An attestation confirms both things; a holder who cannot is an incident, not an attestation."""
    policies.RECORD_ATTESTATION.check(caller)
    refusal = _unconfirmed(data.holds_device, data.authorised_use_only,
                           "An attestation confirms both that the holder has the device and that it is used only "
                           "for authorised work. If not, report an incident: POST /api/v1/incidents.")
    if refusal:
        raise refusal
    async with access_log.audited(caller, "attestation.in_person", "attestation") as audit:
        assignment = await _open_assignment(caller, assignment_id)
        audit.provider_id = assignment["provider"]
        row = Attestation(assignment=assignment_id, method=AttestationMethod.in_person.value, holds_device=True,
                          authorised_use_only=True, notes=data.notes.strip(),
                          recorded_by=caller.user_id, attested_at=_now())
        await row.save().run()
        audit.record_id = row.id
        audit.details.append(f"device {assignment['asset_tag']}")
        saved = await Attestation.select().where(Attestation.id == row.id).first().run()
    return _attestation_out(settings, saved, assignment["starts_on"])


# --- the holder's link -----------------------------------------------------------------------------


class LinkState(str, Enum):
    unknown = "unknown"
    used = "used"
    expired = "expired"
    closed = "closed"  # the device came back: nothing to attest
    open = "open"
    recorded = "recorded"  # used just now, by this request


@dataclass(frozen=True)
class LinkView:
    """What the holder's page may show: this assignment's device and holder, nothing else."""

    state: LinkState
    holder_name: str = ""
    asset_tag: str = ""
    device: str = ""  # make and model
    expires_at: datetime | None = None
    used_at: datetime | None = None


_LINK_COLUMNS = (
    AttestationLink.id, AttestationLink.expires_at, AttestationLink.used_at, AttestationLink.assignment,
    AttestationLink.assignment.holder_name.as_alias("holder_name"),
    AttestationLink.assignment.open_device.as_alias("open_device"),
    AttestationLink.assignment.provider.as_alias("provider"),
    AttestationLink.assignment.device.asset_tag.as_alias("asset_tag"),
    AttestationLink.assignment.device.make.as_alias("make"),
    AttestationLink.assignment.device.model.as_alias("model"),
)


async def _link(token: str) -> dict[str, Any] | None:
    return await AttestationLink.select(*_LINK_COLUMNS).where(
        AttestationLink.token_hash == tokens.digest(token)).first().run()


def _view(row: dict[str, Any] | None, now: datetime) -> LinkView:
    if row is None:
        return LinkView(LinkState.unknown)
    if row["used_at"] is not None:
        state = LinkState.used
    elif row["expires_at"] <= now:
        state = LinkState.expired
    elif row["open_device"] is None:
        state = LinkState.closed
    else:
        state = LinkState.open
    device = " ".join(p for p in (row["make"], row["model"]) if p)
    return LinkView(state, row["holder_name"], row["asset_tag"], device, row["expires_at"], row["used_at"])


async def view_link(token: str) -> LinkView:
    return _view(await _link(token), _now())


async def attest_by_link(caller: Caller, token: str, holds_device: bool, authorised_use_only: bool) -> LinkView:
    """Record the holder's confirmation and use the link up, together. A link that is not usable (any more)
    is answered with its state; nothing is recorded. Both confirmations are required."""
    refusal = _unconfirmed(holds_device, authorised_use_only,
                           "Tick both boxes to confirm, or tell the agency that you cannot.")
    if refusal:
        raise refusal
    now = _now()
    async with db.transaction():
        row = await _link(token)
        view = _view(row, now)
        if view.state is not LinkState.open:
            return view
        # The condition makes the link single use even against a concurrent submit of the same form.
        taken = await AttestationLink.update({AttestationLink.used_at: now}).where(
            AttestationLink.id == row["id"], AttestationLink.used_at.is_null(), AttestationLink.expires_at > now,
        ).returning(AttestationLink.id).run()
        if not taken:
            return _view(await _link(token), now)
        attestation = Attestation(assignment=row["assignment"], method=AttestationMethod.link.value, holds_device=True,
                                  authorised_use_only=True, attested_at=now)
        await attestation.save().run()
        await access_log.append(caller, action="attestation.by_link", record_type="attestation",
                                record_id=attestation.id, provider_id=row["provider"],
                                detail=f"device {row['asset_tag']}; assignment {row['assignment']}")
    return LinkView(LinkState.recorded, view.holder_name, view.asset_tag, view.device, view.expires_at, now)
