"""Every request gets an id and, unless its route is public, a signed-in caller.

The caller is looked up in the database on every request (token, user, provider status), so a logout, a
deactivation, a role change or a suspended provider takes effect on the next request in every process.
"""

from __future__ import annotations

import re
import uuid

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from partner_audit.errors import NotAuthenticated
from partner_audit.security import service
from partner_audit.security.caller import Caller

SESSION_COOKIE = "pa_session"

# The one way to make a route public: ``opt=PUBLIC`` on it, its controller or its router. Every other route needs a
# session cookie or a bearer token, so a route added without thinking about it is closed.
_PUBLIC_KEY = "public"
PUBLIC = {_PUBLIC_KEY: True}


def is_public(handler: BaseRouteHandler) -> bool:
    return bool(handler.opt.get(_PUBLIC_KEY))

# Every response: never sniffed into another type, never framed, never sent on as a referrer.
_ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
# Pages load only what this service serves (no inline script or style); anything else runs nothing at all.
PAGE_CSP = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")
OTHER_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Take the caller's X-Request-ID when it is sane, else make one; echo it on the response."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        request_id = given if _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message)["X-Request-ID"] = request_id
            await send(message)

        await app(scope, receive, send_with_id)

    return middleware


async def security_headers(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook, so it also covers what no route answers (404, 405). A response that set its own
    header (the attestation page, evidence downloads) keeps it."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in _ALWAYS.items():
        headers.setdefault(name, value)
    is_page = headers.get("content-type", "").startswith("text/html")
    headers.setdefault("Content-Security-Policy", PAGE_CSP if is_page else OTHER_CSP)


def request_id(connection: ASGIConnection) -> str | None:
    return connection.scope.get("state", {}).get("request_id")


def client_ip(connection: ASGIConnection) -> str | None:
    return connection.client.host if connection.client else None


def anonymous_caller(connection: ASGIConnection) -> Caller:
    return Caller.anonymous(request_id(connection), client_ip(connection))


def signed_in_caller(request: Request) -> Caller:
    """The app-level ``caller`` dependency: who the authentication middleware found (public routes have none)."""
    return request.user


class AuthenticationMiddleware(AbstractAuthenticationMiddleware):
    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app, exclude_from_auth_key=_PUBLIC_KEY)

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        secret = None
        authorization = connection.headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            secret = authorization[7:].strip()
        elif SESSION_COOKIE in connection.cookies:
            secret = connection.cookies[SESSION_COOKIE]
        if not secret:
            raise NotAuthenticated(
                "Sign in first: POST /api/v1/auth/login, or send an API token as 'Authorization: Bearer …'."
            )
        caller = await service.caller_for_token(
            secret, request_id=request_id(connection), client_ip=client_ip(connection)
        )
        return AuthenticationResult(user=caller, auth=caller.token_id)
