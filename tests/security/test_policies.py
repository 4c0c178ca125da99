"""Every route is guarded by one named policy, and the service behind it checks that same policy.

The walk takes every route of the app that needs signing in and:

- finds the one policy its guard declares (none, or two, is a failure);
- calls it as a person of every role, with the requests of tests/support/routes.py's catalogue (``CASES``): a role the
  policy refuses must get 403, and where a role it allows reaches the service, the first policy the service
  checked (``policies.CHECKED``) must be the route's own. A 2xx answer with no policy checked is a service that
  trusts its guard, and fails too.

The last tests prove the walk can fail: a route stripped of its guard, and a guard that disagrees with its service.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from litestar import Litestar
from litestar.handlers.http_handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.types import Empty

from tests.support.http import Api
from tests.support.problems import problem
from tests.support.routes import CASES, SKIPPED_METHODS, b_device
from tests.support.world import World
from partner_audit.app import create_app
from partner_audit.errors import Forbidden, NotAuthenticated
from partner_audit.security import policies
from partner_audit.security.caller import Caller, Role
from partner_audit.security.middleware import is_public
from partner_audit.security.policies import Policy, policy_of
from partner_audit.settings import load_settings

MISSING = "00000000-0000-4000-8000-000000000000"

# Requests for the routes tests/support/routes.py has no case for (they take no provider's record), and for one
# whose case there is refused before its service (an empty transfer is a 400).
OWN_CALLS: dict[tuple[str, str], Callable[[World, Api], Any]] = {
    ("POST", "/api/v1/devices/{device_id:uuid}/transfer"): lambda w, who: who.post(
        f"/api/v1/devices/{b_device(w)['id']}/transfer", json={
            "check_in": {"returned_on": date.today().isoformat(), "condition": "good", "data_wiped": False},
            "check_out": {"provider_id": str(w.provider_a["id"]), "holder_name": "Next Holder",
                          "holder_email": "next@a.example", "purpose": "Case work",
                          "starts_on": date.today().isoformat()}}),
    ("POST", "/api/v1/auth/logout"): lambda w, who: who.post("/api/v1/auth/logout"),
    ("GET", "/api/v1/me"): lambda w, who: who.get("/api/v1/me"),
    ("POST", "/api/v1/me/tokens"): lambda w, who: who.post("/api/v1/me/tokens", json={"name": "walk"}),
    ("POST", "/api/v1/me/password"): lambda w, who: who.post("/api/v1/me/password", json={
        "current_password": "not the password at all", "new_password": "a new long enough password"}),
    ("GET", "/api/v1/templates"): lambda w, who: who.get("/api/v1/templates"),
    ("GET", "/api/v1/templates/{version_id:uuid}"): lambda w, who: who.get(f"/api/v1/templates/{MISSING}"),
}

CALLS: dict[tuple[str, str], Callable[[World, Api], Any]] = {}
for _case in CASES:  # the first case of a route is its plainest request
    CALLS.setdefault((_case.method, _case.path), _case.call)
CALLS.update(OWN_CALLS)

Route = tuple[str, str, HTTPRouteHandler]


def guarded_routes(app: Litestar) -> list[Route]:
    """Every (method, path, handler) that needs signing in."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if is_public(handler):
                continue
            found += [(method, route.path, handler) for method in sorted(handler.http_methods - SKIPPED_METHODS)]
    return found


def declared(handler: HTTPRouteHandler) -> list[Policy]:
    """The policies of the guards on the handler and every layer above it (its controller, router, the app)."""
    guards = [g for layer in handler.ownership_layers for g in (layer.guards or [])]
    return [p for p in map(policy_of, guards) if p is not None]


def declaration_problems(app: Litestar) -> list[str]:
    problems = []
    for method, path, handler in guarded_routes(app):
        found = declared(handler)
        if len(found) != 1:
            problems.append(f"{method} {path} declares {len(found)} policies ({found}), not one")
        if (method, path) not in CALLS:
            problems.append(f"{method} {path} has no request in the walk: add one to OWN_CALLS")
    return problems


class Recorder:
    """Wraps the app: keeps the policies checked while serving the last request."""

    def __init__(self, app: Litestar) -> None:
        self.seen: tuple[Policy, ...] = ()
        self.inner = app.asgi_handler
        app.asgi_handler = self  # type: ignore[assignment]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        token = policies.CHECKED.set(())
        try:
            await self.inner(scope, receive, send)
        finally:
            self.seen = policies.CHECKED.get()
            policies.CHECKED.reset(token)


def walk(world: World, recorder: Recorder, method: str, path: str, handler: HTTPRouteHandler) -> tuple[list[str], bool]:
    """Call one route as every role. Returns what disagreed, and whether any allowed role reached the service."""
    [policy] = declared(handler)
    problems, reached = [], False
    for role in Role:
        recorder.seen = ()
        r = CALLS[(method, path)](world, world.people[role.value])
        where = f"{method} {path} as {role.value} ({r.status_code})"
        if role not in policy.roles:
            if r.status_code != 403:
                problems.append(f"{where}: {policy} refuses {role.value}, yet the answer is not 403")
            continue
        if recorder.seen:
            reached = True
            if recorder.seen[0] is not policy:
                problems.append(f"{where}: the route declares {policy}, the service checked {recorder.seen[0]}")
        elif 200 <= r.status_code < 300:
            problems.append(f"{where}: answered with no policy checked; its service trusts the guard")
    return problems, reached


