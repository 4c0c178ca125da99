"""The assessment as its provider sees it: the questionnaire in order, where each question stands, and progress;
the same rules as submitting, read from the same place."""

from __future__ import annotations

from partner_audit.controls import answers as rules
from partner_audit.controls import service as controls
from partner_audit.controls import yaml as template_yaml
from tests.support.assessments import assessment_of, launched

PDF = b"%PDF-1.4\n% the lead's appointment\n%%EOF\n"


def questions_of(view: dict) -> dict[str, dict]:
    return {q["id"]: q for a in view["areas"] for c in a["controls"] for q in c["questions"]}


def put(api, aid: str, answers: list[dict]):
    r = api.put(f"/api/v1/assessments/{aid}/answers", json={"answers": answers})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_new_assessment_lays_out_the_template_in_order(world, template_id):
    launched(world, template_id)
    aid = assessment_of(world.provider_user, world.provider_a["id"])["id"]
    view = world.provider_user.get(f"/api/v1/assessments/{aid}").json()

    assert view["template"] == {"key": "mini", "title": "Mini privacy check", "version": "1"}
    assert [(a["id"], [c["id"] for c in a["controls"]]) for a in view["areas"]] == [
        ("leadership", ["privacy-lead"]), ("devices", ["device-register"])]
    assert list(questions_of(view)) == ["has-lead", "lead-name", "lead-maturity", "device-count", "device-notes"]
    q = questions_of(view)
    assert q["has-lead"]["options"] == [{"value": "yes", "label": "Yes", "score": 100.0},
                                        {"value": "no", "label": "No", "score": 0.0}]
    assert (q["has-lead"]["evidence_rule"], q["has-lead"]["evidence_on"]) == ("on_answers", ["yes"])
    assert (q["device-count"]["min"], q["device-count"]["max"]) == (0, 500)
    assert q["lead-name"]["show_if"] == {"question": "has-lead", "equals": ["yes"]}
    # Nothing answered: the follow-up is hidden (and so not missing), the optional note is not missing either.
    assert [(i, x["shown"], x["answered"], x["missing"]) for i, x in q.items()] == [
        ("has-lead", True, False, ["an answer is required"]), ("lead-name", False, False, []),
        ("lead-maturity", True, False, ["an answer is required"]),
        ("device-count", True, False, ["an answer is required"]), ("device-notes", True, False, [])]
    assert all(x["answer"] is None and x["evidence"] == [] and x["comments"] == [] for x in q.values())
    assert view["progress"] == {"questions": 5, "shown": 4, "required": 3, "answered": 0, "missing_answers": 3,
                                "missing_evidence": 0, "unconfirmed": 0, "lacking": 3, "complete": False}
    assert [a["progress"] for a in view["areas"]] == [
        {"questions": 3, "shown": 2, "required": 2, "answered": 0, "missing_answers": 2, "missing_evidence": 0,
         "unconfirmed": 0, "lacking": 2, "complete": False},
        {"questions": 2, "shown": 2, "required": 1, "answered": 0, "missing_answers": 1, "missing_evidence": 0,
         "unconfirmed": 0, "lacking": 1, "complete": False}]
    assert (view["raised_questions"], view["raised_awaiting_answer"]) == (0, 0)
    # The earlier fields are all still there.
    assert {"answers", "comments", "evidence", "status", "provider_name"} <= set(view)


