"""Requests as one person: ``Api`` with a bearer token, ``Browser`` with a session cookie."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from partner_audit.security.middleware import SESSION_COOKIE


class Api:
    """Requests as one signed-in person (bearer token)."""

    def __init__(self, client: TestClient, token: str, user: dict[str, Any]) -> None:
        self.client, self.token, self.user = client, token, user

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def request(self, method: str, url: str, **kw: Any):
        kw["headers"] = self._headers(kw.get("headers"))
        return self.client.request(method, url, **kw)

    def get(self, url: str, **kw: Any):
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any):
        return self.request("POST", url, **kw)

    def patch(self, url: str, **kw: Any):
        return self.request("PATCH", url, **kw)

    def put(self, url: str, **kw: Any):
        return self.request("PUT", url, **kw)

    def delete(self, url: str, **kw: Any):
        return self.request("DELETE", url, **kw)


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
