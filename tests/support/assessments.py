"""Assessments to test with: the mini template loaded, a rollout of it launched, a provider's assessment found.

``template_id`` (the mini template, loaded) is a fixture, loaded with the other support fixtures; the rest are
helpers: ``from tests.support.assessments import launched, assessment_of``.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from partner_audit.controls import service as controls
from tests.support.paths import DATA

MINI = DATA / "mini-template.yaml"


@pytest.fixture
def template_id(run) -> str:
    row, _ = run(lambda: controls.load_file(MINI))
    return str(row["id"])


def rollout_body(template_id: str, **selection) -> dict:
    today = date.today()
    return {
        "name": "Mini check 2025-Q3", "template_version_id": template_id, "period": "2025-Q3",
        "opens_on": today.isoformat(), "due_on": (today + timedelta(days=30)).isoformat(),
        "selection": selection or {"risk_tiers": [2]},
    }


def launched(world, template_id: str, **selection) -> dict:
    r = world.partnerships.post("/api/v1/rollouts", json=rollout_body(template_id, **selection))
    assert r.status_code == 201, r.text
    rollout = r.json()
    r = world.partnerships.post(f"/api/v1/rollouts/{rollout['id']}/launch")
    assert r.status_code == 200, r.text
    return rollout


def assessment_of(api, provider_id) -> dict:
    r = api.get("/api/v1/assessments", params={"provider_id": str(provider_id)})
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    return item


MINI_V2 = DATA / "mini-template-v2.yaml"  # device-count changed; the other questions mean the same
POLICY_PDF = b"%PDF-1.4\n% the privacy policy, reviewed annually\n%%EOF\n"
TRAINING_CSV = "name,completed\nHine,2025-03-01\nWiremu,2025-03-04\n".encode()

# What provider A answered in the period whose assessment was accepted.
ACCEPTED_ANSWERS = [
    {"question_id": "has-lead", "value": "yes", "comment": "Appointed by the board"},
    {"question_id": "lead-name", "value": "Hine Walker"},
    {"question_id": "lead-maturity", "value": "3"},
    {"question_id": "device-count", "value": 4},
]


def load_template(run, path) -> str:
    row, _ = run(lambda: controls.load_file(path))
    return str(row["id"])


def launch_for(world, template_id: str, period: str, provider_id) -> tuple[dict, dict]:
    """A rollout of ``template_id`` for ``period`` to one provider, launched: (the launch's answer, its
    assessment)."""
    body = rollout_body(template_id, provider_ids=[str(provider_id)])
    body["period"], body["name"] = period, f"Mini check {period}"
    r = world.partnerships.post("/api/v1/rollouts", json=body)
    assert r.status_code == 201, r.text
    r = world.partnerships.post(f"/api/v1/rollouts/{r.json()['id']}/launch")
    assert r.status_code == 200, r.text
    found = world.admin.get("/api/v1/assessments", params={"provider_id": str(provider_id), "period": period})
    (assessment,) = found.json()["items"]
    return r.json(), assessment


def attach(api, aid: str, question_id: str, filename: str, content: bytes, expires_on: str | None = None):
    data = {"question_id": question_id} | ({"expires_on": expires_on} if expires_on else {})
    return api.post(f"/api/v1/assessments/{aid}/evidence", data=data, files={"file": (filename, content)})


def accepted_assessment(world, template_id: str, period: str = "2025-Q3", answers=ACCEPTED_ANSWERS,
                        admin=None, staff=None, provider=None) -> dict:
    """Provider A's (or ``provider``'s) assessment of ``template_id`` for ``period``, answered, with the privacy
    policy (good until today) on has-lead and a training record on lead-maturity, submitted and accepted."""
    admin, staff = admin or world.provider_admin, staff or world.provider_user
    _, assessment = launch_for(world, template_id, period, (provider or world.provider_a)["id"])
    aid = assessment["id"]
    versions = {a["question_id"]: a["version"] for a in staff.get(f"/api/v1/assessments/{aid}").json()["answers"]}
    answers = [{**a, "version": versions.get(a["question_id"], 0)} for a in answers]
    r = staff.put(f"/api/v1/assessments/{aid}/answers", json={"answers": answers})
    assert r.status_code == 200, r.text
    r = attach(staff, aid, "has-lead", "privacy-policy.pdf", POLICY_PDF, expires_on=date.today().isoformat())
    assert r.status_code == 201, r.text
    r = attach(staff, aid, "lead-maturity", "training.csv", TRAINING_CSV)
    assert r.status_code == 201, r.text
    r = admin.post(f"/api/v1/assessments/{aid}/submit")
    assert r.status_code == 200, r.text
    r = world.auditor.post(f"/api/v1/assessments/{aid}/accept", json={"note": "Thank you."})
    assert r.status_code == 200, r.text
    return world.admin.get(f"/api/v1/assessments/{aid}").json()


def expire_evidence(run, evidence_id: str, days_ago: int = 1) -> None:
    """Time passing: the file's last good day is now behind us (the API refuses a past date, and an accepted
    assessment's evidence is locked, so this is set where time would set it: in the row)."""
    from partner_audit.assessments.tables import Evidence

    run(lambda: Evidence.update({Evidence.expires_on: date.today() - timedelta(days=days_ago)})
        .where(Evidence.id == evidence_id).run())
