"""Rollouts create assessments; providers answer and submit; auditors return, accept and reopen."""

from __future__ import annotations

from tests.support.assessments import assessment_of, launched, rollout_body
from tests.support.world import register_provider


def test_launch_is_idempotent_and_adds_new_matches(world, template_id, run):
    rollout = launched(world, template_id, risk_tiers=[2])
    r = world.partnerships.post(f"/api/v1/rollouts/{rollout['id']}/launch")
    assert r.json()["created"] == 0 and r.json()["already_there"] == 2
    register_provider(run, "Late Joiner Trust", 3, risk_tier=2)
    register_provider(run, "Tier One Trust", 4, risk_tier=1)
    r = world.partnerships.post(f"/api/v1/rollouts/{rollout['id']}/launch")
    assert r.json()["created"] == 1
    progress = world.partnerships.get(f"/api/v1/rollouts/{rollout['id']}").json()["progress"]
    assert progress == {"total": 3, "by_status": {"not_started": 3, "in_progress": 0, "submitted": 0,
                                                  "returned": 0, "accepted": 0},
                        "overdue": 0, "percent_accepted": 0.0}


def test_rollout_by_name_and_rules(world, template_id):
    launched(world, template_id, provider_ids=[str(world.provider_b["id"])])
    assert world.b_user.get("/api/v1/assessments").json()["total"] == 1
    assert world.provider_user.get("/api/v1/assessments").json()["total"] == 0
    bad = rollout_body(template_id)
    bad["due_on"] = "2020-01-01"
    r = world.partnerships.post("/api/v1/rollouts", json=bad)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "due_on"
    bad = rollout_body(template_id)
    bad["period"] = "2025-Q5"
    r = world.partnerships.post("/api/v1/rollouts", json=bad)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "period"
    r = world.provider_admin.post("/api/v1/rollouts", json=rollout_body(template_id))
    assert r.status_code == 403


def test_answers_carry_versions_and_stale_saves_conflict(world, template_id):
    launched(world, template_id)
    a = assessment_of(world.provider_user, world.provider_a["id"])
    url = f"/api/v1/assessments/{a['id']}/answers"
    r = world.provider_user.request("PUT", url, json={"answers": [{"question_id": "has-lead", "value": "Yes"}]})
    assert r.status_code == 200, r.text
    assert r.json()[0]["value"] == "yes" and r.json()[0]["version"] == 1
    # Two people edit version 1: the first wins, the second is told and sees the current answer.
    first = world.provider_admin.request("PUT", url, json={"answers": [
        {"question_id": "has-lead", "value": "no", "version": 1}]})
    assert first.status_code == 200 and first.json()[0]["version"] == 2
    second = world.provider_user.request("PUT", url, json={"answers": [
        {"question_id": "has-lead", "value": "yes", "version": 1, "comment": "we do"}]})
    assert second.status_code == 409, second.text
    assert second.json()["current"]["value"] == "no" and second.json()["current"]["version"] == 2
    # A batch with one bad answer saves nothing.
    r = world.provider_user.request("PUT", url, json={"answers": [
        {"question_id": "device-count", "value": 3},
        {"question_id": "lead-maturity", "value": "Sometimes"},
        {"question_id": "nope", "value": "x"},
    ]})
    assert r.status_code == 422
    fields = [e["field"] for e in r.json()["errors"]]
    assert fields == ["answers[1].value", "answers[2].question_id"]
    detail = world.provider_user.get(f"/api/v1/assessments/{a['id']}").json()
    assert {x["question_id"] for x in detail["answers"]} == {"has-lead"}
    assert detail["status"] == "in_progress"


