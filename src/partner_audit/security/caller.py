"""Who is asking: the signed-in person behind a request, as the services see them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from uuid import UUID


class Role(str, Enum):
    provider_user = "provider_user"
    provider_admin = "provider_admin"
    auditor = "auditor"
    partnerships = "partnerships"
    governance = "governance"
    admin = "admin"

    @property
    def is_provider_role(self) -> bool:
        return self in PROVIDER_ROLES


PROVIDER_ROLES = frozenset({Role.provider_user, Role.provider_admin})


@dataclass(frozen=True)
class Caller:
    user_id: UUID | None
    email: str | None
    role: Role | None
    provider_id: UUID | None
    token_id: UUID | None = None
    request_id: str | None = None
    client_ip: str | None = None

    @property
    def is_provider_role(self) -> bool:
        return self.role is not None and self.role.is_provider_role

    @classmethod
    def system(cls, what: str = "cli") -> Caller:
        """The command line and scheduled jobs act as the system, and are logged as such."""
        return cls(user_id=None, email=f"system:{what}", role=Role.admin, provider_id=None)

    @classmethod
    def anonymous(cls, request_id: str | None = None, client_ip: str | None = None) -> Caller:
        return cls(user_id=None, email=None, role=None, provider_id=None, request_id=request_id, client_ip=client_ip)
