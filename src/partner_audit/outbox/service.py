"""Outgoing email: messages are written to the outbox in the same transaction as the change that causes them
(``enqueue``), a sender delivers them over SMTP (``deliver_due``), and admins see what went out (``list_outbox``).

HTTP-free, so the services and the ``send-mail`` command that enqueue and deliver mail do not depend on the web
layer."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from partner_audit import db
from partner_audit.api import Paging
from partner_audit.outbox.schemas import Status
from partner_audit.outbox.tables import OutboxMessage
from partner_audit.security import policies
from partner_audit.security.caller import Caller
from partner_audit.security.tenancy import page_of
from partner_audit.settings import Settings


# --- sending ---------------------------------------------------------------------------------------

MAX_ATTEMPTS = 10  # with the back-off below, about a day of SMTP trouble before a message is given up
MAX_BACKOFF = timedelta(hours=6)
# How long a sender owns the messages it claimed: longer than a batch can take (SMTP_TIMEOUT per message), so
# another process takes a message over only when its first sender died mid-batch.
LEASE = timedelta(minutes=30)
SMTP_TIMEOUT = 30  # seconds for connecting and for each SMTP command
POLL_SECONDS = 15  # how often `partner-audit send-mail` looks for due messages when the outbox is empty

log = logging.getLogger(__name__)


def status_of(row: dict[str, Any]) -> Status:
    if row["sent_at"] is not None:
        return Status.sent
    if row["attempts"] >= MAX_ATTEMPTS:
        return Status.failed
    return Status.retrying if row["attempts"] else Status.queued


def _status_clause(status: Status) -> Any:
    t = OutboxMessage
    return {
        Status.sent: t.sent_at.is_not_null(),
        Status.failed: t.sent_at.is_null() & (t.attempts >= MAX_ATTEMPTS),
        Status.retrying: t.sent_at.is_null() & (t.attempts > 0) & (t.attempts < MAX_ATTEMPTS),
        Status.queued: t.sent_at.is_null() & (t.attempts == 0),
    }[status]


async def enqueue(to: str, subject: str, body: str, send_after: datetime | None = None) -> uuid.UUID:
    """Put a message in the outbox. Call inside the caller's ``db.transaction()``: the message then exists
    only if the change that caused it committed, and the sender never mails about a change rolled back."""
    if any(c in to + subject for c in "\r\n"):
        raise ValueError("a mail header cannot hold a line break")  # it would let text add headers
    message_id = uuid.uuid4()
    row = OutboxMessage(id=message_id, to_address=to, subject=subject, body=body)
    if send_after is not None:
        row.send_after = send_after
    await OutboxMessage.insert(row).run()
    return message_id


@dataclass(frozen=True)
class Delivery:
    """What one pass of the sender did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0  # given up on in this pass

    @property
    def claimed(self) -> int:
        return self.sent + self.retrying + self.failed


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after ``attempts`` failures: 2, 4, 8 ... minutes, at most six hours."""
    return min(timedelta(minutes=2 ** min(attempts, 20)), MAX_BACKOFF)


async def _claim(now: datetime, batch: int) -> list[dict[str, Any]]:
    """Take up to ``batch`` due messages for this process alone, until ``now + LEASE``."""
    t = OutboxMessage
    due = (
        t.sent_at.is_null() & (t.attempts < MAX_ATTEMPTS) & (t.send_after <= now)
        & (t.claimed_until.is_null() | (t.claimed_until < now))
    )
    async with db.transaction():
        if db.is_sqlite():
            # The IMMEDIATE transaction holds SQLite's write lock, so no other sender runs between the
            # select and the update; the update's own condition and RETURNING still say what was taken.
            ids = [r["id"] for r in await t.select(t.id).where(due).order_by(t.send_after).limit(batch).run()]
            if not ids:
                return []
            claimed = await t.update({t.claimed_until: now + LEASE}).where(t.id.is_in(ids), due).returning(t.id).run()
            ids = [r["id"] for r in claimed]
        else:
            # SKIP LOCKED: concurrent senders each take different rows instead of queueing behind each other.
            rows = await t.raw(
                "SELECT id FROM outbox_message WHERE sent_at IS NULL AND attempts < {} AND send_after <= {} "
                "AND (claimed_until IS NULL OR claimed_until < {}) ORDER BY send_after LIMIT {} "
                "FOR UPDATE SKIP LOCKED",
                MAX_ATTEMPTS, now, now, batch,
            ).run()
            ids = [r["id"] for r in rows]
            if not ids:
                return []
            await t.update({t.claimed_until: now + LEASE}).where(t.id.is_in(ids)).run()
    return await t.select().where(t.id.is_in(ids)).order_by(t.send_after).run()


def _smtp(settings: Settings) -> smtplib.SMTP:
    if settings.smtp_host is None:
        raise RuntimeError("PA_SMTP_HOST is not set")
    if settings.smtp_tls == "tls":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT,
                                              context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT)
        if settings.smtp_tls == "starttls":
            smtp.starttls(context=ssl.create_default_context())
    if settings.smtp_user:
        smtp.login(settings.smtp_user, settings.smtp_password or "")
    return smtp


def _email(settings: Settings, row: dict[str, Any]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = row["to_address"]
    message["Subject"] = row["subject"]
    message["Date"] = formatdate(localtime=False)
    # The outbox id: a receiving system can spot a copy re-sent after a sender died mid-batch.
    message["Message-ID"] = f"<{row['id']}@partner-audit>"
    message.set_content(row["body"])
    return message


def _send_all(settings: Settings, rows: list[dict[str, Any]]) -> list[str | None]:
    """Send over one SMTP connection (run in a thread: smtplib blocks). Returns each message's error or None."""
    try:
        smtp = _smtp(settings)
    except (OSError, smtplib.SMTPException, RuntimeError) as exc:
        return [_reason(exc)] * len(rows)
    errors: list[str | None] = []
    try:
        for row in rows:
            try:
                smtp.send_message(_email(settings, row))
                errors.append(None)
            except smtplib.SMTPServerDisconnected as exc:
                # The connection is gone: every message not yet sent fails with the same reason.
                errors.extend([_reason(exc)] * (len(rows) - len(errors)))
                break
            except (OSError, smtplib.SMTPException, ValueError) as exc:
                errors.append(_reason(exc))
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return errors


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


