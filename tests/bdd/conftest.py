"""Shared journey steps: the background "the agency and two providers, A and B, with their people" (the
``world`` fixture of tests/conftest.py), signing in, and the common refusals.

Steps are plain functions (pytest-bdd does not await coroutines) and check real responses from the app,
on SQLite and on PostgreSQL alike (``world`` depends on the parametrised ``database``).
"""

from __future__ import annotations

import pytest
from bdd_support import PASSWORD, PROVIDER_NAMES, Journey, assert_problem, email_of, sign_in
from pytest_bdd import given, parsers, then


@pytest.fixture(autouse=True)
def _every_database(database) -> None:
    """pytest-bdd asks for step fixtures only while a scenario runs, too late for ``database`` to
    parametrise it; naming it here makes every journey run once on SQLite and once on PostgreSQL."""


@pytest.fixture
def journey() -> Journey:
    return Journey()


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
    body = assert_problem(journey.response, 403)
    assert "needs one of these roles" in body["detail"], body


@then("they are told it is not found")
def told_not_found(journey: Journey) -> None:
    assert_problem(journey.response, 404)
