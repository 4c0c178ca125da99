"""Signing in against the login throttle, which the sign-in tests lower to three failures (the default is five).

Helpers only: ``from tests.support.logins import MAX_FAILURES, login, throttled_settings``.
"""

from __future__ import annotations

from pathlib import Path

from partner_audit.settings import Settings
from tests.support.databases import Database, make_settings
from tests.support.world import PASSWORD

MAX_FAILURES = 3
LOGIN = "/api/v1/auth/login"


def throttled_settings(database: Database, tmp_path: Path) -> Settings:
    """Settings for an app that throttles after ``MAX_FAILURES`` failed sign-ins."""
    return make_settings(database, tmp_path, PA_LOGIN_MAX_FAILURES=str(MAX_FAILURES))


def login(client, email: str, password: str = PASSWORD):
    return client.post(LOGIN, json={"email": email, "password": password})
