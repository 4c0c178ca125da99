"""The next period starts from what was accepted: answers and evidence carried, confirmed one by one."""

from __future__ import annotations

import asyncio

from partner_audit.assessments.tables import Answer, Evidence
from partner_audit.security.caller import Caller, Role
from partner_audit.security.tables import AccessLogEntry
from tests.support.assessments import (
    MINI_V2,
    accepted_assessment,
    attach,
    expire_evidence,
    launch_for,
    load_template,
    POLICY_PDF,
)
from tests.support.problems import problem


def answers_of(api, aid) -> dict[str, dict]:
    r = api.get(f"/api/v1/assessments/{aid}")
    assert r.status_code == 200, r.text
    return {a["question_id"]: a for a in r.json()["answers"]}


def confirm(api, aid, *question_ids):
    return api.post(f"/api/v1/assessments/{aid}/answers/confirm", json={"question_ids": list(question_ids)})


def next_period(world, template_id, run) -> tuple[dict, dict, dict]:
    """Provider A's 2025-Q3 assessment accepted, then version 2 launched to A for 2026-Q3: (old, launch, new)."""
    old = accepted_assessment(world, template_id)
    launch, new = launch_for(world, load_template(run, MINI_V2), "2026-Q3", world.provider_a["id"])
    return old, launch, new


def test_answers_and_evidence_are_carried_unconfirmed(world, template_id, run):
    old, launch, new = next_period(world, template_id, run)
    assert launch["created"] == 1 and launch["carried_into"] == 1
    carried = answers_of(world.provider_user, new["id"])
    # device-count's question changed (text and bounds): it starts blank. lead-name's help text changed: carried.
    assert set(carried) == {"has-lead", "lead-name", "lead-maturity"}
    before = {a["question_id"]: a for a in old["answers"]}
    for qid, answer in carried.items():
        assert answer["value"] == before[qid]["value"] and answer["comment"] == before[qid]["comment"]
        assert answer["carried_from"] == old["id"] and answer["carried_from_period"] == "2025-Q3"
        assert answer["confirmed"] is False and answer["confirmed_at"] is None
        # Who gave the answer, and when, stay as they were: the carried answer is still theirs, from then.
        assert answer["answered_by"] == before[qid]["answered_by"] and answer["version"] == 1
    # The files: new rows naming the same stored bytes (same key, same sha256), nothing copied.
    files = {e["question_id"]: e for e in world.provider_user.get(f"/api/v1/assessments/{new['id']}").json()[
        "evidence"]}
    olds = {e["question_id"]: e for e in old["evidence"]}
    assert set(files) == {"has-lead", "lead-maturity"}
    for qid, file in files.items():
        assert file["id"] != olds[qid]["id"] and file["sha256"] == olds[qid]["sha256"]
        assert file["carried_from"] == old["id"] and file["carried_from_period"] == "2025-Q3"
    keys = run(lambda: Evidence.select(Evidence.assessment, Evidence.storage_key).run())
    by_assessment = {}
    for row in keys:
        by_assessment.setdefault(str(row["assessment"]), set()).add(row["storage_key"])
    assert by_assessment[new["id"]] == by_assessment[old["id"]]
    assert files["has-lead"]["expires_on"] == olds["has-lead"]["expires_on"] and not files["has-lead"]["expired"]
    # The old assessment is untouched, and its reviewers' comments stay with it.
    assert world.auditor.get(f"/api/v1/assessments/{old['id']}").json()["answers"] == old["answers"]
    # Provider B had nothing accepted: nothing to carry.
    entries = run(lambda: AccessLogEntry.select(AccessLogEntry.record_id, AccessLogEntry.provider_id,
                                                AccessLogEntry.detail)
                  .where(AccessLogEntry.action == "assessment.carry").run())
    assert [(e["record_id"], e["provider_id"]) for e in entries] == [(new["id"], str(world.provider_a["id"]))]
    assert "3 answer(s), 2 evidence file(s) (0 expired)" in entries[0]["detail"]
    assert "not carried, as the question changed: device-count" in entries[0]["detail"]


