"""Who is calling (the caller behind a session or token), API tokens, managing the people who may use the service,
and reading the access log. Signing in and out is in ``sessions``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from partner_audit import db
from partner_audit.api import Paging
from partner_audit.errors import Conflict, Forbidden, Invalid, NotAuthenticated, NotFound
from partner_audit.providers.schemas import DISENGAGED_STATUSES
from partner_audit.security import access_log, policies, throttle, tokens
from partner_audit.security.caller import PROVIDER_ROLES, Caller, Role
from partner_audit.security.passwords import MIN_LENGTH, hash_password, verify_password
from partner_audit.security.schemas import LogFilter
from partner_audit.security.tables import AccessLogEntry, AccessToken, User
from partner_audit.security.tenancy import page_of, require_row, scoped
from partner_audit.settings import Settings

SESSION = "session"
API = "api"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TOUCH_EVERY = timedelta(minutes=10)


def _now() -> datetime:
    return datetime.now(UTC)


# --- who is calling ---------------------------------------------------------------------------------


# The caller lookup runs on every request, so it is one indexed query (token_hash is UNIQUE) whose SQL is written
# once here: built by Piccolo's select on each request, walking the foreign keys token -> user -> provider took
# nine tenths of the lookup's time and a fifth of a worker's (bench/RESULTS.md, http_load.py). It is run through
# Piccolo's engine all the same (a pooled connection, the transaction in force, asyncpg's per-connection cache of
# prepared statements), and it still reads everything that can change, so revocation takes effect at once.
_CALLER_SQL = """
SELECT t.id, t.expires_at, t.revoked_at, t.last_used_at,
       u.id AS user_id, u.email, u.role, u.active,
       p.id AS provider_id, p.status AS provider_status
