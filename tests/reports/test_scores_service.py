"""The scores service: who may see which scores (policies and tenant scoping), one provider's scores over time as
the engine gives them, and aggregates across providers with governance's small groups suppressed. The last test
scores the demo and checks the engine against the audits' own overall figure."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from uuid import UUID

import msgspec
import pytest

from partner_audit import demo
from partner_audit.audits.services import scores as audit_scores
from partner_audit.errors import Forbidden, NotFound
from partner_audit.providers import service as providers
from partner_audit.providers.schemas import ProviderStatus, Region
from partner_audit.reports.quarters import Quarter
from partner_audit.reports.services import frames, scores
from partner_audit.security.caller import Caller, Role
from partner_audit.security.tables import AccessLogEntry
from tests.support.scores import accepted_at, accepted_on, provider_with_people, rated

Q = Quarter.parse


def caller(world, key: str) -> Caller:
    person = world.people[key]
    role = Role(person.user["role"])
    provider = person.user.get("provider_id") or person.user.get("provider")
    return Caller(UUID(str(person.user["id"])), person.user["email"], role, UUID(str(provider)) if provider else None)


def test_who_sees_a_providers_scores(world, run, settings):
    a, b = world.provider_a["id"], world.provider_b["id"]
    quarters = [Q("2025-Q1")]
    for key in ("admin", "partnerships", "auditor", "provider_admin", "provider_user"):
        who = caller(world, key)
        out = run(lambda: scores.provider_scores(who, a, quarters, settings=settings))
        assert out.provider_name == "Provider A Trust"
    for key in ("provider_admin", "provider_user"):
        who = caller(world, key)
        with pytest.raises(NotFound, match=f"No provider with id {b}"):
            run(lambda: scores.provider_scores(who, b, quarters, settings=settings))
        with pytest.raises(Forbidden):
            run(lambda: scores.aggregates(who, Q("2025-Q1"), "all", settings=settings))
    governance = caller(world, "governance")
    with pytest.raises(Forbidden):
        run(lambda: scores.provider_scores(governance, a, quarters, settings=settings))
    logged = run(lambda: AccessLogEntry.select().where(AccessLogEntry.action == "scores.read").run())
    refused = [e for e in logged if e["outcome"] != "success"]
    assert len(logged) == 7 and len(refused) == 2
    assert {e["provider_id"] for e in refused} == {str(b)}


def test_a_providers_scores_over_time_self_assessed_and_verified(world, run, settings, template_id):
    made = accepted_on(world, template_id, "2025-Q1", datetime(2025, 2, 10, tzinfo=UTC), how="middling")
    # Reported on 1 June (NZ): from the second quarter on, the auditors' "ineffective" replaces privacy-lead.
    rated(world, world.provider_a, {"privacy-lead": "ineffective"}, datetime(2025, 5, 31, 22, tzinfo=UTC))

    provider_user, admin = caller(world, "provider_user"), caller(world, "admin")
    out = run(lambda: scores.provider_scores(provider_user, world.provider_a["id"],
                                             [Q("2024-Q4"), Q("2025-Q1"), Q("2025-Q2")], settings=settings))
    before, first, second = out.quarters
    assert [q.quarter for q in out.quarters] == ["2024-Q4", "2025-Q1", "2025-Q2"]
    assert (before.assessment_id, before.self_assessed.score, before.verified.score, before.areas) == (
        None, None, None, [])

    assert (str(first.assessment_id), first.assessment_period) == (made["id"], "2025-Q1")
    # has-lead "yes" 100 and lead-maturity "3" 50: 75, amber; both shown scored questions answered.
    expected = {"score": 75.0, "band": "amber", "completeness": 100.0, "answered": 2, "not_applicable": 0,
                "unanswered": 0}
    assert msgspec.to_builtins(first.self_assessed) == expected == msgspec.to_builtins(first.verified)
    assert (first.gap, first.audited) == (0.0, False)

    assert msgspec.to_builtins(second.self_assessed) == expected
    assert msgspec.to_builtins(second.verified) == {**expected, "score": 0.0, "band": "red"}
    assert (second.gap, second.audited) == (75.0, True)
    lead = {c.id: c for c in second.controls}["privacy-lead"]
    assert (lead.title, lead.rating, lead.self_assessed.score, lead.verified.score) == (
        "A named privacy lead", "ineffective", 75.0, 0.0)
    area = {a.id: a for a in second.areas}["leadership"]
    assert (area.title, area.self_assessed.score, area.verified.score) == ("Leadership", 75.0, 0.0)
    five = {r.id: r for r in second.recommendations}["5"]
    assert (five.title, five.self_assessed.score, five.verified.score, five.self_assessed.completeness) == (
        "Recommendation 5", 75.0, 0.0, 100.0)
    assert (five.self_assessed.answered, five.self_assessed.not_applicable, five.self_assessed.unanswered) == (2, 0, 0)

    # The bands follow the settings.
    lower = dataclasses.replace(settings, score_band_green_from=70, score_band_amber_from=40)
    out = run(lambda: scores.provider_scores(admin, world.provider_a["id"], [Q("2025-Q1")],
                                             settings=lower))
    assert out.quarters[0].self_assessed.band.value == "green"


def test_quarter_ranges_are_bounded():
    assert scores.quarter_range(None, Q("2026-Q3")) == Q("2026-Q3").last(8)
    assert scores.quarter_range(Q("2021-Q4"), Q("2026-Q3")) == Q("2026-Q3").last(20)
    assert scores.quarter_range(None, None, date(2026, 1, 5))[-1] == Q("2026-Q1")
    with pytest.raises(scores.BadQuery, match="at most 20"):
        scores.quarter_range(Q("2021-Q3"), Q("2026-Q3"))
    with pytest.raises(scores.BadQuery, match="after"):
        scores.quarter_range(Q("2026-Q3"), Q("2026-Q2"))


@pytest.fixture
def spread(world, run, template_id):
    """A and B in Wellington, C in Otago, D (exited) in Wellington. At the end of 2025-Q1: A 0, B 100, C 75;
    at the end of 2025-Q2: A 75 (a new round), B 100, C 75."""
    c = provider_with_people(world, "Provider C Trust", 3, "c", region=Region.otago, risk_tier=1)
    d = provider_with_people(world, "Provider D Trust", 4, "d")
    accepted_on(world, template_id, "2024-Q4", datetime(2024, 11, 1, tzinfo=UTC), how="weak")
    accepted_on(world, template_id, "2025-Q2", datetime(2025, 5, 1, tzinfo=UTC), how="middling")
    accepted_on(world, template_id, "2025-Q1", datetime(2025, 2, 1, tzinfo=UTC), how="strong",
                provider=world.provider_b)
    accepted_at(world, template_id, c, "c", "2025-Q1", datetime(2025, 2, 1, tzinfo=UTC), how="middling")
    accepted_at(world, template_id, d, "d", "2025-Q1", datetime(2025, 2, 1, tzinfo=UTC), how="weak")
    run(lambda: providers.change_status(Caller.system("test"), d["id"], ProviderStatus.exited, "contract ended"))
    return {"c": c, "d": d}


def figures(found) -> dict[str, dict]:
    return {d.group: {k: v for k, v in msgspec.to_builtins(d).items() if k not in ("dimension", "group")}
            for d in found}


def test_aggregates_by_region_with_governances_small_groups_suppressed(world, run, settings, spread):
    small = dataclasses.replace(settings, report_min_group_size=2)
    partnerships, auditor, governance, admin = (caller(world, k) for k in ("partnerships", "auditor", "governance",
                                                                           "admin"))

    everyone = figures(run(lambda: scores.aggregates(partnerships, Q("2025-Q2"), "all",
                                                     settings=small)))
    assert everyone == {"All providers": {
        "providers": 3, "suppressed": False, "median_self_assessed": 75.0, "median_verified": 75.0,
        "q1_verified": 75.0, "q3_verified": 87.5, "median_verified_previous": 75.0, "change": 0.0,
        "bands": {"red": 0, "amber": 2, "green": 1}}}  # D has exited: not counted

    wellington = {"providers": 2, "suppressed": False, "median_self_assessed": 87.5, "median_verified": 87.5,
                  "q1_verified": 81.2, "q3_verified": 93.8, "median_verified_previous": 50.0, "change": 37.5,
                  "bands": {"red": 0, "amber": 1, "green": 1}}
    otago = {"providers": 1, "suppressed": False, "median_self_assessed": 75.0, "median_verified": 75.0,
             "q1_verified": 75.0, "q3_verified": 75.0, "median_verified_previous": 75.0, "change": 0.0,
             "bands": {"red": 0, "amber": 1, "green": 0}}
    by_region = run(lambda: scores.aggregates(auditor, Q("2025-Q2"), "region", settings=small))
    assert figures(by_region) == {"Otago": otago, "Wellington": wellington}

    # Otago (1) is under the minimum. Wellington (2) is not, but "All providers" minus Wellington would be Otago's
    # one provider, so Wellington is hidden too (secondary suppression); each still shows its size.
    hidden = {"suppressed": True, "median_self_assessed": None, "median_verified": None, "q1_verified": None,
              "q3_verified": None, "median_verified_previous": None, "change": None, "bands": {}}
    seen = run(lambda: scores.aggregates(governance, Q("2025-Q2"), "region", settings=small))
    assert figures(seen) == {"Wellington": {"providers": 2, **hidden}, "Otago": {"providers": 1, **hidden}}
    assert figures(run(lambda: scores.aggregates(governance, Q("2025-Q2"), "all", settings=small))) == {
        "All providers": figures(run(lambda: scores.aggregates(auditor, Q("2025-Q2"), "all", settings=small)))[
            "All providers"]}
    text = msgspec.json.encode(seen).decode()
    for provider in (world.provider_a, world.provider_b, spread["c"]):
        assert str(provider["id"]) not in text and provider["name"] not in text

    # At the default minimum (5) every group here is too small for governance; the others still see them.
    assert all(d.suppressed for d in run(lambda: scores.aggregates(governance, Q("2025-Q2"), "tier",
                                                                   settings=settings)))
    by_tier = figures(run(lambda: scores.aggregates(admin, Q("2025-Q2"), "tier", settings=settings)))
    assert (by_tier["Tier 1"]["providers"], by_tier["Tier 2"]["providers"]) == (1, 2)
    assert set(figures(run(lambda: scores.aggregates(admin, Q("2025-Q2"), "kind",
                                                     settings=settings)))) == {"NGO"}
    assert run(lambda: scores.aggregates(admin, Q("2020-Q1"), "all", settings=settings)) == []
    with pytest.raises(scores.BadQuery, match="dimension"):
        run(lambda: scores.aggregates(admin, Q("2025-Q2"), "postcode", settings=settings))


def test_the_engine_agrees_with_the_audits_overall_on_the_demo(run, settings):
    """The demo's providers, scored by the engine as at the end of this quarter, have the overall figures the
    audits' own helper gives for their latest accepted self-assessment; and they have a past: most improve, one
    slips."""
    today = date.today()
    run(lambda: demo.load(settings, today))
    now = Quarter.of(today)
    standing, found = run(lambda: frames.scores_as_at(now.last(9)))
    overall = standing.join(found.overall, on="subject")
    registry = run(frames.providers).set_index("provider_id")
    latest = run(lambda: audit_scores.latest(list(registry.index)))
    current = overall[overall["quarter"] == str(now)].set_index("provider_id")
    assert len(latest) == len(current) == 9
    for provider_id, expected in latest.items():
        mine = current.loc[provider_id]
        assert mine["assessment_id"] == expected.assessment_id
        assert (round(mine["self_assessed"], 1), round(mine["verified"], 1)) == (
            expected.self_assessed, expected.verified)

    # Two years back and now: every active provider improved but the one that slips.
    then = overall[overall["quarter"] == str(now.shifted(-8))].set_index("provider_id")["self_assessed"]
    change = (current["self_assessed"] - then).dropna()
    names = registry.loc[change.index, "name"]
    assert len(change) == 9
    assert set(names[change < 0]) == {"Canterbury Family Support"}
    # Each quarter's standing is the round accepted in it or before: one every second quarter.
    periods = overall[overall["provider_id"] == change.index[0]].set_index("quarter")["assessment_period"]
    assert periods[str(now.shifted(-8))] == str(now.shifted(-8)) and periods[str(now.shifted(-7))] == str(
        now.shifted(-8))
