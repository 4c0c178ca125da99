"""Attestations on SQLite and PostgreSQL: the emailed single-use link and the holder's page, in-person
attestations, the overdue list and who sees it, and `partner-audit attestations send`."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any

from partner_audit.devices.services import attestations
from partner_audit.devices.tables import Assignment, Attestation, AttestationLink
from partner_audit.outbox import service as outbox
from partner_audit.outbox.tables import OutboxMessage
from partner_audit.security.caller import Caller
from partner_audit.security.tables import AccessLogEntry
from tests.support.devices import checked_out
from tests.support.smtp import mail_settings
from tests.support.problems import is_problem

TODAY = date.today()
LINK = re.compile(r"http://127\.0\.0\.1:8000/attest/([A-Za-z0-9_-]+)")


def days_ago(n: int) -> str:
    return (TODAY - timedelta(days=n)).isoformat()


def overdue_assignment(world, tag: str, provider, name: str = "Mere Tawhiri", started_days_ago: int = 100):
    """A device held since ``started_days_ago`` days: past 90 days, its first attestation is overdue."""
    return checked_out(world, tag, provider, name, starts_on=days_ago(started_days_ago),
                       expected_return_on=(TODAY + timedelta(days=60)).isoformat())


def mailed_token(run, database, tmp_path, smtp_server, to: str) -> str:
    """Deliver the outbox through the test SMTP server and take the link from the holder's email."""
    settings = mail_settings(database, tmp_path, smtp_server.env())
    run(lambda: outbox.deliver_due(settings))
    [message] = [m for m in smtp_server.messages if m.rcpt_tos == [to]]
    return LINK.search(message.body).group(1)


def attestations_of(run, assignment_id) -> list[dict[str, Any]]:
    return run(lambda: Attestation.select().where(Attestation.assignment == assignment_id).run())


def overdue_ids(api) -> list[str]:
    r = api.get("/api/v1/attestations/overdue")
    assert r.status_code == 200, r.text
    return [item["assignment_id"] for item in r.json()["items"]]


def is_friendly_html(response) -> bool:
    return response.headers["content-type"].startswith("text/html") and "Traceback" not in response.text