async def deliver_due(settings: Settings, now: datetime | None = None, batch: int = 50) -> Delivery:
    """One pass of the sender: claim due messages, send them, record each outcome.

    Safe to run in several processes at once: a message is claimed by one of them only. A process that dies
    between the SMTP server's acceptance and recording it leaves the message to be sent again after LEASE:
    delivery is at least once, and the Message-ID lets a receiver drop the copy.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    rows = await _claim(now, batch)
    if not rows:
        return Delivery()
    errors = await asyncio.to_thread(_send_all, settings, rows)
    sent = retrying = failed = 0
    t = OutboxMessage
    async with db.transaction():
        for row, error in zip(rows, errors, strict=True):
            if error is None:
                sent += 1
                await t.update({t.sent_at: datetime.now(UTC), t.claimed_until: None}).where(t.id == row["id"]).run()
                continue
            attempts = row["attempts"] + 1
            if attempts >= MAX_ATTEMPTS:
                failed += 1
                log.error("giving up on outbox message %s after %d attempts: %s", row["id"], attempts, error)
            else:
                retrying += 1
                log.warning("outbox message %s not sent (attempt %d): %s", row["id"], attempts, error)
            await t.update({
                t.attempts: attempts, t.last_error: error, t.claimed_until: None,
                t.send_after: now + backoff(attempts),
            }).where(t.id == row["id"]).run()
    return Delivery(sent, retrying, failed)


async def run_sender(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Deliver for as long as the process runs: a full batch is followed at once by the next one."""
    stop = stop or asyncio.Event()
    while not stop.is_set():
        result = await deliver_due(settings)
        if result.claimed:
            log.info("outbox: sent %d, will retry %d, gave up %d", result.sent, result.retrying, result.failed)
            continue
        try:
            await asyncio.wait_for(stop.wait(), POLL_SECONDS)
        except TimeoutError:
            pass


# --- the outbox as admins see it --------------------------------------------------------------------


async def list_outbox(caller: Caller, status: Status | None, paging: Paging) -> tuple[list[dict[str, Any]], int]:
    """Newest first, without bodies: they hold single-use links. Recipients are personal information: logged."""
    policies.READ_OUTBOX.check(caller)
    t = OutboxMessage
    columns = [t.id, t.to_address, t.subject, t.created_at, t.send_after, t.attempts, t.last_error, t.sent_at]
    return await page_of(caller, paging, t.select(*columns), t.count(), action="outbox.list",
                         record_type="outbox_message", where=[] if status is None else [_status_clause(status)],
                         order_by=[(t.created_at, False)], details=[] if status is None else [f"status={status.value}"],
                         present=lambda rows: [{**r, "status": status_of(r)} for r in rows])
