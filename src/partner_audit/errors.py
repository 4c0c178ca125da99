"""The one way errors leave the service: ``application/problem+json`` (RFC 9457).

Services raise the domain errors below (no HTTP in them); ``problem_details_plugin()`` turns those, and every
framework error, into a problem document. Field-level detail goes in ``errors: [{field, message}]``.
"""

from __future__ import annotations

import logging
import re
import traceback
from html import escape
from typing import Any

import msgspec

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsException, ProblemDetailsPlugin
from litestar.serialization import decode_json

from partner_audit import db

log = logging.getLogger(__name__)


class DomainError(Exception):
    status_code = 400
    title = "Bad request"

    def __init__(self, detail: str, *, errors: list[dict[str, str]] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra


class NotFound(DomainError):
    """Also the answer for a record the caller may not see: its existence is not revealed."""

    status_code = 404
    title = "Not found"


class Forbidden(DomainError):
    status_code = 403
    title = "Forbidden"


class NotAuthenticated(DomainError):
    status_code = 401
    title = "Not signed in"


class Conflict(DomainError):
    status_code = 409
    title = "Conflict"


class Invalid(DomainError):
    """Input that parsed but breaks a rule (a bad NZBN, a duplicate, a missing required answer)."""

    status_code = 422
    title = "Invalid input"

    @classmethod
    def field(cls, field: str, message: str) -> Invalid:
        return cls(f"{field}: {message}", errors=[{"field": field, "message": message}])


class TooLarge(DomainError):
    status_code = 413
    title = "Too large"


class UnsupportedMediaType(DomainError):
    status_code = 415
    title = "Unsupported media type"


class TooManyRequests(DomainError):
    status_code = 429
    title = "Too many attempts"


class Unavailable(DomainError):
    status_code = 503
    title = "Service unavailable"


_TITLES = {error.status_code: error.title for error in (NotFound, Forbidden, NotAuthenticated, Conflict, TooLarge,
                                                      UnsupportedMediaType, TooManyRequests, Unavailable)}


def _from_domain(exc: DomainError) -> ProblemDetailsException:
    extra: dict[str, Any] = dict(exc.extra)
    if exc.errors:
        extra["errors"] = exc.errors
    headers = {"Retry-After": str(extra.pop("retry_after"))} if "retry_after" in extra else None
    return ProblemDetailsException(
        status_code=exc.status_code, title=exc.title, detail=exc.detail, extra=extra or None, headers=headers
    )


# msgspec puts an unknown or a missing field in the message, not in the key, and so does an input struct's own
# check of its fields (api.Input: "field `comment` holds a control character"): name it from there.
_NAMED_FIELD = re.compile(r"(?:unknown field|missing required field|^field) `([^`]+)`")


def _field_name(key: str | None, source: str | None, message: str) -> str:
    """msgspec reports body errors against ``data``; name the field a person actually sent."""
    if key and key != "data":
        field = key.removeprefix("data.")
    else:
        field = "body" if source == "body" or key == "data" else (source or "body")
    named = _NAMED_FIELD.search(message)
    if named:
        field = named.group(1) if field == "body" else f"{field}.{named.group(1)}"
    return field


def _from_http(exc: HTTPException) -> ProblemDetailsException:
    """Framework errors: 400 validation (msgspec names the field), 404 routes, 405, 413 ..."""
    if isinstance(exc, ValidationException):
        errors = []
        for item in exc.extra if isinstance(exc.extra, list) else []:
            if isinstance(item, dict):
                message = str(item.get("message", "is invalid"))
                errors.append({"field": _field_name(item.get("key"), item.get("source"), message),
                               "message": message})
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or str(exc.detail)
        return ProblemDetailsException(
            status_code=400,
            title="Invalid request",
            detail=detail,
            extra={"errors": errors} if errors else None,
        )
    undecodable = _body_decode_error(exc)
    if undecodable is not None:
        return _malformed_body(undecodable)
    detail = str(exc.detail)
    if isinstance(exc, NotFoundException) and detail == "Not Found":
        # Litestar's words for a path no route answers: say what was not found, and where to look.
        detail = "Nothing answers at this address. The API is under /api/v1; its document is at /schema."
    # One title a status, whoever raised it: a path no route answers is "Not found", as a record is.
    title = _TITLES.get(exc.status_code, detail)
    return ProblemDetailsException(status_code=exc.status_code, title=title, detail=detail, headers=exc.headers)


def _body_decode_error(exc: BaseException) -> msgspec.DecodeError | None:
    """The decoder's own error when a request body did not parse, found by type along the ``raise … from`` chain.

    Litestar wraps it twice (``ClientException`` from ``SerializationException`` from msgspec's error); its message
    text changes between msgspec releases, so nothing here reads the text.
    """
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, msgspec.DecodeError):
            return cause
        cause = cause.__cause__
    return None


