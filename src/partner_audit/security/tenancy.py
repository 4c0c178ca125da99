"""Tenant scoping, in one place: a provider's people see their own provider's rows and nothing else.

Every query for provider-owned data goes through ``scoped()``. A record outside the caller's provider is
answered exactly like a record that does not exist (404), so its existence is never revealed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from piccolo.columns import Column
from piccolo.query import Count, Select

from partner_audit.api import Paging
from partner_audit.errors import NotFound
from partner_audit.security import access_log
from partner_audit.security.caller import Caller

Q = TypeVar("Q")


def scoped(query: Q, provider_column: Column, caller: Caller) -> Q:
    """Narrow ``query`` to the caller's provider when the caller has a provider role."""
    if caller.is_provider_role:
        return query.where(provider_column == caller.provider_id)  # type: ignore[attr-defined]
    return query


def can_see_provider(caller: Caller, provider_id: UUID | str | None) -> bool:
    if not caller.is_provider_role:
        return True
    return provider_id is not None and str(provider_id) == str(caller.provider_id)


def require_row(row: Any, what: str, ident: Any) -> Any:
    """The single wording for "absent or not yours"."""
    if row is None:
        raise NotFound(f"No {what} with id {ident}.")
    return row


Scope = Column | Callable[[Any, Caller], Any]
Order = Column | tuple[Column, bool]


async def page_of(
    caller: Caller, paging: Paging, rows: Select, count: Count, *, action: str, record_type: str,
    scope: Scope | None = None, where: Sequence[Any] = (), order_by: Sequence[Order] = (),
    provider_id: Any = None, details: Sequence[str] = (), present: Callable[[list[dict[str, Any]]], Any] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of a list and the count of all of it, the way every list is read: both queries narrowed to the
    caller's provider (``scope``: the provider column, or a function narrowing a query for the caller) and by
    ``where``, ordered (a column, or ``(column, ascending)``), one page taken, ``present`` applied to the rows,
    all in one read, and then the listing logged with whatever ``present`` logged."""
    if scope is not None:
        narrow = scope if callable(scope) and not isinstance(scope, Column) else (
            lambda query, who: scoped(query, scope, who))
        rows, count = narrow(rows, caller), narrow(count, caller)
    if where:
        rows, count = rows.where(*where), count.where(*where)
    for order in order_by:
        column, ascending = order if isinstance(order, tuple) else (order, True)
        rows = rows.order_by(column, ascending=ascending)
    async with access_log.audited(caller, action, record_type, provider_id=provider_id, writes=False) as audit:
        audit.details.extend(details)
        found = await rows.offset(paging.offset).limit(paging.limit).run()
        if present is not None:
            found = present(found)
            if inspect.isawaitable(found):
                found = await found
        return found, await count.run()
