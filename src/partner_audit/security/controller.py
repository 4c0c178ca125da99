"""HTTP for signing in and out, the caller's own account and tokens, users, and the access log."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody

from partner_audit.api import Page, Paging, query_text
from partner_audit.openapi import never
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

    @post("/login", opt={**PUBLIC, **never(404, 409, 422)}, status_code=200, summary="Sign in",
          responses={401: ResponseSpec(None, description="The email and password do not match an active account "
                                       "(which of them is not said)."),
                     429: ResponseSpec(None, description="Too many failed sign-ins for this account or from this "
                                       "address within the window (`PA_LOGIN_MAX_FAILURES`, "
                                       "`PA_LOGIN_WINDOW_MINUTES`), or too many being checked at once; "
                                       "`Retry-After` says for how long.")})
    async def login(self, request: Request, data: JSONBody[LoginRequest], settings: NamedDependency[Settings]) -> Response[SessionOut]:
        """Sign in with email and password; sets an HTTP-only session cookie (`pa_session`) that the browser
        sends from then on. A wrong email or password is a 401 that does not say which."""
        session = await sessions.login(settings, anonymous_caller(request), data.email, data.password)
        body = SessionOut(user=UserOut.from_row(session.user), expires_at=session.expires_at)
        return Response(body, cookies=[sessions.session_cookie(settings, session, request.url.scheme)])

    @post("/logout", status_code=204, guards=[policies.USE_OWN_ACCOUNT.guard], summary="Sign out")
    async def logout(self, caller: NamedDependency[Caller]) -> Response[None]:
        """End the credential this request came with: the session (its cookie is emptied), or, sent with
        `Authorization: Bearer`, that API token, which stops working at once."""
        await sessions.logout(caller)
        return Response(None, status_code=204, cookies=[sessions.ended_session_cookie()])


class MeController(Controller):
    path = "/me"
    tags = ["My account"]
    guards = [policies.USE_OWN_ACCOUNT.guard]

    @get("/", summary="My account")
    async def me(self, caller: NamedDependency[Caller]) -> UserOut:
        """The signed-in person: name, email, role and provider."""
        return UserOut.from_row(await service.me(caller))

    @post("/password", status_code=204, summary="Change my password", opt=never(404, 409),
          responses={429: ResponseSpec(None, description="Too many wrong current passwords for this account "
                                       "within the window, as for signing in; `Retry-After` says for how long.")})
    async def change_password(self, caller: NamedDependency[Caller], data: JSONBody[PasswordChange],
                              settings: NamedDependency[Settings]) -> None:
        """Change your own password. Every other session and API token of yours ends; this one stays signed in."""
        await service.change_own_password(settings, caller, data.current_password, data.new_password)

    @get("/tokens", summary="My API tokens")
    async def list_tokens(self, caller: NamedDependency[Caller]) -> list[TokenOut]:
        """Your API tokens (never their secrets), with when each was last used and when it expires."""
        return [msgspec.convert(r, TokenOut) for r in await service.list_api_tokens(caller)]

    @post("/tokens", status_code=201, summary="Make an API token", opt=never(404, 409, 422))
    async def create_token(self, caller: NamedDependency[Caller], settings: NamedDependency[Settings],
                           data: JSONBody[TokenCreate]) -> TokenCreated:
        """Make an API token for scripts. The token is in this response only; only its hash is kept. It expires
        after `expires_in_days`, or the service's default (`PA_API_TOKEN_DAYS`, 90 days unless set)."""
        secret, row = await service.create_api_token(caller, data.name,
                                                     data.expires_in_days or settings.api_token_days)
        return TokenCreated(token=secret, details=msgspec.convert(row, TokenOut))

    @delete("/tokens/{token_id:uuid}", status_code=204, summary="Revoke an API token", opt=never(409, 422))
    async def revoke_token(self, caller: NamedDependency[Caller], token_id: FromPath[UUID]) -> None:
        """One of your own API tokens stops working at once."""
        await service.revoke_api_token(caller, token_id)


class UserController(Controller):
    path = "/users"
    tags = ["Users"]
    guards = [policies.MANAGE_USERS.guard]

    @get("/", summary="List accounts")
    async def list_users(
        self,
        caller: NamedDependency[Caller],
        paging: NamedDependency[Paging],
        provider_id: FromQuery[UUID | None] = None,
        role: FromQuery[Role | None] = None,
        active: FromQuery[bool | None] = None,
        q: query_text(100, "Text in the email or name") = None,
    ) -> Page[UserOut]:
        """The accounts the caller manages: everyone for an admin, providers' people for partnerships, their own
        provider's people for a provider's admin."""
        rows, total = await service.list_users(
            caller, provider_id=provider_id, role=role, active=active, q=q, paging=paging
        )
        return Page.of(rows, total, paging, UserOut.from_row)

    @post("/", status_code=201, summary="Make an account")
    async def create_user(self, caller: NamedDependency[Caller], data: JSONBody[UserCreate]) -> UserOut:
        """Only an admin grants an agency role; a provider's people belong to a provider (`provider_id`), and a
        provider's admin makes accounts at their own provider only."""
        row = await service.create_user(
            caller, email=data.email, full_name=data.full_name, role=data.role, password=data.password,
            provider_id=data.provider_id,
        )
        return UserOut.from_row(row)

    @get("/{user_id:uuid}", summary="Get an account")
    async def get_user(self, caller: NamedDependency[Caller], user_id: FromPath[UUID]) -> UserOut:
        """One account the caller manages; any other is a 404."""
        return UserOut.from_row(await service.get_user(caller, user_id))

    @patch("/{user_id:uuid}", summary="Change an account")
    async def update_user(self, caller: NamedDependency[Caller], user_id: FromPath[UUID], data: JSONBody[UserUpdate]) -> UserOut:
        """Rename, change role, deactivate or reset a password. Takes effect on the person's next request."""
        return UserOut.from_row(await service.update_user(caller, user_id, data.changes()))


class AccessLogController(Controller):
    path = "/access-log"
    tags = ["Access log"]
    guards = [policies.READ_ACCESS_LOG.guard]

    @get("/", summary="Search the access log")
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

    @get("/verify", summary="Verify the access log")
    async def verify(self, caller: NamedDependency[Caller]) -> VerificationOut:
        """Check every sealed entry in order against its seal, the chain and the signed checkpoint kept outside the
        database; names the first that was removed, reordered or rewritten, and counts entries not yet sealed."""
        return VerificationOut.of(await service.check_access_log(caller))


ROUTERS = [AuthController, MeController, UserController, AccessLogController]
