"""The API document at /schema/openapi.json: Litestar's, completed so that it says what the service really does.

Litestar documents each route's success response from its signature. ``complete`` adds, once, for every route
(those added later too, without their doing anything):

- the errors it can answer, by rule from what the route is: 400 everywhere (a control character in any query
  parameter), 401 and 403 unless it is public, 403 on every change (the cross-site checks), 404 where the path
  names a record or a change's body may, 409 on a change to a named record or with a body, 413 and 415 where there is a body, 422 on a
  change or where there are query parameters, 503 wherever the database is needed; each as
  ``application/problem+json`` with the problem document the service sends (``Problem``), not Litestar's
  ``{status_code, detail, extra}``. A route adds a code the rules cannot know (429 on signing in) with
  ``responses={429: ResponseSpec(None, description=...)}``, and takes away one they wrongly infer with
  ``opt=never(404)``; its own description of a code wins;
- files a route hands out (``api.download``) with their real media types, as binary;
- bodies a route reads itself from the raw request (``api.reads``), so /schema offers the form, file picker and all;
- no body on a 204, a ``Location`` on a redirect, ``security: []`` on public routes.
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.routes import HTTPRoute

from partner_audit.api import READS, Download, Reads
from partner_audit.security.csrf import SAFE_METHODS
from partner_audit.security.middleware import is_public
from partner_audit.security.policies import EVERYONE, policy_of

PROBLEM_JSON = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# Routes that answer without the database (``opt=NO_DATABASE``): they cannot be unavailable for it.
NO_DATABASE = {"database": False}
_NEVER = "never"


def never(*statuses: int) -> dict[str, frozenset[int]]:
    """``opt=never(404, 409)``: statuses the rules would list for a route that it cannot answer (signing in names
    no record), so the document does not promise them."""
    return {_NEVER: frozenset(statuses)}

_FIELD_ERROR = {
    "type": "object",
    "description": "One thing wrong with the request, and where.",
    "required": ["field", "message"],
    "properties": {
        "field": {"type": "string", "description": "The field, parameter, header, row or cell, e.g. `nzbn`, "
                                                   "`answers[0].value`, `Content-Type`, `Questions!D14`"},
        "message": {"type": "string", "description": "What is wrong with it"},
    },
}

_PROBLEM = {
    "type": "object",
    "title": "Problem",
    "description": "An error, as RFC 9457 problem details. Some problems carry more members (a conflict's "
                   "current values, an import's rows): read `detail` first.",
    "required": ["status", "title", "detail"],
    "properties": {
        "type": {"type": "string", "default": "about:blank",
                 "description": "Absent: `about:blank`, the status code says it all"},
        "title": {"type": "string", "description": "The kind of problem, the same for every problem of a status"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599, "description": "The HTTP status code again"},
        "detail": {"type": "string", "description": "What went wrong, in words a person can act on"},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"},
                   "description": "Each field that was wrong"},
    },
    "additionalProperties": True,
}

_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again",
                                "schema": {"type": "integer", "minimum": 0}}}

ERRORS: dict[int, str] = {
    400: "Invalid request: a parameter or the body does not parse, has the wrong type, is out of range, is not "
         "allowed, or holds a control character. `errors` names each field.",
    401: "Not signed in: no session cookie or bearer token, or it has ended or been revoked, or the account is "
         "deactivated or its provider suspended.",
    403: "Forbidden: the caller's role may not do this, or a browser's request failed the cross-site checks.",
    404: "Not found: no such record, or one the caller may not see (which is not revealed).",
    409: "Conflict: the record changed meanwhile or is not in a state that allows this; `detail` says which.",
    413: "Too large: the body or the file is over its limit.",
    415: "Unsupported media type: the body is not of a type this route reads (see `Content-Type`), or a file's "
         "contents are not of a type it accepts.",
    422: "Invalid input: it parsed, but breaks a rule (a missing answer, a bad NZBN, a duplicate, a wrong cell). "
         "`errors` names each field, row or cell.",
    429: "Too many attempts: refused for now; `Retry-After` says for how long.",
    503: "Service unavailable: the database or the evidence store cannot be reached just now, and nothing was "
         "saved; `Retry-After` says when to try again.",
}

_METHODS = ("get", "put", "post", "patch", "delete")


class DocumentJson(JsonRenderPlugin):
    """/schema/openapi.json: Litestar's document, completed (``complete``) the first time it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self._completed: dict[str, Any] | None = None

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        # Litestar builds the document once and hands the same dict to every render: complete it once.
        if self._completed is not openapi_schema:
            complete(request.app, openapi_schema)
            self._completed = openapi_schema
        return super().render(request, openapi_schema)


