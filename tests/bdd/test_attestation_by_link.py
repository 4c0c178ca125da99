"""Step bindings for attesting by link (features/attestation_by_link.feature): the email goes through the outbox
to a real SMTP server the tests start, and the holder uses the page behind the link with no sign-in."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from tests.support.databases import make_settings
from partner_audit.outbox import service as outbox
from partner_audit.devices.tables import AttestationLink

scenarios("attestation_by_link.feature")

LINK = re.compile(r"https?://\S+/attest/([A-Za-z0-9_-]+)")


@pytest.fixture
def holder() -> dict[str, Any]:
    """What the scenario knows: the device, its assignment, the holder's email, the page last seen."""
    return {}


def _email(name: str) -> str:
    return name.lower().replace(" ", ".") + "@provider.example"


@given(parsers.parse('the laptop "{tag}" has been with "{name}" at provider {letter} for {days:d} days'))
def laptop_held(world, holder, tag: str, name: str, letter: str, days: int) -> None:
    provider = {"A": world.provider_a, "B": world.provider_b}[letter]
    r = world.partnerships.post("/api/v1/devices", json={
        "asset_tag": tag, "kind": "laptop", "make": "Lenovo", "model": "ThinkPad T14", "encrypted": True})
    assert r.status_code == 201, r.text
    holder["device"] = r.json()
    r = world.partnerships.post(f"/api/v1/devices/{holder['device']['id']}/check-out", json={
        "provider_id": str(provider["id"]), "holder_name": name, "holder_email": _email(name),
        "purpose": "Home visit case notes", "starts_on": (date.today() - timedelta(days=days)).isoformat()})
    assert r.status_code == 201, r.text
    holder["assignment"] = r.json()


def _overdue_tags(world) -> list[str]:
    r = world.partnerships.get("/api/v1/attestations/overdue")
    assert r.status_code == 200, r.text
    return [item["asset_tag"] for item in r.json()["items"]]


@then(parsers.parse('"{tag}" is listed as owing an attestation'))
def owes(world, tag: str) -> None:
    assert tag in _overdue_tags(world)


@then(parsers.parse('"{tag}" no longer owes an attestation'))
def owes_no_more(world, tag: str) -> None:
    assert tag not in _overdue_tags(world)


@when(parsers.parse('the partnerships officer asks "{name}" to attest for "{tag}"'))
def asks_to_attest(world, holder, name: str, tag: str) -> None:
    assert holder["assignment"]["holder_name"] == name and holder["device"]["asset_tag"] == tag
    r = world.partnerships.post(f"/api/v1/assignments/{holder['assignment']['id']}/attestation-link")
    assert r.status_code == 201, r.text


@when("the outbox is delivered")
def outbox_delivered(run, database, tmp_path, smtp_server) -> None:
    settings = make_settings(database, tmp_path, **smtp_server.env())
    assert run(lambda: outbox.deliver_due(settings)).sent == 1


@then(parsers.parse('"{name}" has an email asking her to confirm she holds "{tag}"'))
def has_email(holder, smtp_server, name: str, tag: str) -> None:
    [message] = smtp_server.messages
    assert message.rcpt_tos == [_email(name)]
    assert tag in message.subject and f"Kia ora {name}" in message.body
    holder["token"] = LINK.search(message.body).group(1)


@when(parsers.parse('"{name}" opens the link in the email'))
def opens_link(world, holder, smtp_server, name: str) -> None:
    if "token" not in holder:
        has_email(holder, smtp_server, name, holder["device"]["asset_tag"])
    holder["page"] = world.client.get(f"/attest/{holder['token']}")  # no sign-in: the link is all she has


def _page(holder, status: int) -> str:
    page = holder["page"]
    assert page.status_code == status, page.text
    assert page.headers["content-type"].startswith("text/html")
    return page.text


@then(parsers.parse('she sees "{tag}" and is asked to confirm she holds it and uses it only for authorised work'))
def sees_form(holder, tag: str) -> None:
    text = _page(holder, 200)
    assert tag in text and "ThinkPad T14" in text
    assert 'name="holds_device"' in text and 'name="authorised_use_only"' in text


@when("she confirms both")
def confirms(world, holder) -> None:
    holder["page"] = world.client.post(f"/attest/{holder['token']}",
                                       data={"holds_device": "yes", "authorised_use_only": "yes"})


@then("she is thanked")
def thanked(holder) -> None:
    assert "Thank you" in _page(holder, 200)


@then("the system owner finds the attestation by link in the access log")
def logged(world, holder) -> None:
    r = world.admin.get("/api/v1/access-log", params={"action": "attestation.by_link"})
    [entry] = r.json()["items"]
    assert entry["provider_id"] == str(world.provider_a["id"])
    assert holder["assignment"]["id"] in entry["detail"]


@then("she is told the link has already been used")
def already_used(holder) -> None:
    text = _page(holder, 410)
    assert "already been used" in text and "<form" not in text


@when(parsers.parse("{days:d} days pass"))
def days_pass(run, holder, days: int) -> None:
    # The clock cannot be moved, so the link's expiry is moved back by the same amount instead.
    run(lambda: AttestationLink.update({
        AttestationLink.expires_at: AttestationLink.expires_at - timedelta(days=days)}).where(
        AttestationLink.assignment == holder["assignment"]["id"]).run())
    assert run(lambda: AttestationLink.select().first().run())["expires_at"] < datetime.now(UTC)


@then("she is told the link has expired and to ask for a new one")
def expired(holder) -> None:
    text = _page(holder, 410)
    assert "expired" in text and "send you a new one" in text and "<form" not in text
