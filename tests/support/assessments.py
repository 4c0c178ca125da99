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
