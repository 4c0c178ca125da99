"""What the scores and report routes ask of their query strings beyond their parameters' types."""

from __future__ import annotations

from litestar import Request

from partner_audit.errors import DomainError


async def one_of_each(request: Request) -> None:
    """A parameter given twice (``?quarter=2025-Q2&quarter=2025-Q3``) is a 400 naming it: the routes would
    otherwise answer for one of the values, silently, and the caller could not tell which."""
    repeated = sorted({name for name, _ in request.query_params.multi_items()
                       if len(request.query_params.getall(name)) > 1})
    if repeated:
        raise DomainError(f"{', '.join(repeated)}: given more than once; give each parameter once",
                          errors=[{"field": name, "message": "given more than once"} for name in repeated])
