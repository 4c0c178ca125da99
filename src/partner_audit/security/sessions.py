"""Signing in and out: the throttled sign-in that opens a session, signing out, and the session cookie. Written
once here so the JSON sign-in and the portal's sign-in page behave the same and set the same cookie."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.datastructures import Cookie

from partner_audit import db
from partner_audit.errors import NotAuthenticated
from partner_audit.security import access_log, policies, service, throttle, tokens
from partner_audit.security.caller import Caller, Role
from partner_audit.security.middleware import SESSION_COOKIE
from partner_audit.security.passwords import verify_password
from partner_audit.security.tables import AccessToken, User
from partner_audit.settings import Settings


# --- signing in and out ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    secret: str
    expires_at: datetime
    user: dict[str, Any]


async def _attempted_account(email: str) -> tuple[Any, str]:
    """What the access log keeps of a refused sign-in: the account's id when the typed email is one, otherwise
    a short keyed hash of what was typed, so repeated attempts correlate without the log holding the text
    (people type passwords into the email box)."""
    user = await User.select(User.id).where(User.email == email).first().run()
    if user is not None:
        return user["id"], ""
    return None, f"unknown email, keyed hash {tokens.digest('login-email:' + email)[:12]}"


async def login(settings: Settings, anonymous: Caller, email: str, password: str) -> Session:
    """Throttled per account and per client address; the counts live in the database, so every
    process sees the same ones."""
    email = email.strip().lower()
    limits = {f"email:{email}": settings.login_max_failures}
    if anonymous.client_ip:
        # One office can sit behind one address, so the address gets more room than an account.
        limits[f"ip:{anonymous.client_ip}"] = settings.login_max_failures * 4

    async def log_throttled() -> None:
        record_id, detail = await _attempted_account(email)
        async with db.transaction():
            await access_log.append(anonymous, action="auth.login", record_type="user", record_id=record_id,
                                    outcome="throttled", detail=detail)

    async with throttle.attempt(settings, limits, log_throttled) as attempt:
        user = await User.select().where(User.email == email).first().run()
        ok = await verify_password(user["password_hash"] if user else None, password)
        if not ok or not user["active"]:
            record_id, detail = await _attempted_account(email)
            async with db.transaction():
                await access_log.append(
                    anonymous, action="auth.login", record_type="user", record_id=record_id, outcome="denied",
                    detail=detail,
                )
            raise NotAuthenticated("That email and password do not match an active account.")

        caller = Caller(user["id"], email, Role(user["role"]), user["provider"], None, anonymous.request_id,
                        anonymous.client_ip)
        secret = tokens.new_secret()
        expires = datetime.now(UTC) + timedelta(hours=settings.session_hours)
        async with access_log.audited(caller, "auth.login", "user", user["id"], user["provider"]):
            await service.caller_is_allowed_in(caller)
            await AccessToken.insert(
                AccessToken(kind=service.SESSION, token_hash=tokens.digest(secret), user=user["id"], expires_at=expires)
            ).run()
        attempt.succeeded = True
    return Session(secret, expires, service.public_user(user))


async def logout(caller: Caller) -> None:
    policies.USE_OWN_ACCOUNT.check(caller)
    async with access_log.audited(caller, "auth.logout", "user", caller.user_id, caller.provider_id):
        await AccessToken.update({AccessToken.revoked_at: datetime.now(UTC)}).where(AccessToken.id == caller.token_id).run()



# --- the cookie ------------------------------------------------------------------------------------


def session_cookie(settings: Settings, session: Session, scheme: str) -> Cookie:
    """The cookie carrying ``session``: HTTP-only, same-site only, and Secure when the request came over HTTPS
    (``scheme`` as seen after uvicorn's proxy-headers, so a trusted proxy's X-Forwarded-Proto counts) or the
    settings ask for it."""
    return Cookie(
        key=SESSION_COOKIE, value=session.secret, httponly=True,
        secure=settings.secure_cookies or scheme == "https",
        samesite="strict", path="/", max_age=settings.session_hours * 3600,
    )


def ended_session_cookie() -> Cookie:
    """What signing out sends: the session cookie, emptied and expired."""
    return Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/")
