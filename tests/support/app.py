"""The app under test: one per database per session (per xdist worker), driven through Litestar's TestClient.

* ``settings``: the session app's settings. A module may override it (say, to point evidence at S3); ``client``
  then builds an app of those settings for the test, as every test did before the session app.
* ``client``: the app on the test's database, its tables emptied before each test.
* ``run``: runs a coroutine (a service call) on the app's own event loop, so services are tested without HTTP
  but with the same engine and pool.

Building the app, starting its pool and reading the migrations costs far more than a test's own requests, so the
app lives for the session and only what a test can change is reset before the next: the tables, the evidence
folder, the client's cookies, and the module-level bindings an app of a test's own may have repointed
(the tables' engine, the keys of tokens and of the access log).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from argon2 import PasswordHasher
from litestar import Litestar
from litestar.testing import TestClient
from piccolo.engine.base import Engine

from partner_audit import db
from partner_audit.app import create_app
from partner_audit.piccolo_app import TABLES
from partner_audit.security import access_log, passwords, tokens
from partner_audit.settings import Settings
from partner_audit.storage import EvidenceStore, evidence_store
from tests.support.access_log import unguarded
from tests.support.databases import Database, make_settings

# Test accounts need no protection against offline guessing, and the production cost (argon2-cffi's defaults)
# makes every `world` take seconds of CPU. Still argon2id, still hashed and verified by the same code.
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


async def empty_tables(store: EvidenceStore) -> None:
    """Every table emptied (the access log's append-only triggers off meanwhile), and the log's checkpoint gone
    with it."""
    async with unguarded(), db.transaction():
        for table in reversed(TABLES):
            await table.delete(force=True).run()
    await store.delete(access_log.CHECKPOINT_KEY)


@dataclass
class SessionApp:
    """The session's app on one database, and what it looked like before any test touched it."""

    settings: Settings
    app: Litestar
    client: TestClient
    engine: Engine
    asgi_handler: Any

    def reset(self) -> None:
        db.bind(self.engine, TABLES)
        tokens.configure(self.settings.secret_key)
        store = evidence_store(self.settings)
        access_log.configure(self.settings.secret_key, store)
        self.app.asgi_handler = self.asgi_handler
        self.client.cookies.clear()
        if not self.settings.is_s3:
            shutil.rmtree(self.settings.evidence_store, ignore_errors=True)
        self.client.blocking_portal.call(empty_tables, store)


@pytest.fixture(scope="session")
def session_app(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SessionApp]:
    settings = make_settings(database, tmp_path_factory.mktemp(f"app-{database.backend}"))
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        engine = db.bound_engine()
        assert engine is not None, "the app's start-up binds the tables to its engine"
        yield SessionApp(settings, app, client, engine, app.asgi_handler)


@pytest.fixture
def settings(session_app: SessionApp) -> Settings:
    return session_app.settings


@pytest.fixture
def client(settings: Settings, session_app: SessionApp) -> Iterator[TestClient]:
    if settings is session_app.settings:
        session_app.reset()
        yield session_app.client
        return
    # Settings of the module's own: an app of those settings for this test alone.
    with TestClient(create_app(settings), raise_server_exceptions=False) as own:
        own.blocking_portal.call(empty_tables, evidence_store(settings))
        yield own


@pytest.fixture
def run(client: TestClient) -> Callable[..., Any]:
    """``run(service.fn, arg, ...)`` or ``run(lambda: coro)``: await on the app's loop and return the result."""

    def runner(fn: Callable[..., Any], *args: Any) -> Any:
        return client.blocking_portal.call(fn, *args)

    return runner

