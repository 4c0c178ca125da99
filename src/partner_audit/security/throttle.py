"""Counting sign-in attempts, per account and per client address, in the database so every process sees the
same counts: used by signing in and by changing one's own password (a borrowed session must not be a way to
guess the password)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from partner_audit import db
from partner_audit.errors import TooManyRequests
from partner_audit.security.tables import LoginThrottle
from partner_audit.settings import Settings

# A sign-in reserves its attempt before its password is checked, with one statement per key that counts it and
# returns the counts, so concurrent guesses in any number of processes are serialised by the row (PostgreSQL's
# row lock, SQLite's write lock) and cannot all pass the check. `pending` holds attempts being checked, `failures`
# those that failed; their sum is what the limit bounds. A window starts with the first attempt after the last
# one ran out or after everything was settled; a slot left pending by a crashed process ends with its window.
_RESTART = "(login_throttle.window_started <= {} OR login_throttle.failures + login_throttle.pending = 0)"
_RESERVE = f"""
INSERT INTO login_throttle (key, failures, pending, window_started) VALUES ({{}}, 0, 1, {{}})
ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN {_RESTART} THEN 0 ELSE login_throttle.failures END,
    pending = CASE WHEN {_RESTART} THEN 1 ELSE login_throttle.pending + 1 END,
    window_started = CASE WHEN {_RESTART} THEN excluded.window_started ELSE login_throttle.window_started END
RETURNING failures, pending
"""
# Settling turns the pending slot into a failure, or gives it back (a success also forgives the account's failures).
_SETTLE = """
UPDATE login_throttle SET failures = {}, pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END WHERE key = {{}}
"""
# How long to wait when the limit is taken by attempts still being checked, not by failures.
_BUSY_RETRY_SECONDS = 2


class _OverLimit(Exception):
    def __init__(self, failed_out: bool) -> None:
        self.failed_out = failed_out


@dataclass
class _Attempt:
    succeeded: bool = False


@asynccontextmanager
async def attempt(settings: Settings, limits: dict[str, int], log: Callable[[], Awaitable[None]]
                   ) -> AsyncIterator[_Attempt]:
    """Reserve a slot on each key (account first, then address), check the password inside, then settle.

    Over a limit, the reservation is rolled back (only evaluated attempts count), ``log`` records the refusal
    and a 429 is raised. The body marks the attempt succeeded; anything else, an exception included, counts as
    a failure. Keys are always taken in the same order, so two sign-ins never wait on each other in a cycle.
    """
    now = int(time.time())
    expired = now - settings.login_window_minutes * 60
    try:
        async with db.transaction():
            for key, limit in limits.items():
                counts = (await LoginThrottle.raw(_RESERVE, key, now, expired, expired, expired).run())[0]
                if counts["failures"] + counts["pending"] > limit:
                    raise _OverLimit(counts["failures"] >= limit)
    except _OverLimit as over:
        await log()
        raise throttled(settings, over.failed_out) from None
    attempt = _Attempt()
    try:
        yield attempt
    finally:
        account, *addresses = limits
        async with db.transaction():
            await LoginThrottle.raw(_SETTLE.format("0" if attempt.succeeded else "failures + 1"), account).run()
            for key in addresses:
                await LoginThrottle.raw(_SETTLE.format("failures" if attempt.succeeded else "failures + 1"), key).run()


def throttled(settings: Settings, failed_out: bool) -> TooManyRequests:
    if failed_out:
        return TooManyRequests(
            f"Too many failed sign-ins. Try again in {settings.login_window_minutes} minutes.",
            retry_after=settings.login_window_minutes * 60,
        )
    return TooManyRequests("Too many sign-ins are being checked at once. Try again in a moment.",
                           retry_after=_BUSY_RETRY_SECONDS)