def test_submit_review_return_accept_reopen(world, template_id):
    launched(world, template_id)
    a = assessment_of(world.provider_admin, world.provider_a["id"])
    aid = a["id"]
    put = lambda api, answers: api.request("PUT", f"/api/v1/assessments/{aid}/answers", json={"answers": answers})
    assert put(world.provider_user, [{"question_id": "has-lead", "value": "no"}]).status_code == 200
    # Missing items are listed one by one; the hidden follow-up question is not required.
    r = world.provider_admin.post(f"/api/v1/assessments/{aid}/submit")
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"answers.lead-maturity", "answers.device-count"}
    assert world.provider_user.post(f"/api/v1/assessments/{aid}/submit").status_code == 403
    assert put(world.provider_user, [{"question_id": "lead-maturity", "value": 3},
                                     {"question_id": "device-count", "value": "4"}]).status_code == 200
    r = world.provider_admin.post(f"/api/v1/assessments/{aid}/submit")
    assert r.status_code == 200 and r.json()["status"] == "submitted"
    # Submitted: locked for the provider while it is reviewed.
    assert put(world.provider_user, [{"question_id": "device-notes", "value": "x"}]).status_code == 409
    r = world.auditor.post(f"/api/v1/assessments/{aid}/comments",
                           json={"question_id": "device-count", "body": "Please count the phones too."})
    assert r.status_code == 201
    r = world.auditor.post(f"/api/v1/assessments/{aid}/return", json={"reason": "Device count looks low."})
    assert r.json()["status"] == "returned"
    detail = world.provider_user.get(f"/api/v1/assessments/{aid}").json()
    assert detail["comments"][0]["body"] == "Please count the phones too."
    version = next(x["version"] for x in detail["answers"] if x["question_id"] == "device-count")
    assert put(world.provider_user, [{"question_id": "device-count", "value": 7, "version": version}]
               ).status_code == 200
    assert world.provider_admin.post(f"/api/v1/assessments/{aid}/submit").status_code == 200
    assert world.provider_admin.post(f"/api/v1/assessments/{aid}/accept", json={}).status_code == 403
    r = world.auditor.post(f"/api/v1/assessments/{aid}/accept", json={"note": "Thanks"})
    assert r.json()["status"] == "accepted"
    assert put(world.provider_user, [{"question_id": "device-notes", "value": "x"}]).status_code == 409
    r = world.auditor.post(f"/api/v1/assessments/{aid}/reopen", json={})
    assert r.status_code == 400  # a reason is required
    r = world.auditor.post(f"/api/v1/assessments/{aid}/reopen", json={"reason": "New devices issued."})
    assert r.json()["status"] == "in_progress"
    progress = world.partnerships.get(f"/api/v1/rollouts/{a['rollout_id']}").json()["progress"]
    assert progress["by_status"]["in_progress"] == 1


def test_other_provider_never_sees_assessment(world, template_id):
    launched(world, template_id)
    a = assessment_of(world.provider_admin, world.provider_a["id"])
    for api in (world.b_user, world.b_admin):
        assert api.get(f"/api/v1/assessments/{a['id']}").status_code == 404
        r = api.request("PUT", f"/api/v1/assessments/{a['id']}/answers",
                        json={"answers": [{"question_id": "has-lead", "value": "yes"}]})
        assert r.status_code == 404
        assert all(x["provider_id"] != str(world.provider_a["id"])
                   for x in api.get("/api/v1/assessments").json()["items"])
    assert world.b_admin.post(f"/api/v1/assessments/{a['id']}/submit").status_code == 404


def test_concurrent_launches_count_and_log_each_assessment_once(world, template_id, run):
    """Twenty launches of one rollout at once (overlapping transactions on PostgreSQL, queued on SQLite) report,
    and log, each created assessment exactly once between them."""
    import asyncio

    from partner_audit.assessments.services import rollouts
    from partner_audit.security.tables import AccessLogEntry
    from partner_audit.security.caller import Caller, Role

    for index in range(3, 11):
        register_provider(run, f"Concurrent Trust {index}", index, risk_tier=2)
    r = world.partnerships.post("/api/v1/rollouts", json=rollout_body(template_id, risk_tiers=[2]))
    rollout_id = r.json()["id"]
    caller = Caller(world.partnerships.user["id"], "partnerships@example.org", Role.partnerships, None)

    async def twenty() -> list[dict]:
        return await asyncio.gather(*(rollouts.launch(caller, rollout_id) for _ in range(20)))

    results = run(twenty)
    assert sum(result["created"] for result in results) == 10
    assert all(result["created"] + result["already_there"] == 10 for result in results)
    details = run(lambda: AccessLogEntry.select(AccessLogEntry.detail)
                  .where(AccessLogEntry.action == "rollout.launch").run())
    assert sum(int(d["detail"].split()[1]) for d in details) == 10
