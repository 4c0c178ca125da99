"""Step bindings for features/provider_privacy.feature: a provider's people see only their own organisation."""

from __future__ import annotations

import uuid

from pytest_bdd import parsers, scenarios, then, when

from tests.support.bdd import Journey, email_of, person_of, provider_names, provider_of
from tests.support.problems import problem

scenarios("provider_privacy.feature")


@when(parsers.parse("the {person} opens the link to provider {letter}'s record"))
def opens_link(world, journey: Journey, person: str, letter: str) -> None:
    journey.actor, journey.provider = person, provider_of(world, letter)
    journey.response = person_of(world, person).get(f"/api/v1/providers/{journey.provider['id']}")


@then(parsers.parse("the answer does not mention provider {letter}'s name"))
def answer_does_not_mention(world, journey: Journey, letter: str) -> None:
    provider = provider_of(world, letter)
    assert provider["name"] not in journey.response.text
    assert provider["nzbn"] not in journey.response.text


@then("it reads the same as a link to a provider that does not exist")
def same_as_nothing(world, journey: Journey) -> None:
    nothing = uuid.uuid4()
    missing = person_of(world, journey.actor).get(f"/api/v1/providers/{nothing}")
    missing_body = problem(missing, 404)
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
    journey.response = person_of(world, person).get("/api/v1/providers")


@when(parsers.parse('the {person} searches the providers for "{text}"'))
def searches_providers(world, journey: Journey, person: str, text: str) -> None:
    journey.actor = person
    journey.response = person_of(world, person).get("/api/v1/providers", params={"q": text})


@then(parsers.parse('they see only "{name}"'))
def see_only(journey: Journey, name: str) -> None:
    assert provider_names(journey.response) == [name]
    assert journey.response.json()["total"] == 1


@then("they see no providers")
def see_none(journey: Journey) -> None:
    assert provider_names(journey.response) == []
    assert journey.response.json()["total"] == 0


@then(parsers.parse('they see "{first}" and "{second}"'))
def see_both(journey: Journey, first: str, second: str) -> None:
    assert sorted(provider_names(journey.response)) == sorted([first, second])
    assert journey.response.json()["total"] == 2

