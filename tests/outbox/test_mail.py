"""Outgoing email through a real SMTP server (aiosmtpd, started by the tests), on SQLite and PostgreSQL:
each message is sent once however many senders run, failures are retried with back-off, and a message that
cannot be delivered is kept, visible to admins, without its body."""

from __future__ import annotations

import asyncio
import os
import signal
import ssl
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.support.problems import is_problem
from tests.support.smtp import SmtpServer, free_port, mail_settings
from partner_audit import db
from partner_audit.outbox import service as outbox
from partner_audit.outbox.schemas import Status
from partner_audit.outbox.tables import OutboxMessage


def enqueue(run, to: str, subject: str, body: str = "Hello", send_after: datetime | None = None):
    async def work():
        async with db.transaction():
            return await outbox.enqueue(to, subject, body, send_after)

    return run(work)


def row(run, message_id) -> dict[str, Any]:
    return run(lambda: OutboxMessage.select().where(OutboxMessage.id == message_id).first().run())


def at(value: datetime) -> datetime:
    """Timestamps read back from either database, compared in UTC."""
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def test_a_message_is_delivered_once_with_what_was_enqueued(client, run, database, tmp_path, smtp_server):
    settings = mail_settings(database, tmp_path, smtp_server.env())
    message_id = enqueue(run, "holder@provider.example", "Please confirm you hold laptop LT-001",
                         "Open https://audit.example/attest/abc within 7 days.\n")

    assert run(lambda: outbox.deliver_due(settings)) == outbox.Delivery(sent=1)
    assert run(lambda: outbox.deliver_due(settings)) == outbox.Delivery()  # nothing is due twice

    [got] = smtp_server.messages
    assert got.rcpt_tos == ["holder@provider.example"]
    assert got.to == "holder@provider.example"
    assert got.subject == "Please confirm you hold laptop LT-001"
    assert got.body == "Open https://audit.example/attest/abc within 7 days.\n"
    assert str(got.message["From"]) == "devices@agency.example"
    assert str(got.message["Message-ID"]) == f"<{message_id}@partner-audit>"
    stored = row(run, message_id)
    assert stored["sent_at"] is not None and stored["claimed_until"] is None and stored["attempts"] == 0
    assert outbox.status_of(stored) is Status.sent


def test_a_message_exists_only_if_the_change_that_caused_it_committed(client, run, database, tmp_path, smtp_server):
    settings = mail_settings(database, tmp_path, smtp_server.env())

    async def change_that_fails():
        async with db.transaction():
            await outbox.enqueue("holder@provider.example", "About a change that will not happen", "body")
            raise RuntimeError("the change failed after the message was enqueued")

    with pytest.raises(RuntimeError):
        run(change_that_fails)
    assert run(lambda: OutboxMessage.count().run()) == 0
    assert run(lambda: outbox.deliver_due(settings)) == outbox.Delivery()
    assert smtp_server.messages == []


def test_a_line_break_in_a_header_is_refused_at_enqueue(client, run):
    with pytest.raises(ValueError, match="line break"):
        enqueue(run, "holder@provider.example", "Hello\r\nBcc: everyone@example.org")
    with pytest.raises(ValueError, match="line break"):
        enqueue(run, "holder@provider.example\nBcc: x@example.org", "Hello")
    assert run(lambda: OutboxMessage.count().run()) == 0


def test_a_message_waits_for_its_send_after(client, run, database, tmp_path, smtp_server):
    settings = mail_settings(database, tmp_path, smtp_server.env())
    now = datetime.now(UTC)
    enqueue(run, "later@provider.example", "Tomorrow", send_after=now + timedelta(days=1))

    assert run(lambda: outbox.deliver_due(settings, now=now)) == outbox.Delivery()
    assert run(lambda: outbox.deliver_due(settings, now=now + timedelta(days=1, seconds=1))) == outbox.Delivery(sent=1)
    assert [m.subject for m in smtp_server.messages] == ["Tomorrow"]


