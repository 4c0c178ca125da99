"""The session cookie: set when a person signs in, cleared when they sign out. Written once here so the JSON
sign-in and the portal's sign-in page set the same cookie with the same attributes."""

from __future__ import annotations

from litestar.datastructures import Cookie

from partner_audit.security.middleware import SESSION_COOKIE
from partner_audit.security.service import Session
from partner_audit.settings import Settings


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
