"""The database: the engine from ``PA_DATABASE_URL``, transactions, and migrations.

SQLite (the embedded default) and PostgreSQL (production) both run every query here. Two rules keep
them behaving alike:

* every write goes through ``transaction()``: on SQLite it begins IMMEDIATE, so a transaction that reads
  then writes takes the write lock up front instead of failing later with "database is locked";
* work that only reads goes through ``reading()``, which on SQLite takes no write lock at all;
* the schema only ever changes through the checked-in Piccolo migrations in ``migrations/``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import asyncpg
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType
from piccolo.table import Table

APP_NAME = "partner_audit"
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
PICCOLO_CONF = "partner_audit.piccolo_conf"

_engine: Engine | None = None


class MigrationsPending(Exception):
    """The database is behind the code's migrations."""


def engine_from_url(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write-ahead logging lets readers work while one writer holds the lock;
        # the timeout makes a second writer wait for the first instead of failing.
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
        return SQLiteEngine(path=str(path), timeout=30)
    return PostgresEngine(config={"dsn": url.replace("postgres://", "postgresql://", 1)})


# The database is away or too busy, rather than the query wrong: worth asking again shortly (503, not 500).
_OUTAGES: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset or timed out connections
    TimeoutError,
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.InterfaceError,  # the pool's connection was closed under it
    asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError, asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ObjectNotInPrerequisiteStateError,  # "database … is not currently accepting connections"
)
_SQLITE_OUTAGES = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_FULL",
                   "SQLITE_READONLY")


def is_outage(exc: BaseException) -> bool:
    """True when ``exc``, or what it was raised from, says the database cannot be reached or is overloaded."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, sqlite3.OperationalError):
            return (getattr(seen, "sqlite_errorname", "") or "").startswith(_SQLITE_OUTAGES)
        if isinstance(seen, _OUTAGES):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def bind(engine: Engine, tables: Iterable[type[Table]]) -> None:
    """Point every table, and Piccolo's own migration machinery, at ``engine``.

    Piccolo's tooling finds the same engine through ``piccolo_conf.DB``, which asks ``bound_engine()``.
    """
    global _engine
    from piccolo.apps.migrations.tables import Migration

    _engine = engine
    for table in [*tables, Migration]:
        table._meta.db = engine


def bound_engine() -> Engine | None:
    return _engine


def engine() -> Engine:
    if _engine is None:
        raise RuntimeError("db.bind() has not been called")
    return _engine


def is_sqlite() -> bool:
    return isinstance(engine(), SQLiteEngine)


def transaction() -> SQLiteTransaction | PostgresTransaction:
    """The one way to group queries: all of them land, or none do.

    Nested use joins the outer transaction (Piccolo's ``allow_nested``); on SQLite only the outermost one
    begins, and it begins IMMEDIATE.
    """
    eng = engine()
    if isinstance(eng, SQLiteEngine):
        return eng.transaction(transaction_type=TransactionType.immediate, allow_nested=True)
    return eng.transaction(allow_nested=True)


def reading() -> SQLiteTransaction | PostgresTransaction:
    """For work that only reads: one consistent view of the database, and on SQLite no write lock (a DEFERRED
    transaction), so reads never queue behind each other or behind writers. Nested in ``transaction()`` it joins
    that. Write nothing inside it on SQLite: a read transaction that later writes fails when another connection
    wrote in between."""
    eng = engine()
    if isinstance(eng, SQLiteEngine):
        return eng.transaction(transaction_type=TransactionType.deferred, allow_nested=True)
    return eng.transaction(allow_nested=True)


async def start(engine_: Engine) -> None:
    if isinstance(engine_, PostgresEngine):
        await engine_.start_connection_pool(min_size=1, max_size=10)


async def stop(engine_: Engine) -> None:
    if isinstance(engine_, PostgresEngine):
        await engine_.close_connection_pool()


# --- migrations -----------------------------------------------------------------------------------


def _migration_ids() -> list[str]:
    from piccolo.apps.migrations.commands.base import BaseMigrationManager

    return sorted(BaseMigrationManager().get_migration_modules(str(MIGRATIONS_DIR)))


async def pending_migrations() -> list[str]:
    from piccolo.apps.migrations.tables import Migration

    if not await Migration.table_exists().run():
        return _migration_ids()
    ran = set(await Migration.get_migrations_which_ran(app_name=APP_NAME))
    return [m for m in _migration_ids() if m not in ran]


async def migrate() -> list[str]:
    """Apply every pending migration; returns the ids applied."""
    from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager

    os.environ.setdefault("PICCOLO_CONF", PICCOLO_CONF)
    pending = await pending_migrations()
    if pending:
        result = await ForwardsMigrationManager(app_name=APP_NAME).run()
        if not result.success:
            raise RuntimeError(f"migration failed: {result.message}")
    return pending


async def require_current_schema() -> None:
    """Refuse to serve a database that is behind: the operator migrates on purpose, once."""
    pending = await pending_migrations()
    if pending:
        raise MigrationsPending(
            f"the database is {len(pending)} migration(s) behind ({', '.join(pending)}): "
            "run `partner-audit migrate` first"
        )


def is_unique_violation(exc: BaseException) -> bool:
    """True for a unique-constraint failure on either database (a race the service's own check lost)."""
    import asyncpg

    if isinstance(exc, asyncpg.UniqueViolationError):
        return True
    return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)


def contains(column: Any, text: str) -> Any:
    """A case-insensitive "contains" filter. SQLite's LIKE already ignores case (for ASCII letters) and it has
    no ILIKE, which Piccolo would emulate with a warning on every query."""
    pattern = "%" + text.replace("\\", "").replace("%", "").replace("_", "") + "%"
    return column.like(pattern) if is_sqlite() else column.ilike(pattern)
