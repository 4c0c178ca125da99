"""Cross-site request forgery: what a request must show before it may change anything on a browser's credentials.

A browser attaches the session cookie to requests another site's page makes it send (``SameSite=Strict`` stops
other sites, not other origins on the same site). So, before any handler runs, every POST, PUT, PATCH and DELETE:

1. Unless a bearer token authenticates it (a browser never adds one on its own), the browser's word on where it
   came from must be this service: ``Sec-Fetch-Site`` (when sent) is ``same-origin`` or ``none``, and ``Origin``
   (when sent) is ``PA_PUBLIC_URL`` or the request's own host. This covers the sign-in route (login CSRF) and the
   attestation form too, which have no session.
2. A route that reads a JSON body refuses any other Content-Type (415). Another origin's page can send JSON only
   after a CORS preflight, which this service never grants; an HTML form can send only the three types below.
3. A request signed in by the session cookie in one of those form types (the coming HTML pages, multipart uploads,
   a raw import) must carry the session's CSRF token: in the ``X-CSRF-Token`` header, or, for an urlencoded form
   only, in a ``csrf_token`` field. A multipart body is never read here, so uploads keep streaming to their handler.

The token is an HMAC of the session cookie under ``PA_SECRET_KEY``: every process derives the same one, nothing is
stored, and it ends with the session. Pages get it from ``csrf_token(request)``.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.handlers.http_handlers import HTTPRouteHandler
from litestar.params import BodyKwarg
from litestar.types import ASGIApp, Receive, Scope, Send

from partner_audit.errors import Forbidden, UnsupportedMediaType
from partner_audit.security import tokens
from partner_audit.security.middleware import SESSION_COOKIE, is_public

CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
JSON = "application/json"
# What an HTML form on any page can send without asking first (the CORS-safelisted request types).
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# A browser's own account of a request's initiator: this origin, or the person (typed, bookmarked).
TRUSTED_FETCH_SITES = frozenset({"same-origin", "none"})


def token_for_session(session: str) -> str:
    # The prefix keeps this digest apart from the session's own stored digest of the same secret.
    return tokens.digest(f"csrf:{session}")


def csrf_token(connection: ASGIConnection) -> str | None:
    """The token a page puts in its forms (``csrf_token`` field) or its scripts' ``X-CSRF-Token`` header."""
    session = connection.cookies.get(SESSION_COOKIE)
    return token_for_session(session) if session else None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _media_type(content_type: str) -> str:
    return content_type.partition(";")[0].strip().lower()


def _takes_json(handler: HTTPRouteHandler) -> bool:
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return False
    body = data.kwarg_definition
    # A ``data`` parameter without Body(...) is JSON: Litestar's default.
    return not isinstance(body, BodyKwarg) or body.media_type == RequestEncodingType.JSON


def csrf_middleware(public_url: str):
    """The checks above, as ASGI middleware; it runs after routing, so it knows the handler's declared body."""
    public_origin = _origin(public_url)

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
                await _check(scope, receive, public_origin)
            await app(scope, receive, send)

        return middleware

    return factory


async def _check(scope: Scope, receive: Receive, public_origin: str) -> None:
    connection: ASGIConnection = ASGIConnection(scope)
    headers = connection.headers
    by_browser = not headers.get("authorization", "").lower().startswith("bearer ")
    if by_browser:
        _check_source(connection, public_origin)
    handler = scope["route_handler"]
    media_type = _media_type(headers.get("content-type", ""))
    if _takes_json(handler) and media_type != JSON:
        raise UnsupportedMediaType(
            f"This route reads a JSON body: send it with 'Content-Type: {JSON}' "
            f"(got {media_type or 'no Content-Type'!r}).",
            errors=[{"field": "Content-Type", "message": f"must be {JSON}"}],
        )
    signed_in_by_cookie = (by_browser and not is_public(handler)
                           and SESSION_COOKIE in connection.cookies)
    if signed_in_by_cookie and media_type in FORM_TYPES:
        await _check_token(scope, receive, connection, media_type)


def _check_source(connection: ASGIConnection, public_origin: str) -> None:
    fetch_site = connection.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.lower() not in TRUSTED_FETCH_SITES:
        raise Forbidden(f"Refused: this request was sent from another site's page (Sec-Fetch-Site: {fetch_site}).")
    origin = connection.headers.get("origin")
    if origin is None:
        return
    own = {public_origin, f"{connection.scope['scheme']}://{connection.headers.get('host', '')}".lower()}
    if origin.lower() in own:
        return
    # A page whose Referrer-Policy is no-referrer sends "Origin: null" even on its own forms; the browser's
    # Sec-Fetch-Site, which a page cannot set, then says where the form was.
    if origin == "null" and fetch_site is not None:
        return
    raise Forbidden(f"Refused: this request was sent from a page at {origin}, not from this service.")


async def _check_token(scope: Scope, receive: Receive, connection: ASGIConnection, media_type: str) -> None:
    given = connection.headers.get(CSRF_HEADER)
    if given is None and media_type == "application/x-www-form-urlencoded":
        # Request.form() keeps what it parsed in the scope, so the handler reads the same form without the body.
        given = (await Request(scope, receive).form()).get(CSRF_FIELD)
    expected = csrf_token(connection)
    if not (expected and isinstance(given, str)
            and hmac.compare_digest(given.encode(errors="replace"), expected.encode())):
        raise Forbidden(
            f"A signed-in browser's {media_type} request needs this session's CSRF token in the "
            f"X-CSRF-Token header{' or the csrf_token field' if media_type.endswith('urlencoded') else ''}; "
            "scripts can send 'Authorization: Bearer …' instead.",
            errors=[{"field": "X-CSRF-Token", "message": "missing or not this session's"}],
        )
