"""The databases every test runs on: SQLite and PostgreSQL, each migrated once per session (per xdist worker).

PostgreSQL comes from ``PA_TEST_POSTGRES_URL``; without it those cases skip with the reason, except under
``CI=true``, where they fail. Database names carry the process id, so parallel workers never share one.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from partner_audit import db
from partner_audit.piccolo_app import TABLES
from partner_audit.settings import Settings, load_settings
from tests.support.ci import IN_CI

POSTGRES_URL = os.environ.get("PA_TEST_POSTGRES_URL")
NO_POSTGRES = (
    "PostgreSQL cases need PA_TEST_POSTGRES_URL, a server URL whose user may create databases, "
    "e.g. postgresql://postgres@127.0.0.1:5432/postgres"
)
SECRET_KEY = "test-secret-key-" + "x" * 32


@dataclass
class Database:
    backend: str
    url: str


def _pg_admin_url() -> str:
    if not POSTGRES_URL:
        if IN_CI:
            pytest.fail(f"CI=true but {NO_POSTGRES}")
        pytest.skip(NO_POSTGRES)
    return POSTGRES_URL


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


async def migrate(url: str) -> None:
    engine = db.engine_from_url(url)
    db.bind(engine, TABLES)
    await db.migrate()


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
        asyncio.run(migrate(url))
        yield Database("sqlite", url)
        return
    url, drop = create_postgres_database()
    try:
        asyncio.run(migrate(url))
        yield Database("postgres", url)
    finally:
        drop()


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database of the test's own with nothing in it, not even migrations: for the tests of migrating."""
    if request.param == "sqlite":
        yield Database("sqlite", f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
        return
    url, drop = create_postgres_database("pa_empty")
    try:
        yield Database("postgres", url)
    finally:
        drop()


def catalogue(database: Database) -> dict[str, set[str]]:
    """Table name -> column names, read from the database's own catalogue."""
    if database.backend == "sqlite":
        with sqlite3.connect(database.url.removeprefix("sqlite:///")) as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
            return {t: {r[1] for r in conn.execute(f'PRAGMA table_info("{t}")')} for t in tables}

    async def read() -> dict[str, set[str]]:
        conn = await asyncpg.connect(database.url)
        try:
            rows = await conn.fetch(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'")
        finally:
            await conn.close()
        found: dict[str, set[str]] = {}
        for row in rows:
            found.setdefault(row["table_name"], set()).add(row["column_name"])
        return found

    return asyncio.run(read())


def make_settings(database: Database, tmp_path: Path, **extra: str) -> Settings:
    """Settings for an app of a test's own on ``database``, its var folder under ``tmp_path``."""
    env = {
        "PA_VAR_DIR": str(tmp_path / "var"),
        "PA_DATABASE_URL": database.url,
        "PA_SECRET_KEY": SECRET_KEY,
        # No sealer in the background: a test seals when it means to (``access_log.seal()``).
        "PA_ACCESS_LOG_SEAL_SECONDS": "0",
        **extra,
    }
    return load_settings(env)
