"""The score engine's frames, read from the database: the assessment each provider stands on at each quarter's end,
its answers exactly as saved, and the audit ratings with the day they were reported."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd

from partner_audit.assessments.tables import Answer
from partner_audit.reports.quarters import Quarter
from partner_audit.reports.services import frames
from tests.support.scores import accepted_on, rated


def quarters(first: str, last: str) -> list[Quarter]:
    end = Quarter.parse(last)
    start = Quarter.parse(first)
    return end.last((end.year - start.year) * 4 + end.number - start.number + 1)


def test_standings_take_the_latest_assessment_accepted_by_each_quarters_end(world, run, template_id):
    first = accepted_on(world, template_id, "2025-Q1", datetime(2025, 2, 10, 1, tzinfo=UTC))
    early = accepted_on(world, template_id, "2025-Q2", datetime(2025, 8, 20, 0, 30, tzinfo=UTC))
    later_that_day = accepted_on(world, template_id, "2025-Q3", datetime(2025, 8, 20, 3, tzinfo=UTC))
    # 30 September 20:00 UTC is 1 October 9 am in New Zealand: it stands from the fourth quarter.
    boundary = accepted_on(world, template_id, "2025-Q4", datetime(2025, 9, 30, 20, tzinfo=UTC))
    b = accepted_on(world, template_id, "2025-Q1", datetime(2025, 3, 31, 10, 59, tzinfo=UTC),
                    provider=world.provider_b)  # 31 March 23:59 NZDT: still the first quarter

    found = run(lambda: frames.standings(quarters("2024-Q4", "2026-Q1")))

    a, b_id = str(world.provider_a["id"]), str(world.provider_b["id"])
    assert list(found.columns) == frames.STANDING_COLUMNS
    got = {(r["provider_id"], r["quarter"]): r["assessment_id"] for r in found.to_dict("records")}
    assert got == {
        (a, "2025-Q1"): first["id"], (a, "2025-Q2"): first["id"], (a, "2025-Q3"): later_that_day["id"],
        (a, "2025-Q4"): boundary["id"], (a, "2026-Q1"): boundary["id"],
        (b_id, "2025-Q1"): b["id"], (b_id, "2025-Q2"): b["id"], (b_id, "2025-Q3"): b["id"],
        (b_id, "2025-Q4"): b["id"], (b_id, "2026-Q1"): b["id"],
    }
    assert early["id"] not in set(found["assessment_id"])
    row = found[(found["provider_id"] == a) & (found["quarter"] == "2025-Q3")].iloc[0]
    assert row["subject"] == f"{a}:2025-Q3"
    assert (row["template_version"], row["assessment_period"]) == (template_id, "2025-Q3")
    assert row["as_of"] == pd.Timestamp("2025-09-30") and found["as_of"].dtype == "datetime64[ns]"

    only_b = run(lambda: frames.standings(quarters("2025-Q1", "2025-Q1"), [b_id]))
    assert list(only_b["assessment_id"]) == [b["id"]]
    assert run(lambda: frames.standings(quarters("2024-Q1", "2024-Q4"))).empty


def test_an_assessment_not_accepted_is_no_standing(world, run, template_id):
    made = accepted_on(world, template_id, "2025-Q1", datetime(2025, 2, 10, tzinfo=UTC))
    r = world.auditor.post(f"/api/v1/assessments/{made['id']}/reopen", json={"reason": "A second look"})
    assert r.status_code == 200, r.text
    assert run(lambda: frames.standings(quarters("2025-Q1", "2025-Q4"))).empty


def test_answers_read_back_as_they_were_saved(world, run, template_id):
    made = accepted_on(world, template_id, "2025-Q1", datetime(2025, 2, 10, tzinfo=UTC), how="middling")
    other = accepted_on(world, template_id, "2025-Q1", datetime(2025, 2, 10, tzinfo=UTC), how="weak",
                        provider=world.provider_b)

    found = run(lambda: frames.answers([made["id"]]))

    assert list(found.columns) == frames.ANSWER_COLUMNS
    assert set(found["assessment_id"]) == {made["id"]}
    got = dict(zip(found["question_id"], found["value_json"], strict=True))
    assert got == {"has-lead": '"yes"', "lead-name": '"Hine Walker"', "lead-maturity": '"3"', "device-count": "4"}
    stored = run(lambda: Answer.select(Answer.question_id, Answer.value).where(Answer.assessment == made["id"]).run())
    # (SQLite gives a JSON number back as a number: its JSON column has numeric affinity.)
    assert {r["question_id"]: json.loads(r["value"]) if isinstance(r["value"], str) else r["value"]
            for r in stored} == {k: json.loads(v) for k, v in got.items()}
    # Text with quotes, a comma and a new line comes back whole; a cleared answer (NULL) as None.
    tricky = json.dumps('Hine "Aroha" Walker, lead\nsince 2024')
    run(lambda: Answer.update({Answer.value: tricky}).where(
        (Answer.assessment == made["id"]) & (Answer.question_id == "lead-name")).run())
    run(lambda: Answer.update({Answer.value: None}).where(
        (Answer.assessment == made["id"]) & (Answer.question_id == "device-count")).run())
    again = run(lambda: frames.answers([made["id"]])).set_index("question_id")["value_json"]
    assert (again["lead-name"], again["device-count"], again["has-lead"]) == (tricky, None, '"yes"')
    both = run(lambda: frames.answers([made["id"], other["id"]]))
    assert len(both) == 7 and set(both["assessment_id"]) == {made["id"], other["id"]}
    assert run(lambda: frames.answers([])).empty


def test_ratings_are_those_of_reported_and_closed_audits_with_the_day_they_were_reported(world, run):
    a, b = world.provider_a, world.provider_b
    # 30 June 13:00 UTC is 1 July 1 am in New Zealand.
    rated(world, a, {"privacy-lead": "ineffective", "device-register": None}, datetime(2025, 6, 30, 13, tzinfo=UTC))
    rated(world, a, {"privacy-lead": "effective"}, datetime(2025, 11, 3, tzinfo=UTC), status="closed")
    rated(world, a, {"privacy-lead": "partly_effective"}, None, status="in_progress")  # not reported: no rating
    rated(world, b, {"privacy-lead": "not_tested"}, datetime(2025, 5, 1, tzinfo=UTC))

    found = run(lambda: frames.ratings())

    assert list(found.columns) == frames.RATING_COLUMNS and found["reported_on"].dtype == "datetime64[ns]"
    got = sorted(found.itertuples(index=False, name=None))
    assert got == sorted([
        (str(a["id"]), "privacy-lead", "ineffective", pd.Timestamp("2025-07-01")),
        (str(a["id"]), "privacy-lead", "effective", pd.Timestamp("2025-11-03")),
        (str(b["id"]), "privacy-lead", "not_tested", pd.Timestamp("2025-05-01")),
    ])
    only_b = run(lambda: frames.ratings([str(b["id"])]))
    assert list(only_b["rating"]) == ["not_tested"]
    assert run(lambda: frames.ratings([])).empty


def test_providers_with_their_region_tier_kind_and_status(world, run):
    found = run(frames.providers).set_index("provider_id")
    a = found.loc[str(world.provider_a["id"])]
    assert list(found.reset_index().columns) == frames.PROVIDER_COLUMNS
    assert (a["name"], a["region"], a["tier"], a["kind"], a["status"]) == (
        "Provider A Trust", "Wellington", 2, "ngo", world.provider_a["status"])
