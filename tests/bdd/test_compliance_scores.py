"""Step bindings for features/compliance_scores.feature: a provider's scores over time, self-assessed beside
verified, and the spread across regions as governance and the partnerships team see it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from partner_audit.providers.schemas import Region
from tests.support.scores import accepted_at, accepted_on, provider_with_people, rated
from tests.support.bdd import Journey, person_of, provider_of
from tests.support.databases import make_settings

scenarios("compliance_scores.feature")

# What the features' answers are, as the tests' answer sets: has-lead and lead-maturity.
ANSWERED = {("yes", "3"): "middling", ("yes", "5"): "strong", ("no", "1"): "weak"}
MONTHS = {"February": 2, "March": 3, "August": 8}


@pytest.fixture
def settings(database, tmp_path):
    """This journey's app: governance sees no group smaller than two providers (PA_REPORT_MIN_GROUP_SIZE)."""
    return make_settings(database, tmp_path, PA_REPORT_MIN_GROUP_SIZE="2")


@pytest.fixture
def others() -> dict[str, Any]:
    """Providers the scenario adds beside A and B, by letter."""
    return {}


def _accepted(world, template_id: str, letter: str, month: str, year: int, first: str, second: str,
              others: dict[str, Any]) -> None:
    decided = datetime(year, MONTHS[month], 10, tzinfo=UTC)
    period = f"{year}-Q{(MONTHS[month] - 1) // 3 + 1}"
    how = ANSWERED[(first, second)]
    if letter in others:
        accepted_at(world, template_id, others[letter], letter.lower(), period, decided, how)
    else:
        accepted_on(world, template_id, period, decided, how, provider=provider_of(world, letter))


@given(parsers.parse("provider {letter}'s self-assessment of the mini privacy check was accepted in {month} "
                     '{year:d}, answered "{first}" and "{second}"'))
def accepted_mini(world, template_id, others, letter: str, month: str, year: int, first: str, second: str) -> None:
    _accepted(world, template_id, letter, month, year, first, second, others)


@given(parsers.parse("provider {letter}'s self-assessment was accepted in {month} {year:d}, answered \"{first}\" "
                     'and "{second}"'))
def accepted_again(world, template_id, others, letter: str, month: str, year: int, first: str, second: str) -> None:
    _accepted(world, template_id, letter, month, year, first, second, others)


@given(parsers.parse("provider {letter} in {region}, whose self-assessment was accepted in {month} {year:d}, "
                     'answered "{first}" and "{second}"'))
def another_provider(world, template_id, others, letter: str, region: str, month: str, year: int, first: str,
                     second: str) -> None:
    others[letter] = provider_with_people(world, f"Provider {letter} Trust", ord(letter) - ord("A") + 1,
                                          letter.lower(), region=Region(region))
    _accepted(world, template_id, letter, month, year, first, second, others)


@given(parsers.parse('an audit of provider {letter} reported in {month} {year:d} rated its privacy lead control '
                     '"{rating}"'))
def audit_rated(world, letter: str, month: str, year: int, rating: str) -> None:
    rated(world, provider_of(world, letter), {"privacy-lead": rating.replace(" ", "_")},
          datetime(year, MONTHS[month], 5, tzinfo=UTC))


@given(parsers.parse("governance sees no group of fewer than {size:d} providers"))
def minimum_group(settings, size: int) -> None:
    assert settings.report_min_group_size == size


@when(parsers.parse("the {person} looks at provider {letter}'s scores from {first} to {last}"))
def looks_at_scores(world, journey: Journey, person: str, letter: str, first: str, last: str) -> None:
    journey.actor = person
    journey.response = person_of(world, person).get(
        f"/api/v1/providers/{provider_of(world, letter)['id']}/scores", params={"from": first, "to": last})


@when(parsers.parse("the {person} looks at the scores by region for {quarter}"))
def looks_at_regions(world, journey: Journey, person: str, quarter: str) -> None:
    journey.actor = person
    journey.response = person_of(world, person).get("/api/v1/scores",
                                                    params={"quarter": quarter, "dimension": "region"})


def _quarter(journey: Journey, quarter: str) -> dict[str, Any]:
    assert journey.response.status_code == 200, journey.response.text
    return {q["quarter"]: q for q in journey.response.json()["quarters"]}[quarter]


@then(parsers.parse("in {quarter} provider {letter} has no score: nothing of theirs had been accepted yet"))
def no_score(journey: Journey, quarter: str, letter: str) -> None:
    found = _quarter(journey, quarter)
    assert found["assessment_id"] is None
    assert (found["self_assessed"]["score"], found["verified"]["score"], found["gap"]) == (None, None, None)


@then(parsers.parse('in {quarter} provider {letter} scores {mine:g} self-assessed and {verified:g} verified, both '
                    '"{band}", with a gap of {gap:g}'))
def scores_in(journey: Journey, quarter: str, letter: str, mine: float, verified: float, band: str,
              gap: float) -> None:
    found = _quarter(journey, quarter)
    assert (found["self_assessed"]["score"], found["verified"]["score"], found["gap"]) == (mine, verified, gap)
    assert (found["self_assessed"]["band"], found["verified"]["band"]) == (band, band)


@then(parsers.parse('in {quarter} the control "{title}" shows the auditors\' rating "{rating}"'))
def control_rating(journey: Journey, quarter: str, title: str, rating: str) -> None:
    [control] = [c for c in _quarter(journey, quarter)["controls"] if c["title"] == title]
    assert control["rating"] == rating, control
    assert control["verified"]["score"] != control["self_assessed"]["score"]


def _group(journey: Journey, name: str) -> dict[str, Any]:
    assert journey.response.status_code == 200, journey.response.text
    return {g["group"]: g for g in journey.response.json()}[name]


@then(parsers.parse('{region} shows {count:d} providers with a median verified score of {median:g}, {amber:d} '
                    '"amber" and {green:d} "green"'))
@then(parsers.parse('{region} shows {count:d} provider with a median verified score of {median:g}, {amber:d} '
                    '"amber" and {green:d} "green"'))
def group_figures(journey: Journey, region: str, count: int, median: float, amber: int, green: int) -> None:
    group = _group(journey, region)
    assert (group["providers"], group["suppressed"], group["median_verified"]) == (count, False, median)
    assert (group["bands"]["amber"], group["bands"]["green"]) == (amber, green)


@then(parsers.parse("{region} shows {count:d} provider, suppressed, with no figures"))
@then(parsers.parse("{region} shows {count:d} providers, suppressed, with no figures, since all providers less "
                    "{_region} would be {_other}"))
def suppressed(journey: Journey, region: str, count: int) -> None:
    group = _group(journey, region)
    assert (group["providers"], group["suppressed"], group["bands"]) == (count, True, {})
    assert all(group[k] is None for k in ("median_self_assessed", "median_verified", "q1_verified", "q3_verified",
                                          "median_verified_previous", "change"))


@then("no provider's name or id is in what they see")
def nothing_identifying(world, journey: Journey, others: dict[str, Any]) -> None:
    for provider in (world.provider_a, world.provider_b, *others.values()):
        assert str(provider["id"]) not in journey.response.text
        assert provider["name"] not in journey.response.text
