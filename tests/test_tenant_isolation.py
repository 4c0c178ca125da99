"""A provider's people never see, change or learn of another provider's data.

``test_every_api_route_has_a_scoping_case`` walks the app's route table: a new route under /api/ fails the suite
until it has a CASE below (how a person at provider A calls it against provider B's record, and what must happen)
or an entry in NOT_PROVIDER_DATA saying why it touches no provider's records.

Routes outside /api/ (health, /schema, /static, the sign-in page at /) are skipped by rule: they are public and
serve no provider's data. HEAD and OPTIONS are skipped by rule: Litestar answers them itself, with no body.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from litestar.routes import HTTPRoute

from conftest import Api, World
from partner_audit.app import create_app
from partner_audit.settings import load_settings

NOT_FOUND, FORBIDDEN, LIST = "404", "403", "list"
PROVIDER_ROLES = ("provider_user", "provider_admin")
SKIPPED_METHODS = {"HEAD", "OPTIONS"}

# Routes that take no provider's record: no id in the path or body to point at provider B.
NOT_PROVIDER_DATA: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/auth/login"): "public: signing in names an email, not a record",
    ("POST", "/api/v1/auth/logout"): "ends the caller's own session, nothing else",
    ("GET", "/api/v1/me"): "the caller's own account, found from their own token",
    ("POST", "/api/v1/me/tokens"): "makes a token for the caller; takes no id",
    ("GET", "/api/v1/templates"): "the control library: the questionnaires every provider answers, no one's data",
    ("GET", "/api/v1/templates/{version_id:uuid}"): "one questionnaire template version: no provider's data",
}


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # exactly as in the route table
    call: Callable[[World, Api], Any]  # the request, as `who` (a person at provider A), aimed at provider B
    expect: dict[str, str]  # role -> NOT_FOUND | FORBIDDEN | LIST
    # Writes: provider B's record as an agency admin sees it; must be the same before and after.
    snapshot: Callable[[World], Any] | None = None
    # Lists: what of the caller's own must be there, so an empty answer cannot pass for a scoped one.
    own: Callable[[World, Api], list[str]] | None = None
    note: str = ""

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}" + (f" [{self.note}]" if self.note else "")


def b(world: World) -> str:
    return str(world.provider_b["id"])


def b_user_id(world: World) -> str:
    return str(world.b_user.user["id"])


def b_token_ids(world: World) -> list[str]:
    return [t["id"] for t in world.b_user.get("/api/v1/me/tokens").json()]


def b_user_as_admin_sees_it(world: World) -> Any:
    return world.admin.get(f"/api/v1/users/{b_user_id(world)}").json(), world.b_user.get("/api/v1/me").status_code


def b_provider_as_admin_sees_it(world: World) -> Any:
    return world.admin.get(f"/api/v1/providers/{b(world)}").json()


def all_users_as_admin_sees_them(world: World) -> Any:
    return world.admin.get("/api/v1/users", params={"page_size": 200}).json()


def all_providers_as_admin_sees_them(world: World) -> Any:
    return world.admin.get("/api/v1/providers", params={"page_size": 200}).json()


def b_tokens_as_b_sees_them(world: World) -> Any:
    return world.b_user.get("/api/v1/me/tokens").json(), world.b_user.get("/api/v1/me").status_code


def own_provider(world: World, who: Api) -> list[str]:
    return [str(world.provider_a["id"])]


def own_colleague(world: World, who: Api) -> list[str]:
    return [str(world.provider_user.user["id"])]


def own_tokens(world: World, who: Api) -> list[str]:
    return [t["id"] for t in who.get("/api/v1/me/tokens").json()]


BOTH_404 = {"provider_user": NOT_FOUND, "provider_admin": NOT_FOUND}
BOTH_403 = {"provider_user": FORBIDDEN, "provider_admin": FORBIDDEN}
BOTH_LIST = {"provider_user": LIST, "provider_admin": LIST}
USER_ADMINS_ONLY_404 = {"provider_user": FORBIDDEN, "provider_admin": NOT_FOUND}
USER_ADMINS_ONLY_LIST = {"provider_user": FORBIDDEN, "provider_admin": LIST}

CASES = [
    # --- my tokens ---
    Case("GET", "/api/v1/me/tokens", lambda w, who: who.get("/api/v1/me/tokens"), BOTH_LIST, own=own_tokens),
    Case("DELETE", "/api/v1/me/tokens/{token_id:uuid}",
         lambda w, who: who.delete(f"/api/v1/me/tokens/{b_token_ids(w)[0]}"), BOTH_404,
         snapshot=b_tokens_as_b_sees_them),
    # --- users ---
    Case("GET", "/api/v1/users", lambda w, who: who.get("/api/v1/users"), USER_ADMINS_ONLY_LIST, own=own_colleague),
    Case("GET", "/api/v1/users", lambda w, who: who.get("/api/v1/users", params={"provider_id": b(w)}),
         USER_ADMINS_ONLY_LIST, note="filtered to provider B"),
    Case("GET", "/api/v1/users", lambda w, who: who.get("/api/v1/users", params={"q": "b.user"}),
         USER_ADMINS_ONLY_LIST, note="searching for B's person"),
    Case("POST", "/api/v1/users",
         lambda w, who: who.post("/api/v1/users", json={
             "email": "planted@example.org", "full_name": "Planted", "role": "provider_admin",
             "password": "long enough password", "provider_id": b(w)}),
         USER_ADMINS_ONLY_404, snapshot=all_users_as_admin_sees_them, note="a user at provider B"),
    Case("GET", "/api/v1/users/{user_id:uuid}", lambda w, who: who.get(f"/api/v1/users/{b_user_id(w)}"),
         USER_ADMINS_ONLY_404),
    Case("PATCH", "/api/v1/users/{user_id:uuid}",
         lambda w, who: who.patch(f"/api/v1/users/{b_user_id(w)}", json={"active": False, "full_name": "Taken"}),
         USER_ADMINS_ONLY_404, snapshot=b_user_as_admin_sees_it),
    # --- access log: the agency's, never a provider's ---
    Case("GET", "/api/v1/access-log", lambda w, who: who.get("/api/v1/access-log", params={"provider_id": b(w)}),
         BOTH_403),
    Case("GET", "/api/v1/access-log/verify", lambda w, who: who.get("/api/v1/access-log/verify"), BOTH_403),
    # --- providers ---
    Case("GET", "/api/v1/providers", lambda w, who: who.get("/api/v1/providers"), BOTH_LIST, own=own_provider),
    Case("GET", "/api/v1/providers", lambda w, who: who.get("/api/v1/providers", params={"q": "Provider B"}),
         BOTH_LIST, note="searching for B by name"),
    Case("POST", "/api/v1/providers",
         lambda w, who: who.post("/api/v1/providers", json={
             "name": "Planted", "nzbn": "9429000000999", "kind": "ngo", "region": "Otago", "risk_tier": 1}),
         BOTH_403, snapshot=all_providers_as_admin_sees_them),
    Case("GET", "/api/v1/providers/{provider_id:uuid}", lambda w, who: who.get(f"/api/v1/providers/{b(w)}"),
         BOTH_404),
    Case("PATCH", "/api/v1/providers/{provider_id:uuid}",
         lambda w, who: who.patch(f"/api/v1/providers/{b(w)}", json={"name": "Taken Over", "risk_tier": 3}),
         BOTH_403, snapshot=b_provider_as_admin_sees_it),
    Case("POST", "/api/v1/providers/{provider_id:uuid}/status",
         lambda w, who: who.post(f"/api/v1/providers/{b(w)}/status", json={"status": "suspended", "reason": "x"}),
         BOTH_403, snapshot=b_provider_as_admin_sees_it),
]


def api_routes() -> set[tuple[str, str]]:
    app = create_app(load_settings({"PA_VAR_DIR": tempfile.mkdtemp(), "PA_SECRET_KEY": "route-table-" + "x" * 32}))
    found = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/api/"):
            continue
        for handler in route.route_handlers:
            found |= {(method, route.path) for method in handler.http_methods - SKIPPED_METHODS}
    return found


def test_every_api_route_has_a_scoping_case():
    routes = api_routes()
    covered = {(c.method, c.path) for c in CASES} | set(NOT_PROVIDER_DATA)
    missing = sorted(routes - covered)
    assert not missing, "routes with no tenant-scoping CASE (add one, or a NOT_PROVIDER_DATA reason): " + ", ".join(
        f"{m} {p}" for m, p in missing)
    stale = sorted(covered - routes)
    assert not stale, "CASES for routes that no longer exist: " + ", ".join(f"{m} {p}" for m, p in stale)


def b_markers(world: World) -> list[str]:
    """Everything of provider B's that must not show up in an answer to A's people."""
    return [
        str(world.provider_b["id"]), world.provider_b["name"], world.provider_b["nzbn"],
        *(str(p.user["id"]) for p in (world.b_admin, world.b_user)),
        *(p.user["email"] for p in (world.b_admin, world.b_user)),
        *b_token_ids(world),
    ]


@pytest.mark.parametrize("role", PROVIDER_ROLES)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_provider_people_cannot_reach_another_providers_data(world: World, case: Case, role: str):
    who = world.people[role]
    before = case.snapshot(world) if case.snapshot else None
    markers = b_markers(world)

    r = case.call(world, who)

    expected = case.expect[role]
    if expected == LIST:
        assert r.status_code == 200, r.text
        leaked = [m for m in markers if m in r.text]
        assert not leaked, f"{role} sees provider B's data: {leaked}"
        for mine in case.own(world, who) if case.own else []:
            assert mine in r.text, f"{role} does not see their own {mine}: the scoping test proves nothing"
    else:
        assert r.status_code == int(expected), r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        # Echoing the id the caller sent reveals nothing; anything else of B's would.
        sent = str(r.request.url) + r.request.content.decode()
        leaked = [m for m in markers if m in r.text and m not in sent]
        assert not leaked, f"the refusal tells {role} about provider B: {leaked}"
    if case.snapshot:
        assert case.snapshot(world) == before, "provider B's record changed"


def test_a_foreign_id_is_answered_like_one_that_does_not_exist(world: World):
    """404 for provider B's record reads the same as for no record at all, bar the id."""
    missing = "00000000-0000-4000-8000-000000000000"
    foreign = world.provider_admin.get(f"/api/v1/providers/{b(world)}").json()
    absent = world.provider_admin.get(f"/api/v1/providers/{missing}").json()
    assert foreign["title"] == absent["title"]
    assert foreign["detail"].replace(b(world), missing) == absent["detail"]
