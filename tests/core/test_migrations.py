"""The checked-in migrations build the schema the code expects, on SQLite and PostgreSQL, exactly once."""

from __future__ import annotations

import asyncio
import sqlite3

import asyncpg
from tests.support.databases import Database, catalogue
from partner_audit import db
from partner_audit.piccolo_app import TABLES

# Piccolo's own record of which migrations ran.
BOOKKEEPING = {"migration"}


def migrate(url: str) -> list[str]:
    async def work() -> list[str]:
        engine = db.engine_from_url(url)
        db.bind(engine, TABLES)
        return await db.migrate()

    return asyncio.run(work())


def migration_rows(database: Database) -> int:
    if database.backend == "sqlite":
        with sqlite3.connect(database.url.removeprefix("sqlite:///")) as conn:
            return conn.execute("SELECT count(*) FROM migration").fetchone()[0]

    async def count() -> int:
        conn = await asyncpg.connect(database.url)
        try:
            return await conn.fetchval("SELECT count(*) FROM migration")
        finally:
            await conn.close()

    return asyncio.run(count())


def test_migrations_create_every_registered_table(empty_database: Database) -> None:
    assert catalogue(empty_database) == {}
    applied = migrate(empty_database.url)
    assert applied and applied == sorted(applied)

    found = catalogue(empty_database)
    expected = {t._meta.tablename: {c._meta.db_column_name for c in t._meta.columns} for t in TABLES}
    assert set(found) == set(expected) | BOOKKEEPING
    for table, columns in expected.items():
        assert found[table] == columns, f"{table}: the migrations and the table class disagree"


def test_migrating_twice_changes_nothing(empty_database: Database) -> None:
    first = migrate(empty_database.url)
    schema, ran = catalogue(empty_database), migration_rows(empty_database)
    assert ran == len(first)

    assert migrate(empty_database.url) == []
    assert catalogue(empty_database) == schema
    assert migration_rows(empty_database) == ran


def test_the_schema_check_agrees_with_migrate(empty_database: Database) -> None:
    async def pending() -> list[str]:
        db.bind(db.engine_from_url(empty_database.url), TABLES)
        return await db.pending_migrations()

    before = asyncio.run(pending())
    assert before
    assert migrate(empty_database.url) == before
    assert asyncio.run(pending()) == []
