"""Signing in and out, the login throttle, API tokens, and who may manage which people.

Sessions, tokens and the throttle live in the database, so their effects must reach every app process: the
``two_processes`` tests run two real ``partner-audit serve`` processes on the same database and check it.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.databases import Database
from tests.support.logins import MAX_FAILURES, login, throttled_settings
from tests.support.problems import problem
from tests.support.world import PASSWORD, World
from partner_audit.security.tables import AccessToken
from partner_audit.settings import Settings

# These tests sign in by email or count the accounts: every person of the world exists from the start.
pytestmark = pytest.mark.usefixtures("everyone")

USERS = "/api/v1/users"


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    """The app under test throttles after three failed sign-ins (the default is five)."""
    return throttled_settings(database, tmp_path)


def with_session(cookie: str) -> dict[str, str]:
    return {"Cookie": f"pa_session={cookie}"}


# --- signing in and out ------------------------------------------------------------------------------


def test_login_sets_a_strict_http_only_cookie_that_signs_the_person_in(world: World):
    client = world.client
    r = login(client, "Auditor@Example.org")
    assert r.status_code == 200, r.text
    assert r.json()["user"]["email"] == "auditor@example.org"
    assert r.json()["user"]["role"] == "auditor"
    set_cookie = r.headers["set-cookie"].lower()
    assert set_cookie.startswith("pa_session=")
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie and "path=/" in set_cookie
    cookie = r.cookies["pa_session"]
    client.cookies.clear()

    r = client.get("/api/v1/me", headers=with_session(cookie))
    assert r.status_code == 200, r.text
    assert r.json()["email"] == "auditor@example.org"
    problem(client.get("/api/v1/me"), 401)
    problem(client.get("/api/v1/me", headers=with_session(cookie[:-2] + "xx")), 401)


def test_a_wrong_password_or_email_is_401_without_saying_which(world: World):
    wrong_password = problem(login(world.client, "auditor@example.org", "not the password"), 401)
    wrong_email = problem(login(world.client, "nobody@example.org", PASSWORD), 401)
    assert wrong_password["detail"] == wrong_email["detail"]
    assert "set-cookie" not in login(world.client, "auditor@example.org", "nope nope nope").headers


def test_logout_ends_the_session_for_its_cookie(world: World):
    cookie = login(world.client, "auditor@example.org").cookies["pa_session"]
    world.client.cookies.clear()
    assert world.client.get("/api/v1/me", headers=with_session(cookie)).status_code == 200

    r = world.client.post("/api/v1/auth/logout", headers=with_session(cookie))
    assert r.status_code == 204, r.text
    world.client.cookies.clear()

    problem(world.client.get("/api/v1/me", headers=with_session(cookie)), 401)
    # Only that session ended: the person's API token still works.
    assert world.auditor.get("/api/v1/me").status_code == 200


def test_repeated_failures_throttle_the_account_even_with_the_right_password(world: World):
    for _ in range(MAX_FAILURES):
        problem(login(world.client, "auditor@example.org", "guessing guessing"), 401)
    r = login(world.client, "auditor@example.org")
    problem(r, 429)
    assert int(r.headers["retry-after"]) == 15 * 60
    assert "set-cookie" not in r.headers
    # Per account: somebody else signs in as usual.
    assert login(world.client, "governance@example.org").status_code == 200


def test_a_successful_login_clears_earlier_failures(world: World):
    for _ in range(MAX_FAILURES - 1):
        problem(login(world.client, "auditor@example.org", "guessing guessing"), 401)
    assert login(world.client, "auditor@example.org").status_code == 200
    for _ in range(MAX_FAILURES - 1):
        problem(login(world.client, "auditor@example.org", "guessing guessing"), 401)
    assert login(world.client, "auditor@example.org").status_code == 200


def test_a_deactivated_person_cannot_sign_in(world: World):
    assert world.admin.patch(f"{USERS}/{world.auditor.user['id']}", json={"active": False}).status_code == 200
    problem(login(world.client, "auditor@example.org"), 401)


# --- two app processes on one database ---------------------------------------------------------------


def test_processes_share_the_login_throttle(two_processes: list[httpx.Client]):
    one, two = two_processes
    for process in (one, two, one):
        problem(login(process, "auditor@example.org", "guessing guessing"), 401)
    for process in (one, two):
        r = login(process, "auditor@example.org")
        problem(r, 429)
        assert r.headers["retry-after"] == str(15 * 60)


def test_processes_share_sessions_and_logout(two_processes: list[httpx.Client]):
    one, two = two_processes
    cookie = login(one, "auditor@example.org").cookies["pa_session"]
    one.cookies.clear()
    assert two.get("/api/v1/me", headers=with_session(cookie)).status_code == 200
    assert two.post("/api/v1/auth/logout", headers=with_session(cookie)).status_code == 204
    two.cookies.clear()
    problem(one.get("/api/v1/me", headers=with_session(cookie)), 401)


def test_processes_share_deactivation(world: World, two_processes: list[httpx.Client]):
    one, two = two_processes
    bearer = {"Authorization": f"Bearer {world.provider_user.token}"}
    admin = {"Authorization": f"Bearer {world.admin.token}"}
    assert one.get("/api/v1/me", headers=bearer).status_code == 200
    r = two.patch(f"{USERS}/{world.provider_user.user['id']}", json={"active": False}, headers=admin)
    assert r.status_code == 200, r.text
    problem(one.get("/api/v1/me", headers=bearer), 401)
    problem(two.get("/api/v1/me", headers=bearer), 401)


# --- API tokens --------------------------------------------------------------------------------------


def test_an_api_token_is_shown_once_and_only_its_hash_is_kept(world: World, settings: Settings):
    r = world.auditor.post("/api/v1/me/tokens", json={"name": "nightly export", "expires_in_days": 30})
    assert r.status_code == 201, r.text
    secret, details = r.json()["token"], r.json()["details"]
    assert secret.startswith("pa_") and len(secret) > 40
    assert details["name"] == "nightly export" and details["expires_at"] is not None

    listed = world.auditor.get("/api/v1/me/tokens").json()
    assert details["id"] in [t["id"] for t in listed]
    assert secret not in world.auditor.get("/api/v1/me/tokens").text

    rows = world.run(lambda: AccessToken.select().run())
    # Kept as HMAC-SHA-256 under the secret key, never as the token itself.
    assert [row["token_hash"] for row in rows if str(row["id"]) == details["id"]] == [
        hmac.new(settings.secret_key.encode(), secret.encode(), hashlib.sha256).hexdigest()]
    stored = " ".join(str(v) for row in rows for v in row.values())
    assert secret not in stored and secret.removeprefix("pa_") not in stored

    r = world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 200, r.text
    assert r.json()["email"] == "auditor@example.org"


def test_a_token_made_without_a_lifetime_expires_after_the_default(world: World, settings: Settings):
    r = world.auditor.post("/api/v1/me/tokens", json={"name": "forgotten in a script"})
    assert r.status_code == 201, r.text
    made = datetime.fromisoformat(r.json()["details"]["created_at"])
    expires = datetime.fromisoformat(r.json()["details"]["expires_at"])
    # created_at and expires_at are read from the clock a moment apart.
    assert abs(expires - made - timedelta(days=90)) < timedelta(seconds=5)
    assert settings.api_token_days == 90
    # No way round it: an explicit lifetime is bounded too.
    problem(world.auditor.post("/api/v1/me/tokens", json={"name": "forever", "expires_in_days": 36500}), 400)


def test_a_revoked_token_is_refused(world: World):
    created = world.auditor.post("/api/v1/me/tokens", json={"name": "to revoke"}).json()
    bearer = {"Authorization": f"Bearer {created['token']}"}
    assert world.client.get("/api/v1/me", headers=bearer).status_code == 200

    r = world.auditor.delete(f"/api/v1/me/tokens/{created['details']['id']}")
    assert r.status_code == 204, r.text
    problem(world.client.get("/api/v1/me", headers=bearer), 401)
    listed = {t["id"]: t for t in world.auditor.get("/api/v1/me/tokens").json()}
    assert listed[created["details"]["id"]]["revoked_at"] is not None
    assert world.auditor.get("/api/v1/me").status_code == 200  # the other token is untouched


def test_another_persons_token_is_404_and_keeps_working(world: World):
    theirs = world.governance.post("/api/v1/me/tokens", json={"name": "theirs"}).json()
    problem(world.admin.delete(f"/api/v1/me/tokens/{theirs['details']['id']}"), 404)
    assert theirs["details"]["id"] not in [t["id"] for t in world.admin.get("/api/v1/me/tokens").json()]
    assert world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {theirs['token']}"}).status_code == 200


# --- managing people ---------------------------------------------------------------------------------


def new_user(email: str, role: str, provider_id: Any = None, **extra: Any) -> dict[str, Any]:
    body = {"email": email, "full_name": "New Person", "role": role, "password": "a long enough password"}
    if provider_id is not None:
        body["provider_id"] = str(provider_id)
    return {**body, **extra}


@pytest.mark.parametrize("role", ["admin", "partnerships", "auditor", "governance", "provider_admin",
                                  "provider_user"])
def test_an_admin_creates_any_role(world: World, role: str):
    provider = world.provider_a["id"] if role.startswith("provider") else None
    r = world.admin.post(USERS, json=new_user(f"new.{role}@example.org", role, provider))
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["role"], created["active"]) == (role, True)
    assert created["provider_id"] == (str(provider) if provider else None)
    assert "password" not in r.text and "password_hash" not in r.text
    assert login(world.client, f"new.{role}@example.org", "a long enough password").status_code == 200


def test_a_provider_role_needs_a_provider_and_an_agency_role_has_none(world: World):
    problem(world.admin.post(USERS, json=new_user("x@example.org", "provider_user")), 422, "provider_id")
    problem(world.admin.post(USERS, json=new_user("x@example.org", "auditor", world.provider_a["id"])), 422,
            "provider_id")
    problem(world.admin.post(USERS, json=new_user("x@example.org", "provider_user",
                                                  "00000000-0000-4000-8000-000000000000")), 404)


def test_partnerships_creates_provider_people_only(world: World):
    r = world.partnerships.post(USERS, json=new_user("lead@b.example.org", "provider_admin", world.provider_b["id"]))
    assert r.status_code == 201, r.text
    assert r.json()["provider_id"] == str(world.provider_b["id"])
    for role in ("auditor", "governance", "partnerships", "admin"):
        problem(world.partnerships.post(USERS, json=new_user(f"{role}2@example.org", role)), 403)
    # Agency staff accounts are not theirs to see.
    problem(world.partnerships.get(f"{USERS}/{world.admin.user['id']}"), 404)
    roles = {u["role"] for u in world.partnerships.get(USERS, params={"page_size": 200}).json()["items"]}
    assert roles == {"provider_admin", "provider_user"}


def test_a_provider_admin_manages_their_own_providers_people_only(world: World):
    pa = world.provider_admin
    r = pa.post(USERS, json=new_user("kaimahi@a.example.org", "provider_user"))
    assert r.status_code == 201, r.text
    assert r.json()["provider_id"] == str(world.provider_a["id"])
    problem(pa.post(USERS, json=new_user("sneaky@b.example.org", "provider_user", world.provider_b["id"])), 404)
    for role in ("auditor", "governance", "partnerships", "admin"):
        problem(pa.post(USERS, json=new_user(f"{role}3@example.org", role)), 403)

    listed = pa.get(USERS, params={"page_size": 200}).json()
    assert {u["provider_id"] for u in listed["items"]} == {str(world.provider_a["id"])}
    assert listed["total"] == 3  # the admin, provider_user, and the one just made

    colleague = world.provider_user.user["id"]
    r = pa.patch(f"{USERS}/{colleague}", json={"full_name": "Wiremu Kaimahi"})
    assert r.status_code == 200, r.text
    assert r.json()["full_name"] == "Wiremu Kaimahi"
    problem(pa.patch(f"{USERS}/{colleague}", json={"role": "auditor"}), 403)
    problem(pa.get(f"{USERS}/{world.b_user.user['id']}"), 404)
    problem(pa.patch(f"{USERS}/{world.b_user.user['id']}", json={"active": False}), 404)
    problem(pa.get(f"{USERS}/{world.auditor.user['id']}"), 404)
    assert world.b_user.get("/api/v1/me").json()["active"] is True


def test_a_provider_user_cannot_manage_people(world: World):
    pu = world.provider_user
    problem(pu.get(USERS), 403)
    problem(pu.post(USERS, json=new_user("x@a.example.org", "provider_user")), 403)
    problem(pu.get(f"{USERS}/{world.provider_admin.user['id']}"), 403)
    problem(pu.patch(f"{USERS}/{world.provider_admin.user['id']}", json={"active": False}), 403)


def test_deactivation_takes_effect_on_the_next_request(world: World):
    cookie = login(world.client, "provider.user@example.org").cookies["pa_session"]
    world.client.cookies.clear()
    r = world.provider_admin.patch(f"{USERS}/{world.provider_user.user['id']}", json={"active": False})
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False
    problem(world.provider_user.get("/api/v1/me"), 401)
    problem(world.client.get("/api/v1/me", headers=with_session(cookie)), 401)

    assert world.provider_admin.patch(f"{USERS}/{world.provider_user.user['id']}",
                                      json={"active": True}).status_code == 200
    # Deactivation ended the session and the API token for good; reactivation revives neither.
    problem(world.provider_user.get("/api/v1/me"), 401)
    problem(world.client.get("/api/v1/me", headers=with_session(cookie)), 401)
    assert login(world.client, "provider.user@example.org").status_code == 200


def test_a_role_change_takes_effect_on_the_next_request(world: World):
    assert world.auditor.get("/api/v1/providers").status_code == 200
    r = world.admin.patch(f"{USERS}/{world.auditor.user['id']}", json={"role": "governance"})
    assert r.status_code == 200, r.text
    assert world.auditor.get("/api/v1/me").json()["role"] == "governance"
    problem(world.auditor.get("/api/v1/providers"), 403)


def test_nobody_deactivates_themselves_or_changes_their_own_role(world: World):
    problem(world.admin.patch(f"{USERS}/{world.admin.user['id']}", json={"active": False}), 403)
    problem(world.admin.patch(f"{USERS}/{world.admin.user['id']}", json={"role": "auditor"}), 403)
    problem(world.provider_admin.patch(f"{USERS}/{world.provider_admin.user['id']}", json={"active": False}), 403)
    assert world.admin.get("/api/v1/me").json()["active"] is True
    assert world.provider_admin.get("/api/v1/me").json()["active"] is True


def test_a_password_under_12_characters_is_422_naming_password(world: World):
    problem(world.admin.post(USERS, json=new_user("short@example.org", "auditor", password="elevenchars")),
            422, "password")
    problem(world.admin.patch(f"{USERS}/{world.auditor.user['id']}", json={"password": "short"}), 422, "password")
    assert login(world.client, "auditor@example.org").status_code == 200
    r = world.admin.post(USERS, json=new_user("twelve@example.org", "auditor", password="twelve chars"))
    assert r.status_code == 201, r.text


def test_a_duplicate_email_is_409_naming_email(world: World):
    problem(world.admin.post(USERS, json=new_user("auditor@example.org", "governance")), 409, "email")
    problem(world.admin.post(USERS, json=new_user("AUDITOR@Example.ORG", "governance")), 409, "email")
    assert world.admin.get(USERS, params={"q": "auditor@"}).json()["total"] == 1


def test_a_password_reset_ends_sessions_and_the_new_password_works(world: World):
    cookie = login(world.client, "auditor@example.org").cookies["pa_session"]
    world.client.cookies.clear()
    r = world.admin.patch(f"{USERS}/{world.auditor.user['id']}", json={"password": "a brand new password"})
    assert r.status_code == 200, r.text
    problem(world.client.get("/api/v1/me", headers=with_session(cookie)), 401)
    problem(login(world.client, "auditor@example.org"), 401)
    assert login(world.client, "auditor@example.org", "a brand new password").status_code == 200
