"""Step bindings for the foundation journeys: signing in, registering a provider, and a provider's people
seeing only their own organisation (features/signing_in.feature, registering_a_provider.feature,
provider_privacy.feature)."""

from __future__ import annotations

import uuid

from bdd_support import (
    PASSWORD,
    PROVIDER_NAMES,
    Journey,
    assert_problem,
    email_of,
    person_key,
    provider_of,
    sign_in,
)
from pytest_bdd import given, parsers, scenarios, then, when

from partner_audit.security.middleware import SESSION_COOKIE

scenarios("signing_in.feature", "registering_a_provider.feature", "provider_privacy.feature")

KINDS = {"iwi/Māori": "iwi_maori", "NGO": "ngo", "contractor": "contractor", "other": "other"}


def _names(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [p["name"] for p in response.json()["items"]]


# --- signing in ----------------------------------------------------------------------------------------


@when(parsers.parse("the {person} signs in with their password"))
def signs_in(world, journey: Journey, person: str) -> None:
    journey.actor = person
    journey.response, browser = sign_in(world.client, email_of(world, person), PASSWORD)
    if browser:
        journey.browsers[person] = browser


@when(parsers.parse('the {person} signs in with the password "{password}"'))
def signs_in_with(world, journey: Journey, person: str, password: str) -> None:
    journey.actor = person
    journey.response, browser = sign_in(world.client, email_of(world, person), password)
    if browser:
        journey.browsers[person] = browser


@when(parsers.parse('someone signs in as "{email}" with the password "{password}"'))
def someone_signs_in(world, journey: Journey, email: str, password: str) -> None:
    journey.actor = None
    journey.response, _ = sign_in(world.client, email, password)


@then(parsers.parse('they are signed in as "{full_name}" with the role "{role}"'))
def signed_in_as(journey: Journey, full_name: str, role: str) -> None:
    response = journey.response
    assert response.status_code == 200, response.text
    user = response.json()["user"]
    assert (user["full_name"], user["role"]) == (full_name, role)
    assert "password_hash" not in user
    # The session lives in a cookie that page scripts cannot read and other sites cannot send.
    set_cookie = response.headers["set-cookie"].lower()
    assert set_cookie.startswith(f"{SESSION_COOKIE}=") and "httponly" in set_cookie and "samesite=strict" in set_cookie
    assert journey.actor in journey.browsers


@then("they can see the list of providers")
def can_see_providers(journey: Journey) -> None:
    response = journey.browsers[journey.actor].get("/api/v1/providers")
    assert sorted(_names(response)) == sorted(PROVIDER_NAMES.values())


@then(parsers.parse('the sign-in is refused with "{detail}"'))
def sign_in_refused(journey: Journey, detail: str) -> None:
    body = assert_problem(journey.response, 401)
    assert body["detail"] == detail, body
    assert SESSION_COOKIE not in journey.response.cookies


@then("they cannot see the list of providers")
def cannot_see_providers(world, journey: Journey) -> None:
    assert journey.actor not in journey.browsers
    body = assert_problem(world.client.get("/api/v1/providers"), 401)
    assert body["detail"].startswith("Sign in first"), body


@then(parsers.parse('the system owner finds the refused sign-in for "{email}" in the access log'))
def refused_sign_in_logged(world, email: str) -> None:
    response = world.admin.get("/api/v1/access-log", params={"action": "auth.login", "outcome": "denied"})
    assert response.status_code == 200, response.text
    # The entry names the account by id: the log never keeps what was typed as the email.
    account = world.admin.get("/api/v1/users", params={"q": email}).json()["items"][0]
    assert account["id"] in [entry["record_id"] for entry in response.json()["items"]], response.json()


@when("they sign out")
def they_sign_out(journey: Journey) -> None:
    journey.response = journey.browsers[journey.actor].post("/api/v1/auth/logout")


@then("their old session no longer gets them in")
def old_session_refused(journey: Journey) -> None:
    assert journey.response.status_code == 204, journey.response.text
    # The browser is told to drop the cookie ...
    assert journey.response.cookies.get(SESSION_COOKIE, "") == ""
    # ... and a copy of it kept anyway is refused by the server.
    body = assert_problem(journey.browsers[journey.actor].get("/api/v1/me"), 401)
    assert body["detail"] == "Your sign-in is not valid or has ended. Sign in again.", body


@then("signing in again with their password works")
def signs_in_again(world, journey: Journey) -> None:
    response, browser = sign_in(world.client, email_of(world, journey.actor), PASSWORD)
    assert response.status_code == 200, response.text
    me = browser.get("/api/v1/me")
    assert me.status_code == 200, me.text
    assert me.json()["email"] == email_of(world, journey.actor)


# --- registering a provider ----------------------------------------------------------------------------

REGISTERS = (
    r'the (?P<person>.+?) {verb} "(?P<name>[^"]+)", an? (?P<kind>.+?) provider in (?P<region>.+?) '
    r'at risk tier (?P<tier>\d), with NZBN "(?P<nzbn>[^"]*)"'
)


def _register(world, journey: Journey, person: str, name: str, kind: str, region: str, tier: str, nzbn: str):
    journey.actor = person
    journey.response = world.people[person_key(person)].post("/api/v1/providers", json={
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
    again = world.people[person_key(journey.actor)].get(f"/api/v1/providers/{created['id']}")
    assert again.status_code == 200, again.text
    assert again.json() == created


@then(parsers.parse('"{name}" is in the provider list as "{status}"'))
def in_provider_list(world, name: str, status: str) -> None:
    response = world.partnerships.get("/api/v1/providers")
    assert response.status_code == 200, response.text
    listed = {p["name"]: p["status"] for p in response.json()["items"]}
    assert listed.get(name) == status, listed
    assert response.json()["total"] == 3


@then(parsers.parse('the registration is refused because the "{field}" field {problem}'))
def registration_refused(journey: Journey, field: str, problem: str) -> None:
    body = assert_problem(journey.response, 422)
    messages = {e["field"]: e["message"] for e in body["errors"]}
    assert list(messages) == [field], body
    assert problem in messages[field], body


@then(parsers.parse('the registration is refused as a conflict because the "{field}" field {problem}'))
def registration_conflict(journey: Journey, field: str, problem: str) -> None:
    body = assert_problem(journey.response, 409)
    assert body["errors"] == [{"field": field, "message": problem}], body


@then(parsers.parse('"{name}" is not in the provider list'))
def not_in_provider_list(world, name: str) -> None:
    assert sorted(_names(world.partnerships.get("/api/v1/providers"))) == sorted(PROVIDER_NAMES.values())


@when(parsers.parse('the {person} suspends provider {letter} because "{reason}"'))
def suspends(world, journey: Journey, person: str, letter: str, reason: str) -> None:
    journey.provider = provider_of(world, letter)
    journey.response = world.people[person_key(person)].post(
        f"/api/v1/providers/{journey.provider['id']}/status", json={"status": "suspended", "reason": reason}
    )


@then(parsers.parse('provider {letter} is listed as "{status}"'))
def provider_listed_as(world, journey: Journey, letter: str, status: str) -> None:
    assert journey.response.status_code == 200, journey.response.text
    assert journey.response.json()["status"] == status
    listed = world.partnerships.get("/api/v1/providers", params={"status": status})
    assert _names(listed) == [PROVIDER_NAMES[letter]]


@then(parsers.parse("the {person} is turned away because their organisation's access is {status}"))
def turned_away(world, journey: Journey, person: str, status: str) -> None:
    # Whoever signed in through the browser is checked with that session; the others with their API token.
    caller = journey.browsers.get(person) or world.people[person_key(person)]
    body = assert_problem(caller.get("/api/v1/me"), 401)
    assert body["detail"] == f"Your organisation's access is {status}.", body


@then(parsers.parse('the {person} cannot sign in again: "{detail}"'))
def cannot_sign_in_again(world, person: str, detail: str) -> None:
    response, browser = sign_in(world.client, email_of(world, person), PASSWORD)
    body = assert_problem(response, 401)
    assert body["detail"] == detail, body
    assert browser is None


@then(parsers.parse("the {person} still gets in"))
def still_gets_in(world, person: str) -> None:
    api = world.people[person_key(person)]
    own = {None: None, **{p["id"]: p["name"] for p in (world.provider_a, world.provider_b)}}[api.user["provider"]]
    assert _names(api.get("/api/v1/providers")) == [own]


# --- a provider's people see only their own organisation -----------------------------------------------


@when(parsers.parse("the {person} opens the link to provider {letter}'s record"))
def opens_link(world, journey: Journey, person: str, letter: str) -> None:
    journey.actor, journey.provider = person, provider_of(world, letter)
    journey.response = world.people[person_key(person)].get(f"/api/v1/providers/{journey.provider['id']}")


@then(parsers.parse("the answer does not mention provider {letter}'s name"))
def answer_does_not_mention(world, journey: Journey, letter: str) -> None:
    provider = provider_of(world, letter)
    assert provider["name"] not in journey.response.text
    assert provider["nzbn"] not in journey.response.text


@then("it reads the same as a link to a provider that does not exist")
def same_as_nothing(world, journey: Journey) -> None:
    nothing = uuid.uuid4()
    missing = world.people[person_key(journey.actor)].get(f"/api/v1/providers/{nothing}")
    missing_body = assert_problem(missing, 404)
    foreign_body = journey.response.json()
    foreign_body["detail"] = foreign_body["detail"].replace(str(journey.provider["id"]), "<id>")
    missing_body["detail"] = missing_body["detail"].replace(str(nothing), "<id>")
    assert foreign_body == missing_body


@then(parsers.parse("the system owner finds the refused look at provider {letter}'s record in the access log"))
def refused_look_logged(world, journey: Journey, letter: str) -> None:
    provider = provider_of(world, letter)
    response = world.admin.get("/api/v1/access-log", params={
        "action": "provider.read", "record_id": str(provider["id"]), "outcome": "not_found",
    })
    assert response.status_code == 200, response.text
    assert [e["email"] for e in response.json()["items"]] == [email_of(world, journey.actor)]


@when(parsers.parse("the {person} lists the providers"))
def lists_providers(world, journey: Journey, person: str) -> None:
    journey.actor = person
    journey.response = world.people[person_key(person)].get("/api/v1/providers")


@when(parsers.parse('the {person} searches the providers for "{text}"'))
def searches_providers(world, journey: Journey, person: str, text: str) -> None:
    journey.actor = person
    journey.response = world.people[person_key(person)].get("/api/v1/providers", params={"q": text})


@then(parsers.parse('they see only "{name}"'))
def see_only(journey: Journey, name: str) -> None:
    assert _names(journey.response) == [name]
    assert journey.response.json()["total"] == 1


@then("they see no providers")
def see_none(journey: Journey) -> None:
    assert _names(journey.response) == []
    assert journey.response.json()["total"] == 0


@then(parsers.parse('they see "{first}" and "{second}"'))
def see_both(journey: Journey, first: str, second: str) -> None:
    assert sorted(_names(journey.response)) == sorted([first, second])
    assert journey.response.json()["total"] == 2
