"""Step bindings for features/assessment_review.feature: rollout, answers, evidence, submit, review."""

from __future__ import annotations

from datetime import date, timedelta

from tests.support.bdd import Journey, person_key, provider_of
from pytest_bdd import given, parsers, scenarios, then, when

from partner_audit.controls import service as controls
from partner_audit.security.caller import Role
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


# --- the questionnaire and its threads ------------------------------------------------------------------------


def _view(world, journey: Journey, person: str) -> dict:
    r = _api(world, person).get(f"/api/v1/assessments/{journey.assessment_id}")
    assert r.status_code == 200, r.text
    return r.json()


def _question(view: dict, question_id: str) -> dict:
    return next(q for area in view["areas"] for control in area["controls"] for q in control["questions"]
                if q["id"] == question_id)


@given("provider A has answered every question, attached its evidence and submitted")
def answered_and_submitted(world, journey: Journey) -> None:
    _answer(world, journey, "staff member at provider A", {"has-lead": "Yes", "lead-name": "Hine Walker",
                                                           "lead-maturity": "3", "device-count": "2"})
    assert journey.response.status_code == 200, journey.response.text
    attaches(world, journey, "staff member at provider A", "privacy-lead-appointment.pdf", "has-lead")
    r = world.provider_admin.post(f"/api/v1/assessments/{journey.assessment_id}/submit")
    assert r.status_code == 200, r.text


@then(parsers.parse('the {person} sees that the auditor raised "{question}" and it awaits their answer'))
def sees_raised(world, journey: Journey, person: str, question: str) -> None:
    q = _question(_view(world, journey, person), question)
    assert q["raised"] and not q["answered_since_raised"], q
    (comment,) = q["comments"]
    assert comment["author"] == {"id": str(world.auditor.user["id"]), "name": world.auditor.user["full_name"],
                                 "role": "auditor"}, comment
    journey.comment = comment


@then(parsers.parse("{count:d} raised question awaits the provider's answer"))
def raised_awaiting(world, journey: Journey, count: int) -> None:
    assert _view(world, journey, "auditor")["raised_awaiting_answer"] == count


@then("no raised question awaits the provider's answer")
def none_awaiting(world, journey: Journey) -> None:
    view = _view(world, journey, "auditor")
    assert view["raised_questions"] == 1 and view["raised_awaiting_answer"] == 0, view


@when(parsers.parse('the {person} replies "{body}" to the auditor on "{question}"'))
def replies(world, journey: Journey, person: str, body: str, question: str) -> None:
    r = _api(world, person).post(f"/api/v1/assessments/{journey.assessment_id}/comments", json={
        "question_id": question, "body": body, "reply_to": journey.comment["id"]})
    assert r.status_code == 201, r.text
    journey.reply = r.json()


@then(parsers.parse('the auditor sees "{question}" answered since they raised it, with the reply from the {person}'))
def sees_answered_since(world, journey: Journey, question: str, person: str) -> None:
    q = _question(_view(world, journey, "auditor"), question)
    assert q["raised"] and q["answered_since_raised"], q
    assert q["answer"]["value"] == 5, q
    raised, reply = q["comments"]
    author = _api(world, person).user
    assert reply["reply_to"] == raised["id"] and reply["body"] == journey.reply["body"]
    assert reply["author"] == {"id": str(author["id"]), "name": author["full_name"],
                               "role": Role(author["role"]).value}, reply


@when(parsers.parse("the {person} opens the assessment"))
def opens(world, journey: Journey, person: str) -> None:
    journey.view = _view(world, journey, person)


@then(parsers.parse('they see the focus areas "{areas}" with their questions in order'))
def sees_areas(journey: Journey, areas: str) -> None:
    assert [a["id"] for a in journey.view["areas"]] == areas.split(", ")
    questions = [q["id"] for a in journey.view["areas"] for c in a["controls"] for q in c["questions"]]
    assert questions == ["has-lead", "lead-name", "lead-maturity", "device-count", "device-notes"]


@then(parsers.parse('"{question}" is hidden until "{condition}" is answered "{value}"'))
def hidden_until(journey: Journey, question: str, condition: str, value: str) -> None:
    q = _question(journey.view, question)
    assert not q["shown"] and q["missing"] == [], q
    assert q["show_if"] == {"question": condition, "equals": [value.lower()]}


@then(parsers.parse('"{question}" is shown and required, and "{other}" needs evidence it does not have'))
def shown_and_needs(world, journey: Journey, question: str, other: str) -> None:
    view = _view(world, journey, "staff member at provider A")
    q = _question(view, question)
    assert q["shown"] and q["required"] and not q["answered"] and q["missing"] == ["an answer is required"], q
    o = _question(view, other)
    assert o["needs_evidence"] and not o["has_evidence"]
    assert o["missing"] == ["evidence is required for this answer"], o
    journey.view = view


@then(parsers.parse("the leadership area has {left:d} of {shown:d} shown questions left to answer and {files:d} "
                    "missing piece of evidence"))
def leadership_progress(journey: Journey, left: int, shown: int, files: int) -> None:
    progress = journey.view["areas"][0]["progress"]
    assert (progress["shown"], progress["missing_answers"], progress["missing_evidence"]) == (shown, left, files)
    assert progress["complete"] is False