def test_expired_evidence_is_carried_marked_expired_and_does_not_count(world, template_id, run):
    old = accepted_assessment(world, template_id)
    policy = next(e for e in old["evidence"] if e["question_id"] == "has-lead")
    expire_evidence(run, policy["id"])
    _, new = launch_for(world, load_template(run, MINI_V2), "2026-Q3", world.provider_a["id"])
    aid = new["id"]
    files = world.provider_user.get(f"/api/v1/assessments/{aid}").json()["evidence"]
    carried_policy = next(e for e in files if e["question_id"] == "has-lead")
    assert carried_policy["expired"] is True
    assert confirm(world.provider_user, aid, "has-lead", "lead-name", "lead-maturity").status_code == 200
    r = world.provider_user.put(f"/api/v1/assessments/{aid}/answers",
                                json={"answers": [{"question_id": "device-count", "value": 6}]})
    assert r.status_code == 200, r.text
    body = problem(world.provider_admin.post(f"/api/v1/assessments/{aid}/submit"), 422)
    assert body["errors"] == [{"field": "answers.has-lead",
                               "message": "the evidence attached has expired: attach a current file"}]
    # Expiry is about the file, not the period: one attached here that expires later counts again.
    assert attach(world.provider_user, aid, "has-lead", "policy-2026.pdf", POLICY_PDF).status_code == 201
    assert world.provider_admin.post(f"/api/v1/assessments/{aid}/submit").status_code == 200


def test_submit_is_refused_until_each_carried_answer_is_confirmed(world, template_id, run):
    _, _, new = next_period(world, template_id, run)
    aid = new["id"]
    body = problem(world.provider_admin.post(f"/api/v1/assessments/{aid}/submit"), 422)
    assert {e["field"] for e in body["errors"]} == {
        "answers.has-lead", "answers.lead-name", "answers.lead-maturity", "answers.device-count"}
    assert {"field": "answers.lead-name",
            "message": "was carried from 2025-Q3: confirm it unchanged or change it"} in body["errors"]
    # Confirming one by one, and saving one (changed or not) confirms it.
    r = confirm(world.provider_user, aid, "lead-name")
    assert r.status_code == 200, r.text
    (answer,) = r.json()
    assert answer["confirmed"] is True and answer["confirmed_by"] == str(world.provider_user.user["id"])
    assert answer["carried_from_period"] == "2025-Q3"
    assert world.provider_user.get(f"/api/v1/assessments/{aid}").json()["status"] == "in_progress"
    r = world.provider_admin.put(f"/api/v1/assessments/{aid}/answers", json={"answers": [
        {"question_id": "lead-maturity", "value": "4", "version": 1},
        {"question_id": "has-lead", "value": "yes", "version": 1, "comment": "Appointed by the board"},
        {"question_id": "device-count", "value": 9}]})
    assert r.status_code == 200, r.text
    saved = {a["question_id"]: a for a in r.json()}
    assert saved["lead-maturity"]["confirmed"] and saved["lead-maturity"]["carried_from_period"] == "2025-Q3"
    assert saved["has-lead"]["confirmed_by"] == str(world.provider_admin.user["id"])
    assert saved["device-count"]["carried_from"] is None and saved["device-count"]["confirmed"]
    r = world.provider_admin.post(f"/api/v1/assessments/{aid}/submit")
    assert r.status_code == 200, r.text


def test_a_carried_answer_to_a_hidden_question_does_not_hold_up_submit(world, template_id, run):
    _, _, new = next_period(world, template_id, run)
    aid = new["id"]
    # No privacy lead any more: the carried lead-name no longer shows, so it need not be confirmed.
    r = world.provider_user.put(f"/api/v1/assessments/{aid}/answers", json={"answers": [
        {"question_id": "has-lead", "value": "no", "version": 1}, {"question_id": "device-count", "value": 2}]})
    assert r.status_code == 200, r.text
    body = problem(world.provider_admin.post(f"/api/v1/assessments/{aid}/submit"), 422)
    assert [e["field"] for e in body["errors"]] == ["answers.lead-maturity"]


