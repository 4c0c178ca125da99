"""Findings: one per control of the audit's template and scope, editable until the audit closes, with the
auditor's evidence; a critical finding proposes one follow-up audit; closing needs every finding dealt with."""

from __future__ import annotations

import hashlib
from datetime import date

from partner_audit.audits import calendar
from partner_audit.audits.tables import Audit
from tests.support import audit_records as ar
from tests.support.problems import problem


def test_one_finding_per_control_in_the_audits_template_and_scope(world, run):
    audit = ar.in_progress(world, world.provider_a, scope_areas=["leadership"])
    made = ar.finding(world, audit["id"], rating=None, severity="medium")
    assert (made["control_id"], made["rating"], made["severity"]) == ("privacy-lead", None, "medium")
    again = problem(world.auditor.post(f"/api/v1/audits/{audit['id']}/findings",
                                       json={"control_id": "privacy-lead"}), 409)
    assert made["id"] in again["detail"]
    out = problem(world.auditor.post(f"/api/v1/audits/{audit['id']}/findings",
                                     json={"control_id": "device-register"}), 422, "control_id")
    assert "outside this audit's scope" in out["detail"]
    problem(world.auditor.post(f"/api/v1/audits/{audit['id']}/findings", json={"control_id": "gardening"}), 422,
            "control_id")
    problem(world.auditor.post(f"/api/v1/audits/{audit['id']}/findings",
                               json={"control_id": "privacy-lead", "observation": "Seen\x00"}), 400, "observation")
    assert [f["id"] for f in world.provider_user.get(f"/api/v1/audits/{audit['id']}/findings").json()] == [made["id"]]
    r = world.auditor.patch(f"/api/v1/findings/{made['id']}", json={"rating": "partly_effective",
                                                                    "observation": "Named, not yet told to staff."})
    assert r.status_code == 200 and r.json()["rating"] == "partly_effective" and r.json()["severity"] == "medium"
    problem(world.provider_admin.patch(f"/api/v1/findings/{made['id']}", json={"rating": "effective"}), 403)


def test_a_critical_finding_proposes_one_follow_up_audit(world, run):
    audit = ar.in_progress(world, world.provider_a)
    made = ar.finding(world, audit["id"], severity="critical",
                      observation="Client files left in an unlocked car.")
    follow_up_id = made["follow_up_audit_id"]
    assert follow_up_id
    follow_up = world.auditor.get(f"/api/v1/audits/{follow_up_id}").json()
    expected_start = calendar.add_working_days(date.today(), 20, calendar.for_region(world.provider_a["region"]))
    assert (follow_up["kind"], follow_up["status"], follow_up["origin"], follow_up["follows_id"]) == (
        "follow_up", "proposed", "critical_finding", audit["id"])
    assert follow_up["starts_on"] == expected_start.isoformat() and follow_up["team"] == []
    assert "critical finding on control privacy-lead" in follow_up["reasons"]["provider"]
    assert "unlocked car" in follow_up["reasons"]["provider"]
    # Saved again as critical, or lowered and raised again: still the one follow-up.
    for severity in ("critical", "high", "critical"):
        r = world.auditor.patch(f"/api/v1/findings/{made['id']}", json={"severity": severity})
        assert r.status_code == 200 and r.json()["follow_up_audit_id"] == follow_up_id
    assert run(lambda: Audit.count().where(Audit.origin_key == f"finding:{made['id']}").run()) == 1
    # A high finding made critical later proposes its own.
    other = ar.finding(world, audit["id"], control_id="device-register", severity="high")
    assert other["follow_up_audit_id"] is None
    r = world.auditor.patch(f"/api/v1/findings/{other['id']}", json={"severity": "critical"})
    assert r.json()["follow_up_audit_id"] not in (None, follow_up_id)


def test_closing_needs_every_finding_rated_and_high_findings_actions_dealt_with(world, run):
    audit = ar.in_progress(world, world.provider_a)
    unrated = ar.finding(world, audit["id"], control_id="device-register", rating=None, severity="low")
    high = ar.finding(world, audit["id"], severity="high")
    world.auditor.post(f"/api/v1/audits/{audit['id']}/report", json={"summary": "Gaps."})
    blocked = problem(world.auditor.post(f"/api/v1/audits/{audit['id']}/close"), 409)
    assert "the finding on device-register is not rated" in blocked["detail"]
    assert "the high finding on privacy-lead has no corrective action" in blocked["detail"]
    action = ar.action(world, high["id"])
    blocked = problem(world.auditor.post(f"/api/v1/audits/{audit['id']}/close"), 409)
    assert "is open, not verified or carried forward" in blocked["detail"]
    assert len(blocked["errors"]) == 2
    world.auditor.patch(f"/api/v1/findings/{unrated['id']}", json={"rating": "effective"})
    world.provider_admin.post(f"/api/v1/corrective-actions/{action['id']}/respond", json={"response": "Done."})
    world.auditor.post(f"/api/v1/corrective-actions/{action['id']}/verify", json={"note": "Seen the letter."})
    r = world.auditor.post(f"/api/v1/audits/{audit['id']}/close")
    assert r.status_code == 200 and r.json()["status"] == "closed", r.text
    # Closed: findings, evidence and actions stay as they are.
    problem(world.auditor.patch(f"/api/v1/findings/{high['id']}", json={"rating": "effective"}), 409)
    problem(world.auditor.post(f"/api/v1/audits/{audit['id']}/findings", json={"control_id": "x"}), 409)
    problem(world.auditor.post(f"/api/v1/findings/{high['id']}/evidence", **ar.upload("late.pdf")), 409)
    problem(world.auditor.post(f"/api/v1/findings/{high['id']}/actions", json={
        "description": "More", "owner_name": "Hine", "due_on": date.today().isoformat()}), 409)


def test_the_auditors_evidence_is_checked_stored_and_downloaded_by_those_who_see_the_finding(world, run):
    audit = ar.in_progress(world, world.provider_a)
    made = ar.finding(world, audit["id"])
    r = world.auditor.post(f"/api/v1/findings/{made['id']}/evidence", **ar.upload("site photo.pdf"))
    assert r.status_code == 201, r.text
    stored = r.json()
    assert (stored["content_type"], stored["size"], stored["sha256"]) == (
        "application/pdf", len(ar.PDF), hashlib.sha256(ar.PDF).hexdigest())
    assert world.auditor.get(f"/api/v1/findings/{made['id']}").json()["evidence"][0]["id"] == stored["id"]
    r = world.provider_admin.get(f"/api/v1/audit-evidence/{stored['id']}/download")
    assert r.status_code == 200 and r.content == ar.PDF
    assert "attachment" in r.headers["content-disposition"]
    problem(world.provider_user.get(f"/api/v1/audit-evidence/{stored['id']}/download"), 403)
    problem(world.b_admin.get(f"/api/v1/audit-evidence/{stored['id']}/download"), 404)
    # An executable calling itself a PDF is refused from its bytes (415); a form is required, as for assessments.
    problem(world.auditor.post(f"/api/v1/findings/{made['id']}/evidence",
                               **ar.upload("report.pdf", b"MZ\x90\x00\x03" + b"\x00" * 300)), 415)
    problem(world.auditor.post(f"/api/v1/findings/{made['id']}/evidence", content=ar.PDF,
                               headers={"Content-Type": "application/pdf"}), 422, "body")
    problem(world.provider_admin.post(f"/api/v1/findings/{made['id']}/evidence", **ar.upload("x.pdf")), 403)
    assert len(world.auditor.get(f"/api/v1/findings/{made['id']}").json()["evidence"]) == 1
