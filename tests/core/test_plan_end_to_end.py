"""The plan's own template, rolled out to the demo providers, completed end to end through the API: the demo's
provider, part way through this quarter's assessment, answers every visible question, attaches evidence where the
answers call for it (on disk and on a real S3 server), its privacy lead submits and an auditor accepts. On SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import date

import msgspec
import pytest

from tests.support.databases import make_settings
from partner_audit import demo
from partner_audit.controls import answers as rules
from partner_audit.controls.schemas import Question, QuestionType, Template
from partner_audit.security.csrf import token_for_session
from partner_audit.security.middleware import SESSION_COOKIE

PDF = b"%PDF-1.4\n% evidence for the plan's self-assessment\n%%EOF\n"


@pytest.fixture(params=["disk", "s3"])
def settings(request, database, tmp_path):
    env = request.getfixturevalue("s3_server").settings_env(prefix="e2e") if request.param == "s3" else {}
    return make_settings(database, tmp_path, **env)


def best_answer(question: Question):
    """What a well-run provider would answer: the strongest option, a number in range, today, a sentence."""
    if question.type is QuestionType.multi_choice:
        return [question.options[0].value]
    if question.type in (QuestionType.yes_no, QuestionType.yes_partial_no, QuestionType.choice):
        return question.options[0].value
    if question.type is QuestionType.maturity:
        return question.options[-1].value
    if question.type is QuestionType.number:
        return int(question.min if question.min is not None else 1) + (1 if question.max is None else 0)
    if question.type is QuestionType.date:
        return date.today().isoformat()
    return "Our privacy lead checks this every quarter and reports to the board."


def test_the_plan_completed_end_to_end(client, run, settings):
    made = run(lambda: demo.load(settings))
    logins = {email: password for _, email, password in made.logins}

    def session(local: str) -> dict[str, str]:
        email = f"{local}@{demo.DEMO_DOMAIN}"
        r = client.post("/api/v1/auth/login", json={"email": email, "password": logins[email]})
        assert r.status_code == 200, r.text
        secret = r.cookies[SESSION_COOKIE]
        client.cookies.clear()
        # As the pages' scripts do: the session's CSRF token on every request (uploads need it).
        return {"Cookie": f"{SESSION_COOKIE}={secret}", "X-CSRF-Token": token_for_session(secret)}

    lead, staff, auditor, partnerships = (session(p) for p in ("provider.admin", "provider.user", "auditor",
                                                               "partnerships"))
    [rollout] = [r for r in client.get("/api/v1/rollouts", headers=partnerships).json()["items"]
                 if r["name"] == demo.PLAN_ROLLOUT]
    assert rollout["selection"]["risk_tiers"] == [1, 2, 3]
    [assessment] = client.get("/api/v1/assessments", params={"rollout_id": rollout["id"]}, headers=staff).json()["items"]
    assert assessment["status"] == "in_progress", "the demo's provider is part way through"
    aid = assessment["id"]
    detail = client.get(f"/api/v1/templates/{assessment['template_version_id']}", headers=staff).json()
    template = msgspec.convert(detail["template"], Template)
    assert template.key == "pip-2024-25"

    def current() -> dict[str, dict]:
        return {a["question_id"]: a for a in client.get(f"/api/v1/assessments/{aid}", headers=staff).json()["answers"]}

    before = current()
    assert before, "the demo answered the first questions"
    answers: dict[str, object] = {}
    for area in template.areas:
        batch = []
        for control in area.controls:
            for question in control.questions:
                if rules.visible(question, answers):
                    answers[question.id] = rules.normalise_answer(question, best_answer(question))
                    version = before[question.id]["version"] if question.id in before else 0
                    batch.append({"question_id": question.id, "value": answers[question.id], "version": version})
        r = client.put(f"/api/v1/assessments/{aid}/answers", json={"answers": batch}, headers=staff)
        assert r.status_code == 200, r.text
    # Answers to questions that no longer show are kept but do not count.
    answers = {q: v for q, v in answers.items() if rules.visible(
        next(question for _, _, question in template.questions() if question.id == q), answers)}

    # The earlier round's files came forward with its answers; the provider takes every file off two questions
    # whose answers ask for evidence, to attach current ones.
    files = client.get(f"/api/v1/assessments/{aid}", headers=staff).json()["evidence"]
    asking = [q.id for _, _, q in template.questions() if q.id in answers and rules.needs_evidence(q, answers[q.id])]
    replaced = [q for q in asking if any(e["question_id"] == q and e["carried_from"] for e in files)][:2]
    assert len(replaced) == 2
    for item in files:
        if item["question_id"] in replaced:
            r = client.delete(f"/api/v1/evidence/{item['id']}", headers=staff)
            assert r.status_code == 204, r.text
    kept = [e for e in files if e["question_id"] not in replaced]
    attached = {e["question_id"] for e in kept}
    needing = [q for _, _, q in template.questions() if q.id in answers and rules.needs_evidence(q, answers[q.id])
               and q.id not in attached]
    assert needing, "the plan asks for evidence of the practices a provider claims"
    r = client.post(f"/api/v1/assessments/{aid}/submit", headers=lead)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {f"answers.{q.id}" for q in needing}

    for question in needing:
        r = client.post(f"/api/v1/assessments/{aid}/evidence", data={"question_id": question.id},
                        files={"file": (f"{question.id}.pdf", PDF)}, headers=staff)
        assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/assessments/{aid}/submit", headers=lead)
    assert r.status_code == 200 and r.json()["status"] == "submitted", r.text
    r = client.post(f"/api/v1/assessments/{aid}/accept", json={"note": "All evidence seen."}, headers=auditor)
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text

    evidence = client.get(f"/api/v1/assessments/{aid}", headers=auditor).json()["evidence"]
    assert len(evidence) == len(needing) + len(kept)
    r = client.get(f"/api/v1/evidence/{evidence[0]['id']}/download", headers=auditor, follow_redirects=False)
    assert r.status_code == (307 if settings.is_s3 else 200)
    progress = client.get(f"/api/v1/rollouts/{rollout['id']}", headers=partnerships).json()["progress"]
    assert progress["by_status"]["accepted"] == 1 and progress["total"] == 10
