"""/schema/openapi.json describes the API truthfully.

Schemathesis 4, from Python, generates requests from the document, and they are sent through the test client to
the ASGI app as every role and as no one; every answer must have a documented status code and media type, match
its documented schema, carry no body where none is documented, and not be a server error.

The data is real: provider A's assessment with evidence, a device out with a holder, an incident and its breach
assessment, so the GET routes that name a record are asked with real ids as well as with generated ones (which
answer 404, and 404 must be documented too). Sized for CI: a few examples an operation, derandomized and never
shrunk, drawn once per worker and sent as each role.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.assessments import assessment_of, launched
from tests.support.devices import checked_out
from tests.support.world import World

ROLES = ["admin", "partnerships", "auditor", "governance", "provider_admin", "provider_user", None]
EXAMPLES = 3
LOGOUT = "POST /api/v1/auth/logout"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
# What ``requests`` takes from schemathesis's serialised case to make the exact bytes and headers of the request.
REQUEST_FIELDS = ("method", "url", "headers", "params", "data", "files", "json", "cookies")


def nothing_where_no_body_is_documented(ctx, response, case) -> None:
    """A response documented without content (every 204, a redirect) has no body: a client reads none."""
    documented = case.operation.definition.raw.get("responses", {}).get(str(response.status_code))
    if documented is not None and "content" not in documented:  # an undocumented status: status_code_conformance
        assert not response.content, f"{response.status_code} is documented without a body but sent {response.content[:200]!r}"


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          nothing_where_no_body_is_documented]


@functools.cache
def loaded(document: str) -> Any:
    """The document as schemathesis reads it (its default configuration, whatever files are around)."""
    return schemathesis.openapi.from_dict(json.loads(document), config=schemathesis.Config())


@functools.cache
def drawn(document: str) -> list[tuple[Any, list[Any]]]:
    """For each operation (signing out last: it ends the credential it is sent with), its generated cases:
    drawn once a worker, whichever database and role asks first, and sent as each."""
    schema = loaded(document)
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=lambda op: op.label == LOGOUT)
    cases: list[tuple[Any, list[Any]]] = []
    for operation in operations:
        found: list[Any] = []

        @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def collect(case) -> None:
            found.append(case)

        collect()
        cases.append((operation, found))
    return cases


@dataclass
class Seeded:
    """Real ids of provider A's records, by path parameter name (a breach assessment's apart)."""

    ids: dict[str, str]
    breach_id: str

    def for_path(self, path: str, names: list[str]) -> dict[str, str]:
        found = {n: self.ids[n] for n in names if n in self.ids}
        if path.startswith("/api/v1/breach-assessments/"):
            found["assessment_id"] = self.breach_id
        return found


def seed(world: World, template_id: str) -> Seeded:
    rollout = launched(world, template_id)
    assessment = assessment_of(world.provider_admin, world.provider_a["id"])
    r = world.provider_user.post(f"/api/v1/assessments/{assessment['id']}/evidence", data={"question_id": "has-lead"},
                                 files={"file": ("policy.pdf", PDF, "application/pdf")})
    assert r.status_code == 201, r.text
    evidence = r.json()
    device, assignment = checked_out(world, "LT-0001", world.provider_a)
    r = world.partnerships.post("/api/v1/incidents", json={
        "device_id": device["id"], "kind": "near_miss", "occurred_at": "2025-01-06T09:00:00+13:00",
        "reported_by": "Hine Walker", "information_at_risk": "Nothing: the bag was handed in unopened"})
    assert r.status_code == 201, r.text
    incident = r.json()
    return Seeded(
        ids={"assessment_id": assessment["id"], "evidence_id": evidence["id"], "device_id": device["id"],
             "assignment_id": assignment["id"], "incident_id": incident["id"],
             "provider_id": str(world.provider_a["id"]), "rollout_id": rollout["id"],
             "user_id": str(world.provider_user.user["id"]), "version_id": template_id},
        breach_id=incident["assessment"]["id"],
    )


def send(world: World, case, token: str | None):
    """The case through the app's test client: ``requests`` makes the exact bytes and headers schemathesis
    serialised (a multipart body and its boundary too), sent as they are, with the person's token if any."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    prepared = requests.Request(**{k: v for k, v in kwargs.items() if k in REQUEST_FIELDS}).prepare()
    headers = {k: v for k, v in prepared.headers.items() if k.lower() != "authorization"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    return world.client.request(prepared.method, prepared.url, headers=headers, content=body)


def with_real_ids(operation, cases: list[Any], seeded: Seeded) -> Iterator[Any]:
    """Each case as generated and, for a GET naming records, the same case naming provider A's real ones."""
    yield from cases
    names = [p.name for p in operation.path_parameters]
    if names and operation.method.upper() == "GET":
        for case in cases:
            real = case.derive()
            real.path_parameters = {**case.path_parameters, **seeded.for_path(operation.path, names)}
            yield real


@dataclass
class Found:
    failures: dict[tuple[str, int], str] = field(default_factory=dict)
    statuses: dict[str, set[int]] = field(default_factory=dict)

    def report(self) -> str:
        return "\n\n".join(f"{label} answered {status}: {message}" for (label, status), message in
                           sorted(self.failures.items()))


@pytest.mark.parametrize("who", [r or "nobody" for r in ROLES])
def test_every_answer_is_documented(world: World, template_id: str, who: str):
    seeded = seed(world, template_id)
    token = None if who == "nobody" else world.people[who].token
    operations = drawn(world.client.get("/schema/openapi.json").text)
    found = Found()
    for operation, cases in operations:
        for case in with_real_ids(operation, cases, seeded):
            response = send(world, case, token)
            found.statuses.setdefault(operation.label, set()).add(response.status_code)
            try:
                case.validate_response(response, checks=CHECKS)
            except (FailureGroup, AssertionError) as exc:
                found.failures.setdefault((operation.label, response.status_code), str(exc)[:2000])
    assert not found.failures, found.report()
    # Not every answer an error: the seeded records are reached (and the real ids are the caller's to see).
    ok = {label for label, statuses in found.statuses.items() if any(s < 300 for s in statuses)}
    if who == "nobody":
        assert ok == {"GET /health/live", "GET /health/ready"}, ok
    else:
        assert {"GET /api/v1/me", "GET /api/v1/templates/{version_id}"} <= ok, ok
        if who in ("admin", "partnerships", "auditor", "provider_admin", "provider_user"):
            assert {"GET /api/v1/assessments/{assessment_id}", "GET /api/v1/evidence/{evidence_id}/download",
                    "GET /api/v1/devices/{device_id}", "GET /api/v1/providers/{provider_id}"} <= ok, ok


def test_every_operation_says_what_it_does(client):
    """A summary and a description on every route in the document, set on the route itself (Litestar's own
    summary is the function's name run together, "ListTemplates")."""
    document = client.get("/schema/openapi.json").json()
    missing = []
    for route in client.app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            assert isinstance(handler, HTTPRouteHandler)
            if not handler.summary or not operation.get("description"):
                missing.append(f"{method} {route.path_format}")
    assert not missing, f"no summary= or no description (docstring): {missing}"


def test_an_error_is_documented_as_the_problem_it_is(client):
    document = client.get("/schema/openapi.json").json()
    problem = document["components"]["schemas"]["Problem"]
    assert problem["required"] == ["status", "title", "detail"] and problem["additionalProperties"] is True
    users = document["paths"]["/api/v1/users/{user_id}"]["get"]["responses"]
    assert set(users) == {"200", "400", "401", "403", "404", "503"}, set(users)
    assert set(users["404"]["content"]) == {"application/problem+json"}
    # Signing in is public: refused credentials and throttling, no 401 for want of a session, no security.
    login = document["paths"]["/api/v1/auth/login"]["post"]
    assert {"401", "429"} <= set(login["responses"]) and login["security"] == []
    assert "404" not in login["responses"]  # the route says it never is (opt=never)
    assert "Retry-After" in login["responses"]["429"]["headers"]
    assert "content" not in document["paths"]["/api/v1/auth/logout"]["post"]["responses"]["204"]


def test_files_are_documented_as_files(client):
    paths = client.get("/schema/openapi.json").json()["paths"]
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    binary = {"type": "string", "format": "binary"}
    for path, method, types in [
        ("/api/v1/assessments/{assessment_id}/workbook", "get", {xlsx}),
        ("/api/v1/devices/export", "get", {xlsx, "text/csv"}),
        ("/api/v1/devices/export/history", "get", {xlsx, "text/csv"}),
        ("/api/v1/privacy-requests", "post", {xlsx}),
    ]:
        content = paths[path][method]["responses"]["200"]["content"]
        assert set(content) == types and all(c["schema"] == binary for c in content.values()), path
    evidence = paths["/api/v1/evidence/{evidence_id}/download"]["get"]["responses"]
    assert {"application/pdf", "image/png", "text/csv"} <= set(evidence["200"]["content"])
    assert "Location" in evidence["307"]["headers"]


def test_evidence_can_be_uploaded_as_the_document_describes(world: World, template_id: str):
    """Swagger UI builds the form from the document: the upload's body is a form with the question first and a
    binary file field (a file picker), and sent that way it attaches the evidence."""
    launched(world, template_id)
    aid = assessment_of(world.provider_user, world.provider_a["id"])["id"]
    schema = loaded(world.client.get("/schema/openapi.json").text)
    operation = schema["/api/v1/assessments/{assessment_id}/evidence"]["POST"]
    body = operation.definition.raw["requestBody"]["content"]["multipart/form-data"]["schema"]
    form = schema.raw_schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert list(form["properties"]) == ["question_id", "expires_on", "file"] and form["properties"]["file"]["format"] == "binary"
    case = operation.Case(path_parameters={"assessment_id": aid}, media_type="multipart/form-data",
                          body={"question_id": "has-lead", "file": PDF})
    r = send(world, case, world.provider_user.token)
    assert r.status_code == 201, r.text
    case.validate_response(r, checks=CHECKS)
    assert world.provider_user.get(f"/api/v1/assessments/{aid}").json()["evidence"][0]["filename"]


def test_refused_and_throttled_sign_ins_are_as_documented(world: World):
    """Throttling is documented, not avoided: wrong passwords are 401s, then the account is refused for a while
    (429, with Retry-After), each answer as the document says."""
    schema = loaded(world.client.get("/schema/openapi.json").text)
    operation = schema["/api/v1/auth/login"]["POST"]
    statuses = []
    for _ in range(7):
        case = operation.Case(media_type="application/json",
                              body={"email": world.admin.user["email"], "password": "not the password"})
        r = send(world, case, None)
        case.validate_response(r, checks=CHECKS)
        statuses.append(r.status_code)
    assert statuses[0] == 401 and statuses[-1] == 429, statuses
    assert int(r.headers["Retry-After"]) > 0
