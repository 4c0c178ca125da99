"""A browser's credentials cannot be used by another page: Content-Type, Origin and Sec-Fetch-Site, the session's
CSRF token; the security headers on every response; the Secure cookie behind HTTPS; OPTIONS on every route."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from litestar import Litestar, Request, post
from litestar.routes import HTTPRoute
from litestar.testing import TestClient
from tests.support.assessments import assessment_of, launched
from tests.support.devices import checked_out

from tests.support.databases import make_settings
from tests.support.problems import problem
from tests.support.world import PASSWORD, World
from partner_audit.app import create_app
from partner_audit.errors import Forbidden, problem_details_plugin
from partner_audit.outbox.tables import OutboxMessage
from partner_audit.security import tokens
from partner_audit.security.csrf import csrf_middleware, token_for_session
from partner_audit.security.middleware import SESSION_COOKIE

# These tests sign in by email or count the accounts: every person of the world exists from the start.
pytestmark = pytest.mark.usefixtures("everyone")

PUBLIC_URL = "http://127.0.0.1:8000"  # the default PA_PUBLIC_URL the tests' settings get
ELSEWHERE = "https://forms.example.org"
USERS = "/api/v1/users"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def session_of(client: TestClient, email: str) -> str:
    r = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    secret = r.cookies[SESSION_COOKIE]
    client.cookies.clear()  # each request below says which cookie it carries
    return secret


def browser(secret: str, **headers: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={secret}", **headers}


def emails(world: World) -> set[str]:
    return {u["email"] for u in world.admin.get(USERS, params={"page_size": 200}).json()["items"]}


def new_admin(email: str) -> dict[str, Any]:
    return {"email": email, "full_name": "Mallory", "role": "admin", "password": "a long enough password 1"}


# --- item 4: the attack, and what still works -------------------------------------------------------------


def test_a_same_site_form_cannot_make_an_admin(world: World):
    """The report's attack: another origin on the same site posts an HTML form (enctype=text/plain, so the body
    reads as JSON) and the signed-in admin's browser adds the session cookie (SameSite=Strict allows same-site)."""
    secret = session_of(world.client, "admin@example.org")
    forged = '{"email": "mallory@example.org", "full_name": "Mallory", "role": "admin", ' \
             '"password": "a long enough password 1", "x": "="}'
    r = world.client.post(USERS, content=forged, headers=browser(
        secret, **{"Content-Type": "text/plain", "Origin": "https://intranet.example.org", "Sec-Fetch-Site": "same-site"}))
    assert "another site" in problem(r, 403)["detail"]
    # The same form from a browser that sends neither header: the route takes JSON only.
    r = world.client.post(USERS, content=forged, headers=browser(secret, **{"Content-Type": "text/plain"}))
    assert "application/json" in problem(r, 415, "Content-Type")["detail"]
    # Origin alone (no Sec-Fetch-Site), even with a JSON type a page could not send without a preflight.
    r = world.client.post(USERS, json=new_admin("mallory@example.org"), headers=browser(secret, Origin=ELSEWHERE))
    assert ELSEWHERE in problem(r, 403)["detail"]
    assert "mallory@example.org" not in emails(world)


@pytest.mark.parametrize("headers", [
    {},  # a script holding a cookie
    {"Origin": PUBLIC_URL, "Sec-Fetch-Site": "same-origin"},  # a page of this service, reached at PA_PUBLIC_URL
    {"Origin": "http://testserver.local"},  # reached at its own host name
    {"Sec-Fetch-Site": "none"},  # the person's own action (typed or bookmarked)
], ids=["no browser headers", "public url", "own host", "user initiated"])
def test_same_origin_browsers_still_work(world: World, headers: dict[str, str]):
    secret = session_of(world.client, "admin@example.org")
    r = world.client.post(USERS, json=new_admin("new.admin@example.org"), headers=browser(secret, **headers))
    assert r.status_code == 201, r.text
    r = world.client.post("/api/v1/auth/logout", headers=browser(secret, **headers))
    assert r.status_code == 204, r.text