def complete(app: Litestar, document: dict[str, Any]) -> None:
    """Complete Litestar's ``document`` of ``app``'s routes in place (see the module's doc)."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = _PROBLEM
    components["FieldError"] = _FIELD_ERROR
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        item = document.get("paths", {}).get(route.path_format or "/")
        if item is None:
            continue
        for method, (handler, _) in route.route_handler_map.items():
            operation = item.get(method.lower())
            if operation is None or method.lower() not in _METHODS:
                continue
            _complete_operation(operation, handler, method.upper(), components)


def _complete_operation(operation: dict[str, Any], handler: HTTPRouteHandler, method: str,
                        components: dict[str, Any]) -> None:
    reads = handler.opt.get(READS)
    if isinstance(reads, Reads):
        operation["requestBody"] = _request_body(reads, components)
    responses: dict[str, Any] = operation.setdefault("responses", {})
    declared = {str(code): spec for code, spec in (handler.responses or {}).items()}
    for code, spec in declared.items():
        if isinstance(spec, Download):
            responses[code] = _download(spec)
    for code, response in responses.items():
        if code == "204":
            response.pop("content", None)  # nothing follows a 204, whatever the handler's annotation says
        elif code.startswith("3"):
            response.pop("content", None)
            response.setdefault("headers", {})["Location"] = {"description": "Where the file is",
                                                              "schema": {"type": "string", "format": "uri"}}
    for status in _errors_of(operation, handler, method):
        code = str(status)
        description = declared[code].description if code in declared else ERRORS[status]
        responses[code] = {"description": description,
                           "content": {PROBLEM_JSON: {"schema": copy.deepcopy(PROBLEM_REF)}}}
        if status in (429, 503):
            responses[code]["headers"] = copy.deepcopy(_RETRY_AFTER)
    # Any other error a route declared itself is a problem document too.
    for code in declared:
        if int(code) >= 400 and code in responses and "content" not in responses[code]:
            responses[code]["content"] = {PROBLEM_JSON: {"schema": copy.deepcopy(PROBLEM_REF)}}
    operation["responses"] = dict(sorted(responses.items()))
    if is_public(handler):
        operation["security"] = []


def _errors_of(operation: dict[str, Any], handler: HTTPRouteHandler, method: str) -> list[int]:
    """The error statuses a route can answer, by rule (see the module's doc), and any it declares itself."""
    parameters = operation.get("parameters") or []
    in_path = any(p.get("in") == "path" for p in parameters)
    in_query = any(p.get("in") == "query" for p in parameters)
    has_body = "requestBody" in operation
    changes = method not in SAFE_METHODS
    public = is_public(handler)
    guards = [guard for layer in handler.ownership_layers for guard in (layer.guards or [])]
    statuses = {400}
    if not public:
        statuses.add(401)
        if changes or not all(_allows_everyone(guard) for guard in guards):
            statuses.add(403)
    elif changes:
        statuses.add(403)
    if in_path or (changes and has_body):  # a body may name a record too (a device, a provider)
        statuses.add(404)
    if changes and (in_path or has_body):
        statuses |= {409, 422}
    if has_body:
        statuses |= {413, 415}
    if in_query:
        statuses.add(422)
    if handler.opt.get("database", True):
        statuses.add(503)
    statuses -= handler.opt.get(_NEVER, frozenset())
    statuses |= {code for code in (handler.responses or {}) if int(code) >= 400}
    return sorted(statuses)


def _allows_everyone(guard: object) -> bool:
    policy = policy_of(guard)
    return policy is not None and policy.roles >= frozenset(EVERYONE)


def _download(spec: Download) -> dict[str, Any]:
    binary = {"type": "string", "format": "binary"}
    return {
        "description": spec.description,
        "headers": {"Content-Disposition": {"description": "`attachment`, with the file's name",
                                            "schema": {"type": "string"}}},
        "content": {media_type: {"schema": dict(binary)} for media_type in spec.media_types},
    }


def _request_body(reads: Reads, components: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = {}
    for media_type, struct in reads.content.items():
        if struct is None:
            content[media_type] = {"schema": {"type": "string", "format": "binary"}}
            continue
        (schema,), defined = msgspec.json.schema_components([struct], ref_template="#/components/schemas/{name}")
        components.update(defined)
        content[media_type] = {"schema": schema}
    return {"description": reads.description, "required": True, "content": content}
