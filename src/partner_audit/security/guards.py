"""Role guards for routes: ``guards=[allow(Role.admin, Role.partnerships)]``."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from partner_audit.errors import Forbidden, NotAuthenticated
from partner_audit.security.caller import Caller, Role


def allow(*roles: Role):
    allowed = frozenset(roles)

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        # Litestar answers OPTIONS itself (the route's Allow header, as public as /schema) without authenticating
        # it, yet runs its controller's guards: there is no caller to check, and nothing to protect.
        if connection.scope["method"] == "OPTIONS":
            return
        caller = connection.user
        if not isinstance(caller, Caller) or caller.role is None:
            raise NotAuthenticated("Sign in first.")
        if caller.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"This needs one of these roles: {names}. You are signed in as {caller.role.value}.")

    return guard


EVERYONE = tuple(Role)