def test_confirm_refusals(world, template_id, run):
    _, _, new = next_period(world, template_id, run)
    aid = new["id"]
    r = world.provider_user.put(f"/api/v1/assessments/{aid}/answers",
                                json={"answers": [{"question_id": "device-count", "value": 3}]})
    assert r.status_code == 200
    # A question answered here, one not answered at all, one not in the template, one twice: all named, and
    # nothing is confirmed, not even the carried one in the same request.
    body = problem(confirm(world.provider_user, aid, "lead-name", "device-count", "device-notes", "nope",
                           "lead-name"), 422)
    assert [e["field"] for e in body["errors"]] == ["question_ids[1]", "question_ids[2]", "question_ids[3]",
                                                    "question_ids[4]"]
    assert "no answer carried" in body["errors"][0]["message"]
    assert answers_of(world.provider_user, aid)["lead-name"]["confirmed"] is False
    # Another provider's people: not found, and nothing changes.
    for api in (world.b_user, world.b_admin):
        problem(confirm(api, aid, "lead-name"), 404)
    problem(confirm(world.provider_user, "00000000-0000-0000-0000-000000000000", "lead-name"), 404)
    # The agency does not answer for a provider.
    for api in (world.auditor, world.partnerships, world.governance, world.admin):
        problem(confirm(api, aid, "lead-name"), 403)
    assert answers_of(world.provider_user, aid)["lead-name"]["confirmed"] is False
    # Malformed requests.
    url = f"/api/v1/assessments/{aid}/answers/confirm"
    problem(world.provider_user.post(url, json={"question_ids": []}), 400, "question_ids")
    problem(world.provider_user.post(url, json={"question_ids": ["x"] * 501}), 400, "question_ids")
    problem(world.provider_user.post(url, json={"question_ids": ["lead\x00name"]}), 400)
    problem(world.provider_user.post(url, json={"question_ids": ["lead-name"], "all": True}), 400, "all")
    problem(world.provider_user.post(url, content=b"question_ids=lead-name",
                                     headers={"content-type": "application/x-www-form-urlencoded"}), 415)
    problem(world.provider_user.post(url, json={"question_ids": ["x" * 81]}), 400, "question_ids[0]")
    assert answers_of(world.provider_user, aid)["lead-name"]["confirmed"] is False
    # Confirming twice is harmless; once submitted, nothing more is confirmed.
    assert confirm(world.provider_user, aid, "lead-name").status_code == 200
    r = confirm(world.provider_admin, aid, "lead-name")
    assert r.status_code == 200 and r.json()[0]["confirmed_by"] == str(world.provider_user.user["id"])
    assert confirm(world.provider_user, aid, "has-lead", "lead-maturity").status_code == 200
    assert world.provider_admin.post(f"/api/v1/assessments/{aid}/submit").status_code == 200
    problem(confirm(world.provider_user, aid, "lead-name"), 409)


def test_concurrent_confirms_confirm_once_and_log_each(world, template_id, run):
    from partner_audit.assessments.services import carry

    _, _, new = next_period(world, template_id, run)
    aid = new["id"]
    callers = [Caller(p.user["id"], p.user["email"], role, world.provider_a["id"])
               for p, role in ((world.provider_user, Role.provider_user), (world.provider_admin, Role.provider_admin))]

    async def many() -> list:
        return await asyncio.gather(*(carry.confirm(callers[i % 2], aid, ["lead-name", "has-lead"])
                                      for i in range(10)))

    results = run(many)
    assert all([a["confirmed"] for a in result] == [True, True] for result in results)
    rows = run(lambda: Answer.select(Answer.question_id, Answer.confirmed_by, Answer.confirmed_at)
               .where(Answer.carried_from.is_not_null()).run())
    confirmed_by = {r["question_id"]: r["confirmed_by"] for r in rows}
    assert confirmed_by["lead-maturity"] is None
    # Whoever came first is the one recorded, and every answer returned agrees with it.
    assert {str(r[0]["confirmed_by"]) for r in results} == {str(confirmed_by["lead-name"])}
    details = run(lambda: AccessLogEntry.select(AccessLogEntry.detail)
                  .where(AccessLogEntry.action == "assessment.confirm").run())
    assert len(details) == 10
    assert sum("confirmed has-lead, lead-name" in d["detail"] for d in details) == 1


