"""Step bindings for features/lost_device.feature: a lost phone becomes an incident and a privacy breach
assessment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pytest_bdd import given, parsers, scenarios, then, when

from tests.support.bdd import Journey, check_out, device_now, person_of, register_device
from tests.support.problems import problem

scenarios("lost_device.feature")


@given(parsers.parse('the partnerships officer has checked the phone "{tag}" out to "{name}" at provider {letter}'))
def phone_checked_out(world, devices, journey: Journey, tag: str, name: str, letter: str) -> None:
    register_device(world, devices, tag, "phone")
    check_out(world, devices, journey, tag, name, letter, "Client visits and messages")
    assert journey.response.status_code == 201, journey.response.text


def _report(world, devices, journey: Journey, person: str, tag: str, kind: str, hours: int, description: str = "",
            ) -> None:
    journey.response = person_of(world, person).post("/api/v1/incidents", json={
        "device_id": devices[tag]["id"], "kind": kind,
        "occurred_at": (datetime.now(UTC) - timedelta(hours=hours)).isoformat(),
        "reported_by": "Hine Walker, privacy lead", "location": "Number 18 bus, Wellington",
        "information_at_risk": "Client names and phone numbers in contacts and text messages",
        "description": description,
    })
    if journey.response.status_code == 201:
        devices["incident"] = journey.response.json()


@when(parsers.parse('the {person} reports "{tag}" lost {hours:d} hours ago on the bus, with client contact details '
                    'on it'))
def reports_lost(world, devices, journey: Journey, person: str, tag: str, hours: int) -> None:
    _report(world, devices, journey, person, tag, "lost", hours)
    assert journey.response.status_code == 201, journey.response.text


@when(parsers.parse('the {person} reports "{tag}" lost'))
def reports_lost_plainly(world, devices, journey: Journey, person: str, tag: str) -> None:
    _report(world, devices, journey, person, tag, "lost", 1)


@when(parsers.parse('the {person} reports a near miss with "{tag}": "{what}"'))
def reports_near_miss(world, devices, journey: Journey, person: str, tag: str, what: str) -> None:
    _report(world, devices, journey, person, tag, "near_miss", 2, what)
    assert journey.response.status_code == 201, journey.response.text


@then(parsers.parse('"{tag}" is marked "{status}" and held by no one'))
def marked(world, devices, tag: str, status: str) -> None:
    device = device_now(world, devices, tag)
    assert (device["status"], device["current_assignment"]) == (status, None), device


@then(parsers.parse('the assignment of "{tag}" to "{name}" is closed without a return date'))
def closed_without_return(world, devices, tag: str, name: str) -> None:
    assignment = world.partnerships.get(f"/api/v1/assignments/{devices[f'assignment:{tag}']['id']}").json()
    assert (assignment["holder_name"], assignment["open"], assignment["returned_on"]) == (name, False, None)
    assert assignment["closed_at"] is not None
    assert devices["incident"]["assignment_id"] == assignment["id"]


def _assessment_is_open(devices, days: int) -> dict[str, Any]:
    assessment = devices["incident"]["assessment"]
    assert (assessment["status"], assessment["overdue"]) == ("open", False), assessment
    reported = datetime.fromisoformat(devices["incident"]["reported_at"])
    assert datetime.fromisoformat(assessment["due_at"]) == reported + timedelta(days=days)
    return assessment


@then(parsers.parse("a breach assessment is open, due {days:d} days after the report, {hours:d} hours after the "
                    "incident"))
def assessment_open_with_clock(devices, days: int, hours: int) -> None:
    assessment = _assessment_is_open(devices, days)
    assert hours <= assessment["hours_since_incident"] < hours + 0.5, assessment


@then(parsers.parse("a breach assessment is open, due {days:d} days after the report"))
def assessment_open(devices, days: int) -> None:
    _assessment_is_open(devices, days)


@then(parsers.parse('"{tag}" cannot be checked out'))
def cannot_check_out(world, devices, journey: Journey, tag: str) -> None:
    check_out(world, devices, journey, tag, "Someone Else", "A", "anything")
    body = problem(journey.response, 409)
    assert body["errors"][0]["field"] == "status" and "lost" in body["detail"], body


def _assessment_url(devices) -> str:
    return f"/api/v1/breach-assessments/{devices['incident']['assessment']['id']}"


@when("the partnerships officer records that serious harm is likely")
def serious_harm(world, devices) -> None:
    r = world.partnerships.patch(_assessment_url(devices), json={"serious_harm_likely": True})
    assert r.status_code == 200, r.text


@then("the assessment cannot close until the Privacy Commissioner and the affected people are notified")
def cannot_close(world, devices) -> None:
    body = problem(world.partnerships.post(f"{_assessment_url(devices)}/close"), 422)
    assert [e["field"] for e in body["errors"]] == ["commissioner_notified_at", "individuals_notified_at"], body


@when("the partnerships officer records that both were notified")
def both_notified(world, devices) -> None:
    now = datetime.now(UTC).isoformat()
    r = world.partnerships.patch(_assessment_url(devices), json={
        "commissioner_notified_at": now, "individuals_notified_at": now,
        "notes": "Notified the Office of the Privacy Commissioner online; clients phoned"})
    assert r.status_code == 200, r.text


@when("the partnerships officer closes the assessment")
def closes(world, devices, journey: Journey) -> None:
    journey.response = world.partnerships.post(f"{_assessment_url(devices)}/close")
    assert journey.response.status_code == 200, journey.response.text


@then("the assessment is closed")
def is_closed(world, devices) -> None:
    assessment = world.partnerships.get(_assessment_url(devices)).json()
    assert (assessment["status"], assessment["serious_harm_likely"]) == ("closed", True), assessment


@then(parsers.re(r"the incident summary counts (?P<incidents>\d+) incidents? and (?P<near_misses>\d+) near miss(es)?"))
def summary_counts(world, incidents: str, near_misses: str) -> None:
    summary = world.partnerships.get("/api/v1/incidents/summary").json()
    assert (summary["incidents"], summary["near_misses"]) == (int(incidents), int(near_misses)), summary

