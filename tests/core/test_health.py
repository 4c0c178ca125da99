"""Liveness and readiness: a load balancer learns which dependency is down, in problem+json."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from tests.support.problems import is_problem
from tests.support.databases import create_postgres_database, Database, make_settings, migrate, POSTGRES_URL
from litestar.testing import TestClient

from partner_audit.app import create_app

# (database, break it, mend it)
Outage = tuple[Database, Callable[[], object], Callable[[], object]]


def response_text(body: dict) -> str:
    return " ".join(str(value) for value in body.values())


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert is_problem(response)
    return response.json()


def test_live_answers_without_signing_in(client: TestClient) -> None:
    response = client.get("/health/live")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"


def test_ready_checks_database_and_store(client: TestClient, settings) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "database": "ok", "evidence_store": "ok"}
    # The readiness probe really wrote to the store: the folder exists and no probe file is left behind.
    store = Path(settings.evidence_store)
    assert store.is_dir() and list(store.iterdir()) == []


def test_ready_names_an_evidence_store_that_cannot_be_created(database: Database, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a regular file where the evidence folder's parent should be")
    store = blocker / "evidence"
    settings = make_settings(database, tmp_path, PA_EVIDENCE_STORE=str(store))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/health/live").status_code == 200
        body = problem(client.get("/health/ready"), 503)
    assert body["status"] == 503
    assert body["detail"] == "evidence store is not reachable"
    assert str(tmp_path) not in response_text(body)  # anyone may ask: the path stays in the server's log


# --- the database going away after start ------------------------------------------------------------
#
# SQLite: the folder holding the database file disappears (an unmounted volume); every query opens the file
# afresh, so the next probe fails. PostgreSQL: the database stops accepting connections and the pool's
# connections are terminated by the server. Both come back when the cause is undone.


@pytest.fixture
def own_sqlite(tmp_path: Path) -> Iterator[Outage]:
    folder = tmp_path / "volume"
    url = f"sqlite:///{folder / 'db.sqlite3'}"
    asyncio.run(migrate(url))
    away = tmp_path / "volume-unmounted"
    yield Database("sqlite", url), lambda: folder.rename(away), lambda: away.rename(folder)


@pytest.fixture
def own_postgres() -> Iterator[Outage]:
    url, drop = create_postgres_database("pa_health")
    name = url.rpartition("/")[2]
    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def break_it() -> None:
        asyncio.run(admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        asyncio.run(admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))

    def mend_it() -> None:
        asyncio.run(admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))

    try:
        asyncio.run(migrate(url))
        yield Database("postgres", url), break_it, mend_it
    finally:
        drop()


@pytest.mark.parametrize("backend", ["own_sqlite", "own_postgres"])
def test_ready_names_the_database_when_it_goes_away(backend: str, request: pytest.FixtureRequest,
                                                   tmp_path: Path) -> None:
    database, break_it, mend_it = request.getfixturevalue(backend)
    settings = make_settings(database, tmp_path)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/health/ready").status_code == 200
        break_it()
        try:
            for _ in range(2):  # the first probe meets the dead connection, the next one a refused connect
                response = client.get("/health/ready")
                body = problem(response, 503)
                assert body["detail"] == "database is not reachable"
                assert response.headers["retry-after"].isdigit()
                assert database.url.rpartition("/")[2] not in response.text and str(tmp_path) not in response.text
            # Every other request that needs the database says so too, and when to try again: 503, not 500.
            for response in (client.post("/api/v1/auth/login", json={"email": "a@b.nz", "password": "x" * 12}),
                             client.get("/api/v1/me", headers={"Authorization": "Bearer pa_not_a_real_token"})):
                body = problem(response, 503)
                assert response.headers["retry-after"].isdigit() and "try again" in body["detail"]
            # Liveness is about the process, not its dependencies: restarting it would not help.
            assert client.get("/health/live").status_code == 200
        finally:
            mend_it()
        assert client.get("/health/ready").status_code == 200
