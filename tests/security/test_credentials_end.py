"""A reset password or a deactivation ends every credential the person held, and reactivation revives none.

Whoever resets their own password stays signed in by the session or token they did it with; everything else
they held ends.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.problems import problem
from tests.support.world import PASSWORD, World

# These tests sign in by email or count the accounts: every person of the world exists from the start.
pytestmark = pytest.mark.usefixtures("everyone")

LOGIN = "/api/v1/auth/login"
USERS = "/api/v1/users"
ME = "/api/v1/me"


def _session(world: World, email: str, password: str = PASSWORD) -> dict[str, str]:
    r = world.client.post(LOGIN, json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    world.client.cookies.clear()
    return {"Cookie": f"pa_session={r.cookies['pa_session']}"}


def _works(world: World, headers: dict[str, str]) -> bool:
    r = world.client.get(ME, headers=headers)
    if r.status_code != 200:
        problem(r, 401)
    return r.status_code == 200


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _new_api_token(world: World, headers: dict[str, str]) -> str:
    r = world.client.post(f"{ME}/tokens", json={"name": "script"}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["token"]


def _patch(world: World, headers: dict[str, str], user: dict[str, Any], body: dict[str, Any]) -> None:
    r = world.client.patch(f"{USERS}/{user['id']}", json=body, headers=headers)
    assert r.status_code == 200, r.text


def test_a_password_reset_by_an_admin_ends_every_session_and_api_token(world: World):
    session = _session(world, "auditor@example.org")
    script = _new_api_token(world, session)
    _patch(world, _bearer(world.admin.token), world.auditor.user, {"password": "a brand new password"})
    assert not _works(world, _bearer(world.auditor.token))
    assert not _works(world, _bearer(script))
    assert not _works(world, session)
    assert _works(world, _session(world, "auditor@example.org", "a brand new password"))


def test_a_password_reset_by_a_provider_admin_ends_their_colleagues_api_token(world: World):
    _patch(world, _bearer(world.provider_admin.token), world.provider_user.user, {"password": "a brand new password"})
    assert not _works(world, _bearer(world.provider_user.token))


def test_resetting_your_own_password_keeps_only_the_session_that_did_it(world: World):
    used, other = _session(world, "admin@example.org"), _session(world, "admin@example.org")
    _patch(world, used, world.admin.user, {"password": "a brand new password"})
    assert _works(world, used)
    assert not _works(world, other)
    assert not _works(world, _bearer(world.admin.token))


def test_resetting_your_own_password_with_an_api_token_keeps_only_that_token(world: World):
    session = _session(world, "admin@example.org")
    _patch(world, _bearer(world.admin.token), world.admin.user, {"password": "a brand new password"})
    assert _works(world, _bearer(world.admin.token))
    assert not _works(world, session)


def test_reactivation_revives_no_session_or_api_token(world: World):
    session = _session(world, "provider.user@example.org")
    script = _new_api_token(world, session)
    admin = _bearer(world.provider_admin.token)
    _patch(world, admin, world.provider_user.user, {"active": False})
    _patch(world, admin, world.provider_user.user, {"active": True})
    for old in (_bearer(world.provider_user.token), _bearer(script), session):
        assert not _works(world, old)
    assert _works(world, _session(world, "provider.user@example.org"))


def test_the_revocation_is_logged_with_the_change(world: World):
    _patch(world, _bearer(world.admin.token), world.auditor.user, {"active": False})
    entries = world.admin.get("/api/v1/access-log", params={"action": "user.update"}).json()["items"]
    assert "sessions and API tokens ended" in entries[0]["detail"]


# --- changing your own password ------------------------------------------------------------------------

PASSWORD_CHANGE = f"{ME}/password"


def test_anyone_changes_their_own_password_and_only_that_session_stays(world: World):
    used, other = _session(world, "provider.user@example.org"), _session(world, "provider.user@example.org")
    r = world.client.post(PASSWORD_CHANGE, headers=used,
                          json={"current_password": PASSWORD, "new_password": "a brand new password"})
    assert r.status_code == 204, r.text
    assert _works(world, used)
    assert not _works(world, other)
    assert not _works(world, _bearer(world.provider_user.token))
    problem(world.client.post(LOGIN, json={"email": "provider.user@example.org", "password": PASSWORD}), 401)
    assert _works(world, _session(world, "provider.user@example.org", "a brand new password"))


def test_a_password_change_needs_the_current_password_and_a_long_new_one(world: World):
    me = _bearer(world.governance.token)
    problem(world.client.post(PASSWORD_CHANGE, headers=me,
                              json={"current_password": "not my password", "new_password": "a brand new password"}),
            422, "current_password")
    problem(world.client.post(PASSWORD_CHANGE, headers=me,
                              json={"current_password": PASSWORD, "new_password": "too short"}), 422, "new_password")
    assert _works(world, me)


def test_guessing_the_current_password_is_throttled_with_sign_ins(world: World):
    me = _bearer(world.governance.token)
    wrong = {"current_password": "not my password", "new_password": "a brand new password"}
    statuses = [world.client.post(PASSWORD_CHANGE, headers=me, json=wrong).status_code for _ in range(6)]
    assert statuses == [422] * 5 + [429]  # the default PA_LOGIN_MAX_FAILURES is five
    r = world.client.post(PASSWORD_CHANGE, headers=me,
                          json={"current_password": PASSWORD, "new_password": "a brand new password"})
    problem(r, 429)
    problem(world.client.post(LOGIN, json={"email": "governance@example.org", "password": PASSWORD}), 429)
