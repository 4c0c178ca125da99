"""Step bindings for features/lost_device.feature: a lost phone becomes an incident and a privacy breach
assessment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pytest_bdd import given, parsers, scenarios, then, when

from partner_audit.devices.tables import BreachAssessment, Incident
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


def _assessment_is_open(devices, hours: int) -> dict[str, Any]:
    assessment = devices["incident"]["assessment"]
    assert (assessment["status"], assessment["overdue"]) == ("open", False), assessment
    reported = datetime.fromisoformat(devices["incident"]["reported_at"])
    assert datetime.fromisoformat(assessment["due_at"]) == reported + timedelta(hours=hours)
    (clock,) = assessment["clocks"]
    assert (clock["name"], clock["due_at"], clock["overdue"]) == ("assessment", assessment["due_at"], False)
    assert clock["rule"].startswith("as soon as practicable (Privacy Act 2020 s 114)"), clock
    return assessment


@then(parsers.parse("a breach assessment is open, its decision due {due:d} hours after the report, {hours:d} hours "
                    "after the incident"))
def assessment_open_with_clock(devices, due: int, hours: int) -> None:
    assessment = _assessment_is_open(devices, due)
    assert hours <= assessment["hours_since_incident"] < hours + 0.5, assessment


@then(parsers.parse("a breach assessment is open, its decision due {due:d} hours after the report"))
def assessment_open(devices, due: int) -> None:
    _assessment_is_open(devices, due)


@then(parsers.parse('"{tag}" cannot be checked out'))
def cannot_check_out(world, devices, journey: Journey, tag: str) -> None:
    check_out(world, devices, journey, tag, "Someone Else", "A", "anything")
    body = problem(journey.response, 409)
    assert body["errors"][0]["field"] == "status" and "lost" in body["detail"], body


def _assessment_url(devices) -> str:
    return f"/api/v1/breach-assessments/{devices['incident']['assessment']['id']}"


MATTERS = {
    "action taken to reduce the harm": "harm_reduction_action",
    "how sensitive the information is": "information_sensitivity",
    "the nature of the harm": "nature_of_harm",
    "who has or may obtain the information": "recipients",
    "the security protecting it": "security_protection",
}


@when("the partnerships officer says serious harm is likely before weighing the section 113 matters")
def decides_too_soon(world, devices, journey: Journey) -> None:
    journey.response = world.partnerships.patch(_assessment_url(devices), json={"serious_harm_likely": True})


@then("they are asked to record each of the five section 113 matters first")
def asked_for_matters(world, devices, journey: Journey) -> None:
    body = problem(journey.response, 422)
    assert [e["field"] for e in body["errors"]] == list(MATTERS.values()), body
    assert "s 113(a), the action taken to reduce the risk of harm" in body["detail"]
    assessment = world.partnerships.get(_assessment_url(devices)).json()
    assert assessment["serious_harm_likely"] is None and assessment["missing_matters"] == list(MATTERS.values())


@when("the partnerships officer records the section 113 matters:")
def records_matters(world, devices, datatable) -> None:
    header, *rows = datatable
    r = world.partnerships.patch(_assessment_url(devices), json={MATTERS[matter]: found for matter, found in rows})
    assert r.status_code == 200, r.text
    assert r.json()["missing_matters"] == [] and r.json()["serious_harm_likely"] is None


@when("the partnerships officer records that serious harm is likely")
def serious_harm(world, devices) -> None:
    r = world.partnerships.patch(_assessment_url(devices), json={"serious_harm_likely": True})
    assert r.status_code == 200, r.text
    devices["assessment"] = r.json()


@then(parsers.parse("the notification clock is running, due {hours:d} hours after serious harm was judged likely"))
def notification_clock(devices, hours: int) -> None:
    assessment = devices["assessment"]
    judged = datetime.fromisoformat(assessment["notifiable_at"])
    assert judged == datetime.fromisoformat(assessment["assessed_at"])
    assert datetime.fromisoformat(assessment["notification_due_at"]) == judged + timedelta(hours=hours)
    deciding, notifying = assessment["clocks"]
    assert (deciding["name"], deciding["stopped_at"], deciding["overdue"]) == (
        "assessment", assessment["assessed_at"], False)
    assert (notifying["name"], notifying["starts_at"], notifying["due_at"], notifying["stopped_at"]) == (
        "notification", assessment["notifiable_at"], assessment["notification_due_at"], None)
    assert hours - 0.2 <= notifying["hours_left"] <= hours and "72 hours" in notifying["rule"], notifying


@then("recording the decision again leaves the notification clock where it was")
def clock_not_restarted(world, devices) -> None:
    again = world.partnerships.patch(_assessment_url(devices), json={"serious_harm_likely": True}).json()
    first = devices["assessment"]
    assert (again["notifiable_at"], again["notification_due_at"], again["assessed_at"]) == (
        first["notifiable_at"], first["notification_due_at"], first["assessed_at"])


@then("the assessment cannot close until it is recorded who notifies and when the Privacy Commissioner and the "
      "affected people were notified")
def cannot_close(world, devices) -> None:
    body = problem(world.partnerships.post(f"{_assessment_url(devices)}/close"), 422)
    assert [e["field"] for e in body["errors"]] == ["held_as_agent", "commissioner_notified_at",
                                                    "individuals_notified_at"], body


@when(parsers.parse("the partnerships officer records that provider {letter} held the information as the agency's "
                    "agent"))
def held_as_agent(world, devices, letter: str) -> None:
    r = world.partnerships.patch(_assessment_url(devices), json={"held_as_agent": True})
    assert r.status_code == 200, r.text
    devices["assessment"] = r.json()


@then("the agency is the one to notify")
def agency_notifies(devices) -> None:
    assert (devices["assessment"]["held_as_agent"], devices["assessment"]["notifier"]) == (True, "agency")


def _clocks_back(world, devices, hours: int) -> None:
    """As if ``hours`` had passed: every time the assessment's clocks run from moves back by that much."""
    assessment_id = devices["incident"]["assessment"]["id"]

    async def move() -> None:
        (row,) = await BreachAssessment.select().where(BreachAssessment.id == assessment_id).run()
        back = timedelta(hours=hours)
        await BreachAssessment.update({
            column: row[column._meta.name] - back for column in (
                BreachAssessment.due_at, BreachAssessment.assessed_at, BreachAssessment.notifiable_at,
                BreachAssessment.notification_due_at) if row[column._meta.name] is not None
        }).where(BreachAssessment.id == assessment_id).run()
        incident = devices["incident"]["id"]
        (found,) = await Incident.select(Incident.reported_at, Incident.occurred_at).where(Incident.id == incident).run()
        await Incident.update({Incident.reported_at: found["reported_at"] - back,
                               Incident.occurred_at: found["occurred_at"] - back}).where(Incident.id == incident).run()

    world.run(move)


