"""Step bindings for features/assessment_review.feature: rollout, answers, evidence, submit, review."""

from __future__ import annotations

from datetime import date, timedelta

from tests.support.bdd import Journey, person_key, provider_of
from pytest_bdd import given, parsers, scenarios, then, when

from partner_audit.controls import service as controls
from tests.support.paths import DATA

scenarios("assessment_review.feature")

MINI = DATA / "mini-template.yaml"
PDF = b"%PDF-1.4\n% a letter appointing the privacy lead\n%%EOF\n"


def _api(world, person: str):
    return world.people[person_key(person)]


def _launch(world, journey: Journey, selection: dict) -> None:
    today = date.today()
    r = world.partnerships.post("/api/v1/rollouts", json={
        "name": "Mini privacy check", "template_version_id": journey.template_id, "period": "2025-Q3",
        "opens_on": today.isoformat(), "due_on": (today + timedelta(days=28)).isoformat(), "selection": selection,
    })
    assert r.status_code == 201, r.text
    journey.rollout = r.json()
    r = world.partnerships.post(f"/api/v1/rollouts/{journey.rollout['id']}/launch")
    assert r.status_code == 200, r.text
    journey.response = r


def _assessment_of(world, letter: str) -> dict:
    r = world.admin.get("/api/v1/assessments", params={"provider_id": str(provider_of(world, letter)["id"])})
    assert r.status_code == 200, r.text
    return r.json()


@given("the mini privacy check template is loaded")
def mini_template(run, journey: Journey) -> None:
    row, _ = run(lambda: controls.load_file(MINI))
    journey.template_id = str(row["id"])


@when(parsers.parse("the partnerships officer launches a rollout of the mini privacy check to risk tier {tier:d} "
                    "for 2025-Q3"))
def launch_by_tier(world, journey: Journey, tier: int) -> None:
    _launch(world, journey, {"risk_tiers": [tier]})


@given(parsers.parse("the partnerships officer has launched a rollout of the mini privacy check to provider {letter}"))
def launch_to_provider(world, journey: Journey, letter: str) -> None:
    _launch(world, journey, {"provider_ids": [str(provider_of(world, letter)["id"])]})
    journey.assessment_id = _assessment_of(world, letter)["items"][0]["id"]


@then("provider A and provider B each have one assessment, not started")
def each_has_one(world) -> None:
    for letter in "AB":
        listing = _assessment_of(world, letter)
        assert listing["total"] == 1 and listing["items"][0]["status"] == "not_started"


@then("launching the rollout again adds no assessments")
def relaunch(world, journey: Journey) -> None:
    r = world.partnerships.post(f"/api/v1/rollouts/{journey.rollout['id']}/launch")
    assert r.status_code == 200 and r.json()["created"] == 0, r.text
    assert r.json()["progress"]["total"] == 2


def _answer(world, journey: Journey, person: str, answers: dict[str, str]) -> None:
    api = _api(world, person)
    current = {a["question_id"]: a["version"] for a in
               api.get(f"/api/v1/assessments/{journey.assessment_id}").json()["answers"]}
    body = [{"question_id": q, "value": v, "version": current.get(q, 0)} for q, v in answers.items()]
    journey.response = api.put(f"/api/v1/assessments/{journey.assessment_id}/answers", json={"answers": body})


@when(parsers.parse('the {person} answers "{q1}" with "{v1}" and "{q2}" with "{v2}"'))
def answers_two(world, journey: Journey, person: str, q1: str, v1: str, q2: str, v2: str) -> None:
    _answer(world, journey, person, {q1: v1, q2: v2})
    assert journey.response.status_code == 200, journey.response.text


@when(parsers.re(r'the (?P<person>.+?) answers "(?P<question>[^"]+)" with "(?P<value>[^"]+)"$'))
def answers_one(world, journey: Journey, person: str, question: str, value: str) -> None:
    _answer(world, journey, person, {question: value})
    assert journey.response.status_code == 200, journey.response.text


@when(parsers.parse("the {person} submits the assessment"))
def submits(world, journey: Journey, person: str) -> None:
    journey.response = _api(world, person).post(f"/api/v1/assessments/{journey.assessment_id}/submit")


@then(parsers.parse('the submission is refused because "{question}" needs evidence'))
def refused_for_evidence(journey: Journey, question: str) -> None:
    assert journey.response.status_code == 422, journey.response.text
    assert {"field": f"answers.{question}", "message": "evidence is required for this answer"} in \
        journey.response.json()["errors"]


@when(parsers.parse('the {person} attaches "{filename}" to "{question}"'))
def attaches(world, journey: Journey, person: str, filename: str, question: str) -> None:
    r = _api(world, person).post(f"/api/v1/assessments/{journey.assessment_id}/evidence",
                                 data={"question_id": question}, files={"file": (filename, PDF)})
    assert r.status_code == 201, r.text


@then(parsers.parse('the assessment is "{status}"'))
def assessment_is(world, journey: Journey, status: str) -> None:
    r = world.auditor.get(f"/api/v1/assessments/{journey.assessment_id}")
    assert r.json()["status"] == status, r.text


@when(parsers.parse('the auditor returns it with the comment "{body}" on "{question}"'))
def returns_with_comment(world, journey: Journey, body: str, question: str) -> None:
    aid = journey.assessment_id
    assert world.auditor.post(f"/api/v1/assessments/{aid}/comments",
                              json={"question_id": question, "body": body}).status_code == 201
    r = world.auditor.post(f"/api/v1/assessments/{aid}/return", json={"reason": body})
    assert r.status_code == 200, r.text


@then(parsers.parse('the {person} sees the comment "{body}"'))
def sees_comment(world, journey: Journey, person: str, body: str) -> None:
    detail = _api(world, person).get(f"/api/v1/assessments/{journey.assessment_id}").json()
    assert body in [c["body"] for c in detail["comments"]]


@when("the auditor accepts it")
def accepts(world, journey: Journey) -> None:
    r = world.auditor.post(f"/api/v1/assessments/{journey.assessment_id}/accept", json={"note": "Thank you."})
    assert r.status_code == 200, r.text


@then(parsers.parse('the {person} can no longer change "{question}"'))
def locked(world, journey: Journey, person: str, question: str) -> None:
    _answer(world, journey, person, {question: "9"})
    assert journey.response.status_code == 409, journey.response.text


@when(parsers.parse("the {person} opens provider A's assessment"))
def opens_foreign(world, journey: Journey, person: str) -> None:
    journey.response = _api(world, person).get(f"/api/v1/assessments/{journey.assessment_id}")