def test_a_holder_attests_by_the_emailed_link(world, run, database, tmp_path, smtp_server, settings):
    device, assignment = overdue_assignment(world, "LT-0100", world.provider_a, "Aroha Ngata")
    world.partnerships.patch(f"/api/v1/devices/{device['id']}", json={"make": "Lenovo", "model": "ThinkPad T14"})
    # Another holder, at another provider: nothing of theirs may show on Aroha's page.
    other_device, other = overdue_assignment(world, "PH-0200", world.provider_b, "Tane Mahuta")
    assert assignment["id"] in overdue_ids(world.partnerships)

    r = world.partnerships.post(f"/api/v1/assignments/{assignment['id']}/attestation-link")
    assert r.status_code == 201, r.text
    issued = r.json()
    assert set(issued) == {"assignment_id", "expires_at", "outbox_message_id"}  # the link goes to the holder only
    assert datetime.fromisoformat(issued["expires_at"]).date() == TODAY + timedelta(days=7)

    token = mailed_token(run, database, tmp_path, smtp_server, "aroha.ngata@provider.example")
    [message] = smtp_server.messages
    assert message.subject == "Please confirm you still hold agency device LT-0100"
    assert "Kia ora Aroha Ngata" in message.body and "Lenovo ThinkPad T14" in message.body
    # Only a keyed hash is stored: the database alone cannot make a working link.
    [link] = run(lambda: AttestationLink.select().where(AttestationLink.assignment == assignment["id"]).run())
    assert link["token_hash"] == hmac.new(settings.secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()
    assert token not in str(link)
    outbox = world.admin.get("/api/v1/outbox").json()
    assert outbox["items"][0]["status"] == "sent" and token not in str(outbox)

    page = world.client.get(f"/attest/{token}")  # no sign-in
    assert page.status_code == 200 and is_friendly_html(page)
    assert "LT-0100" in page.text and "Lenovo ThinkPad T14" in page.text and "Aroha Ngata" in page.text
    for foreign in ("PH-0200", "Tane Mahuta", other["holder_email"], "Provider B", "021 555 0101",
                    assignment["holder_email"]):
        assert foreign not in page.text
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
    assert "<script" not in page.text and "http" not in page.text.replace("http-equiv", "")  # nothing external

    done = world.client.post(f"/attest/{token}", data={"holds_device": "yes", "authorised_use_only": "yes"})
    assert done.status_code == 200 and is_friendly_html(done) and "Thank you" in done.text
    [attestation] = attestations_of(run, assignment["id"])
    assert attestation["method"] == "link" and attestation["holds_device"] and attestation["authorised_use_only"]
    assert assignment["id"] not in overdue_ids(world.partnerships)
    assert other["id"] in overdue_ids(world.partnerships)
    logged = run(lambda: AccessLogEntry.select().where(AccessLogEntry.action == "attestation.by_link").run())
    assert [(e["record_id"], e["provider_id"]) for e in logged] == [
        (str(attestation["id"]), str(world.provider_a["id"]))]

    # A second press of the button, or the page opened again: a clear page, and still one attestation.
    again = world.client.post(f"/attest/{token}", data={"holds_device": "yes", "authorised_use_only": "yes"})
    assert again.status_code == 410 and is_friendly_html(again) and "already been used" in again.text
    reopened = world.client.get(f"/attest/{token}")
    assert reopened.status_code == 410 and "already been used" in reopened.text and "<form" not in reopened.text
    assert len(attestations_of(run, assignment["id"])) == 1


def test_unknown_expired_and_returned_links_get_a_clear_page(world, run, database, tmp_path, smtp_server):
    unknown = world.client.get("/attest/not-a-real-token")
    assert unknown.status_code == 404 and is_friendly_html(unknown) and "not valid" in unknown.text
    posted = world.client.post("/attest/not-a-real-token", data={"holds_device": "yes",
                                                                  "authorised_use_only": "yes"})
    assert posted.status_code == 404 and is_friendly_html(posted)

    device, assignment = overdue_assignment(world, "LT-0101", world.provider_a)
    world.partnerships.post(f"/api/v1/assignments/{assignment['id']}/attestation-link")
    token = mailed_token(run, database, tmp_path, smtp_server, assignment["holder_email"])
    run(lambda: AttestationLink.update({AttestationLink.expires_at: datetime.now(UTC) - timedelta(minutes=1)})
        .where(AttestationLink.assignment == assignment["id"]).run())
    expired = world.client.get(f"/attest/{token}")
    assert expired.status_code == 410 and is_friendly_html(expired) and "expired" in expired.text
    refused = world.client.post(f"/attest/{token}", data={"holds_device": "yes", "authorised_use_only": "yes"})
    assert refused.status_code == 410 and "expired" in refused.text
    assert attestations_of(run, assignment["id"]) == []

    _, returned = overdue_assignment(world, "LT-0102", world.provider_a, "Hemi Walker")
    world.partnerships.post(f"/api/v1/assignments/{returned['id']}/attestation-link")
    token = mailed_token(run, database, tmp_path, smtp_server, returned["holder_email"])
    r = world.partnerships.post(f"/api/v1/devices/{returned['device_id']}/check-in", json={
        "returned_on": TODAY.isoformat(), "condition": "Good", "data_wiped": True, "wiped_by": "IT"})
    assert r.status_code == 200, r.text
    page = world.client.get(f"/attest/{token}")
    assert page.status_code == 410 and is_friendly_html(page) and "returned" in page.text
    assert world.client.post(f"/attest/{token}", data={"holds_device": "yes", "authorised_use_only": "yes"}
                             ).status_code == 410
    assert attestations_of(run, returned["id"]) == []


def test_both_boxes_must_be_ticked(world, run, database, tmp_path, smtp_server):
    _, assignment = overdue_assignment(world, "LT-0103", world.provider_a)
    world.partnerships.post(f"/api/v1/assignments/{assignment['id']}/attestation-link")
    token = mailed_token(run, database, tmp_path, smtp_server, assignment["holder_email"])

    half = world.client.post(f"/attest/{token}", data={"holds_device": "yes"})
    assert half.status_code == 422 and is_friendly_html(half)
    assert "Tick both boxes" in half.text and "<form" in half.text
    assert attestations_of(run, assignment["id"]) == []
    done = world.client.post(f"/attest/{token}", data={"holds_device": "yes", "authorised_use_only": "yes"})
    assert done.status_code == 200 and len(attestations_of(run, assignment["id"])) == 1


def test_simultaneous_submits_of_one_link_record_one_attestation(world, run, database, tmp_path, smtp_server):
    _, assignment = overdue_assignment(world, "LT-0104", world.provider_a)
    world.partnerships.post(f"/api/v1/assignments/{assignment['id']}/attestation-link")
    token = mailed_token(run, database, tmp_path, smtp_server, assignment["holder_email"])

    async def five_tabs() -> list[attestations.LinkState]:
        views = await asyncio.gather(*(attestations.attest_by_link(Caller.anonymous(), token, True, True)
                                       for _ in range(5)))
        return sorted(v.state.value for v in views)

    assert run(five_tabs) == ["recorded", "used", "used", "used", "used"]
    assert len(attestations_of(run, assignment["id"])) == 1


def test_partnerships_record_an_attestation_in_person(world, run):
    _, assignment = overdue_assignment(world, "LT-0105", world.provider_a)
    url = f"/api/v1/assignments/{assignment['id']}/attestations"

    r = world.partnerships.post(url, json={"holds_device": True, "authorised_use_only": False})
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["authorised_use_only"]
    r = world.partnerships.post(url, json={"holds_device": True})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "authorised_use_only"
    for role in ("provider_admin", "provider_user", "auditor", "governance"):
        assert world.people[role].post(url, json={"holds_device": True, "authorised_use_only": True}
                                       ).status_code == 403, role
    assert attestations_of(run, assignment["id"]) == []

    r = world.partnerships.post(url, json={"holds_device": True, "authorised_use_only": True,
                                           "notes": "Seen at the quarterly review"})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["method"] == "in_person" and out["recorded_by"] == str(world.partnerships.user["id"])
    assert out["next_due_on"] == (TODAY + timedelta(days=90)).isoformat() and out["notes"] == "Seen at the quarterly review"
    assert assignment["id"] not in overdue_ids(world.partnerships)
    logged = run(lambda: AccessLogEntry.select().where(AccessLogEntry.action == "attestation.in_person").run())
    assert [e["record_id"] for e in logged if e["outcome"] == "success"] == [out["id"]]

    missing = "00000000-0000-4000-8000-000000000000"
    r = world.partnerships.post(f"/api/v1/assignments/{missing}/attestations",
                                json={"holds_device": True, "authorised_use_only": True})
    assert r.status_code == 404 and is_problem(r)
    world.partnerships.post(f"/api/v1/devices/{assignment['device_id']}/check-in", json={
        "returned_on": TODAY.isoformat(), "condition": "Good", "data_wiped": True, "wiped_by": "IT"})
    r = world.partnerships.post(url, json={"holds_device": True, "authorised_use_only": True})
    assert r.status_code == 409 and "closed" in r.json()["detail"]
    assert world.partnerships.post(f"/api/v1/assignments/{assignment['id']}/attestation-link").status_code == 409


def test_overdue_list_is_scoped_and_shows_holders_only_to_those_who_may_see_them(world, run):
    _, a_late = overdue_assignment(world, "LT-0106", world.provider_a, "Aroha Ngata", started_days_ago=95)
    _, b_late = overdue_assignment(world, "LT-0107", world.provider_b, "Tane Mahuta", started_days_ago=120)
    _, a_fresh = overdue_assignment(world, "LT-0108", world.provider_a, "Hemi Walker", started_days_ago=10)

    items = world.partnerships.get("/api/v1/attestations/overdue").json()
    assert [i["assignment_id"] for i in items["items"]] == [b_late["id"], a_late["id"]]  # most overdue first
    assert items["total"] == 2 and items["items"][0]["days_overdue"] == 30
    assert items["items"][1]["due_on"] == (TODAY - timedelta(days=5)).isoformat()
    assert items["items"][1]["holder_name"] == "Aroha Ngata" and items["items"][1]["holder_visible"] is True

    mine = world.provider_admin.get("/api/v1/attestations/overdue").json()["items"]
    assert [(i["assignment_id"], i["holder_name"]) for i in mine] == [(a_late["id"], "Aroha Ngata")]
    staff = world.provider_user.get("/api/v1/attestations/overdue").json()["items"]
    assert [(i["assignment_id"], i["holder_name"], i["holder_email"]) for i in staff] == [(a_late["id"], None, None)]
    b_sees = world.b_admin.get("/api/v1/attestations/overdue")
    assert [i["assignment_id"] for i in b_sees.json()["items"]] == [b_late["id"]]
    assert "Aroha" not in b_sees.text and "LT-0106" not in b_sees.text
    auditor = world.auditor.get("/api/v1/attestations/overdue").json()["items"]
    assert len(auditor) == 2 and all(i["holder_name"] is None for i in auditor)
    assert world.governance.get("/api/v1/attestations/overdue").status_code == 403
    assert a_fresh["id"] not in str(items)


def test_attestations_send_mails_each_due_holder_once(world, run, database, tmp_path, smtp_server):
    _, due_soon = overdue_assignment(world, "LT-0110", world.provider_a, "Due Soon", started_days_ago=85)
    _, overdue = overdue_assignment(world, "LT-0111", world.provider_b, "Long Overdue", started_days_ago=200)
    _, later = overdue_assignment(world, "LT-0112", world.provider_a, "Due Later", started_days_ago=30)
    _, has_link = overdue_assignment(world, "LT-0113", world.provider_a, "Has Link", started_days_ago=100)
    world.partnerships.post(f"/api/v1/assignments/{has_link['id']}/attestation-link")
    _, attested = overdue_assignment(world, "LT-0114", world.provider_a, "Just Attested", started_days_ago=100)
    world.partnerships.post(f"/api/v1/assignments/{attested['id']}/attestations",
                            json={"holds_device": True, "authorised_use_only": True})
    env = {**os.environ, "PA_VAR_DIR": str(tmp_path / "var"), "PA_DATABASE_URL": database.url,
           "PA_SECRET_KEY": "test-secret-key-" + "x" * 32}
    command = [sys.executable, "-m", "partner_audit.cli", "attestations", "send", "--within-days", "7"]

    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "2 attestation link(s) queued" in first.stdout, first.stdout
    assert "LT-0110: due" in first.stdout and "LT-0111: due" in first.stdout
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert "0 attestation link(s) queued" in second.stdout, second.stdout

    mail_settings_ = mail_settings(database, tmp_path, smtp_server.env())
    assert run(lambda: outbox.deliver_due(mail_settings_)).sent == 3  # two from the command, one from the API
    assert sorted(m.to for m in smtp_server.messages) == sorted(
        [due_soon["holder_email"], overdue["holder_email"], has_link["holder_email"]])
    assert later["holder_email"] not in str([m.to for m in smtp_server.messages])
    assert run(lambda: OutboxMessage.count().run()) == 3
    logged = run(lambda: AccessLogEntry.select(AccessLogEntry.email, AccessLogEntry.record_id).where(
        AccessLogEntry.action == "attestation.link_issued", AccessLogEntry.email == "system:attestations-send").run())
    assert sorted(e["record_id"] for e in logged) == sorted([due_soon["id"], overdue["id"]])
    assert run(lambda: Assignment.count().run()) == 5


def test_a_browser_gets_a_page_when_the_holder_page_refuses(client):
    """The portal's errors: a browser (it asks for text/html) reads a page in words, a script the problem document."""
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    bad = client.get("/attest/abc%00def", headers=browser)
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("text/html")
    assert "token" in bad.text and "<h1>" in bad.text
    forged = client.post("/attest/abc", data={"holds_device": "yes", "authorised_use_only": "yes"},
                         headers={**browser, "Origin": "https://elsewhere.example"})
    assert forged.status_code == 403 and forged.headers["content-type"].startswith("text/html")
    assert "Refused" in forged.text and "https://elsewhere.example" in forged.text
    assert "default-src 'self'" in forged.headers["content-security-policy"]  # a page: no script of anyone's runs
    script = client.get("/attest/abc%00def")
    assert script.status_code == 400 and script.headers["content-type"].startswith("application/problem+json")
