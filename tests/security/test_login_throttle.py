"""The login throttle holds when guesses arrive all at once, across app processes, and argon2 keeps off the loop.

Counting an attempt and deciding on it are one statement in the database, so however many sign-ins overlap,
at most ``PA_LOGIN_MAX_FAILURES`` guesses at one account (and four times that from one address) are evaluated.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher

from tests.support.databases import Database
from tests.support.logins import MAX_FAILURES, login, throttled_settings
from tests.support.world import PASSWORD, World
from partner_audit.security import passwords
from partner_audit.settings import Settings

# These tests sign in by email or count the accounts: every person of the world exists from the start.
pytestmark = pytest.mark.usefixtures("everyone")

AT_ONCE = 40


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    return throttled_settings(database, tmp_path)


def _all_at_once(clients: list[httpx.Client], emails: list[str]) -> list[int]:
    """POST every sign-in from its own thread, released together, alternating between the processes."""
    start = threading.Barrier(len(emails))

    def attempt(i: int) -> int:
        start.wait()
        return login(clients[i % len(clients)], emails[i], "guessing guessing").status_code

    with ThreadPoolExecutor(len(emails)) as pool:
        return list(pool.map(attempt, range(len(emails))))


def test_simultaneous_guesses_at_one_account_evaluate_at_most_the_limit(two_processes: list[httpx.Client]):
    statuses = _all_at_once(two_processes, ["auditor@example.org"] * AT_ONCE)
    assert sorted(set(statuses)) == [401, 429], statuses
    assert statuses.count(401) == MAX_FAILURES
    # The right password is refused too until the window passes.
    assert login(two_processes[0], "auditor@example.org").status_code == 429


def test_simultaneous_guesses_from_one_address_evaluate_at_most_its_limit(two_processes: list[httpx.Client]):
    # Every guess at a different account, so only the address's limit (four times an account's) applies.
    statuses = _all_at_once(two_processes, [f"nobody{i}@example.org" for i in range(AT_ONCE)])
    assert statuses.count(401) == MAX_FAILURES * 4, statuses
    assert statuses.count(429) == AT_ONCE - MAX_FAILURES * 4


def test_right_passwords_arriving_at_once_are_asked_to_retry_in_a_moment(two_processes: list[httpx.Client]):
    # Attempts still being checked hold slots, so only the limit's worth run at once; the rest are told to come
    # back in seconds, not locked out for the window, and nothing is left counted against the account.
    start = threading.Barrier(AT_ONCE)

    def attempt(i: int) -> httpx.Response:
        start.wait()
        return login(two_processes[i % 2], "auditor@example.org")

    with ThreadPoolExecutor(AT_ONCE) as pool:
        answers = list(pool.map(attempt, range(AT_ONCE)))
    assert {r.status_code for r in answers} <= {200, 429} and any(r.status_code == 200 for r in answers)
    assert {int(r.headers["retry-after"]) for r in answers if r.status_code == 429} <= {2}
    for _ in range(MAX_FAILURES):
        assert login(two_processes[0], "auditor@example.org", "guessing guessing").status_code == 401
    assert login(two_processes[0], "auditor@example.org", "guessing guessing").status_code == 429


def test_a_success_gives_back_the_address_slot_it_reserved(world: World):
    for _ in range(MAX_FAILURES * 4 + 2):
        assert login(world.client, "auditor@example.org").status_code == 200
    assert login(world.client, "nobody@example.org", "guessing guessing").status_code == 401


class _SlowHasher(PasswordHasher):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.verified = threading.Event()

    def verify(self, hash, password):  # noqa: A002  (argon2's own parameter name)
        time.sleep(1.5)
        self.verified.set()
        return super().verify(hash, password)


def test_the_event_loop_answers_while_argon2_runs(world: World, monkeypatch: pytest.MonkeyPatch):
    hasher = _SlowHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    signing_in = threading.Thread(target=login, args=(world.client, "auditor@example.org", PASSWORD))
    signing_in.start()
    time.sleep(0.3)  # the sign-in is now inside verify
    assert world.client.get("/health/live").status_code == 200
    # An order, not a stopwatch (the machines are shared): had argon2 held the event loop, nothing could have
    # answered before the verification ended.
    answered_during_verify = not hasher.verified.is_set()
    signing_in.join()
    assert hasher.verified.is_set()
    assert answered_during_verify, "/health/live waited for the password to be verified"
