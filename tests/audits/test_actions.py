"""Corrective actions: the provider's admin answers their own provider's, the auditor verifies, returns or carries
forward; overdue is shown and filterable; the same answer sent twenty times at once moves an action once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

from partner_audit.audits.tables import CorrectiveAction
from partner_audit.security.tables import AccessLogEntry
from tests.support import audit_records as ar
from tests.support.problems import is_problem, problem


def raised(world, provider=None, **fields) -> dict:
    audit = ar.in_progress(world, provider or world.provider_a, offset=10 if provider is None else 20)
    return ar.action(world, ar.finding(world, audit["id"])["id"], **fields)


def successes(run, action_id: str, action: str) -> int:
    return run(lambda: AccessLogEntry.count().where(
        (AccessLogEntry.record_id == action_id) & (AccessLogEntry.action == action)
        & (AccessLogEntry.outcome == "success")).run())


def test_the_provider_answers_the_auditor_returns_then_verifies(world, run):
    action = raised(world)
    assert (action["status"], action["overdue"], action["days_overdue"]) == ("open", False, 0)
    url = f"/api/v1/corrective-actions/{action['id']}"
    problem(world.provider_user.post(f"{url}/respond", json={"response": "Done"}), 403)
    problem(world.auditor.post(f"{url}/respond", json={"response": "Done"}), 403)
    problem(world.b_admin.post(f"{url}/respond", json={"response": "Done"}), 404)
    problem(world.auditor.post(f"{url}/verify", json={}), 409)

    r = world.provider_admin.post(f"{url}/respond", json={"response": "Hine Walker appointed on 1 May."})
    assert r.status_code == 200 and r.json()["status"] == "responded" and r.json()["responded_at"], r.text
    r = world.provider_admin.post(f"{url}/evidence", **ar.upload("appointment-letter.pdf"))
    assert r.status_code == 201, r.text
    problem(world.provider_user.post(f"{url}/evidence", **ar.upload("x.pdf")), 403)
    problem(world.b_admin.post(f"{url}/evidence", **ar.upload("x.pdf")), 404)

    problem(world.auditor.post(f"{url}/return", json={"reason": ""}), 400, "reason")
    r = world.auditor.post(f"{url}/return", json={"reason": "Staff have not been told who the lead is."})
    assert r.json()["status"] == "open" and r.json()["returned_reason"].startswith("Staff have not")
    world.provider_admin.post(f"{url}/respond", json={"response": "Announced at the staff hui."})
    r = world.auditor.post(f"{url}/verify", json={"note": "Minutes of the hui seen."})
    verified = r.json()
    assert (verified["status"], verified["verification_note"]) == ("verified", "Minutes of the hui seen.")
    assert verified["response"] == "Announced at the staff hui." and len(verified["evidence"]) == 1
    problem(world.provider_admin.post(f"{url}/respond", json={"response": "Again"}), 409)
    problem(world.auditor.post(f"{url}/carry-forward", json={"reason": "x"}), 409)
    problem(world.provider_admin.post(f"{url}/evidence", **ar.upload("late.pdf")), 409)
    problem(world.provider_admin.post(f"{url}/respond", json={"response": "Bad\x00"}), 400, "response")


def test_carried_forward_with_a_reason_lets_the_audit_close(world, run):
    action = raised(world)
    world.auditor.post(f"/api/v1/audits/{action['audit_id']}/report", json={})
    problem(world.auditor.post(f"/api/v1/audits/{action['audit_id']}/close"), 409)
    r = world.auditor.post(f"/api/v1/corrective-actions/{action['id']}/carry-forward",
                           json={"reason": "New system goes live in March; checked at the next review."})
    assert r.json()["status"] == "carried_forward" and r.json()["carried_forward_reason"].startswith("New system")
    assert world.auditor.post(f"/api/v1/audits/{action['audit_id']}/close").json()["status"] == "closed"
    problem(world.provider_admin.post(f"/api/v1/corrective-actions/{action['id']}/respond",
                                      json={"response": "Done"}), 409)


def test_overdue_is_shown_and_lists_filter_and_page(world, run):
    first = raised(world)
    second = ar.action(world, first["finding_id"], due_in_days=60, description="Train staff on the new policy.")
    problem(world.auditor.post(f"/api/v1/findings/{first['finding_id']}/actions", json={
        "description": "x", "owner_name": "y", "due_on": (date.today() - timedelta(days=1)).isoformat()}),
        422, "due_on")
    run(lambda: CorrectiveAction.update({CorrectiveAction.due_on: date.today() - timedelta(days=5)}).where(
        CorrectiveAction.id == first["id"]).run())
    late = world.provider_admin.get(f"/api/v1/corrective-actions/{first['id']}").json()
    assert (late["overdue"], late["days_overdue"]) == (True, 5)
    assert world.auditor.get(f"/api/v1/audits/{first['audit_id']}").json()["actions"] == {
        "total": 2, "open": 2, "responded": 0, "verified": 0, "carried_forward": 0, "overdue": 1}

    other = raised(world, world.provider_b)
    listed = world.auditor.get("/api/v1/corrective-actions", params={"overdue": True}).json()
    assert [a["id"] for a in listed["items"]] == [first["id"]]
    listed = world.auditor.get("/api/v1/corrective-actions", params={"overdue": False}).json()
    assert {a["id"] for a in listed["items"]} == {second["id"], other["id"]}
    listed = world.auditor.get("/api/v1/corrective-actions", params={"page_size": 1, "page": 2}).json()
    assert (listed["total"], len(listed["items"]), listed["items"][0]["id"]) == (3, 1, other["id"]), "by due date"
    assert world.auditor.get("/api/v1/corrective-actions", params={
        "provider_id": str(world.provider_b["id"])}).json()["items"][0]["id"] == other["id"]
    assert world.auditor.get("/api/v1/corrective-actions", params={
        "audit_id": first["audit_id"], "status": "open"}).json()["total"] == 2
    # A responded action awaits the auditor: it is no longer the provider's to be late with.
    world.provider_admin.post(f"/api/v1/corrective-actions/{first['id']}/respond", json={"response": "Done"})
    assert world.auditor.get("/api/v1/corrective-actions", params={"overdue": True}).json()["total"] == 0

    mine = world.provider_admin.get("/api/v1/corrective-actions").json()
    assert {a["id"] for a in mine["items"]} == {first["id"], second["id"]} and mine["total"] == 2
    problem(world.provider_admin.get(f"/api/v1/corrective-actions/{other['id']}"), 404)
    problem(world.provider_user.get("/api/v1/corrective-actions"), 403)


def test_twenty_identical_answers_at_once_answer_it_once_and_twenty_verifications_verify_it_once(world, run):
    action = raised(world)
    url = f"/api/v1/corrective-actions/{action['id']}"
    world.provider_admin  # noqa: B018  (made before the crowd, not by it)
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: world.provider_admin.post(f"{url}/respond", json={"response": "Done."}),
                                range(20)))
    assert sorted(r.status_code for r in answers) == [200] + [409] * 19, [r.text for r in answers]
    assert all(is_problem(r) and "This corrective action is responded" in r.json()["detail"]
               for r in answers if r.status_code == 409)
    assert successes(run, action["id"], "corrective_action.respond") == 1

    with ThreadPoolExecutor(max_workers=20) as pool:
        checks = list(pool.map(lambda _: world.auditor.post(f"{url}/verify", json={"note": "Seen."}), range(20)))
    assert sorted(r.status_code for r in checks) == [200] + [409] * 19, [r.text for r in checks]
    assert successes(run, action["id"], "corrective_action.verify") == 1
    (row,) = run(lambda: CorrectiveAction.select(CorrectiveAction.status).where(
        CorrectiveAction.id == action["id"]).run())
    assert row["status"] == "verified"


def test_twenty_identical_findings_at_once_make_one(world, run):
    audit = ar.in_progress(world, world.provider_a)
    body = {"control_id": "privacy-lead", "rating": "ineffective", "severity": "critical"}
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: world.auditor.post(f"/api/v1/audits/{audit['id']}/findings", json=body),
                                range(20)))
    assert sorted(r.status_code for r in answers) == [201] + [409] * 19, [r.text for r in answers]
    (made,) = world.auditor.get(f"/api/v1/audits/{audit['id']}/findings").json()
    follow_ups = world.auditor.get("/api/v1/audits", params={"kind": "follow_up"}).json()
    assert [a["id"] for a in follow_ups["items"]] == [made["follow_up_audit_id"]]