def _malformed_body(cause: msgspec.DecodeError) -> ProblemDetailsException:
    message = str(cause)
    return ProblemDetailsException(
        status_code=400, title="Malformed JSON", detail=f"The request body is not valid JSON: {message}",
        extra={"errors": [{"field": "body", "message": message}]},
    )


# How long a client should wait before asking again when the database is away.
OUTAGE_RETRY_SECONDS = 10


def _nested_too_deeply(exc: Exception) -> bool:
    """msgspec raises a bare RecursionError for JSON nested about a thousand levels deep; it is bad input when it
    came out of the request body's decoding (told by where it was raised, not by its message)."""
    return isinstance(exc, RecursionError) and any(
        frame.f_code is decode_json.__code__ for frame, _ in traceback.walk_tb(exc.__traceback__))


def _from_unexpected(exc: Exception) -> ProblemDetailsException:
    if _nested_too_deeply(exc):
        message = "is nested too deeply"
        return ProblemDetailsException(
            status_code=400, title="Malformed JSON", detail=f"The request body is not valid JSON: it {message}",
            extra={"errors": [{"field": "body", "message": message}]},
        )
    if db.is_outage(exc):
        log.warning("database unavailable", exc_info=exc)
        return ProblemDetailsException(
            status_code=503, title="Service unavailable",
            detail="The database cannot be reached just now and nothing was saved. Please try again shortly.",
            headers={"Retry-After": str(OUTAGE_RETRY_SECONDS)},
        )
    log.exception("unhandled error", exc_info=exc)
    return ProblemDetailsException(
        status_code=500,
        title="Internal error",
        detail="Something went wrong on our side and nothing was saved. Please try again; if it persists, "
        "tell the system owner the time it happened.",
    )


def _problem_of(exc: Exception) -> ProblemDetailsException:
    if isinstance(exc, ProblemDetailsException):
        return exc
    if isinstance(exc, DomainError):
        return _from_domain(exc)
    if isinstance(exc, HTTPException):
        return _from_http(exc)
    return _from_unexpected(exc)


def _error_page(request: Request, exc: Exception) -> Response:
    """A page's error, the same problem in words a person reads: a browser (it asks for text/html) gets a page;
    a script gets the problem document the API would give."""
    problem = _problem_of(exc)
    if "text/html" not in request.headers.get("accept", ""):
        return problem.to_response(request)
    title = escape(problem.title or "Error")
    html = (f'<!doctype html>\n<html lang="en-NZ">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title} · partner-audit</title>\n</head>\n<body>\n<h1>{title}</h1>\n"
            f"<p>{escape(problem.detail or '')}</p>\n<p><a href=\"/\">Go to the start page</a></p>\n</body>\n</html>\n")
    return Response(html, status_code=problem.status_code, media_type="text/html", headers=problem.headers)


# The portal router's handlers: every exception a page raises, by the same mapping as the API's problem documents.
PAGE_ERROR_HANDLERS = {ProblemDetailsException: _error_page, DomainError: _error_page, HTTPException: _error_page,
                       Exception: _error_page}


def problem_details_plugin() -> ProblemDetailsPlugin:
    return ProblemDetailsPlugin(
        ProblemDetailsConfig(
            exception_to_problem_detail_map={
                DomainError: _from_domain,
                HTTPException: _from_http,
                Exception: _from_unexpected,
            }
        )
    )
