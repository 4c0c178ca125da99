"""The scores API over HTTP: a provider's scores over time and aggregates across providers, their refusals as
problem documents naming the parameter, and a provider's people kept to their own provider."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.scores import accepted_on, rated
from tests.support.problems import problem


@pytest.fixture
def scored(world, template_id):
    made = accepted_on(world, template_id, "2025-Q1", datetime(2025, 2, 10, tzinfo=UTC), how="middling")
    rated(world, world.provider_a, {"privacy-lead": "partly_effective"}, datetime(2025, 8, 1, tzinfo=UTC))
    accepted_on(world, template_id, "2025-Q1", datetime(2025, 3, 1, tzinfo=UTC), how="strong",
                provider=world.provider_b)
    return made


def test_a_provider_admin_sees_their_scores_over_time(world, scored):
    a = world.provider_a["id"]
    r = world.provider_admin.get(f"/api/v1/providers/{a}/scores", params={"from": "2024-Q4", "to": "2025-Q3"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["provider_id"], body["provider_name"]) == (str(a), "Provider A Trust")
    quarters = {q["quarter"]: q for q in body["quarters"]}
    assert list(quarters) == ["2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3"]
    assert quarters["2024-Q4"]["assessment_id"] is None and quarters["2024-Q4"]["verified"]["score"] is None
    q2, q3 = quarters["2025-Q2"], quarters["2025-Q3"]
    assert q2["assessment_id"] == scored["id"] and q2["assessment_period"] == "2025-Q1"
    assert (q2["self_assessed"]["score"], q2["verified"]["score"], q2["gap"], q2["audited"]) == (75.0, 75.0, 0.0,
                                                                                               False)
    # The audit reported in August rated the privacy lead "partly effective": 50 for both its questions.
    assert (q3["self_assessed"]["score"], q3["verified"]["score"], q3["gap"], q3["audited"]) == (75.0, 50.0, 25.0,
                                                                                               True)
    assert (q3["self_assessed"]["band"], q3["verified"]["band"]) == ("amber", "amber")
    [control] = [c for c in q3["controls"] if c["id"] == "privacy-lead"]
    assert control["rating"] == "partly_effective" and control["verified"]["score"] == 50.0
    assert str(world.provider_b["id"]) not in r.text


def test_by_default_the_last_eight_quarters_to_this_one(world, scored):
    r = world.auditor.get(f"/api/v1/providers/{world.provider_a['id']}/scores")
    assert r.status_code == 200, r.text
    quarters = [q["quarter"] for q in r.json()["quarters"]]
    assert len(quarters) == 8 and quarters == sorted(quarters)
    # Ever since its acceptance, A stands on the 2025-Q1 assessment.
    assert all(q["assessment_id"] == scored["id"] for q in r.json()["quarters"])


def test_another_providers_scores_are_not_found_and_governance_sees_none(world, scored):
    b = world.provider_b["id"]
    for who in (world.provider_admin, world.provider_user):
        body = problem(who.get(f"/api/v1/providers/{b}/scores"), 404)
        assert body["detail"] == f"No provider with id {b}."
    missing = "00000000-0000-4000-8000-000000000000"
    problem(world.admin.get(f"/api/v1/providers/{missing}/scores"), 404)
    problem(world.governance.get(f"/api/v1/providers/{world.provider_a['id']}/scores"), 403)
    assert world.partnerships.get(f"/api/v1/providers/{b}/scores").status_code == 200


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "2025-Q5"}, "from"),
    ({"to": "2025Q1"}, "to"),
    ({"from": "1999-Q1", "to": "1999-Q4"}, "from"),
    ({"from": "2026-Q3", "to": "2026-Q2"}, "from"),
    ({"from": "2020-Q1", "to": "2026-Q4"}, "from"),
])
def test_a_bad_quarter_range_is_a_400_naming_it(world, params, field):
    problem(world.admin.get(f"/api/v1/providers/{world.provider_a['id']}/scores", params=params), 400, field)


def test_aggregates_for_the_agency_and_governance(world, scored):
    r = world.partnerships.get("/api/v1/scores", params={"quarter": "2025-Q3"})
    assert r.status_code == 200, r.text
    [everyone] = r.json()
    assert (everyone["dimension"], everyone["group"], everyone["providers"], everyone["suppressed"]) == (
        "all", "All providers", 2, False)
    # A verified 50 (the audit), B 100: median 75; last quarter A was 75, B 100: 87.5.
    assert (everyone["median_verified"], everyone["median_verified_previous"], everyone["change"]) == (75.0, 87.5,
                                                                                                   -12.5)
    assert everyone["bands"] == {"red": 0, "amber": 1, "green": 1}

    r = world.governance.get("/api/v1/scores", params={"quarter": "2025-Q3", "dimension": "region"})
    assert r.status_code == 200, r.text
    [wellington] = r.json()
    # Two providers, fewer than the minimum group size (5): its size only.
    assert (wellington["group"], wellington["providers"], wellington["suppressed"], wellington["median_verified"],
            wellington["bands"]) == ("Wellington", 2, True, None, {})
    for provider in (world.provider_a, world.provider_b):
        assert str(provider["id"]) not in r.text and provider["name"] not in r.text
    assert world.auditor.get("/api/v1/scores", params={"dimension": "tier"}).status_code == 200


@pytest.mark.parametrize(("params", "field"), [
    ({"quarter": "2025-Q0"}, "quarter"), ({"quarter": "Q3 2025"}, "quarter"), ({"quarter": "2101-Q1"}, "quarter"),
    ({"dimension": "postcode"}, "dimension"),
])
def test_bad_aggregate_parameters_are_400s_naming_them(world, params, field):
    problem(world.partnerships.get("/api/v1/scores", params=params), 400, field)


def test_a_providers_people_see_no_aggregates(world):
    for who in (world.provider_admin, world.provider_user):
        problem(who.get("/api/v1/scores"), 403)
