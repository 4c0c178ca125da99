"""A device holder's own information: the Privacy Act request export, and the retention rule that redacts it.

**Privacy Act request** (information privacy principle 6): everything held about one device holder, found by
their email (case-insensitive), in one file: their assignments, the attestations and attestation links of those
assignments, the incidents that involved them with their breach assessments, the email sent to them, and every
access-log entry about any of those records (which is how they learn who read their details, and when).

The file is one .xlsx workbook: a "README" sheet first (what the file is, the request's reference, what each
sheet holds and how many rows), then one sheet per kind of record. One file because the request is answered with
one file; a workbook rather than a zip of CSVs because the person receiving it opens it with a double click and
reads the README first, and dates stay dates; rather than JSON because the reader is a member of the public, not
a program. Cell text from people (names, notes, descriptions) is neutralised so a spreadsheet never runs it as a
formula. Times are in UTC, and the headers say so.

The export is itself a disclosure, so it is logged twice over: one entry for the request (its reference and how
many records went out, never the email) and one per assignment exported, so a later request lists this one.
Only partnerships and admin may make it.

**Retention**: ``PA_RETENTION_MONTHS`` (24 by default) after a device came back (its return date, or the day a
lost or stolen device's assignment was closed), ``partner-audit retention`` redacts the holder's details: name,
email, phone and role, and the free text that may name them (the assignment's purpose, return condition and who
wiped it; the notes on its attestations; who reported its incidents, where and what happened; the breach
assessments' notes). What stays is what reporting needs and names no one: the device, the provider, the dates,
the kinds, the systems reached, the information at risk, and the breach decisions and notification times.
``Assignment.redacted_at`` marks it; an open assignment is never redacted; each redaction is one access-log
entry. Access-log entries are never edited: they hold record ids, not names.
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar

import msgspec
from piccolo.query import WhereRaw

from partner_audit import db, spreadsheets
from partner_audit.api import Email
from partner_audit.devices.tables import (
    Assignment,
    Attestation,
    AttestationLink,
    BreachAssessment,
    Incident,
)
from partner_audit.devices.xlsx import privacy as xlsx
from partner_audit.errors import Invalid
from partner_audit.outbox.tables import OutboxMessage
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller
from partner_audit.security.tables import AccessLogEntry


# --- the export -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonExport:
    reference: uuid.UUID  # the access-log record id of this export
    content: bytes
    counts: dict[str, int]  # sheet name -> rows
    media_type: ClassVar[str] = spreadsheets.XLSX_MEDIA_TYPE

    @property
    def filename(self) -> str:
        return f"privacy-request-{self.reference.hex[:8]}.xlsx"


def _email(raw: str) -> str:
    try:
        return msgspec.convert(raw.strip(), Email).lower()
    except msgspec.ValidationError:
        raise Invalid.field("email", f"{raw!r} is not an email address") from None


def _same_email(column: str, email: str) -> WhereRaw:
    # Not ILIKE: an email's "_" would be a wildcard there and match someone else's address.
    return WhereRaw(f"lower({column}) = {{}}", email)


async def _held_about(email: str) -> dict[str, list[dict[str, Any]]]:
    """Every row held about the holder with this email, per sheet."""
    assignments = await Assignment.select(
        *Assignment.all_columns(),
        Assignment.device.asset_tag.as_alias("asset_tag"), Assignment.device.kind.as_alias("device_kind"),
        Assignment.device.make.as_alias("device_make"), Assignment.device.model.as_alias("device_model"),
        Assignment.device.serial.as_alias("device_serial"), Assignment.provider.name.as_alias("provider_name"),
    ).where(_same_email('"assignment"."holder_email"', email)).order_by(Assignment.starts_on).order_by(
        Assignment.id).run()
    for row in assignments:
        row["systems"] = "; ".join(s for s in row["systems"].split("\n") if s)
    ids = [a["id"] for a in assignments]
    attestations: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    incidents: list[dict[str, Any]] = []
    breaches: list[dict[str, Any]] = []
    if ids:
        attestations = await Attestation.select().where(Attestation.assignment.is_in(ids)).order_by(
            Attestation.attested_at).run()
        links = await AttestationLink.select(
            AttestationLink.id, AttestationLink.assignment, AttestationLink.created_at, AttestationLink.expires_at,
            AttestationLink.used_at,
        ).where(AttestationLink.assignment.is_in(ids)).order_by(AttestationLink.created_at).run()
        incidents = await Incident.select(*Incident.all_columns(), Incident.device.asset_tag.as_alias("asset_tag")
                                          ).where(Incident.assignment.is_in(ids)).order_by(Incident.occurred_at).run()
    if incidents:
        breaches = await BreachAssessment.select().where(
            BreachAssessment.incident.is_in([i["id"] for i in incidents])).order_by(BreachAssessment.due_at).run()
    emails = await OutboxMessage.select().where(_same_email('"outbox_message"."to_address"', email)).order_by(
        OutboxMessage.created_at).run()
    records = [str(r["id"]) for rows in (assignments, attestations, links, incidents, breaches, emails)
               for r in rows]
    entries = []
    if records:
        entries = await AccessLogEntry.select().where(AccessLogEntry.record_id.is_in(records)).order_by(
            AccessLogEntry.seq).run()
    return {"Assignments": assignments, "Attestations": attestations, "Attestation links": links,
            "Incidents": incidents, "Breach assessments": breaches, "Emails": emails, "Access log": entries}


async def export_person(caller: Caller, email: str, retention_months: int) -> PersonExport:
    """Everything held about the holder with ``email``, as a workbook; the export is logged."""
    email = _email(email)  # refused before the log: a mistyped address must not land in the log's detail
    reference = uuid.uuid4()
    async with access_log.audited(caller, "privacy_request.export", "privacy_request", reference,
                                  writes=False) as audit:
        policies.ANSWER_PRIVACY_REQUEST.check(caller)  # inside the audit: a refused request is logged too
        held = await _held_about(email)
        counts = {name: len(held[name]) for name, _, _ in xlsx.SHEETS}
        audit.details.append(", ".join(f"{n} {name.lower()}" for name, n in counts.items()))
        for row in held["Assignments"]:
            await access_log.append(caller, action="assignment.privacy_export", record_type="assignment",
                                    record_id=row["id"], provider_id=row["provider"], detail=f"request {reference}")
        content = xlsx.person_workbook(email, reference, datetime.now(UTC), retention_months, held)
        return PersonExport(reference, content, counts)


# --- retention ----------------------------------------------------------------------------------------


def retention_cutoff(today: date, months: int) -> date:
    """The latest return date whose retention period has ended by ``today``.

    A period ends on the same day of the month ``months`` later, or that month's last day when it is shorter
    (returned 31 January, one month: due 28 February). So on the last day of a month every later day of the
    earlier month is due too."""
    index = today.year * 12 + today.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    if today.day == calendar.monthrange(today.year, today.month)[1]:
        return date(year, month, last)
    return date(year, month, min(today.day, last))


def _came_back_by(cutoff: date) -> Any:
    """Returned on or before the cutoff; or, never returned (lost, stolen), closed on or before it (UTC)."""
    day_after = datetime.combine(cutoff + timedelta(days=1), time.min, UTC)
    return (Assignment.returned_on <= cutoff) | (
        Assignment.returned_on.is_null() & (Assignment.closed_at < day_after))


async def due_for_redaction(today: date, months: int) -> list[dict[str, Any]]:
    """Closed assignments not yet redacted whose device came back at least ``months`` before ``today``."""
    return await Assignment.select(
        Assignment.id, Assignment.provider, Assignment.returned_on, Assignment.closed_at, Assignment.holder_email,
        Assignment.device.asset_tag.as_alias("asset_tag"), Assignment.provider.name.as_alias("provider_name"),
    ).where(
        Assignment.redacted_at.is_null(), Assignment.open_device.is_null(), Assignment.closed_at.is_not_null(),
        _came_back_by(retention_cutoff(today, months)),
    ).order_by(Assignment.closed_at).order_by(Assignment.id).run()


def came_back_on(row: dict[str, Any]) -> date:
    return row["returned_on"] or row["closed_at"].astimezone(UTC).date()


REDACTED_ASSIGNMENT = {
    Assignment.holder_name: "", Assignment.holder_email: "", Assignment.holder_phone: "", Assignment.holder_role: "",
    Assignment.purpose: "", Assignment.return_condition: "", Assignment.wiped_by: "",
}
REDACTED_INCIDENT = {Incident.reported_by: "", Incident.location: "", Incident.description: ""}


async def _redact(caller: Caller, row: dict[str, Any], months: int) -> bool:
    """Redact one assignment and what hangs off it, with its log entry, in one transaction. False when another
    run got there first."""
    async with db.transaction():
        done = await Assignment.update({**REDACTED_ASSIGNMENT, Assignment.redacted_at: datetime.now(UTC)}).where(
            Assignment.id == row["id"], Assignment.redacted_at.is_null(), Assignment.open_device.is_null(),
        ).returning(Assignment.id).run()
        if not done:
            return False
        mail = await _forget_mail_to(row["holder_email"])
        attestations = await Attestation.update({Attestation.notes: ""}).where(
            Attestation.assignment == row["id"]).returning(Attestation.id).run()
        incidents = await Incident.update(REDACTED_INCIDENT).where(Incident.assignment == row["id"]).returning(
            Incident.id).run()
        if incidents:
            await BreachAssessment.update({BreachAssessment.notes: ""}).where(
                BreachAssessment.incident.is_in([i["id"] for i in incidents])).run()
        await access_log.append(
            caller, action="assignment.redact", record_type="assignment", record_id=row["id"],
            provider_id=row["provider"],
            detail=f"holder details removed {months} months after the device came back on {came_back_on(row)}; "
                   f"notes cleared on {len(attestations)} attestation(s) and {len(incidents)} incident(s); "
                   f"{mail} email(s) to the holder redacted",
        )
        return True


async def _forget_mail_to(email: str) -> int:
    """Redact the outbox's copies of mail to this holder once no unredacted assignment of theirs is left (they
    may still hold another device). Mail not yet sent goes: its reason went with the assignment."""
    if not email or await Assignment.exists().where(
            _same_email('"assignment"."holder_email"', email.lower()), Assignment.redacted_at.is_null()).run():
        return 0
    to_holder = _same_email('"outbox_message"."to_address"', email.lower())
    unsent = await OutboxMessage.delete().where(to_holder, OutboxMessage.sent_at.is_null()).returning(
        OutboxMessage.id).run()
    sent = await OutboxMessage.update({OutboxMessage.to_address: "", OutboxMessage.subject: "(redacted)",
                                       OutboxMessage.body: ""}).where(to_holder).returning(OutboxMessage.id).run()
    return len(unsent) + len(sent)


@dataclass(frozen=True)
class Retention:
    cutoff: date  # devices back on or before this day were due
    due: list[dict[str, Any]]
    redacted: int  # 0 on a dry run


async def apply_retention(today: date, months: int, *, dry_run: bool = False,
                          each: Callable[[list[dict[str, Any]]], Iterable[dict[str, Any]]] = iter) -> Retention:
    """Redact every assignment due on ``today``, one transaction each, so a run cut short keeps what it did and
    the next run carries on. ``each`` wraps the loop (the command line shows progress with it)."""
    due = await due_for_redaction(today, months)
    redacted = 0
    if not dry_run:
        caller = Caller.system("retention")
        for row in each(due):
            redacted += await _redact(caller, row, months)
    return Retention(retention_cutoff(today, months), due, redacted)
