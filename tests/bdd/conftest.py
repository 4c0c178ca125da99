"""Steps more than one feature uses: the background "the agency and two providers, A and B, with their people"
(the ``world`` fixture), signing in, the common refusals, and where a device is. Steps of one feature live in its
binding, tests/bdd/test_<feature>.py.

Steps are plain functions (pytest-bdd does not await coroutines) and check real responses from the app,
on SQLite and on PostgreSQL alike (``world`` depends on the parametrised ``database``).
"""

from __future__ import annotations

from typing import Any

import pytest
from pytest_bdd import given, parsers, then

from tests.support.bdd import PASSWORD, PROVIDER_NAMES, Journey, device_now, email_of, provider_of, sign_in
from tests.support.problems import problem


@pytest.fixture(autouse=True)
def _every_database(database) -> None:
    """pytest-bdd asks for step fixtures only while a scenario runs, too late for ``database`` to
    parametrise it; naming it here makes every journey run once on SQLite and once on PostgreSQL."""


@pytest.fixture
def journey() -> Journey:
    return Journey()


@pytest.fixture
def devices() -> dict[str, Any]:
    """What the scenario knows of its devices: asset tag -> device; "assignment:<tag>" -> its assignment."""
    return {}


@given("the agency and two providers, A and B, with their people")
def agency_and_providers(world) -> None:
    response = world.admin.get("/api/v1/providers")
    assert response.status_code == 200, response.text
    assert sorted(p["name"] for p in response.json()["items"]) == sorted(PROVIDER_NAMES.values())


@given(parsers.parse("the {person} has signed in"))
def has_signed_in(world, journey: Journey, person: str) -> None:
    response, browser = sign_in(world.client, email_of(world, person), PASSWORD)
    assert response.status_code == 200, response.text
    assert browser is not None, "a successful sign-in sets the session cookie"
    journey.browsers[person] = browser
    journey.actor = person


@then("they are told they are not allowed")
def told_not_allowed(journey: Journey) -> None:
    body = problem(journey.response, 403)
    assert "needs one of these roles" in body["detail"], body


@then("they are told it is not found")
def told_not_found(journey: Journey) -> None:
    problem(journey.response, 404)


@then(parsers.parse('"{tag}" is assigned to provider {letter}'))
def assigned_to(world, devices, tag: str, letter: str) -> None:
    device = device_now(world, devices, tag)
    assert device["status"] == "assigned", device
    assert device["current_assignment"]["provider_id"] == str(provider_of(world, letter)["id"])