def test_launching_again_or_at_once_carries_nothing_twice(world, template_id, run):
    from partner_audit.assessments.services import rollouts

    accepted_assessment(world, template_id)
    accepted_assessment(world, template_id, admin=world.b_admin, staff=world.b_user, provider=world.provider_b)
    v2 = load_template(run, MINI_V2)
    from tests.support.assessments import rollout_body

    body = rollout_body(v2, risk_tiers=[2])
    body["period"] = "2026-Q3"
    rollout = world.partnerships.post("/api/v1/rollouts", json=body).json()
    caller = Caller(world.partnerships.user["id"], "partnerships@example.org", Role.partnerships, None)

    async def ten() -> list[dict]:
        return await asyncio.gather(*(rollouts.launch(caller, rollout["id"]) for _ in range(10)))

    results = run(ten)
    assert sum(r["created"] for r in results) == 2 and sum(r["carried_into"] for r in results) == 2
    again = world.partnerships.post(f"/api/v1/rollouts/{rollout['id']}/launch").json()
    assert again["created"] == 0 and again["carried_into"] == 0
    new_ids = [a["id"] for a in world.admin.get("/api/v1/assessments", params={"period": "2026-Q3"}).json()["items"]]
    for aid in new_ids:
        detail = world.admin.get(f"/api/v1/assessments/{aid}").json()
        assert sorted(a["question_id"] for a in detail["answers"]) == ["has-lead", "lead-maturity", "lead-name"]
        assert sorted(e["question_id"] for e in detail["evidence"]) == ["has-lead", "lead-maturity"]
    carries = run(lambda: AccessLogEntry.count().where(AccessLogEntry.action == "assessment.carry").run())
    assert carries == 2


def test_carried_from_the_last_accepted_only(world, template_id, run):
    """Q2 accepted, then Q3 accepted and reopened (no longer accepted): the next period starts from Q2."""
    accepted_assessment(world, template_id, period="2025-Q2", answers=[
        {"question_id": "has-lead", "value": "yes"}, {"question_id": "lead-name", "value": "Mere Parata"},
        {"question_id": "lead-maturity", "value": "2"}, {"question_id": "device-count", "value": 1}])
    q3 = accepted_assessment(world, template_id, period="2025-Q3")
    r = world.auditor.post(f"/api/v1/assessments/{q3['id']}/reopen", json={"reason": "Lead changed."})
    assert r.status_code == 200, r.text
    _, new = launch_for(world, template_id, "2025-Q4", world.provider_a["id"])
    carried = answers_of(world.provider_user, new["id"])
    assert carried["lead-name"]["value"] == "Mere Parata" and carried["lead-name"]["carried_from_period"] == "2025-Q2"
    # Same template version: every question means the same, so device-count is carried too.
    assert set(carried) == {"has-lead", "lead-name", "lead-maturity", "device-count"}


def test_a_template_with_another_key_carries_nothing(world, template_id, run, tmp_path):
    accepted_assessment(world, template_id)
    other = tmp_path / "other.yaml"
    other.write_text(MINI_V2.read_text().replace("key: mini", "key: mini-other"))
    launch, new = launch_for(world, load_template(run, other), "2026-Q3", world.provider_a["id"])
    assert launch["carried_into"] == 0 and answers_of(world.provider_user, new["id"]) == {}