def _app() -> Litestar:
    return create_app(load_settings({"PA_VAR_DIR": tempfile.mkdtemp(), "PA_SECRET_KEY": "policies-" + "x" * 32}))


# Sorted: xdist workers must collect the same tests in the same order, and the app lists routes by hash.
ROUTES = sorted((m, p) for m, p, _ in guarded_routes(_app()))


def test_every_route_declares_one_policy_and_the_walk_can_call_it():
    assert not declaration_problems(_app())


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_route_guard_and_service_check_the_same_policy(world: World, method: str, path: str):
    recorder = Recorder(world.client.app)
    [handler] = [h for m, p, h in guarded_routes(world.client.app) if (m, p) == (method, path)]
    problems, reached = walk(world, recorder, method, path, handler)
    assert not problems
    assert reached, f"no allowed role reached the service of {method} {path}: the walk proves nothing for it"


# --- the walk can fail -------------------------------------------------------------------------------


def _handler(app: Litestar, method: str, path: str) -> HTTPRouteHandler:
    return next(h for m, p, h in guarded_routes(app) if (m, p) == (method, path))


def test_a_route_stripped_of_its_guard_fails_the_walk():
    app = _app()
    _handler(app, "POST", "/api/v1/providers").guards = []
    assert declaration_problems(app) == ["POST /api/v1/providers declares 0 policies ([]), not one"]


def test_a_guard_that_disagrees_with_its_service_fails_the_walk(world: World, monkeypatch: pytest.MonkeyPatch):
    app = world.client.app  # the session's app: monkeypatch puts its guards back after the test
    handler = _handler(app, "POST", "/api/v1/providers")
    # The same roles, but not the action the service performs.
    monkeypatch.setattr(handler, "guards", [policies.EDIT_PROVIDER.guard])
    monkeypatch.setattr(handler, "_resolved_guards", Empty)  # Litestar resolves guards once; let it see the new one
    problems, _ = walk(world, Recorder(app), "POST", "/api/v1/providers", handler)
    assert problems and all("declares EDIT_PROVIDER, the service checked REGISTER_PROVIDER" in p for p in problems)


def test_a_guard_wider_than_its_policy_is_caught_by_the_service(world: World, monkeypatch: pytest.MonkeyPatch):
    """A page or route that forgets the guard still cannot let a provider's people register a provider."""
    app = world.client.app
    handler = _handler(app, "POST", "/api/v1/providers")
    monkeypatch.setattr(handler, "guards", [policies.SEE_PROVIDERS.guard])
    monkeypatch.setattr(handler, "_resolved_guards", Empty)
    r = world.provider_admin.post("/api/v1/providers", json={
        "name": "Planted", "nzbn": "9429000000999", "kind": "ngo", "region": "Otago", "risk_tier": 1})
    assert problem(r, 403)["detail"].startswith("This needs one of these roles: admin, partnerships.")
    problems, _ = walk(world, Recorder(app), "POST", "/api/v1/providers", handler)
    assert any("declares SEE_PROVIDERS, the service checked REGISTER_PROVIDER" in p for p in problems)


# --- the policy itself ------------------------------------------------------------------------------


def test_check_refuses_with_the_guards_words_and_records_what_it_checked():
    provider_user = Caller(None, "u@example.org", Role.provider_user, None)
    token = policies.CHECKED.set(())
    try:
        with pytest.raises(Forbidden, match="This needs one of these roles: admin, partnerships"):
            policies.REGISTER_PROVIDER.check(provider_user)
        with pytest.raises(NotAuthenticated):
            policies.SEE_PROVIDERS.check(Caller.anonymous())
        policies.SEE_PROVIDERS.check(provider_user)
        assert policies.CHECKED.get() == (policies.REGISTER_PROVIDER, policies.SEE_PROVIDERS,
                                          policies.SEE_PROVIDERS)
    finally:
        policies.CHECKED.reset(token)
    assert not policies.REGISTER_PROVIDER.allows(provider_user)
    assert policy_of(policies.REGISTER_PROVIDER.guard) is policies.REGISTER_PROVIDER
    assert policy_of(lambda connection, handler: None) is None


def test_holder_details_are_decided_by_one_policy():
    from partner_audit.devices.services.visibility import sees_holder

    for role in Role:
        caller = Caller(None, None, role, "p-a" if role.is_provider_role else None)
        assert sees_holder(caller, "p-a") is (role in policies.SEE_HOLDER_DETAILS.roles)
        if role.is_provider_role:
            assert not sees_holder(caller, "p-b")  # tenancy: never another provider's holders
