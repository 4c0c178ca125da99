"""Step bindings for features/next_period.feature: answers and evidence carried into the next period."""

from __future__ import annotations

from pytest_bdd import given, parsers, scenarios, then, when

from tests.support.assessments import (
    MINI,
    MINI_V2,
    POLICY_PDF,
    accepted_assessment,
    attach,
    expire_evidence,
    launch_for,
    load_template,
)
from tests.support.bdd import Journey, person_of

scenarios("next_period.feature")


def _detail(api, aid: str) -> dict:
    r = api.get(f"/api/v1/assessments/{aid}")
    assert r.status_code == 200, r.text
    return r.json()


def _answers(api, aid: str) -> dict[str, dict]:
    return {a["question_id"]: a for a in _detail(api, aid)["answers"]}


@given("provider A's self-assessment for 2025-Q3 was accepted, with their privacy policy good until a set date")
def accepted_last_period(world, run, journey: Journey) -> None:
    journey.previous = accepted_assessment(world, load_template(run, MINI), period="2025-Q3")
    policy = next(e for e in journey.previous["evidence"] if e["question_id"] == "has-lead")
    assert policy["expires_on"] is not None, policy


@given("the privacy policy's date has since passed")
def policy_expired(run, journey: Journey) -> None:
    expire_evidence(run, next(e["id"] for e in journey.previous["evidence"] if e["question_id"] == "has-lead"))


@given(parsers.parse('a new version of the mini privacy check asks "{question}" differently'))
def new_version(run, journey: Journey, question: str) -> None:
    journey.template_id = load_template(run, MINI_V2)
    assert question == "device-count"  # what tests/data/mini-template-v2.yaml changes


@when("the partnerships officer launches the new version to provider A for 2026-Q3")
def launch_new_version(world, journey: Journey) -> None:
    journey.response, assessment = launch_for(world, journey.template_id, "2026-Q3", world.provider_a["id"])
    journey.assessment_id = assessment["id"]
    journey.rollout_id = assessment["rollout_id"]


@when("the partnerships officer launches it again")
def launch_again(world, journey: Journey) -> None:
    r = world.partnerships.post(f"/api/v1/rollouts/{journey.rollout_id}/launch")
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 0 and r.json()["carried_into"] == 0, r.text


@then(parsers.parse('the {person} sees "{q1}", "{q2}" and "{q3}" carried from {period}, not yet confirmed'))
def sees_carried(world, journey: Journey, person: str, q1: str, q2: str, q3: str, period: str) -> None:
    answers = _answers(person_of(world, person), journey.assessment_id)
    before = {a["question_id"]: a["value"] for a in journey.previous["answers"]}
    for question in (q1, q2, q3):
        answer = answers[question]
        assert answer["value"] == before[question], answer
        assert answer["carried_from_period"] == period and answer["confirmed"] is False, answer


@then(parsers.parse('"{question}" is blank'))
def blank(world, journey: Journey, question: str) -> None:
    assert question not in _answers(world.provider_user, journey.assessment_id)


@then("the privacy policy is there, marked expired, and the training record is there, still current")
def files_carried(world, journey: Journey) -> None:
    files = {e["question_id"]: e for e in _detail(world.provider_user, journey.assessment_id)["evidence"]}
    before = {e["question_id"]: e for e in journey.previous["evidence"]}
    assert files["has-lead"]["expired"] is True and files["has-lead"]["sha256"] == before["has-lead"]["sha256"]
    assert files["lead-maturity"]["expired"] is False
    assert files["lead-maturity"]["sha256"] == before["lead-maturity"]["sha256"]
    assert all(f["carried_from_period"] == "2025-Q3" for f in files.values())


@when(parsers.parse("the {person} submits the assessment"))
def submits(world, journey: Journey, person: str) -> None:
    journey.response = person_of(world, person).post(f"/api/v1/assessments/{journey.assessment_id}/submit")


@then(parsers.parse('the submission is refused, naming "{q1}", "{q2}", "{q3}" and "{q4}"'))
def refused_naming(journey: Journey, q1: str, q2: str, q3: str, q4: str) -> None:
    assert journey.response.status_code == 422, journey.response.text
    named = {e["field"] for e in journey.response.json()["errors"]}
    assert named == {f"answers.{q}" for q in (q1, q2, q3, q4)}, named


@when(parsers.parse('the {person} confirms "{q1}" and "{q2}" unchanged'))
def confirms(world, journey: Journey, person: str, q1: str, q2: str) -> None:
    r = person_of(world, person).post(f"/api/v1/assessments/{journey.assessment_id}/answers/confirm",
                                      json={"question_ids": [q1, q2]})
    assert r.status_code == 200, r.text
    assert all(a["confirmed"] for a in r.json())


def _save(world, journey: Journey, person: str, question: str, value: str) -> None:
    api = person_of(world, person)
    version = _answers(api, journey.assessment_id).get(question, {}).get("version", 0)
    r = api.put(f"/api/v1/assessments/{journey.assessment_id}/answers",
                json={"answers": [{"question_id": question, "value": value, "version": version}]})
    assert r.status_code == 200, r.text
    assert r.json()[0]["confirmed"] is True


@when(parsers.parse('the {person} changes "{question}" to "{value}"'))
def changes(world, journey: Journey, person: str, question: str, value: str) -> None:
    _save(world, journey, person, question, value)


@when(parsers.parse('the {person} answers "{question}" with "{value}"'))
def answers(world, journey: Journey, person: str, question: str, value: str) -> None:
    _save(world, journey, person, question, value)


@then(parsers.parse('the submission is refused because the evidence for "{question}" has expired'))
def refused_expired(journey: Journey, question: str) -> None:
    assert journey.response.status_code == 422, journey.response.text
    assert journey.response.json()["errors"] == [
        {"field": f"answers.{question}", "message": "the evidence attached has expired: attach a current file"}]


@when(parsers.parse("the {person} attaches this year's privacy policy to \"{question}\""))
def attaches(world, journey: Journey, person: str, question: str) -> None:
    r = attach(person_of(world, person), journey.assessment_id, question, "privacy-policy-2026.pdf", POLICY_PDF)
    assert r.status_code == 201, r.text


@then(parsers.parse('the assessment is "{status}"'))
def assessment_is(world, journey: Journey, status: str) -> None:
    assert _detail(world.auditor, journey.assessment_id)["status"] == status


@then("last period's assessment still has its own answers and files")
def previous_untouched(world, journey: Journey) -> None:
    again = _detail(world.auditor, journey.previous["id"])
    assert again["status"] == "accepted"
    assert again["answers"] == journey.previous["answers"]
    assert [e["id"] for e in again["evidence"]] == [e["id"] for e in journey.previous["evidence"]]


@then(parsers.parse("provider A's 2026-Q3 assessment has each carried answer and file once"))
def carried_once(world, journey: Journey) -> None:
    detail = _detail(world.admin, journey.assessment_id)
    assert sorted(a["question_id"] for a in detail["answers"]) == ["has-lead", "lead-maturity", "lead-name"]
    assert sorted(e["question_id"] for e in detail["evidence"]) == ["has-lead", "lead-maturity"]


@when(parsers.parse('the {person} confirms "{question}" on provider A\'s assessment'))
def confirms_foreign(world, journey: Journey, person: str, question: str) -> None:
    journey.response = person_of(world, person).post(
        f"/api/v1/assessments/{journey.assessment_id}/answers/confirm", json={"question_ids": [question]})