def test_answers_and_files_move_each_question_and_the_progress(world, template_id):
    launched(world, template_id)
    aid = assessment_of(world.provider_user, world.provider_a["id"])["id"]
    put(world.provider_user, aid, [{"question_id": "has-lead", "value": "Yes", "comment": "Since March"},
                                   {"question_id": "device-count", "value": 4}])
    q = questions_of(world.provider_user.get(f"/api/v1/assessments/{aid}").json())
    assert q["has-lead"]["answer"]["value"] == "yes" and q["has-lead"]["answer"]["comment"] == "Since March"
    assert q["has-lead"]["answer"]["version"] == 1
    assert (q["has-lead"]["needs_evidence"], q["has-lead"]["has_evidence"], q["has-lead"]["missing"]) == (
        True, False, ["evidence is required for this answer"])
    assert (q["lead-name"]["shown"], q["lead-name"]["missing"]) == (True, ["an answer is required"])
    assert q["device-count"]["answered"] and not q["device-count"]["needs_evidence"]

    r = world.provider_user.post(f"/api/v1/assessments/{aid}/evidence", data={"question_id": "has-lead"},
                                 files={"file": ("appointment.pdf", PDF)})
    assert r.status_code == 201, r.text
    view = world.provider_user.get(f"/api/v1/assessments/{aid}").json()
    q = questions_of(view)
    assert [e["filename"] for e in q["has-lead"]["evidence"]] == ["appointment.pdf"]
    assert q["has-lead"]["has_evidence"] and q["has-lead"]["missing"] == []
    assert all(x["evidence"] == [] for i, x in q.items() if i != "has-lead")
    assert view["areas"][0]["progress"] == {"questions": 3, "shown": 3, "required": 3, "answered": 1,
                                            "missing_answers": 2, "missing_evidence": 0, "unconfirmed": 0,
                                            "lacking": 2, "complete": False}
    assert view["areas"][1]["progress"]["complete"] is True

    # Answered "no": the follow-up hides again and the file is no longer asked for (but is still listed).
    put(world.provider_user, aid, [{"question_id": "has-lead", "value": "no", "version": 1}])
    q = questions_of(world.provider_user.get(f"/api/v1/assessments/{aid}").json())
    assert not q["lead-name"]["shown"] and not q["has-lead"]["needs_evidence"] and q["has-lead"]["has_evidence"]


def test_the_view_and_submit_name_the_same_missing_items(world, template_id):
    """Submit's 422 lists exactly the questions the view marks as missing, at every step."""
    launched(world, template_id)
    aid = assessment_of(world.provider_admin, world.provider_a["id"])["id"]
    steps = [
        [],
        [{"question_id": "has-lead", "value": "yes"}],
        [{"question_id": "lead-name", "value": "Hine"}, {"question_id": "lead-maturity", "value": 2}],
        [{"question_id": "device-count", "value": 0}],
    ]
    for answers in steps:
        if answers:
            put(world.provider_admin, aid, answers)
        view = world.provider_admin.get(f"/api/v1/assessments/{aid}").json()
        expected = [{"field": f"answers.{i}", "message": m}
                    for i, x in questions_of(view).items() for m in x["missing"]]
        r = world.provider_admin.post(f"/api/v1/assessments/{aid}/submit")
        assert r.status_code == 422, r.text
        assert r.json()["errors"] == expected
        assert view["progress"]["missing_answers"] + view["progress"]["missing_evidence"] == len(expected)
        assert view["progress"]["lacking"] == len(expected)
    world.provider_admin.post(f"/api/v1/assessments/{aid}/evidence", data={"question_id": "has-lead"},
                              files={"file": ("appointment.pdf", PDF)})
    view = world.provider_admin.get(f"/api/v1/assessments/{aid}").json()
    assert view["progress"]["complete"] is True
    assert world.provider_admin.post(f"/api/v1/assessments/{aid}/submit").status_code == 200


CHAIN = """
key: chain
title: Chained follow-ups
version: "1"
areas:
  - id: devices
    title: Devices
    controls:
      - id: held
        title: Devices held
        recommendations: [22]
        questions:
          - {id: holds, text: "Do your staff hold agency devices?", type: yes_no}
          - {id: phones, text: "Any phones?", type: yes_no, show_if: {question: holds, equals: ["yes"]}}
          - {id: phone-count, text: "How many phones?", type: number,
             show_if: {question: phones, equals: ["yes"]}, evidence: always}
"""


def test_a_follow_up_of_a_hidden_question_is_hidden_too():
    """A stale answer to a question that no longer shows does not show its own follow-ups (nor ask for them)."""
    template = template_yaml.parse(CHAIN)
    questions = [q for _, _, q in template.questions()]
    stale = {"holds": "no", "phones": "yes"}
    found = rules.states(questions, stale, set())
    assert [(i, s.shown, s.missing) for i, s in found.items()] == [
        ("holds", True, None), ("phones", False, None), ("phone-count", False, None)]
    assert rules.missing(questions, stale, set()) == []
    found = rules.states(questions, {"holds": "yes", "phones": "yes", "phone-count": 2}, set())
    assert found["phone-count"] == rules.QuestionState(True, True, True, False, "evidence is required for this answer")


