"""The database: the engine from ``PA_DATABASE_URL``, transactions, and migrations.

SQLite (the embedded default) and PostgreSQL (production) both run every query here. Two rules keep
them behaving alike:

* every write goes through ``transaction()``: on SQLite it begins IMMEDIATE, so a transaction that reads
  then writes takes the write lock up front instead of failing later with "database is locked";
* work that only reads goes through ``reading()``, which on SQLite takes no write lock at all;
* the schema only ever changes through the checked-in Piccolo migrations in ``migrations/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
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
        return PooledSQLiteEngine(path=str(path), timeout=30)
    return PostgresEngine(config={"dsn": url.replace("postgres://", "postgresql://", 1)})


class _Lent:
    """A pooled connection as Piccolo's transaction sees it: everything passes through, but ``close`` gives the
    connection back to the pool."""

    __slots__ = ("_connection", "_engine")

    def __init__(self, connection: Any, engine: PooledSQLiteEngine) -> None:
        object.__setattr__(self, "_connection", connection)
        object.__setattr__(self, "_engine", engine)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._connection, name, value)

    async def close(self) -> None:
        await self._engine.give_back(self._connection)


class _Writers:
    """The turn to write on SQLite, which has one writer at a time: first among this process's writers (an asyncio
    lock: in order), then among processes (``flock`` on a file beside the database, asked for every millisecond).
    Without it every writer waited in SQLite's busy handler, whose growing sleeps let some requests wait seconds
    while others got straight in. Asking without blocking keeps a cancelled request from leaving the lock held."""

    def __init__(self, database_path: str) -> None:
        self._in_process = asyncio.Lock()
        self._path = database_path + ".writers"
        self._fd: int | None = None

    async def __aenter__(self) -> None:
        await self._in_process.acquire()
        try:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    await asyncio.sleep(0.001)
        except BaseException:
            self._in_process.release()
            raise

    async def __aexit__(self, *exc_info: Any) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._in_process.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class _Queued:
    """A Piccolo transaction entered once its turn to write has come."""

    def __init__(self, transaction: SQLiteTransaction, writers: _Writers) -> None:
        self._transaction, self._writers = transaction, writers

    async def __aenter__(self) -> SQLiteTransaction:
        await self._writers.__aenter__()
        try:
            return await self._transaction.__aenter__()
        except BaseException:
            await self._writers.__aexit__(None, None, None)
            raise

    async def __aexit__(self, *exc_info: Any) -> bool:
        try:
            return await self._transaction.__aexit__(*exc_info)
        finally:
            await self._writers.__aexit__(None, None, None)


class PooledSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine, keeping its connections open.

    Piccolo opens a connection, and the thread aiosqlite runs it on, for every transaction and every query outside
    one, and closes it after: under load most of a request's time on SQLite went there. This engine keeps up to
    ``IDLE`` connections open and lends them again, between ``start()`` and ``stop()`` (which closes them), as
    PostgreSQL's pool lives. Outside them (Piccolo's own command line, a test's bare engine) it is Piccolo's engine:
    aiosqlite's threads are not daemons, so a connection left open would keep the process from exiting."""

    IDLE = 8

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._idle: list[Any] = []
        self._file: tuple[int, int] | None = None  # the file the idle connections have open
        self.pooling = False
        self.writers = _Writers(self.path)

    def transaction(self, transaction_type: TransactionType = TransactionType.deferred,
                    allow_nested: bool = True) -> Any:
        inner = super().transaction(transaction_type=transaction_type, allow_nested=allow_nested)
        if self.pooling and transaction_type is TransactionType.immediate and inner._parent is None:
            return _Queued(inner, self.writers)
        return inner

    async def get_connection(self) -> Any:
        if not self.pooling:
            return await super().get_connection()
        if self._idle and self._file_now() != self._file:
            # The file was moved, replaced or unmounted under us: open connections would still see the old one.
            await self._close(self._idle)
        if self._idle:
            return _Lent(self._idle.pop(), self)
        self._file = self._file_now()
        return _Lent(await super().get_connection(), self)

    def _file_now(self) -> tuple[int, int] | None:
        try:
            found = os.stat(self.path)
        except OSError:
            return None
        return found.st_dev, found.st_ino

    async def give_back(self, connection: Any) -> None:
        if connection.in_transaction:  # never lend out a transaction someone left open
            await connection.rollback()
        if self.pooling and len(self._idle) < self.IDLE:
            self._idle.append(connection)
        else:
            await connection.close()

    async def _run_in_new_connection(self, query: str, args: list[Any] | None = None, query_type: str = "generic",
                                     table: type[Table] | None = None) -> Any:
        if not self.pooling:
            return await super()._run_in_new_connection(query, args, query_type, table)
        writes = query_type != "select" and not query.lstrip()[:6].upper() == "SELECT"
        async with self.writers if writes else contextlib.nullcontext():
            lent = await self.get_connection()
            try:
                rows = await self._run_in_existing_connection(lent, query, args, query_type, table)
                await lent.commit()
                return rows
            finally:
                await lent.close()

    async def close_idle(self) -> None:
        self.pooling = False
        self.writers.close()
        await self._close(self._idle)

    async def _close(self, connections: list[Any]) -> None:
        closing = connections[:]
        connections.clear()
        for connection in closing:
            await connection.close()


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


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Nothing to reset when a connection goes back to the pool: the service sets no session state (no SET, no
    LISTEN, no cursors kept, only transaction-level advisory locks). asyncpg's default reset is a round trip to the
    server on every release, that is after nearly every query, and was a twentieth of a worker's time."""


async def start(engine_: Engine) -> None:
    if isinstance(engine_, PostgresEngine):
        await engine_.start_connection_pool(min_size=1, max_size=10, reset=_keep_session)
    elif isinstance(engine_, PooledSQLiteEngine):
        engine_.pooling = True


async def stop(engine_: Engine) -> None:
    if isinstance(engine_, PostgresEngine):
        await engine_.close_connection_pool()
    elif isinstance(engine_, PooledSQLiteEngine):
        await engine_.close_idle()


# --- migrations -----------------------------------------------------------------------------------


def _migration_modules() -> dict[str, Any]:
    from piccolo.apps.migrations.commands.base import BaseMigrationManager

    return BaseMigrationManager().get_migration_modules(str(MIGRATIONS_DIR))


def _migration_ids() -> list[str]:
    return sorted(_migration_modules())


def describe_migration(migration_id: str) -> str:
    """A migration's own description (each migration file has one)."""
    return getattr(_migration_modules().get(migration_id), "DESCRIPTION", "")


async def pending_migrations() -> list[str]:
    from piccolo.apps.migrations.tables import Migration

    if not await Migration.table_exists().run():
        return _migration_ids()
    ran = set(await Migration.get_migrations_which_ran(app_name=APP_NAME))
    return [m for m in _migration_ids() if m not in ran]


async def migrate() -> list[str]:
    """Apply every pending migration; returns the ids applied. Piccolo's own chatter is kept from the terminal
    (on a fresh database it says the same migrations are "already complete" and "not yet run"); the command
    reports what was applied, and a failure carries Piccolo's message."""
    import io

    from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager

    os.environ.setdefault("PICCOLO_CONF", PICCOLO_CONF)
    pending = await pending_migrations()
    if pending:
        said = io.StringIO()
        with contextlib.redirect_stdout(said):
            result = await ForwardsMigrationManager(app_name=APP_NAME).run()
        if not result.success:
            raise RuntimeError(f"migration failed: {result.message}\n{said.getvalue()}")
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
