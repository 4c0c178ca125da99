"""Tenant scoping, in one place: a provider's people see their own provider's rows and nothing else.

Every query for provider-owned data goes through ``scoped()``. A record outside the caller's provider is
answered exactly like a record that does not exist (404), so its existence is never revealed.
"""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from piccolo.columns import Column

from partner_audit.errors import NotFound
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