def test_bearer_token_scripts_are_not_asked_where_they_came_from(world: World):
    # A browser never adds an Authorization header on its own, so a bearer token cannot be forged by a page.
    r = world.admin.post(USERS, json=new_admin("script.made@example.org"),
                         headers={"Origin": ELSEWHERE, "Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 201, r.text


def test_sign_in_from_another_site_is_refused(world: World):
    """Login CSRF: another site must not sign a person's browser in as the attacker."""
    for headers in ({"Origin": ELSEWHERE}, {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                    {"Origin": "null"}):
        r = world.client.post("/api/v1/auth/login", json={"email": "admin@example.org", "password": PASSWORD},
                              headers=headers)
        problem(r, 403)
        assert "set-cookie" not in r.headers
    r = world.client.post("/api/v1/auth/login", content=f'{{"email": "admin@example.org", "password": "{PASSWORD}"}}',
                          headers={"Content-Type": "text/plain"})
    problem(r, 415, "Content-Type")
    assert "set-cookie" not in r.headers


# --- item 4: JSON routes take JSON only ----------------------------------------------------------------------


def json_routes(app: Litestar) -> list[tuple[str, str]]:
    """(method, path) of every route whose handler reads a JSON ``data`` body, with ids filled in."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            data = handler.parsed_fn_signature.parameters.get("data")
            media_type = getattr(data.kwarg_definition, "media_type", "application/json") if data else None
            if media_type == "application/json":
                path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), route.path)
                found.extend((method, path) for method in handler.http_methods)
    return sorted(found)


def test_every_json_route_refuses_other_types(world: World):
    routes = json_routes(world.client.app)
    assert len(routes) >= 20 and ("POST", USERS) in routes and ("POST", "/api/v1/auth/login") in routes
    for method, path in routes:
        for content_type, body in (("text/plain", '{"name": "x"}'), ("application/x-www-form-urlencoded", "name=x"),
                                   ("application/merge-patch+json", '{"name": "x"}')):
            r = world.admin.request(method, path, content=body, headers={"Content-Type": content_type})
            assert content_type in problem(r, 415, "Content-Type")["detail"], (method, path)
        problem(world.admin.request(method, path, content=b'{"name": "x"}'), 415, "Content-Type")


def test_json_with_a_charset_is_json(world: World):
    body = b'{"email": "charset@example.org", "full_name": "Ng\xc4\x81 Tahi", "role": "auditor", ' \
           b'"password": "a long enough password 1"}'
    r = world.admin.post(USERS, content=body, headers={"Content-Type": "Application/JSON; charset=utf-8"})
    assert r.status_code == 201, r.text
    assert r.json()["full_name"] == "Ngā Tahi"


# --- item 4: the session's CSRF token for forms and uploads ---------------------------------------------------


def test_a_signed_in_browsers_upload_needs_the_session_token(world: World, template_id: str):
    launched(world, template_id)
    aid = assessment_of(world.provider_admin, world.provider_a["id"])["id"]
    secret = session_of(world.client, "provider.user@example.org")
    url = f"/api/v1/assessments/{aid}/evidence"

    def upload(**headers: str):
        return world.client.post(url, data={"question_id": "has-lead"}, files={"file": ("policy.pdf", PDF)},
                                 headers=browser(secret, Origin=PUBLIC_URL, **headers))

    assert "X-CSRF-Token" in problem(upload(), 403, "X-CSRF-Token")["detail"]
    problem(upload(**{"X-CSRF-Token": token_for_session(secret + "x")}), 403, "X-CSRF-Token")
    problem(upload(**{"X-CSRF-Token": "é".encode("latin-1") * 64}), 403, "X-CSRF-Token")  # not ASCII: no 500
    assert world.provider_user.get(f"/api/v1/assessments/{aid}").json()["evidence"] == []
    r = upload(**{"X-CSRF-Token": token_for_session(secret)})
    assert r.status_code == 201, r.text


def test_the_schema_page_gives_a_signed_in_browser_its_token(world: World):
    secret = session_of(world.client, "admin@example.org")
    page = world.client.get("/schema", headers=browser(secret)).text
    assert f'<meta name="csrf-token" content="{token_for_session(secret)}">' in page
    assert 'name="csrf-token"' not in world.client.get("/schema").text


def fake_upload_scope(app: Litestar, secret: str, token: str | None) -> dict[str, Any]:
    [handler] = [h for r in app.routes if isinstance(r, HTTPRoute)
                 and r.path == "/api/v1/assessments/{assessment_id:uuid}/evidence"
                 for h in r.route_handlers if "POST" in h.http_methods]
    headers = [(b"content-type", b"multipart/form-data; boundary=x"), (b"cookie", f"{SESSION_COOKIE}={secret}".encode()),
               (b"origin", PUBLIC_URL.encode()), (b"host", b"127.0.0.1:8000")]
    if token:
        headers.append((b"x-csrf-token", token.encode()))
    return {"type": "http", "method": "POST", "scheme": "http", "path": "/api/v1/assessments/x/evidence",
            "headers": headers, "route_handler": handler, "query_string": b"", "state": {}}


@pytest.mark.parametrize("with_token", [True, False], ids=["with token", "without"])
def test_the_check_never_reads_an_upload(world: World, with_token: bool):
    """Evidence streams from the request to the store: the check decides on headers alone."""
    app = world.client.app
    secret = "pa_" + "s" * 43
    scope = fake_upload_scope(app, secret, token_for_session(secret) if with_token else None)
    reached: list[bool] = []

    async def receive():
        raise AssertionError("the CSRF check read the request body")

    async def handler(scope, receive, send) -> None:
        reached.append(True)

    async def check() -> None:
        await csrf_middleware(PUBLIC_URL)(handler)(scope, receive, None)

    if with_token:
        world.run(check)
        assert reached == [True]
    else:
        with pytest.raises(Forbidden):
            world.run(check)
        assert reached == []


def test_an_urlencoded_form_may_carry_the_token_in_a_field():
    """For the coming HTML forms: the token in a ``csrf_token`` field, and the handler still reads the form."""
    tokens.configure("test-secret-key-" + "x" * 32)

    @post("/form", status_code=200)
    async def form_handler(request: Request) -> dict[str, str]:
        return dict(await request.form())

    app = Litestar([form_handler], middleware=[csrf_middleware(PUBLIC_URL)], plugins=[problem_details_plugin()])
    secret = "pa_" + "f" * 43
    with TestClient(app) as client:
        sent = {"note": "Kia ora", "csrf_token": token_for_session(secret)}
        r = client.post("/form", data=sent, headers=browser(secret))
        assert r.status_code == 200 and r.json() == sent
        problem(client.post("/form", data={"note": "Kia ora"}, headers=browser(secret)), 403, "X-CSRF-Token")
        problem(client.post("/form", data={"note": "Kia ora", "csrf_token": "guess"}, headers=browser(secret)),
                403, "X-CSRF-Token")


def attestation_token(world: World) -> str:
    _, assignment = checked_out(world, "LT-0900", world.provider_a, "Aroha Ngata")
    r = world.partnerships.post(f"/api/v1/assignments/{assignment['id']}/attestation-link")
    assert r.status_code == 201, r.text
    [message] = world.run(lambda: OutboxMessage.select(OutboxMessage.body).run())
    return re.search(r"/attest/([A-Za-z0-9_-]+)", message["body"]).group(1)


def test_the_attestation_form_is_accepted_only_from_its_own_page(world: World):
    token = attestation_token(world)
    confirm = {"holds_device": "yes", "authorised_use_only": "yes"}
    page = world.client.get(f"/attest/{token}")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    for headers in ({"Origin": ELSEWHERE}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}):
        problem(world.client.post(f"/attest/{token}", data=confirm, headers=headers), 403)
    assert "Confirm you hold" in world.client.get(f"/attest/{token}").text  # the link is still unused
    # The page's Referrer-Policy (no-referrer) makes a browser send "Origin: null" with its own form.
    r = world.client.post(f"/attest/{token}", data=confirm, headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 200 and "Thank you" in r.text


# --- item 10: security headers -------------------------------------------------------------------------------


def assert_hardened(r) -> str:
    assert r.headers["x-content-type-options"] == "nosniff", r.request.url
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    return csp


def test_every_response_carries_the_security_headers(world: World):
    for path in ("/", "/schema", "/schema/openapi.json", "/static/web/sign_in.js", "/health/live", "/api/v1/me",
                 "/api/v1/nowhere", "/api/v1/providers"):
        r = world.admin.get(path)
        assert r.status_code < 500, r.text
        csp = assert_hardened(r)
        if r.headers["content-type"].startswith("text/html"):
            assert "default-src 'self'" in csp and "unsafe-inline" not in csp
        else:
            assert "default-src 'none'" in csp
    assert_hardened(world.client.get("/api/v1/me"))  # 401
    assert_hardened(world.admin.delete("/api/v1/me"))  # 405
    assert_hardened(world.admin.post(USERS, content="x", headers={"Content-Type": "text/plain"}))  # 415


@pytest.mark.parametrize("path", ["/", "/schema"])
def test_pages_need_no_inline_script_or_style(world: World, path: str):
    """Their CSP forbids it: every script and style comes from a file this service serves."""
    page = world.client.get(path).text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), page
    assert "<style" not in page and " style=" not in page
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
        assert world.client.get(asset).status_code == 200, asset


# --- item 10: the Secure cookie -----------------------------------------------------------------------------


def set_cookie(client: TestClient) -> str:
    r = client.post("/api/v1/auth/login", json={"email": "admin@example.org", "password": PASSWORD})
    assert r.status_code == 200, r.text
    return r.headers["set-cookie"].lower()


def test_the_session_cookie_is_secure_over_https(world: World, settings):
    assert "secure" not in set_cookie(world.client)  # plain http on a laptop: a Secure cookie would never return
    with TestClient(create_app(settings), base_url="https://audit.example.govt.nz") as https:
        assert "; secure" in set_cookie(https)


def test_the_session_cookie_is_secure_when_configured(world: World, database, tmp_path):
    configured = make_settings(database, tmp_path, PA_SECURE_COOKIES="true")
    with TestClient(create_app(configured)) as client:
        assert "; secure" in set_cookie(client)


def test_a_trusted_proxys_https_makes_the_cookie_secure(served):
    """Through the real server: uvicorn trusts X-Forwarded-Proto from PA_FORWARDED_ALLOW_IPS (127.0.0.1)."""
    base, logins = served
    email, (_, password) = next((e, v) for e, v in logins.items() if v[0] == "admin")
    for proto, secure in (("https", True), ("http", False)):
        r = httpx.post(f"{base}/api/v1/auth/login", json={"email": email, "password": password},
                       headers={"X-Forwarded-Proto": proto}, timeout=10)
        assert r.status_code == 200, r.text
        assert ("; secure" in r.headers["set-cookie"].lower()) is secure, proto


# --- item 11: OPTIONS ---------------------------------------------------------------------------------------


def test_options_answers_on_every_route(world: World):
    for route in world.client.app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), route.path)
        for client in (world.client, world.provider_user):
            r = client.request("OPTIONS", path)
            assert r.status_code == 204, (path, r.status_code, r.text)
            # Litestar 2 lists only some of a path's methods when several handlers share it (litestar#4169,
            # fixed in 3.0); what it lists is right.
            allowed = {m.strip() for m in r.headers["allow"].split(",")}
            assert "OPTIONS" in allowed and allowed <= set(route.methods), path
