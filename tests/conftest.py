"""Test harness: every database test runs on SQLite and on PostgreSQL, against the real app.

* ``database``: a migrated database per backend for the session (PostgreSQL from ``PA_TEST_POSTGRES_URL``;
  without it those cases skip with the reason, except under ``CI=true``, where any skip fails the run).
* ``client``: the app on that database, emptied before each test, driven through Litestar's TestClient.
* ``run``: runs a coroutine (a service call) on the app's own event loop, so services are tested without HTTP
  but with the same engine and pool.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from argon2 import PasswordHasher
from litestar.testing import TestClient

from partner_audit import db
from partner_audit.app import create_app
from partner_audit.piccolo_app import TABLES
from partner_audit.security import passwords
from partner_audit.security.caller import Caller, Role
from partner_audit.settings import Settings, load_settings

# Test accounts need no protection against offline guessing, and the production cost (argon2-cffi's defaults)
# makes every `world` take seconds of CPU. Still argon2id, still hashed and verified by the same code.
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get("PA_TEST_POSTGRES_URL")
NO_POSTGRES = (
    "PostgreSQL cases need PA_TEST_POSTGRES_URL, a server URL whose user may create databases, "
    "e.g. postgresql://postgres@127.0.0.1:5432/postgres"
)


# --- CI refuses skips --------------------------------------------------------------------------------

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if IN_CI and _skipped:
        print(f"\nCI=true: {len(_skipped)} test(s) were skipped, which CI treats as failure:")
        for nodeid in _skipped[:20]:
            print(f"  {nodeid}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_bdd_before_step_call(request, feature, scenario, step, step_func, step_func_args) -> None:
    # pytest-bdd does not await coroutine steps: an async step would "pass" without running.
    if inspect.iscoroutinefunction(step_func):
        pytest.fail(f"step {step.name!r} is async; pytest-bdd steps must be plain functions")


# --- databases ---------------------------------------------------------------------------------------


def _pg_admin_url() -> str:
    if not POSTGRES_URL:
        if IN_CI:
            pytest.fail(f"CI=true but {NO_POSTGRES}")
        pytest.skip(NO_POSTGRES)
    return POSTGRES_URL


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


async def _migrate(url: str) -> None:
    engine = db.engine_from_url(url)
    db.bind(engine, TABLES)
    await db.migrate()


@dataclass
class Database:
    backend: str
    url: str


def create_postgres_database(prefix: str = "pa_test") -> tuple[str, Callable[[], None]]:
    """A fresh, empty PostgreSQL database; returns its URL and a function that drops it."""
    admin = _pg_admin_url()
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(create())
    return _with_database(admin, name), lambda: asyncio.run(drop())


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.sqlite3'}"
        asyncio.run(_migrate(url))
        yield Database("sqlite", url)
        return
    url, drop = create_postgres_database()
    try:
        asyncio.run(_migrate(url))
        yield Database("postgres", url)
    finally:
        drop()


def make_settings(database: Database, tmp_path: Path, **extra: str) -> Settings:
    env = {
        "PA_VAR_DIR": str(tmp_path / "var"),
        "PA_DATABASE_URL": database.url,
        "PA_SECRET_KEY": "test-secret-key-" + "x" * 32,
        **extra,
    }
    return load_settings(env)


async def _empty_tables() -> None:
    async with db.transaction():
        for table in reversed(TABLES):
            await table.delete(force=True).run()


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    return make_settings(database, tmp_path)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        test_client.blocking_portal.call(_empty_tables)
        yield test_client


@pytest.fixture
def run(client: TestClient) -> Callable[..., Any]:
    """``run(service.fn, arg, ...)`` or ``run(lambda: coro)``: await on the app's loop and return the result."""

    def runner(fn: Callable[..., Any], *args: Any) -> Any:
        return client.blocking_portal.call(fn, *args)

    return runner


# --- people and providers ----------------------------------------------------------------------------


class Api:
    """Requests as one signed-in person (bearer token)."""

    def __init__(self, client: TestClient, token: str, user: dict[str, Any]) -> None:
        self.client, self.token, self.user = client, token, user

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def request(self, method: str, url: str, **kw: Any):
        kw["headers"] = self._headers(kw.get("headers"))
        return self.client.request(method, url, **kw)

    def get(self, url: str, **kw: Any):
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any):
        return self.request("POST", url, **kw)

    def patch(self, url: str, **kw: Any):
        return self.request("PATCH", url, **kw)

    def put(self, url: str, **kw: Any):
        return self.request("PUT", url, **kw)

    def delete(self, url: str, **kw: Any):
        return self.request("DELETE", url, **kw)


def problem(r, status: int, field: str | None = None) -> dict[str, Any]:
    """The response is this status as application/problem+json, naming ``field`` when given."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status
    if field is not None:
        assert field in [e["field"] for e in body.get("errors", [])], body
    return body


PASSWORD = "correct horse battery staple"


@dataclass
class World:
    """Two providers, A and B, and a person of every role (provider roles at A; ``b_admin`` at B)."""

    client: TestClient
    run: Callable[..., Any]
    provider_a: dict[str, Any]
    provider_b: dict[str, Any]
    people: dict[str, Api] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Api:
        try:
            return self.people[name]
        except KeyError:
            raise AttributeError(name) from None

    def add_person(self, key: str, role: Role, provider_id: Any = None) -> Api:
        from partner_audit.security import service

        email = f"{key.replace('_', '.')}@example.org"
        user = self.run(lambda: service.create_user(
            Caller.system("test"), email=email, full_name=key.replace("_", " ").title(), role=role,
            password=PASSWORD, provider_id=provider_id,
        ))
        token, _ = self.run(lambda: service.create_api_token(
            Caller(user["id"], email, role, provider_id), "tests", None
        ))
        self.people[key] = Api(self.client, token, user)
        return self.people[key]


def register_provider(run: Callable[..., Any], name: str, index: int, **overrides: Any) -> dict[str, Any]:
    from partner_audit.demo import demo_nzbn
    from partner_audit.providers import service
    from partner_audit.providers.schemas import ProviderCreate, ProviderKind, Region

    data = ProviderCreate(name=name, nzbn=demo_nzbn(900 + index), kind=overrides.pop("kind", ProviderKind.ngo),
                          region=overrides.pop("region", Region.wellington),
                          risk_tier=overrides.pop("risk_tier", 2), **overrides)
    return run(lambda: service.register(Caller.system("test"), data))


@pytest.fixture
def world(client: TestClient, run: Callable[..., Any]) -> World:
    w = World(client, run, register_provider(run, "Provider A Trust", 1), register_provider(run, "Provider B Trust", 2))
    for role in (Role.admin, Role.partnerships, Role.auditor, Role.governance):
        w.add_person(role.value, role)
    w.add_person("provider_admin", Role.provider_admin, w.provider_a["id"])
    w.add_person("provider_user", Role.provider_user, w.provider_a["id"])
    w.add_person("b_admin", Role.provider_admin, w.provider_b["id"])
    w.add_person("b_user", Role.provider_user, w.provider_b["id"])
    return w


# --- S3: a real SeaweedFS server for the session -----------------------------------------------------

from fixtures_s3 import S3Server, WeedMissing, start_weed  # noqa: E402  (kept with the fixture it serves)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """``weed server -s3`` on free loopback ports with a bucket and signed credentials; see fixtures_s3.py."""
    try:
        server = start_weed(tmp_path_factory.mktemp("weed"))
    except WeedMissing as exc:
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()