FROM access_token AS t
JOIN app_user AS u ON u.id = t."user"
LEFT JOIN provider AS p ON p.id = u.provider
WHERE t.token_hash = {}
"""


async def caller_for_token(secret: str, *, request_id: str | None, client_ip: str | None) -> Caller:
    """Resolve a session cookie or bearer token, checking everything that can have changed since."""
    t = AccessToken
    rows = await t.raw(_CALLER_SQL, tokens.digest(secret)).run()
    row = rows[0] if rows else None
    now = _now()
    if row is None or row["revoked_at"] is not None:
        raise NotAuthenticated("Your sign-in is not valid or has ended. Sign in again.")
    if row["expires_at"] is not None and row["expires_at"] <= now:
        raise NotAuthenticated("Your sign-in has expired. Sign in again.")
    if not row["active"]:
        raise NotAuthenticated("This account has been deactivated.")
    role = Role(row["role"])
    if role in PROVIDER_ROLES and row["provider_status"] in DISENGAGED_STATUSES:
        raise NotAuthenticated(f"Your organisation's access is {row['provider_status']}.")
    if row["last_used_at"] is None or now - row["last_used_at"] > _TOUCH_EVERY:
        await t.update({t.last_used_at: now}).where(t.id == row["id"]).run()
    return Caller(
        user_id=row["user_id"],
        email=row["email"],
        role=role,
        provider_id=row["provider_id"],
        token_id=row["id"],
        request_id=request_id,
        client_ip=client_ip,
    )


async def caller_is_allowed_in(caller: Caller) -> None:
    if caller.is_provider_role:
        row = await User.select(User.provider.status.as_alias("status")).where(
            User.id == caller.user_id
        ).first().run()
        if row and row["status"] in DISENGAGED_STATUSES:
            raise NotAuthenticated(f"Your organisation's access is {row['status']}.")


# --- API tokens ------------------------------------------------------------------------------------


async def create_api_token(caller: Caller, name: str, expires_in_days: int) -> tuple[str, dict[str, Any]]:
    """Every token expires (``PA_API_TOKEN_DAYS`` when its maker names no lifetime): a token forgotten in a script
    or a leaked file stops working on its own."""
    policies.USE_OWN_ACCOUNT.check(caller)
    secret = tokens.new_secret()
    expires = _now() + timedelta(days=expires_in_days)
    async with access_log.audited(caller, "token.create", "access_token", provider_id=caller.provider_id) as audit:
        token = AccessToken(kind=API, token_hash=tokens.digest(secret), user=caller.user_id, name=name,
                            expires_at=expires)
        await token.save().run()
        audit.record_id = token.id
    return secret, await _token_row(caller, token.id)


_TOKEN_COLUMNS = (AccessToken.id, AccessToken.name, AccessToken.created_at, AccessToken.expires_at,
                  AccessToken.revoked_at, AccessToken.last_used_at)


async def _token_row(caller: Caller, token_id: UUID) -> dict[str, Any] | None:
    return await AccessToken.select(*_TOKEN_COLUMNS).where(
        AccessToken.id == token_id, AccessToken.user == caller.user_id, AccessToken.kind == API
    ).first().run()


async def list_api_tokens(caller: Caller) -> list[dict[str, Any]]:
    policies.USE_OWN_ACCOUNT.check(caller)
    return await AccessToken.select(*_TOKEN_COLUMNS).where(
        AccessToken.user == caller.user_id, AccessToken.kind == API
    ).order_by(AccessToken.created_at).run()


async def revoke_api_token(caller: Caller, token_id: UUID) -> None:
    policies.USE_OWN_ACCOUNT.check(caller)
    async with access_log.audited(caller, "token.revoke", "access_token", token_id, caller.provider_id):
        require_row(await _token_row(caller, token_id), "API token", token_id)
        await AccessToken.update({AccessToken.revoked_at: _now()}).where(
            AccessToken.id == token_id, AccessToken.revoked_at.is_null()
        ).run()


# --- people ----------------------------------------------------------------------------------------

_USER_COLUMNS = (User.id, User.email, User.full_name, User.role, User.provider, User.active, User.created_at,
                 User.updated_at)


def public_user(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("id", "email", "full_name", "role", "provider", "active", "created_at", "updated_at")}


def _check_may_grant(caller: Caller, role: Role, provider_id: UUID | None) -> UUID | None:
    """Which roles a caller may hand out, and to which provider. Returns the provider the user belongs to."""
    if role in PROVIDER_ROLES:
        if caller.is_provider_role:
            if caller.role is not Role.provider_admin:
                raise Forbidden("Only a provider admin manages their organisation's users.")
            if provider_id is not None and provider_id != caller.provider_id:
                raise NotFound(f"No provider with id {provider_id}.")
            return caller.provider_id
        if caller.role not in (Role.admin, Role.partnerships):
            raise Forbidden("Only admins and the partnerships team manage provider users.")
        if provider_id is None:
            raise Invalid.field("provider_id", f"is required for the {role.value} role")
        return provider_id
    if caller.role is not Role.admin:
        raise Forbidden(f"Only an admin can give the {role.value} role.")
    if provider_id is not None:
        raise Invalid.field("provider_id", f"must be empty for the agency role {role.value}")
    return None


def _check_password(password: str, field: str = "password") -> None:
    if len(password) < MIN_LENGTH:
        raise Invalid.field(field, f"must be at least {MIN_LENGTH} characters")


async def _visible_user(caller: Caller, user_id: UUID) -> dict[str, Any]:
    query = User.select(*_USER_COLUMNS).where(User.id == user_id)
    if caller.role is Role.partnerships:
        # The partnerships team looks after provider people, not agency staff accounts.
        query = query.where(User.role.is_in([r.value for r in PROVIDER_ROLES]))
    row = await scoped(query, User.provider, caller).first().run()
    return require_row(row, "user", user_id)


async def _provider_exists(provider_id: UUID) -> None:
    # Reached through the user's foreign key, so the core does not import the providers domain.
    provider = User.provider._foreign_key_meta.resolved_references
    if not await provider.exists().where(provider._meta.primary_key == provider_id).run():
        raise NotFound(f"No provider with id {provider_id}.")


def _email_taken(caller: Caller, email: str) -> Conflict:
    """Agency staff see the whole register, so they are told plainly. A provider admin must not learn that an
    address belongs to another provider (or to agency staff): they get the same words wherever it is held, and
    can see for themselves whether it is one of their own people."""
    if caller.is_provider_role:
        return Conflict("This email address cannot be used for a new account. If you think it should be, "
                        "ask the agency's partnerships team.",
                        errors=[{"field": "email", "message": "cannot be used for a new account"}])
    return Conflict(f"A user with email {email} already exists.",
                    errors=[{"field": "email", "message": "is already in use"}])


async def create_user(caller: Caller, *, email: str, full_name: str, role: Role, password: str,
                      provider_id: UUID | None) -> dict[str, Any]:
    policies.MANAGE_USERS.check(caller)
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise Invalid.field("email", "is not an email address")
    _check_password(password)
    # Hashed before the transaction, so no write lock is held while argon2 runs.
    password_hash = await hash_password(password)
    async with access_log.audited(caller, "user.create", "user") as audit:
        provider = _check_may_grant(caller, role, provider_id)
        if provider is not None:
            await _provider_exists(provider)
        if await User.exists().where(User.email == email).run():
            raise _email_taken(caller, email)
        user = User(email=email, full_name=full_name.strip(), role=role.value, provider=provider,
                    password_hash=password_hash)
        await user.save().run()
        audit.record_id, audit.provider_id = user.id, provider
        audit.details.append(f"role={role.value}")
    return await _visible_user(Caller.system(), user.id)


async def list_users(caller: Caller, *, provider_id: UUID | None, role: Role | None, active: bool | None,
                     q: str | None, paging: Paging) -> tuple[list[dict[str, Any]], int]:
    policies.MANAGE_USERS.check(caller)
    clauses = []
    if provider_id:
        clauses.append(User.provider == provider_id)
    if role:
        clauses.append(User.role == role.value)
    if active is not None:
        clauses.append(User.active == active)
    if q:
        clauses.append(db.contains(User.email, q) | db.contains(User.full_name, q))
    if caller.role is Role.partnerships:
        clauses.append(User.role.is_in([r.value for r in PROVIDER_ROLES]))
    return await page_of(caller, paging, User.select(*_USER_COLUMNS), User.count(), action="user.list",
                         record_type="user", scope=User.provider, where=clauses, order_by=[User.email],
                         provider_id=provider_id or caller.provider_id)


async def get_user(caller: Caller, user_id: UUID) -> dict[str, Any]:
    policies.MANAGE_USERS.check(caller)
    async with access_log.audited(caller, "user.read", "user", user_id, writes=False) as audit:
        row = await _visible_user(caller, user_id)
        audit.provider_id = row["provider"]
    return row


async def update_user(caller: Caller, user_id: UUID, changes: dict[str, Any]) -> dict[str, Any]:
    policies.MANAGE_USERS.check(caller)
    new_hash = None
    if "password" in changes:
        _check_password(changes["password"])
        # Hashed before the transaction, so no write lock is held while argon2 runs.
        new_hash = await hash_password(changes["password"])
    async with access_log.audited(caller, "user.update", "user", user_id) as audit:
        row = await _visible_user(caller, user_id)
        audit.provider_id = row["provider"]
        values: dict[Any, Any] = {}
        if "full_name" in changes:
            values[User.full_name] = changes["full_name"].strip()
        if "role" in changes and changes["role"] != row["role"]:
            if user_id == caller.user_id:
                raise Forbidden("You cannot change your own role; ask another admin.")
            new_role = Role(changes["role"])
            # Moving between provider and agency roles changes who the person is; make a new account.
            provider = _check_may_grant(caller, new_role, row["provider"])
            _check_may_grant(caller, Role(row["role"]), row["provider"])
            values[User.role] = new_role.value
            values[User.provider] = provider
            audit.details.append(f"role {row['role']} -> {new_role.value}")
        if "active" in changes and changes["active"] != row["active"]:
            if user_id == caller.user_id:
                raise Forbidden("You cannot deactivate yourself.")
            _check_may_grant(caller, Role(row["role"]), row["provider"])
            values[User.active] = changes["active"]
            audit.details.append("activated" if changes["active"] else "deactivated")
        if new_hash is not None:
            values[User.password_hash] = new_hash
            audit.details.append("password reset")
        if values:
            values[User.updated_at] = _now()
            await User.update(values).where(User.id == user_id).run()
            if User.active in values or User.password_hash in values:
                # A reset password or a deactivation is a reason to distrust every credential the person held:
                # all their sessions and API tokens end, in this transaction, and reactivation revives none
                # (it also ends any left over from before this rule). Someone resetting their own password
                # stays signed in by the session or token they did it with.
                keep = caller.token_id if user_id == caller.user_id else None
                await _revoke_tokens(user_id, except_token=keep)
                audit.details.append("sessions and API tokens ended")
            elif User.role in values:
                # Sessions end so the person signs in again under the new role; API tokens carry on with it.
                await _revoke_tokens(user_id, kind=SESSION)
    return await _visible_user(Caller.system(), user_id)


async def change_own_password(settings: Settings, caller: Caller, current_password: str, new_password: str) -> None:
    """Anyone may change their own password by giving the current one. The check counts against the account
    like a sign-in, so a borrowed session cannot be used to guess the password. Every other session and API
    token of theirs ends; the one making the change stays signed in."""
    policies.USE_OWN_ACCOUNT.check(caller)
    _check_password(new_password, "new_password")

    async def log_throttled() -> None:
        await access_log.record_refusal(caller, "user.password_change", "user", caller.user_id,
                                        caller.provider_id, throttle.throttled(settings, True))

    account = {f"email:{caller.email}": settings.login_max_failures}
    async with throttle.attempt(settings, account, log_throttled) as attempt:
        row = await User.select(User.password_hash).where(User.id == caller.user_id).first().run()
        if not await verify_password(row["password_hash"] if row else None, current_password):
            refusal = Invalid.field("current_password", "is not your current password")
            await access_log.record_refusal(caller, "user.password_change", "user", caller.user_id,
                                            caller.provider_id, refusal)
            raise refusal
        attempt.succeeded = True
    # Hashed before the transaction, so no write lock is held while argon2 runs.
    new_hash = await hash_password(new_password)
    async with access_log.audited(caller, "user.password_change", "user", caller.user_id,
                                  caller.provider_id) as audit:
        await User.update({User.password_hash: new_hash, User.updated_at: _now()}).where(
            User.id == caller.user_id
        ).run()
        await _revoke_tokens(caller.user_id, except_token=caller.token_id)
        audit.details.append("other sessions and API tokens ended")


async def _revoke_tokens(user_id: UUID, *, kind: str | None = None, except_token: UUID | None = None) -> None:
    query = AccessToken.update({AccessToken.revoked_at: _now()}).where(
        AccessToken.user == user_id, AccessToken.revoked_at.is_null()
    )
    if kind is not None:
        query = query.where(AccessToken.kind == kind)
    if except_token is not None:
        query = query.where(AccessToken.id != except_token)
    await query.run()


async def me(caller: Caller) -> dict[str, Any]:
    policies.USE_OWN_ACCOUNT.check(caller)
    return await _visible_user(Caller.system(), caller.user_id)


# --- the access log, read by people -----------------------------------------------------------------


async def check_access_log(caller: Caller) -> access_log.Verification:
    """``access_log.verify``, asked for by a person: only those who may read the log, and the asking is itself logged."""
    policies.READ_ACCESS_LOG.check(caller)
    async with access_log.audited(caller, "access_log.verify", "access_log", writes=False):
        return await access_log.verify()


async def search_access_log(caller: Caller, flt: LogFilter, paging: Paging) -> tuple[list[dict[str, Any]], int]:
    """Newest first. Reading the log is itself logged."""
    policies.READ_ACCESS_LOG.check(caller)
    clauses = []
    t = AccessLogEntry
    if flt.user_id:
        clauses.append(t.user_id == str(flt.user_id))
    if flt.email:
        clauses.append(t.email == flt.email.lower())
    if flt.action:
        clauses.append(t.action == flt.action)
    if flt.record_type:
        clauses.append(t.record_type == flt.record_type)
    if flt.record_id:
        clauses.append(t.record_id == flt.record_id)
    if flt.provider_id:
        clauses.append(t.provider_id == str(flt.provider_id))
    if flt.outcome:
        clauses.append(t.outcome == flt.outcome)
    if flt.since:
        clauses.append(t.at >= flt.since)
    if flt.until:
        clauses.append(t.at < flt.until)
    return await page_of(caller, paging, t.select(), t.count(), action="access_log.search", record_type="access_log",
                         where=clauses, order_by=[(t.seq, False)])
