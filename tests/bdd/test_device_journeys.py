"""Step bindings for the device journeys: checking a device out and in (features/device_assignment.feature), and
a lost phone becoming an incident and a breach assessment (features/lost_device.feature)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from bdd_support import Journey, assert_problem, person_key, provider_of
from pytest_bdd import given, parsers, scenarios, then, when

scenarios("device_assignment.feature", "lost_device.feature")


@pytest.fixture
def register() -> dict[str, Any]:
    """What the scenario knows of its devices: asset tag -> device; "assignment:<tag>" -> its assignment."""
    return {}


def _api(world, person: str):
    return world.people[person_key(person)]


def _device(world, register: dict[str, Any], tag: str) -> dict[str, Any]:
    """The device as the agency sees it now."""
    r = world.partnerships.get(f"/api/v1/devices/{register[tag]['id']}")
    assert r.status_code == 200, r.text
    return r.json()


def _register_device(world, register: dict[str, Any], tag: str, kind: str) -> None:
    r = world.partnerships.post("/api/v1/devices", json={
        "asset_tag": tag, "kind": kind, "make": "Lenovo" if kind == "laptop" else "Samsung",
        "model": "ThinkPad T14" if kind == "laptop" else "Galaxy A55", "encrypted": True, "mdm_enrolled": True})
    assert r.status_code == 201, r.text
    register[tag] = r.json()


def _check_out(world, register: dict[str, Any], journey: Journey, tag: str, name: str, letter: str,
               purpose: str) -> None:
    journey.response = world.partnerships.post(f"/api/v1/devices/{register[tag]['id']}/check-out", json={
        "provider_id": str(provider_of(world, letter)["id"]), "holder_name": name,
        "holder_email": name.lower().replace(" ", ".") + "@provider.example", "holder_phone": "021 555 0142",
        "holder_role": "Whānau support worker", "purpose": purpose, "systems": ["Case management", "Email"],
        "starts_on": date.today().isoformat(), "expected_return_on": (date.today() + timedelta(days=90)).isoformat(),
    })
    if journey.response.status_code == 201:
        register[f"assignment:{tag}"] = journey.response.json()


# --- check out and check in ------------------------------------------------------------------------


@given(parsers.parse('the partnerships officer has registered the encrypted laptop "{tag}"'))
def registered_laptop(world, register, tag: str) -> None:
    _register_device(world, register, tag, "laptop")


@given(parsers.parse('the partnerships officer has checked the phone "{tag}" out to "{name}" at provider {letter}'))
def phone_checked_out(world, register, journey: Journey, tag: str, name: str, letter: str) -> None:
    _register_device(world, register, tag, "phone")
    _check_out(world, register, journey, tag, name, letter, "Client visits and messages")
    assert journey.response.status_code == 201, journey.response.text


@given(parsers.parse('"{tag}" is checked out to "{name}" at provider {letter}'))
def is_checked_out(world, register, journey: Journey, tag: str, name: str, letter: str) -> None:
    _check_out(world, register, journey, tag, name, letter, "Home visit case notes")
    assert journey.response.status_code == 201, journey.response.text


@when(parsers.parse('the partnerships officer checks "{tag}" out to "{name}" at provider {letter} for "{purpose}"'))
def checks_out(world, register, journey: Journey, tag: str, name: str, letter: str, purpose: str) -> None:
    _check_out(world, register, journey, tag, name, letter, purpose)


@then(parsers.parse('"{tag}" is assigned to provider {letter}'))
def assigned_to(world, register, tag: str, letter: str) -> None:
    device = _device(world, register, tag)
    assert device["status"] == "assigned", device
    assert device["current_assignment"]["provider_id"] == str(provider_of(world, letter)["id"])


@then(parsers.parse('the privacy lead at provider A sees "{name}" holding "{tag}"'))
def privacy_lead_sees_holder(world, register, name: str, tag: str) -> None:
    current = world.provider_admin.get(f"/api/v1/devices/{register[tag]['id']}").json()["current_assignment"]
    assert (current["holder_name"], current["holder_visible"]) == (name, True), current


@then(parsers.parse('the staff member at provider A sees "{tag}" but not who holds it'))
def staff_sees_device_only(world, register, tag: str) -> None:
    r = world.provider_user.get("/api/v1/devices")
    assert [d["asset_tag"] for d in r.json()["items"]] == [tag], r.text
    current = r.json()["items"][0]["current_assignment"]
    assert current["holder_visible"] is False
    assert current["holder_name"] is current["holder_email"] is current["holder_phone"] is None
    assert register[f"assignment:{tag}"]["holder_email"] not in r.text


@then(parsers.parse('the system owner finds each look at who holds "{tag}" in the access log'))
def holder_reads_logged(world, register, tag: str) -> None:
    assignment = register[f"assignment:{tag}"]
    r = world.admin.get("/api/v1/access-log", params={"action": "assignment.holder_read",
                                                      "record_id": assignment["id"]})
    assert r.status_code == 200, r.text
    entries = r.json()["items"]
    readers = {e["email"] for e in entries}
    assert readers == {world.partnerships.user["email"], world.provider_admin.user["email"]}, entries
    assert {e["provider_id"] for e in entries} == {str(world.provider_a["id"])}


@when(parsers.parse('the {person} opens "{tag}"'))
def opens_device(world, register, journey: Journey, person: str, tag: str) -> None:
    journey.response = _api(world, person).get(f"/api/v1/devices/{register[tag]['id']}")


def _check_in(world, register, journey: Journey, tag: str, **body: Any) -> None:
    journey.response = world.partnerships.post(f"/api/v1/devices/{register[tag]['id']}/check-in", json={
        "returned_on": date.today().isoformat(), **body})


@when(parsers.parse('the partnerships officer checks "{tag}" in, in "{condition}" condition, with the personal data '
                    'wiped by "{wiped_by}"'))
def checks_in(world, register, journey: Journey, tag: str, condition: str, wiped_by: str) -> None:
    _check_in(world, register, journey, tag, condition=condition, data_wiped=True, wiped_by=wiped_by)
    assert journey.response.status_code == 200, journey.response.text


@when(parsers.parse('the partnerships officer checks "{tag}" in saying the data was wiped but not by whom'))
def checks_in_without_wiper(world, register, journey: Journey, tag: str) -> None:
    _check_in(world, register, journey, tag, condition="good", data_wiped=True)


@then(parsers.parse('the check-in is refused, naming the field "{field}"'))
def check_in_refused(journey: Journey, field: str) -> None:
    body = assert_problem(journey.response, 422)
    assert [e["field"] for e in body["errors"]] == [field], body


@then(parsers.parse('the check-out is refused because "{tag}" is {status}'))
def check_out_refused(journey: Journey, tag: str, status: str) -> None:
    body = assert_problem(journey.response, 409)
    assert body["errors"] == [{"field": "status", "message": f"is {status}"}], body
    assert tag in body["detail"]


@then(parsers.parse('"{tag}" is back in stock'))
def back_in_stock(world, register, tag: str) -> None:
    device = _device(world, register, tag)
    assert (device["status"], device["current_assignment"]) == ("in_stock", None), device


@then(parsers.parse('the history of "{tag}" shows "{name}" returned it, the personal data wiped by "{wiped_by}"'))
def history_shows_return(world, register, tag: str, name: str, wiped_by: str) -> None:
    history = world.partnerships.get(f"/api/v1/devices/{register[tag]['id']}/history").json()
    (assignment,) = history["assignments"]
    assert (assignment["holder_name"], assignment["returned_on"], assignment["data_wiped"],
            assignment["wiped_by"]) == (name, date.today().isoformat(), True, wiped_by), assignment
    assert assignment["open"] is False


# --- a lost phone ----------------------------------------------------------------------------------


def _report(world, register, journey: Journey, person: str, tag: str, kind: str, hours: int, description: str = "",
            ) -> None:
    journey.response = _api(world, person).post("/api/v1/incidents", json={
        "device_id": register[tag]["id"], "kind": kind,
        "occurred_at": (datetime.now(UTC) - timedelta(hours=hours)).isoformat(),
        "reported_by": "Hine Walker, privacy lead", "location": "Number 18 bus, Wellington",
        "information_at_risk": "Client names and phone numbers in contacts and text messages",
        "description": description,
    })
    if journey.response.status_code == 201:
        register["incident"] = journey.response.json()


@when(parsers.parse('the {person} reports "{tag}" lost {hours:d} hours ago on the bus, with client contact details '
                    'on it'))
def reports_lost(world, register, journey: Journey, person: str, tag: str, hours: int) -> None:
    _report(world, register, journey, person, tag, "lost", hours)
    assert journey.response.status_code == 201, journey.response.text


@when(parsers.parse('the {person} reports "{tag}" lost'))
def reports_lost_plainly(world, register, journey: Journey, person: str, tag: str) -> None:
    _report(world, register, journey, person, tag, "lost", 1)


@when(parsers.parse('the {person} reports a near miss with "{tag}": "{what}"'))
def reports_near_miss(world, register, journey: Journey, person: str, tag: str, what: str) -> None:
    _report(world, register, journey, person, tag, "near_miss", 2, what)
    assert journey.response.status_code == 201, journey.response.text


@then(parsers.parse('"{tag}" is marked "{status}" and held by no one'))
def marked(world, register, tag: str, status: str) -> None:
    device = _device(world, register, tag)
    assert (device["status"], device["current_assignment"]) == (status, None), device


@then(parsers.parse('the assignment of "{tag}" to "{name}" is closed without a return date'))
def closed_without_return(world, register, tag: str, name: str) -> None:
    assignment = world.partnerships.get(f"/api/v1/assignments/{register[f'assignment:{tag}']['id']}").json()
    assert (assignment["holder_name"], assignment["open"], assignment["returned_on"]) == (name, False, None)
    assert assignment["closed_at"] is not None
    assert register["incident"]["assignment_id"] == assignment["id"]


def _assessment_is_open(register, days: int) -> dict[str, Any]:
    assessment = register["incident"]["assessment"]
    assert (assessment["status"], assessment["overdue"]) == ("open", False), assessment
    reported = datetime.fromisoformat(register["incident"]["reported_at"])
    assert datetime.fromisoformat(assessment["due_at"]) == reported + timedelta(days=days)
    return assessment


@then(parsers.parse("a breach assessment is open, due {days:d} days after the report, {hours:d} hours after the "
                    "incident"))
def assessment_open_with_clock(register, days: int, hours: int) -> None:
    assessment = _assessment_is_open(register, days)
    assert hours <= assessment["hours_since_incident"] < hours + 0.5, assessment


@then(parsers.parse("a breach assessment is open, due {days:d} days after the report"))
def assessment_open(register, days: int) -> None:
    _assessment_is_open(register, days)


@then(parsers.parse('"{tag}" cannot be checked out'))
def cannot_check_out(world, register, journey: Journey, tag: str) -> None:
    _check_out(world, register, journey, tag, "Someone Else", "A", "anything")
    body = assert_problem(journey.response, 409)
    assert body["errors"][0]["field"] == "status" and "lost" in body["detail"], body


def _assessment_url(register) -> str:
    return f"/api/v1/breach-assessments/{register['incident']['assessment']['id']}"


@when("the partnerships officer records that serious harm is likely")
def serious_harm(world, register) -> None:
    r = world.partnerships.patch(_assessment_url(register), json={"serious_harm_likely": True})
    assert r.status_code == 200, r.text


@then("the assessment cannot close until the Privacy Commissioner and the affected people are notified")
def cannot_close(world, register) -> None:
    body = assert_problem(world.partnerships.post(f"{_assessment_url(register)}/close"), 422)
    assert [e["field"] for e in body["errors"]] == ["commissioner_notified_at", "individuals_notified_at"], body


@when("the partnerships officer records that both were notified")
def both_notified(world, register) -> None:
    now = datetime.now(UTC).isoformat()
    r = world.partnerships.patch(_assessment_url(register), json={
        "commissioner_notified_at": now, "individuals_notified_at": now,
        "notes": "Notified the Office of the Privacy Commissioner online; clients phoned"})
    assert r.status_code == 200, r.text


@when("the partnerships officer closes the assessment")
def closes(world, register, journey: Journey) -> None:
    journey.response = world.partnerships.post(f"{_assessment_url(register)}/close")
    assert journey.response.status_code == 200, journey.response.text


@then("the assessment is closed")
def is_closed(world, register) -> None:
    assessment = world.partnerships.get(_assessment_url(register)).json()
    assert (assessment["status"], assessment["serious_harm_likely"]) == ("closed", True), assessment


@then(parsers.re(r"the incident summary counts (?P<incidents>\d+) incidents? and (?P<near_misses>\d+) near miss(es)?"))
def summary_counts(world, incidents: str, near_misses: str) -> None:
    summary = world.partnerships.get("/api/v1/incidents/summary").json()
    assert (summary["incidents"], summary["near_misses"]) == (int(incidents), int(near_misses)), summary
