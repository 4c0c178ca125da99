"""HTTP for signing in and out, the caller's own account and tokens, users, and the access log."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from partner_audit.api import Page, Paging, query_text
from partner_audit.security import policies, service, sessions
from partner_audit.security.caller import Caller, Role
from partner_audit.security.middleware import PUBLIC, anonymous_caller
from partner_audit.security.schemas import (
    AccessLogEntryOut,
    LogFilter,
    LoginRequest,
    PasswordChange,
    SessionOut,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserOut,
    UserUpdate,
    VerificationOut,
)
from partner_audit.settings import Settings


class AuthController(Controller):
    path = "/auth"
    tags = ["Signing in"]

    @post("/login", opt=PUBLIC, status_code=200)
    async def login(self, request: Request, data: JSONBody[LoginRequest], settings: NamedDependency[Settings]) -> Response[SessionOut]:
        """Sign in with email and password; sets an HTTP-only session cookie."""
        session = await sessions.login(settings, anonymous_caller(request), data.email, data.password)
        body = SessionOut(user=UserOut.from_row(session.user), expires_at=session.expires_at)
        return Response(body, cookies=[sessions.session_cookie(settings, session, request.url.scheme)])

    @post("/logout", status_code=204, guards=[policies.USE_OWN_ACCOUNT.guard])
    async def logout(self, caller: NamedDependency[Caller]) -> Response[None]:
        """End this session (or, with a bearer token, nothing but the log entry: revoke tokens at /me/tokens)."""
        await sessions.logout(caller)
        return Response(None, status_code=204, cookies=[sessions.ended_session_cookie()])


class MeController(Controller):
    path = "/me"
    tags = ["My account"]
    guards = [policies.USE_OWN_ACCOUNT.guard]

    @get("/")
    async def me(self, caller: NamedDependency[Caller]) -> UserOut:
        return UserOut.from_row(await service.me(caller))

    @post("/password", status_code=204)
    async def change_password(self, caller: NamedDependency[Caller], data: JSONBody[PasswordChange],
                              settings: NamedDependency[Settings]) -> None:
        """Change your own password. Every other session and API token of yours ends; this one stays signed in."""
        await service.change_own_password(settings, caller, data.current_password, data.new_password)

    @get("/tokens")
    async def list_tokens(self, caller: NamedDependency[Caller]) -> list[TokenOut]:
        return [msgspec.convert(r, TokenOut) for r in await service.list_api_tokens(caller)]

    @post("/tokens", status_code=201)
    async def create_token(self, caller: NamedDependency[Caller], settings: NamedDependency[Settings],
                           data: JSONBody[TokenCreate]) -> TokenCreated:
        """Make an API token for scripts. The token is in this response only; only its hash is kept. It expires
        after ``expires_in_days``, or the service's default (PA_API_TOKEN_DAYS, 90 days unless set)."""
        secret, row = await service.create_api_token(caller, data.name,
                                                     data.expires_in_days or settings.api_token_days)
        return TokenCreated(token=secret, details=msgspec.convert(row, TokenOut))

    @delete("/tokens/{token_id:uuid}", status_code=204)
    async def revoke_token(self, caller: NamedDependency[Caller], token_id: FromPath[UUID]) -> None:
        await service.revoke_api_token(caller, token_id)


class UserController(Controller):
    path = "/users"
    tags = ["Users"]
    guards = [policies.MANAGE_USERS.guard]

    @get("/")
    async def list_users(
        self,
        caller: NamedDependency[Caller],
        paging: NamedDependency[Paging],
        provider_id: FromQuery[UUID | None] = None,
        role: FromQuery[Role | None] = None,
        active: FromQuery[bool | None] = None,
        q: query_text(100, "Text in the email or name") = None,
    ) -> Page[UserOut]:
        rows, total = await service.list_users(
            caller, provider_id=provider_id, role=role, active=active, q=q, paging=paging
        )
        return Page.of(rows, total, paging, UserOut.from_row)

    @post("/", status_code=201)
    async def create_user(self, caller: NamedDependency[Caller], data: JSONBody[UserCreate]) -> UserOut:
        row = await service.create_user(
            caller, email=data.email, full_name=data.full_name, role=data.role, password=data.password,
            provider_id=data.provider_id,
        )
        return UserOut.from_row(row)

    @get("/{user_id:uuid}")
    async def get_user(self, caller: NamedDependency[Caller], user_id: FromPath[UUID]) -> UserOut:
        return UserOut.from_row(await service.get_user(caller, user_id))

    @patch("/{user_id:uuid}")
    async def update_user(self, caller: NamedDependency[Caller], user_id: FromPath[UUID], data: JSONBody[UserUpdate]) -> UserOut:
        """Rename, change role, deactivate or reset a password. Takes effect on the person's next request."""
        return UserOut.from_row(await service.update_user(caller, user_id, data.changes()))


class AccessLogController(Controller):
    path = "/access-log"
    tags = ["Access log"]
    guards = [policies.READ_ACCESS_LOG.guard]

    @get("/")
    async def search(
        self,
        caller: NamedDependency[Caller],
        paging: NamedDependency[Paging],
        user_id: FromQuery[UUID | None] = None,
        email: query_text(254) = None,
        action: query_text(60) = None,
        record_type: query_text(40) = None,
        record_id: query_text(64) = None,
        provider_id: FromQuery[UUID | None] = None,
        outcome: query_text(20) = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
    ) -> Page[AccessLogEntryOut]:
        """Newest first. Reading the log is itself logged."""
        flt = LogFilter(user_id, email, action, record_type, record_id, provider_id, outcome, since, until)
        rows, total = await service.search_access_log(caller, flt, paging)
        return Page.of(rows, total, paging, AccessLogEntryOut)

    @get("/verify")
    async def verify(self, caller: NamedDependency[Caller]) -> VerificationOut:
        """Check every sealed entry in order against its seal, the chain and the signed checkpoint kept outside the
        database; names the first that was removed, reordered or rewritten, and counts entries not yet sealed."""
        return VerificationOut.of(await service.check_access_log(caller))


ROUTERS = [AuthController, MeController, UserController, AccessLogController]