def test_a_workbook_changes_carried_answers_and_confirms_only_those_it_changes(world, template_id, run):
    from tests.support.workbooks import as_bytes, download, fill, upload

    _, _, new = next_period(world, template_id, run)
    aid = new["id"]
    book, _ = download(world.provider_user, aid)
    fill(book, **{"lead-maturity": "4 - Mostly in place", "device-count": 7})  # has-lead and lead-name as carried
    r = upload(world.provider_user, aid, as_bytes(book))
    assert r.status_code == 200, r.text
    answers = answers_of(world.provider_user, aid)
    assert answers["lead-maturity"]["value"] == "4" and answers["lead-maturity"]["confirmed"] is True
    assert answers["device-count"]["carried_from"] is None
    assert answers["has-lead"]["confirmed"] is False and answers["lead-name"]["confirmed"] is False
    body = problem(world.provider_admin.post(f"/api/v1/assessments/{aid}/submit"), 422)
    assert {e["field"] for e in body["errors"]} == {"answers.has-lead", "answers.lead-name"}


def test_a_launch_never_carries_a_file_whose_removal_is_committing(world, template_id, run, database):
    """A file removed from a reopened earlier assessment while the next one launches: either the removal sees the
    carried row and keeps the bytes, or the launch does not carry the file. Never a carried row whose bytes the
    removal deletes. On PostgreSQL the removal's own statements (``evidence.remove_evidence``) are held open in a
    transaction while the launch runs; SQLite has one writer at a time, so there they queue."""
    import asyncpg

    from partner_audit.assessments.services import rollouts
    from tests.support.assessments import rollout_body

    old = accepted_assessment(world, template_id)
    policy = next(e for e in old["evidence"] if e["question_id"] == "has-lead")
    key = run(lambda: Evidence.select(Evidence.storage_key).where(Evidence.id == policy["id"]).first().run())[
        "storage_key"]
    assert world.auditor.post(f"/api/v1/assessments/{old['id']}/reopen", json={"reason": "Policy replaced."}
                              ).status_code == 200
    body = rollout_body(load_template(run, MINI_V2), provider_ids=[str(world.provider_a["id"])])
    body["period"] = "2026-Q3"
    rollout = world.partnerships.post("/api/v1/rollouts", json=body).json()
    # Accepted again, so the launch has a source to carry from, while the policy's removal is under way.
    assert world.provider_admin.post(f"/api/v1/assessments/{old['id']}/submit").status_code == 200
    assert world.auditor.post(f"/api/v1/assessments/{old['id']}/accept", json={}).status_code == 200
    caller = Caller(world.partnerships.user["id"], "partnerships@example.org", Role.partnerships, None)
    shared: list[bool] = []

    async def interleaved() -> None:
        removal = await asyncpg.connect(database.url)
        try:
            held = removal.transaction()
            await held.start()
            await removal.fetch("SELECT id FROM evidence WHERE storage_key = $1 ORDER BY id FOR UPDATE", key)
            await removal.execute("DELETE FROM evidence WHERE id = $1", policy["id"])
            shared.append(await removal.fetchval("SELECT EXISTS (SELECT 1 FROM evidence WHERE storage_key = $1)",
                                                 key))
            launch = asyncio.create_task(rollouts.launch(caller, rollout["id"]))
            await asyncio.sleep(0.5)
            await held.commit()
            await launch
        finally:
            await removal.close()

    if database.backend == "postgres":
        run(interleaved)
        assert shared == [False]  # so the removal goes on to delete the bytes...
    else:
        run(lambda: Evidence.delete().where(Evidence.id == policy["id"]).run())
        run(lambda: rollouts.launch(caller, rollout["id"]))
    # ...and the launch must not have carried a row naming them.
    assert run(lambda: Evidence.count().where(Evidence.storage_key == key).run()) == 0
    carried = world.admin.get("/api/v1/assessments", params={"period": "2026-Q3"}).json()["items"]
    files = world.admin.get(f"/api/v1/assessments/{carried[0]['id']}").json()["evidence"]
    assert [f["question_id"] for f in files] == ["lead-maturity"]