def test_the_template_is_read_once_and_the_view_costs_no_query_per_question(world, template_id, monkeypatch):
    """Reading the assessment reads the template version once per process, and takes as many queries with
    every question answered, commented on and backed by a file as with nothing at all."""
    from piccolo.engine.postgres import PostgresEngine
    from piccolo.engine.sqlite import SQLiteEngine

    launched(world, template_id)
    aid = assessment_of(world.provider_user, world.provider_a["id"])["id"]
    url = f"/api/v1/assessments/{aid}"
    assert world.provider_user.get(url).status_code == 200
    reads, queries = [], []
    original_get = controls.get_version

    async def counted_get_version(version_id):
        reads.append(version_id)
        return await original_get(version_id)

    monkeypatch.setattr(controls, "get_version", counted_get_version)
    for engine in (SQLiteEngine, PostgresEngine):
        original = engine.run_querystring

        async def counted(self, querystring, *args, _original=original, **kwargs):
            queries.append(str(querystring)[:60])
            return await _original(self, querystring, *args, **kwargs)

        monkeypatch.setattr(engine, "run_querystring", counted)

    assert world.provider_user.get(url).status_code == 200
    bare = len(queries)
    assert bare >= 5, queries  # the assessment, its answers, comments and files, and the access log
    put(world.provider_user, aid, [{"question_id": "has-lead", "value": "yes"},
                                   {"question_id": "lead-name", "value": "Hine"},
                                   {"question_id": "lead-maturity", "value": 3},
                                   {"question_id": "device-count", "value": 4},
                                   {"question_id": "device-notes", "value": "none"}])
    for question in ("has-lead", "device-count"):
        world.provider_user.post(f"{url}/evidence", data={"question_id": question},
                                 files={"file": ("a.pdf", PDF)})
        world.auditor.post(f"{url}/comments", json={"question_id": question, "body": "Why?"})
    queries.clear()
    view = world.provider_user.get(url).json()
    assert len(questions_of(view)["has-lead"]["comments"]) == 1 and view["progress"]["answered"] == 5
    assert len(queries) == bare, queries
    assert reads == []


def test_carried_answers_and_expired_files_show_as_submit_names_them(world, template_id, run):
    """The next period: carried answers wait for confirmation and an expired file is no evidence, in the view
    exactly as in submit's refusal."""
    from tests.support.assessments import MINI_V2, accepted_assessment, expire_evidence, launch_for, load_template

    old = accepted_assessment(world, template_id)
    expire_evidence(run, next(e for e in old["evidence"] if e["question_id"] == "has-lead")["id"])
    _, new = launch_for(world, load_template(run, MINI_V2), "2026-Q3", world.provider_a["id"])
    aid = new["id"]
    view = world.provider_admin.get(f"/api/v1/assessments/{aid}").json()
    q = questions_of(view)
    carried = "was carried from 2025-Q3: confirm it unchanged or change it"
    assert q["has-lead"]["answer"]["confirmed"] is False and q["has-lead"]["evidence"][0]["expired"] is True
    assert not q["has-lead"]["has_evidence"]
    assert q["has-lead"]["missing"] == ["the evidence attached has expired: attach a current file", carried]
    assert q["lead-name"]["missing"] == [carried]
    assert view["progress"]["unconfirmed"] == 3 and view["progress"]["complete"] is False
    r = world.provider_admin.post(f"/api/v1/assessments/{aid}/submit")
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [{"field": f"answers.{i}", "message": m}
                                  for i, x in q.items() for m in x["missing"]]
    assert view["progress"]["lacking"] == len({e["field"] for e in r.json()["errors"]})
    # A reviewer asks about a carried answer; confirming it unchanged answers them.
    assert world.auditor.post(f"/api/v1/assessments/{aid}/comments", json={
        "question_id": "lead-name", "body": "Is Hine still the lead?"}).status_code == 201
    assert questions_of(world.auditor.get(f"/api/v1/assessments/{aid}").json())["lead-name"][
        "answered_since_raised"] is False
    r = world.provider_user.post(f"/api/v1/assessments/{aid}/answers/confirm", json={"question_ids": ["lead-name"]})
    assert r.status_code == 200, r.text
    q = questions_of(world.auditor.get(f"/api/v1/assessments/{aid}").json())["lead-name"]
    assert q["answered_since_raised"] is True and q["missing"] == []
