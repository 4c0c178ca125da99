"""A provider's people never see, change or learn of another provider's data.

``test_every_api_route_has_a_scoping_case`` walks the app's route table: a new route under /api/ fails the suite
until it has a CASE in tests/support/routes.py (how a person at provider A calls it against provider B's record,
and what must happen) or an entry in NOT_PROVIDER_DATA there saying why it touches no provider's records.

Routes outside /api/ (health, /schema, /static, the sign-in page at /) are skipped by rule: they are public and
serve no provider's data. Every route reachable without signing in is listed in PUBLIC_ROUTES there with the reason
(``test_every_public_route_is_listed``). HEAD and OPTIONS are skipped by rule: Litestar answers them itself, with no body.
"""

from __future__ import annotations

import tempfile

import pytest
from litestar.routes import HTTPRoute

from tests.support.problems import is_problem
from tests.support.routes import (
    B_HOLDER,
    CASES,
    LIST,
    NOT_PROVIDER_DATA,
    PROVIDER_ROLES,
    PUBLIC_ROUTES,
    SKIPPED_METHODS,
    Case,
    b,
    b_token_ids,
)
from tests.support.world import World
from partner_audit.app import create_app
from partner_audit.security.middleware import is_public
from partner_audit.settings import load_settings

# These tests sign in by email or count the accounts: every person of the world exists from the start.
pytestmark = pytest.mark.usefixtures("everyone")


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


def test_every_public_route_is_listed():
    app = create_app(load_settings({"PA_VAR_DIR": tempfile.mkdtemp(), "PA_SECRET_KEY": "route-table-" + "x" * 32}))
    public = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if is_public(handler):
                public |= {(method, route.path) for method in handler.http_methods - SKIPPED_METHODS}
    assert public == set(PUBLIC_ROUTES), (
        f"public but not listed: {sorted(public - set(PUBLIC_ROUTES))}; listed but not public: "
        f"{sorted(set(PUBLIC_ROUTES) - public)}")


def b_markers(world: World) -> list[str]:
    """Everything of provider B's that must not show up in an answer to A's people."""
    return [
        str(world.provider_b["id"]), world.provider_b["name"], world.provider_b["nzbn"],
        *B_HOLDER, "B-DEVICE",
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
        assert is_problem(r)
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
