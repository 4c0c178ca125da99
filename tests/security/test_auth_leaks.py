"""What signing in and managing people must not give away: another provider's people, or what was typed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.problems import problem
from tests.support.world import World

# These tests sign in by email or count the accounts: every person of the world exists from the start.
pytestmark = pytest.mark.usefixtures("everyone")

USERS = "/api/v1/users"
LOGIN = "/api/v1/auth/login"


def _new_user(email: str) -> dict[str, Any]:
    return {"email": email, "full_name": "New Person", "role": "provider_user", "password": "a long enough password"}


def _without_instance(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("instance", "request_id")}


def test_a_provider_admin_cannot_tell_where_an_email_is_registered(world: World):
    pa = world.provider_admin
    elsewhere = problem(pa.post(USERS, json=_new_user("b.user@example.org")), 409, "email")
    agency = problem(pa.post(USERS, json=_new_user("auditor@example.org")), 409, "email")
    own = problem(pa.post(USERS, json=_new_user("provider.user@example.org")), 409, "email")
    assert _without_instance(elsewhere) == _without_instance(agency) == _without_instance(own)
    assert "b.user@example.org" not in str(elsewhere)
    assert "already" not in str(elsewhere)


def test_agency_staff_are_still_told_plainly(world: World):
    body = problem(world.partnerships.post(USERS, json={**_new_user("b.user@example.org"),
                                                        "provider_id": str(world.provider_a["id"])}), 409, "email")
    assert "b.user@example.org already exists" in body["detail"]


def _login_entries(world: World) -> list[dict[str, Any]]:
    r = world.admin.get("/api/v1/access-log", params={"action": "auth.login", "page_size": 200})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_a_failed_sign_in_logs_no_typed_text(world: World):
    typed = "Tr0ub4dor&3 my password"
    for _ in range(2):
        problem(world.client.post(LOGIN, json={"email": typed, "password": "whatever it was"}), 401)
    problem(world.client.post(LOGIN, json={"email": "Auditor@Example.org", "password": "wrong guess here"}), 401)
    entries = _login_entries(world)
    assert typed.lower() not in str(entries) and "Tr0ub4dor" not in str(entries)
    unknown = [e for e in entries if e["record_id"] is None]
    # The two attempts with the same text correlate without the text.
    assert len(unknown) == 2 and unknown[0]["detail"] == unknown[1]["detail"] != ""
    known = [e for e in entries if e["record_id"] == str(world.auditor.user["id"])]
    assert [e["outcome"] for e in known] == ["denied"]
    assert "auditor@example.org" not in known[0]["detail"]


def test_a_throttled_sign_in_logs_no_typed_text(world: World):
    typed = "hunter2 hunter2 hunter2"
    statuses = [world.client.post(LOGIN, json={"email": typed, "password": "x"}).status_code for _ in range(6)]
    assert statuses[-1] == 429
    entries = _login_entries(world)
    assert "throttled" in [e["outcome"] for e in entries]
    assert "hunter2" not in str(entries)
