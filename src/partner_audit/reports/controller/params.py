"""What the scores and report routes ask of their parameters beyond their types: quarters, and each once."""

from __future__ import annotations

from litestar import Request

from partner_audit.errors import DomainError, Invalid
from partner_audit.reports.quarters import Quarter


def quarter_named(text: str | None, field: str = "quarter") -> Quarter | None:
    """A quarter given in the path or the query; a bad one is a 400 naming the parameter, like any other bad
    parameter (the same text is a 422 from the service, where it is input that parsed but breaks a rule)."""
    if text is None:
        return None
    try:
        return Quarter.parse(text, field=field)
    except Invalid as exc:
        raise DomainError(exc.detail, errors=exc.errors) from exc


async def one_of_each(request: Request) -> None:
    """A parameter given twice (``?quarter=2025-Q2&quarter=2025-Q3``) is a 400 naming it: the routes would
    otherwise answer for one of the values, silently, and the caller could not tell which."""
    repeated = sorted({name for name, _ in request.query_params.multi_items()
                       if len(request.query_params.getall(name)) > 1})
    if repeated:
        raise DomainError(f"{', '.join(repeated)}: given more than once; give each parameter once",
                          errors=[{"field": name, "message": "given more than once"} for name in repeated])
