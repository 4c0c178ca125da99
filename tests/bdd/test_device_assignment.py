"""Step bindings for features/device_assignment.feature: checking a device out to a provider's staff member
and in again, wiped."""

from __future__ import annotations

from datetime import date
from typing import Any

from pytest_bdd import given, parsers, scenarios, then, when

from tests.support.bdd import Journey, check_out, device_now, person_of, register_device
from tests.support.problems import problem

scenarios("device_assignment.feature")


@given(parsers.parse('the partnerships officer has registered the encrypted laptop "{tag}"'))
def registered_laptop(world, devices, tag: str) -> None:
    register_device(world, devices, tag, "laptop")


@when(parsers.parse('the partnerships officer checks "{tag}" out to "{name}" at provider {letter} for "{purpose}"'))
def checks_out(world, devices, journey: Journey, tag: str, name: str, letter: str, purpose: str) -> None:
    check_out(world, devices, journey, tag, name, letter, purpose)


@then(parsers.parse('the privacy lead at provider A sees "{name}" holding "{tag}"'))
def privacy_lead_sees_holder(world, devices, name: str, tag: str) -> None:
    current = world.provider_admin.get(f"/api/v1/devices/{devices[tag]['id']}").json()["current_assignment"]
    assert (current["holder_name"], current["holder_visible"]) == (name, True), current


@then(parsers.parse('the staff member at provider A sees "{tag}" but not who holds it'))
def staff_sees_device_only(world, devices, tag: str) -> None:
    r = world.provider_user.get("/api/v1/devices")
    assert [d["asset_tag"] for d in r.json()["items"]] == [tag], r.text
    current = r.json()["items"][0]["current_assignment"]
    assert current["holder_visible"] is False
    assert current["holder_name"] is current["holder_email"] is current["holder_phone"] is None
    assert devices[f"assignment:{tag}"]["holder_email"] not in r.text


@then(parsers.parse('the system owner finds each look at who holds "{tag}" in the access log'))
def holder_reads_logged(world, devices, tag: str) -> None:
    assignment = devices[f"assignment:{tag}"]
    r = world.admin.get("/api/v1/access-log", params={"action": "assignment.holder_read",
                                                      "record_id": assignment["id"]})
    assert r.status_code == 200, r.text
    entries = r.json()["items"]
    readers = {e["email"] for e in entries}
    assert readers == {world.partnerships.user["email"], world.provider_admin.user["email"]}, entries
    assert {e["provider_id"] for e in entries} == {str(world.provider_a["id"])}


@when(parsers.parse('the {person} opens "{tag}"'))
def opens_device(world, devices, journey: Journey, person: str, tag: str) -> None:
    journey.response = person_of(world, person).get(f"/api/v1/devices/{devices[tag]['id']}")


@given(parsers.parse('"{tag}" is checked out to "{name}" at provider {letter}'))
def is_checked_out(world, devices, journey: Journey, tag: str, name: str, letter: str) -> None:
    check_out(world, devices, journey, tag, name, letter, "Home visit case notes")
    assert journey.response.status_code == 201, journey.response.text


def _check_in(world, devices, journey: Journey, tag: str, **body: Any) -> None:
    journey.response = world.partnerships.post(f"/api/v1/devices/{devices[tag]['id']}/check-in", json={
        "returned_on": date.today().isoformat(), **body})


@when(parsers.parse('the partnerships officer checks "{tag}" in, in "{condition}" condition, with the personal data '
                    'wiped by "{wiped_by}"'))
def checks_in(world, devices, journey: Journey, tag: str, condition: str, wiped_by: str) -> None:
    _check_in(world, devices, journey, tag, condition=condition, data_wiped=True, wiped_by=wiped_by)
    assert journey.response.status_code == 200, journey.response.text


@when(parsers.parse('the partnerships officer checks "{tag}" in saying the data was wiped but not by whom'))
def checks_in_without_wiper(world, devices, journey: Journey, tag: str) -> None:
    _check_in(world, devices, journey, tag, condition="good", data_wiped=True)


@then(parsers.parse('the check-in is refused, naming the field "{field}"'))
def check_in_refused(journey: Journey, field: str) -> None:
    body = problem(journey.response, 422)
    assert [e["field"] for e in body["errors"]] == [field], body


@then(parsers.parse('the check-out is refused because "{tag}" is {status}'))
def check_out_refused(journey: Journey, tag: str, status: str) -> None:
    body = problem(journey.response, 409)
    assert body["errors"] == [{"field": "status", "message": f"is {status}"}], body
    assert tag in body["detail"]


@then(parsers.parse('"{tag}" is back in stock'))
def back_in_stock(world, devices, tag: str) -> None:
    device = device_now(world, devices, tag)
    assert (device["status"], device["current_assignment"]) == ("in_stock", None), device


@then(parsers.parse('the history of "{tag}" shows "{name}" returned it, the personal data wiped by "{wiped_by}"'))
def history_shows_return(world, devices, tag: str, name: str, wiped_by: str) -> None:
    history = world.partnerships.get(f"/api/v1/devices/{devices[tag]['id']}/history").json()
    (assignment,) = history["assignments"]
    assert (assignment["holder_name"], assignment["returned_on"], assignment["data_wiped"],
            assignment["wiped_by"]) == (name, date.today().isoformat(), True, wiped_by), assignment
    assert assignment["open"] is False