@when(parsers.parse("{hours:d} hours pass with no decision on serious harm"))
def hours_pass_undecided(world, devices, hours: int) -> None:
    _clocks_back(world, devices, hours)


@when(parsers.parse("{hours:d} hours pass with neither the Privacy Commissioner nor the affected people notified"))
def hours_pass_unnotified(world, devices, hours: int) -> None:
    _clocks_back(world, devices, hours)


@then("the assessment is overdue for its decision")
def overdue_decision(world, devices) -> None:
    assessment = world.partnerships.get(_assessment_url(devices)).json()
    assert (assessment["overdue"], assessment["assessment_overdue"], assessment["notification_overdue"]) == (
        True, True, False), assessment
    assert assessment["clocks"][0]["hours_left"] < 0
    listed = world.partnerships.get("/api/v1/breach-assessments", params={"overdue": "true"}).json()
    assert [a["id"] for a in listed["items"]] == [assessment["id"]]


@then("the assessment is overdue for notification")
def overdue_notification(world, devices) -> None:
    assessment = world.partnerships.get(_assessment_url(devices)).json()
    assert (assessment["overdue"], assessment["assessment_overdue"], assessment["notification_overdue"]) == (
        True, False, True), assessment
    assert [c["overdue"] for c in assessment["clocks"]] == [False, True]
    listed = world.partnerships.get("/api/v1/breach-assessments", params={"overdue": "true"}).json()
    assert [a["id"] for a in listed["items"]] == [assessment["id"]]
    assert world.partnerships.get("/api/v1/breach-assessments", params={"overdue": "false"}).json()["total"] == 0


@then(parsers.re(r"the governance member sees (?P<decisions>\d+) overdue assessments? and (?P<notices>\d+) overdue "
                 r"notifications? in the incident summary"))
def governance_summary(world, decisions: str, notices: str) -> None:
    r = world.governance.get("/api/v1/incidents/summary")
    assert r.status_code == 200, r.text
    summary = r.json()
    assert (summary["overdue_assessments"], summary["overdue_notifications"]) == (int(decisions), int(notices))
    assert summary["incidents"] == 1 and summary["serious_harm"] == (1 if int(notices) else 0)


@then("the governance member cannot read the breach assessment itself")
def governance_no_detail(world, devices) -> None:
    problem(world.governance.get(_assessment_url(devices)), 403)
    problem(world.governance.get("/api/v1/incidents"), 403)


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

