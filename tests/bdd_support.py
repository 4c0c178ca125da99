"""Helpers the journeys' step bindings (tests/bdd/) share: the people in the features' own words, a
browser-like session, problem+json checks, and what a scenario has seen so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conftest import PASSWORD  # noqa: F401  (every person in ``world`` has it; steps import it from here)
from litestar.testing import TestClient

from partner_audit.security.middleware import SESSION_COOKIE

# How the features name people -> the key of that person in ``world``.
PEOPLE = {
    "system owner": "admin",
    "partnerships officer": "partnerships",
    "auditor": "auditor",
    "governance member": "governance",
    "privacy lead at provider A": "provider_admin",
    "staff member at provider A": "provider_user",
    "privacy lead at provider B": "b_admin",
    "staff member at provider B": "b_user",
}

PROVIDER_NAMES = {"A": "Provider A Trust", "B": "Provider B Trust"}


def person_key(phrase: str) -> str:
    try:
        return PEOPLE[phrase]
    except KeyError:
        raise AssertionError(f"no person called {phrase!r} in the journeys; known: {sorted(PEOPLE)}") from None


def provider_of(world, letter: str) -> dict[str, Any]:
    return {"A": world.provider_a, "B": world.provider_b}[letter]


def email_of(world, phrase: str) -> str:
    return world.people[person_key(phrase)].user["email"]


def assert_problem(response, status: int) -> dict[str, Any]:
    """Every error is application/problem+json with the HTTP status repeated in the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == status, body
    return body


class Browser:
    """One person's browser: the session cookie from signing in, sent with each request."""

    def __init__(self, client: TestClient, secret: str) -> None:
        self.client, self.secret = client, secret

    def request(self, method: str, url: str, **kw: Any):
        kw["headers"] = {"Cookie": f"{SESSION_COOKIE}={self.secret}", **kw.get("headers", {})}
        return self.client.request(method, url, **kw)

    def get(self, url: str, **kw: Any):
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any):
        return self.request("POST", url, **kw)


def sign_in(client: TestClient, email: str, password: str):
    """POST the sign-in form; returns the response and, on success, a Browser holding the session."""
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    secret = response.cookies.get(SESSION_COOKIE)
    # The test client's shared cookie jar would mix people up; each Browser carries its own cookie.
    client.cookies.clear()
    return response, Browser(client, secret) if secret else None


@dataclass
class Journey:
    """What one scenario has seen so far."""

    response: Any = None
    browsers: dict[str, Browser] = field(default_factory=dict)
    actor: str | None = None
    provider: dict[str, Any] | None = None
