"""Reminders through the outbox, counted in New Zealand working days where the provider works:

* ``audit-soon``: to each auditor on a scheduled audit, from ``settings.reminder_working_days`` working days
  before it starts until it starts;
* ``assessment-due`` / ``assessment-overdue``: to the provider's admins (its privacy leads), in the same window
  before a self-assessment not yet submitted is due, and once the day after it was due;
* ``action-due`` / ``action-overdue``: the same for a corrective action still open (new, or returned by the
  auditor) on an audit neither closed nor cancelled (their actions can no longer be answered);
* ``attestation-due``: device holders whose attestation falls due get their single-use link from the attestations
  service's own job (``attestations.send_due_links``, the rule of ``partner-audit attestations send``): called
  here, not copied. Its once-rule is "no live link": a holder whose link expired unused is asked again.

"Before" means on or after the day N working days before the date, so a run missed by a day still sends the
reminder, once. Each reminder is recorded in ``Reminder`` under its unique key ("audit-soon:<audit>:<auditor>",
"assessment-due:<assessment>:<email>", ...) in the transaction that queues its message: the key is checked first
(one query for the lot) and inserted with ON CONFLICT DO NOTHING, and a message whose key another process took
meanwhile is deleted with it, so each reminder goes once whichever and however many processes run the job.
One transaction per reminder: a failure part way leaves those already queued in place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from partner_audit import db
from partner_audit.assessments.tables import Assessment
from partner_audit.audits import calendar
from partner_audit.audits.schemas import ActionStatus, AuditKind, AuditStatus
from partner_audit.audits.tables import Audit, AuditAuditor, CorrectiveAction
from partner_audit.devices.services import attestations
from partner_audit.outbox import service as outbox
from partner_audit.outbox.tables import OutboxMessage, Reminder
from partner_audit.providers.schemas import ProviderStatus
from partner_audit.security import access_log
from partner_audit.security.caller import Caller, Role
from partner_audit.security.tables import User
from partner_audit.settings import Settings

AUDIT_SOON = "audit-soon"
ASSESSMENT_DUE = "assessment-due"
ASSESSMENT_OVERDUE = "assessment-overdue"
ACTION_DUE = "action-due"
ACTION_OVERDUE = "action-overdue"
ATTESTATION_DUE = "attestation-due"
KINDS = (AUDIT_SOON, ASSESSMENT_DUE, ASSESSMENT_OVERDUE, ACTION_DUE, ACTION_OVERDUE, ATTESTATION_DUE)
ACTOR = "reminders"
OPEN_ASSESSMENT = ("not_started", "in_progress", "returned")  # not yet submitted, nor accepted
KIND_WORDS = {AuditKind.desktop_review: "desktop review", AuditKind.site_visit: "site visit",
              AuditKind.device_spot_check: "device spot-check", AuditKind.follow_up: "follow-up audit"}
KEY_LENGTH = 200  # Reminder.key

Progress = Callable[[list[Any], str], Iterable[Any]]


@dataclass(frozen=True)
class _Due:
    key: str
    kind: str
    to: str
    subject: str
    body: str
    record_type: str
    record_id: str
    provider_id: str
    recipient_id: str


def _key(kind: str, record: Any, recipient: str) -> str:
    """The reminder's unique key. An email long enough to overflow the column is replaced by its digest: still
    one key per person, and still the same key on every run."""
    key = f"{kind}:{record}:{recipient}"
    if len(key) > KEY_LENGTH:
        key = f"{kind}:{record}:sha256:{hashlib.sha256(recipient.encode()).hexdigest()[:40]}"
    return key


def _day(value: date | str) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _words(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _window(settings: Settings, today: date) -> date:
    """The latest date whose reminder may be due today: N working days span at most 2N + 14 calendar days, even
    over Christmas and New Year with an anniversary day after; the exact day is checked per row."""
    return today + timedelta(days=2 * settings.reminder_working_days + 14)


def _in_window(settings: Settings, today: date, on: date, anniversary: calendar.AnniversaryDay) -> bool:
    return calendar.add_working_days(on, -settings.reminder_working_days, anniversary) <= today <= on


def _provider(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["provider"], "name": row["provider_name"], "region": row["provider_region"],
            "anniversary_day": row["provider_anniversary_day"], "status": row["provider_status"]}


def _provider_columns(fk: Any) -> list[Any]:
    return [fk.name.as_alias("provider_name"), fk.region.as_alias("provider_region"),
            fk.anniversary_day.as_alias("provider_anniversary_day"), fk.status.as_alias("provider_status")]


async def _provider_admins(provider_ids: Iterable[Any]) -> dict[str, list[dict[str, Any]]]:
    ids = sorted({str(p) for p in provider_ids})
    out: dict[str, list[dict[str, Any]]] = {p: [] for p in ids}
    if ids:
        rows = await User.select(User.id, User.email, User.provider).where(
            User.provider.is_in(ids) & (User.role == Role.provider_admin.value) & (User.active == True)  # noqa: E712
        ).order_by(User.email)
        for row in rows:
            out[str(row["provider"])].append(row)
    return out


# --- audits, to their auditors ------------------------------------------------------------------------------------


async def _audits_soon(settings: Settings, today: date) -> list[_Due]:
    rows = await Audit.select(
        Audit.id, Audit.kind, Audit.title, Audit.starts_on, Audit.ends_on, Audit.provider, Audit.lead_auditor,
        *_provider_columns(Audit.provider),
    ).where((Audit.status == AuditStatus.scheduled.value) & (Audit.starts_on >= today)
            & (Audit.starts_on <= _window(settings, today)))
    rows = [r for r in rows if _in_window(settings, today, _day(r["starts_on"]), calendar.observed_by(_provider(r)))]
    if not rows:
        return []
    team: dict[str, set[str]] = {str(r["id"]): {str(r["lead_auditor"])} if r["lead_auditor"] else set() for r in rows}
    for member in await AuditAuditor.select(AuditAuditor.audit, AuditAuditor.auditor).where(
            AuditAuditor.audit.is_in([r["id"] for r in rows])):
        team[str(member["audit"])].add(str(member["auditor"]))
    auditor_ids = sorted(set().union(*team.values()))
    people = {str(u["id"]): u for u in await User.select(User.id, User.email).where(
        User.id.is_in(auditor_ids) & (User.active == True))} if auditor_ids else {}  # noqa: E712
    out = []
    for row in rows:
        starts, ends = _day(row["starts_on"]), _day(row["ends_on"])
        kind = KIND_WORDS.get(AuditKind(row["kind"]), row["kind"])
        days = f"on {_words(starts)}" if ends == starts else f"from {_words(starts)} to {_words(ends)}"
        for auditor_id in sorted(team[str(row["id"])]):
            person = people.get(auditor_id)
            if person is None:
                continue  # no longer active: nobody to remind
            out.append(_Due(
                key=_key(AUDIT_SOON, row["id"], auditor_id), kind=AUDIT_SOON, to=person["email"],
                subject=_one_line(f"The {kind} of {row['provider_name']} starts {_words(starts)}"),
                body=(f"Kia ora,\n\nYou are on the {kind} of {row['provider_name']}"
                      f"{': ' + row['title'] if row['title'] else ''}, {days}.\n\n"
                      "What to do: read its scope and the provider's latest self-assessment, and confirm the "
                      "arrangements with the provider before the day.\n\n"
                      f"The audit: {settings.public_url}/api/v1/audits/{row['id']}\n"),
                record_type="audit", record_id=str(row["id"]), provider_id=str(row["provider"]),
                recipient_id=auditor_id))
    return out


# --- self-assessments, to the provider's admins ---------------------------------------------------------------


async def _assessments(settings: Settings, today: date) -> list[_Due]:
    rows = await Assessment.select(
        Assessment.id, Assessment.period, Assessment.status, Assessment.due_on, Assessment.provider,
        Assessment.template_version.title.as_alias("template_title"), *_provider_columns(Assessment.provider),
    ).where(Assessment.status.is_in(list(OPEN_ASSESSMENT)) & (Assessment.opens_on <= today)
            & (Assessment.due_on <= _window(settings, today)))
    admins = await _provider_admins(r["provider"] for r in rows)
    out = []
    for row in rows:
        provider = _provider(row)
        if provider["status"] == ProviderStatus.exited.value:
            continue
        due = _day(row["due_on"])
        what = f"{row['provider_name']}'s {row['period']} privacy self-assessment ({row['template_title']})"
        link = f"{settings.public_url}/api/v1/assessments/{row['id']}"
        returned = ("\n\nIt was returned by the reviewer: answer their questions on it, then submit it again."
                    if row["status"] == "returned" else "")
        if due < today:
            kind = ASSESSMENT_OVERDUE
            subject = f"Overdue: {row['provider_name']}'s {row['period']} self-assessment was due {_words(due)}"
            body = (f"Kia ora,\n\n{what} was due on {_words(due)} and has not been submitted.{returned}\n\n"
                    "What to do: finish and submit it as soon as you can. If you need more time, tell the "
                    "agency's partnerships team.\n\n")
        elif _in_window(settings, today, due, calendar.observed_by(provider)):
            kind = ASSESSMENT_DUE
            subject = f"{row['provider_name']}'s {row['period']} self-assessment is due {_words(due)}"
            body = (f"Kia ora,\n\n{what} is due on {_words(due)} and has not been submitted yet.{returned}\n\n"
                    f"What to do: answer the remaining questions, attach the evidence asked for, and submit it by "
                    f"{_words(due)}.\n\n")
        else:
            continue
        body += (f"The self-assessment: {link}\n\nYou receive this as a privacy lead (provider admin) of "
                 f"{row['provider_name']}.\n")
        for admin in admins[str(row["provider"])]:
            out.append(_Due(_key(kind, row["id"], admin["email"]), kind, admin["email"], _one_line(subject), body,
                            "assessment", str(row["id"]), str(row["provider"]), str(admin["id"])))
    return out


# --- corrective actions, to the provider's admins -------------------------------------------------------------


async def _actions(settings: Settings, today: date) -> list[_Due]:
    rows = await CorrectiveAction.select(
        CorrectiveAction.id, CorrectiveAction.description, CorrectiveAction.due_on, CorrectiveAction.provider,
        CorrectiveAction.returned_reason, CorrectiveAction.audit,
        CorrectiveAction.audit.title.as_alias("audit_title"), CorrectiveAction.audit.kind.as_alias("audit_kind"),
        CorrectiveAction.finding.control_id.as_alias("control_id"), *_provider_columns(CorrectiveAction.provider),
    ).where((CorrectiveAction.status == ActionStatus.open.value)
            # A closed or cancelled audit's actions can no longer be answered (audits.services.actions).
            & CorrectiveAction.audit.status.not_in([AuditStatus.cancelled.value, AuditStatus.closed.value])
            & (CorrectiveAction.due_on <= _window(settings, today)))
    admins = await _provider_admins(r["provider"] for r in rows)
    out = []
    for row in rows:
        provider = _provider(row)
        if provider["status"] == ProviderStatus.exited.value:
            continue
        due = _day(row["due_on"])
        audit = row["audit_title"] or KIND_WORDS.get(AuditKind(row["audit_kind"]), "audit")
        description = row["description"] if len(row["description"]) <= 600 else row["description"][:597] + "..."
        returned = (f"\n\nThe auditor returned the last response: {row['returned_reason']}"
                    if row["returned_reason"] else "")
        what = (f"A corrective action for {row['provider_name']} from the audit \"{audit}\" (control "
                f"{row['control_id']}):\n\n  {description}")
        if due < today:
            kind = ACTION_OVERDUE
            subject = f"Overdue: a corrective action for {row['provider_name']} was due {_words(due)}"
            when = f"It was due on {_words(due)} and has no response yet.{returned}\n\nWhat to do: respond now"
        elif _in_window(settings, today, due, calendar.observed_by(provider)):
            kind = ACTION_DUE
            subject = f"A corrective action for {row['provider_name']} is due {_words(due)}"
            when = f"It is due on {_words(due)}.{returned}\n\nWhat to do: respond by {_words(due)}"
        else:
            continue
        body = (f"Kia ora,\n\n{what}\n\n{when}, saying what was done, with evidence of it.\n\n"
                f"The corrective action: {settings.public_url}/api/v1/corrective-actions/{row['id']}\n\n"
                f"You receive this as a privacy lead (provider admin) of {row['provider_name']}.\n")
        for admin in admins[str(row["provider"])]:
            out.append(_Due(_key(kind, row["id"], admin["email"]), kind, admin["email"], _one_line(subject), body,
                            "corrective_action", str(row["id"]), str(row["provider"]), str(admin["id"])))
    return out


# --- sending ------------------------------------------------------------------------------------------------------


async def _sent_keys(keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        rows = await Reminder.select(Reminder.key).where(Reminder.key.is_in(keys[start:start + 500]))
        found.update(r["key"] for r in rows)
    return found


async def _send(caller: Caller, due: _Due) -> bool:
    """Queue one reminder under its key; False when another run holds the key."""
    async with db.transaction():
        message_id = await outbox.enqueue(due.to, due.subject[:200], due.body)
        taken = await Reminder.insert(Reminder(key=due.key, kind=due.kind, message=message_id)).on_conflict(
            target=Reminder.key, action="DO NOTHING").returning(Reminder.id).run()
        if not taken:
            # Another process recorded this reminder after our check: its message goes, ours must not.
            await OutboxMessage.delete().where(OutboxMessage.id == message_id)
            return False
        await access_log.append(caller, action="reminder.queue", record_type=due.record_type,
                                record_id=due.record_id, provider_id=due.provider_id,
                                detail=f"{due.kind} to user {due.recipient_id}")
    return True


def _each(items: list[_Due], progress: Progress | None) -> Iterator[_Due]:
    yield from (progress(items, "queueing reminders") if progress else items)


async def send_due_reminders(settings: Settings, today: date, progress: Progress | None = None) -> dict[str, int]:
    """Queue every reminder due ``today`` that has not gone yet; returns how many of each kind this run queued
    (every kind, zeros too). Attestation links follow their own job's rule and clock."""
    caller = Caller.system(ACTOR)
    due = [*await _audits_soon(settings, today), *await _assessments(settings, today),
           *await _actions(settings, today)]
    sent = await _sent_keys(sorted({d.key for d in due}))
    counts = dict.fromkeys(KINDS, 0)
    for item in _each([d for d in due if d.key not in sent], progress):
        if await _send(caller, item):
            counts[item.kind] += 1
    links = await attestations.send_due_links(settings, caller, within_days=0)
    counts[ATTESTATION_DUE] = len(links)
    return counts


__all__ = ["KINDS", "send_due_reminders"]