def test_two_senders_on_one_loop_deliver_each_message_exactly_once(client, run, database, tmp_path):
    server = SmtpServer(delay=0.01).start()  # slow enough that the senders' batches overlap
    try:
        settings = mail_settings(database, tmp_path, server.env())
        subjects = [f"message {i:03}" for i in range(40)]
        for subject in subjects:
            enqueue(run, "holder@provider.example", subject)

        async def sender() -> int:
            sent = 0
            while (result := await outbox.deliver_due(settings, batch=5)).claimed:
                sent += result.sent
            return sent

        async def two_senders() -> list[int]:
            return list(await asyncio.gather(sender(), sender()))

        per_sender = run(two_senders)
        assert sum(per_sender) == 40 and all(per_sender), per_sender  # both worked, and nothing twice
        assert Counter(m.subject for m in server.messages) == Counter(subjects)
    finally:
        server.stop()


def test_two_sender_processes_deliver_each_message_exactly_once(client, run, database, tmp_path):
    server = SmtpServer(delay=0.02).start()
    try:
        settings = mail_settings(database, tmp_path, server.env())
        subjects = [f"message {i:03}" for i in range(90)]
        for subject in subjects:
            enqueue(run, "holder@provider.example", subject)
        env = {**os.environ, "PA_VAR_DIR": str(settings.var_dir), "PA_DATABASE_URL": database.url,
               "PA_SECRET_KEY": settings.secret_key, **server.env()}
        command = [sys.executable, "-m", "partner_audit.cli", "send-mail", "--once"]
        processes = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for _ in range(2)]
        outputs = [p.communicate(timeout=120) for p in processes]

        assert [p.returncode for p in processes] == [0, 0], outputs
        sent = sorted(int(out.split()[1].rstrip(",")) for out, _ in outputs)
        # One pass takes at most 50 each: 90 messages need both processes, and neither sent another's.
        assert sum(sent) == 90 and sent[0] >= 40, outputs
        assert Counter(m.subject for m in server.messages) == Counter(subjects)
        assert run(lambda: OutboxMessage.count().where(OutboxMessage.sent_at.is_null()).run()) == 0
    finally:
        server.stop()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_send_mail_keeps_delivering_until_stopped(client, run, database, tmp_path, smtp_server, stop):
    settings = mail_settings(database, tmp_path, smtp_server.env())
    enqueue(run, "holder@provider.example", "Delivered by the long-running sender")
    env = {**os.environ, "PA_VAR_DIR": str(settings.var_dir), "PA_DATABASE_URL": database.url,
           "PA_SECRET_KEY": settings.secret_key, **smtp_server.env()}
    process = subprocess.Popen([sys.executable, "-m", "partner_audit.cli", "send-mail"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not smtp_server.messages and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.1)
        assert [m.subject for m in smtp_server.messages] == ["Delivered by the long-running sender"]
        assert process.poll() is None  # still running, waiting for more mail
    finally:
        process.send_signal(stop)  # likely while it records the message as sent: that pass must finish
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "sending mail through 127.0.0.1" in out and "sender stopped" in out
    assert run(lambda: OutboxMessage.count().where(OutboxMessage.sent_at.is_null()).run()) == 0


def test_smtp_down_is_retried_with_backoff_then_delivered(client, run, database, tmp_path):
    port = free_port()  # nothing listens here yet
    settings = mail_settings(database, tmp_path, {"PA_SMTP_HOST": "127.0.0.1", "PA_SMTP_PORT": str(port),
                                                  "PA_SMTP_TLS": "none"})
    message_id = enqueue(run, "holder@provider.example", "Waiting for the mail server")
    t0 = datetime.now(UTC)

    assert run(lambda: outbox.deliver_due(settings, now=t0)) == outbox.Delivery(retrying=1)
    first = row(run, message_id)
    assert first["attempts"] == 1 and "ConnectionRefusedError" in first["last_error"]
    assert at(first["send_after"]) == t0 + timedelta(minutes=2)
    assert first["claimed_until"] is None and first["sent_at"] is None
    assert outbox.status_of(first) is Status.retrying

    # Within the back-off nothing is tried; after it, a second failure doubles the wait.
    assert run(lambda: outbox.deliver_due(settings, now=t0 + timedelta(minutes=1))) == outbox.Delivery()
    t1 = t0 + timedelta(minutes=2)
    assert run(lambda: outbox.deliver_due(settings, now=t1)) == outbox.Delivery(retrying=1)
    second = row(run, message_id)
    assert second["attempts"] == 2 and at(second["send_after"]) == t1 + timedelta(minutes=4)

    server = SmtpServer(port).start()
    try:
        assert run(lambda: outbox.deliver_due(settings, now=t1 + timedelta(minutes=4))) == outbox.Delivery(sent=1)
        assert [m.subject for m in server.messages] == ["Waiting for the mail server"]
        assert outbox.status_of(row(run, message_id)) is Status.sent
    finally:
        server.stop()


def test_backoff_doubles_up_to_six_hours():
    assert [outbox.backoff(n) for n in (1, 2, 3)] == [timedelta(minutes=2), timedelta(minutes=4), timedelta(minutes=8)]
    assert outbox.backoff(8) == timedelta(minutes=256)
    assert outbox.backoff(9) == outbox.backoff(100) == timedelta(hours=6)


def test_a_message_is_given_up_after_the_last_attempt_and_admins_see_it_without_its_body(
        client, run, database, tmp_path, world):
    settings = mail_settings(database, tmp_path, {"PA_SMTP_HOST": "127.0.0.1", "PA_SMTP_PORT": str(free_port()),
                                                  "PA_SMTP_TLS": "none"})
    message_id = enqueue(run, "holder@provider.example", "Never arrives", "secret link /attest/SECRET-TOKEN")
    now = datetime.now(UTC)
    results = []
    for _ in range(outbox.MAX_ATTEMPTS):
        results.append(run(lambda: outbox.deliver_due(settings, now=now)))
        now = at(row(run, message_id)["send_after"])
    assert results[-1] == outbox.Delivery(failed=1)
    assert all(r == outbox.Delivery(retrying=1) for r in results[:-1])
    failed = row(run, message_id)
    assert failed["attempts"] == outbox.MAX_ATTEMPTS and outbox.status_of(failed) is Status.failed
    assert run(lambda: outbox.deliver_due(settings, now=now + timedelta(days=30))) == outbox.Delivery()

    listed = world.admin.get("/api/v1/outbox", params={"status": "failed"})
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert item["id"] == str(message_id) and item["status"] == "failed"
    assert item["to_address"] == "holder@provider.example" and item["subject"] == "Never arrives"
    assert item["attempts"] == outbox.MAX_ATTEMPTS and "ConnectionRefusedError" in item["last_error"]
    assert "body" not in item and "SECRET-TOKEN" not in listed.text
    assert world.admin.get("/api/v1/outbox", params={"status": "sent"}).json()["total"] == 0
    assert world.admin.get("/api/v1/outbox").json()["total"] == 1
    bad = world.admin.get("/api/v1/outbox", params={"status": "lost"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "status"
    for role in ("partnerships", "auditor", "governance", "provider_admin", "provider_user"):
        refused = world.people[role].get("/api/v1/outbox")
        assert refused.status_code == 403, (role, refused.text)
        assert is_problem(refused)
    log = world.admin.get("/api/v1/access-log", params={"action": "outbox.list"}).json()
    assert log["total"] == 3  # each admin read of the recipients is logged


def test_a_message_claimed_by_a_sender_that_died_is_sent_after_its_lease(client, run, database, tmp_path,
                                                                         smtp_server):
    settings = mail_settings(database, tmp_path, smtp_server.env())
    message_id = enqueue(run, "holder@provider.example", "Claimed by a process that then died")
    now = datetime.now(UTC)
    # What a sender leaves behind when it dies between claiming and recording.
    run(lambda: OutboxMessage.update({OutboxMessage.claimed_until: now + outbox.LEASE})
        .where(OutboxMessage.id == message_id).run())

    assert run(lambda: outbox.deliver_due(settings, now=now)) == outbox.Delivery()
    assert run(lambda: outbox.deliver_due(settings, now=now + outbox.LEASE + timedelta(seconds=1))) == \
        outbox.Delivery(sent=1)
    assert len(smtp_server.messages) == 1


@pytest.fixture(scope="module")
def certificate_authority(tmp_path_factory) -> tuple[trustme.CA, Path]:
    ca = trustme.CA()
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, path


@pytest.mark.parametrize("tls", ["starttls", "tls"])
# aiosmtpd warns when AUTH is offered outside STARTTLS: with implicit TLS the whole connection is encrypted.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_tls_and_login(client, run, database, tmp_path, monkeypatch, certificate_authority, tls):
    ca, ca_file = certificate_authority
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = SmtpServer(tls=tls, context=context, login=("mailer", "mail password")).start()
    # The sender trusts the system's CAs; here the system's CAs are the test's own.
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    try:
        settings = mail_settings(database, tmp_path, server.env(), PA_SMTP_USER="mailer",
                                 PA_SMTP_PASSWORD="mail password")
        enqueue(run, "holder@provider.example", f"Over {tls}")
        assert run(lambda: outbox.deliver_due(settings)) == outbox.Delivery(sent=1)
        assert [m.subject for m in server.messages] == [f"Over {tls}"]
        assert server.logins == ["mailer"]

        wrong = mail_settings(database, tmp_path, server.env(), PA_SMTP_USER="mailer", PA_SMTP_PASSWORD="wrong")
        message_id = enqueue(run, "holder@provider.example", "With the wrong password")
        assert run(lambda: outbox.deliver_due(wrong)) == outbox.Delivery(retrying=1)
        assert "SMTPAuthenticationError" in row(run, message_id)["last_error"]
        assert len(server.messages) == 1
    finally:
        server.stop()


def test_send_mail_without_an_smtp_host_says_so(database, tmp_path):
    env = {**os.environ, "PA_VAR_DIR": str(tmp_path), "PA_DATABASE_URL": database.url, "PA_SMTP_HOST": ""}
    done = subprocess.run([sys.executable, "-m", "partner_audit.cli", "send-mail", "--once"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "PA_SMTP_HOST is not set" in done.stderr


def test_mail_settings_are_checked_at_start_up(tmp_path):
    from partner_audit.settings import SettingsError, load_settings

    base = {"PA_VAR_DIR": str(tmp_path), "PA_SECRET_KEY": "x" * 40}
    assert [load_settings({**base, "PA_SMTP_TLS": mode}).smtp_port for mode in ("none", "starttls", "tls")] == [
        25, 587, 465]
    assert load_settings({**base, "PA_SMTP_TLS": "tls", "PA_SMTP_PORT": "2465"}).smtp_port == 2465
    assert load_settings({**base, "PA_HOST": "0.0.0.0", "PA_PORT": "9000"}).public_url == "http://0.0.0.0:9000"
    assert load_settings({**base, "PA_PUBLIC_URL": "https://audit.example.govt.nz/"}).public_url == \
        "https://audit.example.govt.nz"
    with pytest.raises(SettingsError, match="PA_SMTP_TLS='ssl'"):
        load_settings({**base, "PA_SMTP_TLS": "ssl"})
    with pytest.raises(SettingsError, match="PA_PUBLIC_URL"):
        load_settings({**base, "PA_PUBLIC_URL": "audit.example.govt.nz"})
