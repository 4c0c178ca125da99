"""The access log as someone with full control of the database sees it: its append-only triggers switched off for a
while (``unguarded``), to empty it between tests or to tamper with it as an attacker would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from piccolo.querystring import QueryString

from partner_audit import db

LOG_TABLES = ("access_log_entry", "access_log_seal")


@asynccontextmanager
async def unguarded() -> AsyncIterator[None]:
    """Triggers off (SQLite: dropped and made again from their own SQL; PostgreSQL: disabled), then back on."""
    engine = db.engine()
    if db.is_sqlite():
        triggers = await engine.run_querystring(QueryString(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({}, {})", *LOG_TABLES))
        assert len(triggers) == 4, triggers  # two tables, UPDATE and DELETE each: the migration made them
        for trigger in triggers:
            await engine.run_ddl(f"DROP TRIGGER {trigger['name']}")
        try:
            yield
        finally:
            for trigger in triggers:
                await engine.run_ddl(trigger["sql"])
        return
    for table in LOG_TABLES:
        await engine.run_ddl(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    try:
        yield
    finally:
        for table in LOG_TABLES:
            await engine.run_ddl(f"ALTER TABLE {table} ENABLE TRIGGER USER")


async def run_sql(sql: str, *args: object) -> list[dict]:
    """Raw SQL with ``{}`` placeholders, as an attacker at a SQL prompt would send it."""
    return await db.engine().run_querystring(QueryString(sql, *args))


def tamper(run, sql: str, *args: object) -> list[dict]:
    """One statement sent past the triggers, as someone who may switch them off would."""

    async def work() -> list[dict]:
        async with unguarded():
            return await run_sql(sql, *args)

    return run(work)
