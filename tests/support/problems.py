"""The one check of an error answer: every error is application/problem+json with its status repeated."""

from __future__ import annotations

from typing import Any

PROBLEM_JSON = "application/problem+json"


def is_problem(r) -> bool:
    return r.headers.get("content-type", "").startswith(PROBLEM_JSON)


def problem(r, status: int, field: str | None = None, *, field_in_detail: bool = False) -> dict[str, Any]:
    """The response is this status as application/problem+json with a title and a detail, its errors naming
    ``field`` when given (and its detail too, with ``field_in_detail``); returns the body."""
    assert r.status_code == status, r.text
    assert is_problem(r), r.headers.get("content-type")
    body = r.json()
    assert body["status"] == status, body
    assert body["title"] and body["detail"], body
    if field is not None:
        assert field in [e["field"] for e in body.get("errors", [])], body
        if field_in_detail:
            assert field in body["detail"], body
    return body
