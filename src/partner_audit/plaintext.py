"""Which characters text from outside may hold, and the check every input goes through.

A NUL makes PostgreSQL refuse the whole statement (a 500) while SQLite stores it; a vertical tab or an ESC is
invisible on screen and breaks every .xlsx file it is later written to. No person types these, so they are refused
where they arrive, with a 400 naming the field, before anything is looked up or stored:

- ``LINE`` (names, emails, tags, ids, query and path parameters): printable characters only;
- ``LINES`` (notes, comments, descriptions): also tab, newline and carriage return;
- ``ANY`` (passwords): anything that is text; a password is hashed, never stored or shown, and argon2 takes
  every character, NUL included.

Refused everywhere else: C0 controls, DEL, C1 controls (U+0080 to U+009F) and lone surrogates (not text at all:
they cannot be encoded as UTF-8, so no database or file can hold them).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from litestar.connection import ASGIConnection
from litestar.types import ASGIApp, Receive, Scope, Send

from partner_audit.errors import DomainError

Characters = Literal["line", "lines", "any"]
LINE: Characters = "line"
LINES: Characters = "lines"
ANY: Characters = "any"

_REFUSED: dict[Characters, re.Pattern[str]] = {
    LINE: re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]"),
    LINES: re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]"),
    ANY: re.compile(r"[\ud800-\udfff]"),
}


class BadCharacters(DomainError):
    """Text holding a character no person types: refused as malformed, like JSON that does not parse."""

    status_code = 400
    title = "Invalid request"


def problem(value: str, characters: Characters = LINE) -> str | None:
    """What is wrong with ``value`` for text of this kind, or None when nothing is."""
    found = _REFUSED[characters].search(value)
    if found is None:
        return None
    code = ord(found.group())
    what = "half of a UTF-16 surrogate pair" if 0xD800 <= code <= 0xDFFF else "a control character"
    allowed = "printable characters, tabs and new lines" if characters == LINES else "printable characters"
    return f"holds {what} (U+{code:04X}) at position {found.start() + 1}: only {allowed} are allowed"


def problem_in(value: Any, characters: Characters, path: str) -> tuple[str, str] | None:
    """(path, problem) for the first bad string in ``value``, looking inside lists and dicts (whose keys are
    single-line), or None. Structs are not entered: each input struct checks its own fields."""
    if isinstance(value, str):
        said = problem(value, characters)
        return (path, said) if said else None
    if isinstance(value, (list, tuple, set, frozenset)):
        for index, item in enumerate(value):
            if found := problem_in(item, characters, f"{path}[{index}]"):
                return found
    elif isinstance(value, dict):
        for key, item in value.items():
            if found := problem_in(key, LINE, path) or problem_in(item, characters, f"{path}.{key}"):
                return found
    return None


def refused(field: str, said: str) -> BadCharacters:
    return BadCharacters(f"{field}: {said}", errors=[{"field": field, "message": said}])


def check(field: str, value: str, characters: Characters = LINE) -> str:
    """``value``, or BadCharacters naming ``field``: for text that arrives outside a request struct (form fields,
    file names)."""
    said = problem(value, characters)
    if said:
        raise refused(field, said)
    return value


def parameters_middleware(app: ASGIApp) -> ASGIApp:
    """Refuse a query or path parameter holding a control character (``?q=%00``), naming it, before the handler
    runs; parameters are single-line text."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = ASGIConnection(scope).query_params.multi_items()
            for name, value in [*query, *scope.get("path_params", {}).items()]:
                if found := problem_in(name, LINE, "query") or problem_in(value, LINE, name):
                    raise refused(*found)
        await app(scope, receive, send)

    return middleware
