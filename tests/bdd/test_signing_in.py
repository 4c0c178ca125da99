"""Step bindings for features/signing_in.feature: signing in, refused sign-ins, signing out."""

from __future__ import annotations

from pytest_bdd import parsers, scenarios, then, when

from partner_audit.security.middleware import SESSION_COOKIE
from tests.support.bdd import PASSWORD, PROVIDER_NAMES, Journey, email_of, provider_names, sign_in
from tests.support.problems import problem

scenarios("signing_in.feature")


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
    assert sorted(provider_names(response)) == sorted(PROVIDER_NAMES.values())


@then(parsers.parse('the sign-in is refused with "{detail}"'))
def sign_in_refused(journey: Journey, detail: str) -> None:
    body = problem(journey.response, 401)
    assert body["detail"] == detail, body
    assert SESSION_COOKIE not in journey.response.cookies


@then("they cannot see the list of providers")
def cannot_see_providers(world, journey: Journey) -> None:
    assert journey.actor not in journey.browsers
    body = problem(world.client.get("/api/v1/providers"), 401)
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
    body = problem(journey.browsers[journey.actor].get("/api/v1/me"), 401)
    assert body["detail"] == "Your sign-in is not valid or has ended. Sign in again.", body


@then("signing in again with their password works")
def signs_in_again(world, journey: Journey) -> None:
    response, browser = sign_in(world.client, email_of(world, journey.actor), PASSWORD)
    assert response.status_code == 200, response.text
    me = browser.get("/api/v1/me")
    assert me.status_code == 200, me.text
    assert me.json()["email"] == email_of(world, journey.actor)

