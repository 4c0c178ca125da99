"""Step bindings for features/registering_a_provider.feature: the agency registers, refuses and suspends
providers."""

from __future__ import annotations

from pytest_bdd import given, parsers, scenarios, then, when

from tests.support.bdd import (
    PASSWORD,
    PROVIDER_NAMES,
    Journey,
    email_of,
    person_of,
    provider_names,
    provider_of,
    sign_in,
)
from tests.support.problems import problem

scenarios("registering_a_provider.feature")


KINDS = {"iwi/Māori": "iwi_maori", "NGO": "ngo", "contractor": "contractor", "other": "other"}


REGISTERS = (
    r'the (?P<person>.+?) {verb} "(?P<name>[^"]+)", an? (?P<kind>.+?) provider in (?P<region>.+?) '
    r'at risk tier (?P<tier>\d), with NZBN "(?P<nzbn>[^"]*)"'
)


def _register(world, journey: Journey, person: str, name: str, kind: str, region: str, tier: str, nzbn: str):
    journey.actor = person
    journey.response = person_of(world, person).post("/api/v1/providers", json={
        "name": name, "nzbn": nzbn, "kind": KINDS[kind], "region": region, "risk_tier": int(tier),
    })
    return journey.response


@when(parsers.re(REGISTERS.format(verb="registers")))
def registers(world, journey: Journey, person: str, name: str, kind: str, region: str, tier: str, nzbn: str) -> None:
    _register(world, journey, person, name, kind, region, tier, nzbn)


@given(parsers.re(REGISTERS.format(verb="has registered")))
def has_registered(world, journey: Journey, person: str, name: str, kind: str, region: str, tier: str,
                   nzbn: str) -> None:
    response = _register(world, journey, person, name, kind, region, tier, nzbn)
    assert response.status_code == 201, response.text


@then(parsers.parse('the provider is registered with NZBN "{nzbn}" and status "{status}"'))
def provider_registered(world, journey: Journey, nzbn: str, status: str) -> None:
    assert journey.response.status_code == 201, journey.response.text
    created = journey.response.json()
    assert (created["nzbn"], created["status"]) == (nzbn, status)
    again = person_of(world, journey.actor).get(f"/api/v1/providers/{created['id']}")
    assert again.status_code == 200, again.text
    assert again.json() == created


@then(parsers.parse('"{name}" is in the provider list as "{status}"'))
def in_provider_list(world, name: str, status: str) -> None:
    response = world.partnerships.get("/api/v1/providers")
    assert response.status_code == 200, response.text
    listed = {p["name"]: p["status"] for p in response.json()["items"]}
    assert listed.get(name) == status, listed
    assert response.json()["total"] == 3


@then(parsers.parse('the registration is refused because the "{field}" field {reason}'))
def registration_refused(journey: Journey, field: str, reason: str) -> None:
    body = problem(journey.response, 422)
    messages = {e["field"]: e["message"] for e in body["errors"]}
    assert list(messages) == [field], body
    assert reason in messages[field], body


@then(parsers.parse('the registration is refused as a conflict because the "{field}" field {reason}'))
def registration_conflict(journey: Journey, field: str, reason: str) -> None:
    body = problem(journey.response, 409)
    assert body["errors"] == [{"field": field, "message": reason}], body


@then(parsers.parse('"{name}" is not in the provider list'))
def not_in_provider_list(world, name: str) -> None:
    assert sorted(provider_names(world.partnerships.get("/api/v1/providers"))) == sorted(PROVIDER_NAMES.values())


@when(parsers.parse('the {person} suspends provider {letter} because "{reason}"'))
def suspends(world, journey: Journey, person: str, letter: str, reason: str) -> None:
    journey.provider = provider_of(world, letter)
    journey.response = person_of(world, person).post(
        f"/api/v1/providers/{journey.provider['id']}/status", json={"status": "suspended", "reason": reason}
    )


@then(parsers.parse('provider {letter} is listed as "{status}"'))
def provider_listed_as(world, journey: Journey, letter: str, status: str) -> None:
    assert journey.response.status_code == 200, journey.response.text
    assert journey.response.json()["status"] == status
    listed = world.partnerships.get("/api/v1/providers", params={"status": status})
    assert provider_names(listed) == [PROVIDER_NAMES[letter]]


@then(parsers.parse("the {person} is turned away because their organisation's access is {status}"))
def turned_away(world, journey: Journey, person: str, status: str) -> None:
    # Whoever signed in through the browser is checked with that session; the others with their API token.
    caller = journey.browsers.get(person) or person_of(world, person)
    body = problem(caller.get("/api/v1/me"), 401)
    assert body["detail"] == f"Your organisation's access is {status}.", body


@then(parsers.parse('the {person} cannot sign in again: "{detail}"'))
def cannot_sign_in_again(world, person: str, detail: str) -> None:
    response, browser = sign_in(world.client, email_of(world, person), PASSWORD)
    body = problem(response, 401)
    assert body["detail"] == detail, body
    assert browser is None


@then(parsers.parse("the {person} still gets in"))
def still_gets_in(world, person: str) -> None:
    api = person_of(world, person)
    own = {None: None, **{p["id"]: p["name"] for p in (world.provider_a, world.provider_b)}}[api.user["provider"]]
    assert provider_names(api.get("/api/v1/providers")) == [own]

