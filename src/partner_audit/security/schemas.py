"""Request and response bodies for signing in, tokens, users and the access log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

from partner_audit.api import Email, Input, Output, Password, text
from partner_audit.security.caller import Role


class LoginRequest(Input):
    email: text(254)
    password: Password


class UserOut(Output):
    id: UUID
    email: str
    full_name: str
    role: Role
    provider_id: UUID | None
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> UserOut:
        return cls(
            id=row["id"], email=row["email"], full_name=row["full_name"], role=Role(row["role"]),
            provider_id=row["provider"], active=row["active"], created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


class SessionOut(Output):
    user: UserOut
    expires_at: datetime


class UserCreate(Input):
    email: Email
    full_name: text(120)
    role: Role
    password: Password
    provider_id: UUID | None = None


class UserUpdate(Input):
    full_name: text(120) | msgspec.UnsetType = msgspec.UNSET
    role: Role | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET
    password: Password | msgspec.UnsetType = msgspec.UNSET


class PasswordChange(Input):
    current_password: text(1024)
    new_password: text(1024)


class TokenCreate(Input):
    name: text(100)
    expires_in_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | None = None


class TokenOut(Output):
    id: UUID
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(Output):
    token: str
    details: TokenOut
    note: str = "Store this token now: it is shown only once."


class AccessLogEntryOut(Output):
    seq: int
    at: datetime
    user_id: str | None
    email: str | None
    role: str | None
    action: str
    record_type: str
    record_id: str | None
    provider_id: str | None
    outcome: str
    request_id: str | None
    detail: str
    mac: str


class VerificationOut(Output):
    """``ok`` unless something was removed, reordered or rewritten (``reason`` says what, ``broken_position`` and
    ``broken_seq`` where). Entries not yet sealed are not a fault: they are counted apart."""

    ok: bool
    sealed: int
    unsealed: int
    oldest_unsealed_at: datetime | None
    checkpoint_position: int | None
    checkpoint_at: str | None
    broken_position: int | None
    broken_seq: int | None
    reason: str | None

    @classmethod
    def of(cls, result: Any) -> VerificationOut:
        return cls(ok=result.ok, **{name: getattr(result, name) for name in cls.__struct_fields__ if name != "ok"})


@dataclass(frozen=True)
class LogFilter:
    """What a search of the access log may be narrowed to."""

    user_id: UUID | None = None
    email: str | None = None
    action: str | None = None
    record_type: str | None = None
    record_id: str | None = None
    provider_id: UUID | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
