"""Applying a planned import: every kind of write one statement for many rows, on the transaction's own
connection (sqlite3's executemany, asyncpg's COPY for new rows)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from piccolo.columns import Date, Timestamptz
from piccolo.columns.defaults.base import Default
from piccolo.table import Table

from partner_audit import db
from partner_audit.devices.services.imports.planning import Plan
from partner_audit.devices.tables import Assignment, Device
from partner_audit.errors import Conflict
from partner_audit.security.caller import Caller

CHUNK = 5000  # tags per lookup (``IN (...)``): under both databases' limits on parameters (32,766)
WRITE_CHUNK = 5000  # rows per bulk write, so progress moves on a large file


def _chunks(items: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


@dataclass(frozen=True)
class _Bulk:
    """One write of many rows to ``table``: an INSERT of every column, or with ``update`` an upsert on the id
    that sets those columns. Rows are the table's rows as dicts; a column a row leaves out takes its default.
    Run on the connection of the transaction in progress, with the values as Piccolo's own queries pass them
    (on SQLite through the adapters Piccolo registers with sqlite3)."""

    table: type[Table]
    update: tuple[Any, ...] = ()

    def columns(self) -> list[Any]:
        return list(self.table._meta.columns)

    def sql(self, postgres: bool) -> str:
        names = ", ".join(f'"{c._meta.db_column_name}"' for c in self.columns())
        marks = ", ".join(f"${n}" if postgres else "?" for n in range(1, len(self.columns()) + 1))
        sql = f'INSERT INTO "{self.table._meta.tablename}" ({names}) VALUES ({marks})'
        if self.update:
            sets = ", ".join(f'"{c._meta.db_column_name}" = EXCLUDED."{c._meta.db_column_name}"'
                             for c in self.update)
            sql += f' ON CONFLICT ("{self.table._meta.primary_key._meta.db_column_name}") DO UPDATE SET {sets}'
        return sql

    def records(self, rows: list[dict[str, Any]], sqlite: bool) -> list[tuple[Any, ...]]:
        """The rows as tuples in ``columns()`` order. Every row has its id; other defaults are taken once per
        write (one "now" for every row). On SQLite, dates and times are adapted once per distinct value, as
        Piccolo's adapter adapts them (a call per value was most of the time sqlite3 spent)."""
        by_column = []
        for column in self.columns():
            name = column._meta.name
            if column is self.table._meta.primary_key:
                values = [row[name] for row in rows]
            else:
                default = column.get_default_value()
                default = default.python() if isinstance(default, Default) else default
                values = [row.get(name, default) for row in rows]
                if sqlite and isinstance(column, (Date, Timestamptz)):
                    adapted: dict[Any, Any] = {None: None}
                    values = [adapted[v] if v in adapted else adapted.setdefault(v, sqlite3.adapt(v))
                              for v in values]
            by_column.append(values)
        return list(zip(*by_column))

    async def run(self, rows: list[dict[str, Any]]) -> None:
        connection = db.engine().current_transaction.get().connection
        sqlite = db.is_sqlite()
        records = self.records(rows, sqlite)
        if sqlite:
            await connection.executemany(self.sql(postgres=False), records)
        elif self.update:
            await connection.executemany(self.sql(postgres=True), records)
        else:
            await connection.copy_records_to_table(self.table._meta.tablename, records=records,
                                                   columns=[c._meta.db_column_name for c in self.columns()])


async def _write(bulk: _Bulk, rows: list[dict[str, Any]], label: str,
                 progress: Callable[..., Iterable[Any]] | None) -> None:
    parts: Iterable[list[dict[str, Any]]] = list(_chunks(rows, WRITE_CHUNK))
    if progress is not None and rows:
        parts = progress(parts, label)
    for part in parts:
        await bulk.run(part)


async def _apply(caller: Caller, result: Plan, progress: Callable[..., Iterable[Any]] | None) -> None:
    now = datetime.now(UTC)
    device_columns = (Device.serial, Device.kind, Device.make, Device.model, Device.encrypted, Device.mdm_enrolled,
                      Device.status, Device.notes, Device.updated_at)
    new = [p.device for p in result.rows if p.action == "create"]
    changed = [{**p.device, "updated_at": now} for p in result.rows if p.action == "update"]
    closing = [{**p.close, "closed_at": now, "open_device": None,
                "return_condition": "not recorded: closed by an import"} for p in result.rows if p.close]
    opening = [{**p.open, "created_by": caller.user_id} for p in result.rows
               if p.assignment in ("check_out", "transfer")]
    updating = [p.open for p in result.rows if p.assignment == "update"]
    try:
        await _write(_Bulk(Device), new, "adding devices", progress)
        await _write(_Bulk(Device, device_columns), changed, "updating devices", progress)
        await _write(_Bulk(Assignment, (Assignment.returned_on, Assignment.return_condition, Assignment.closed_at,
                                        Assignment.open_device)), closing, "closing assignments", progress)
        await _write(_Bulk(Assignment, (Assignment.holder_name, Assignment.holder_email, Assignment.holder_phone,
                                        Assignment.holder_role, Assignment.purpose, Assignment.systems,
                                        Assignment.starts_on, Assignment.expected_return_on)),
                     updating, "updating assignments", progress)
        await _write(_Bulk(Assignment), opening, "checking out", progress)
    except Exception as exc:  # a unique index had the last word: someone changed the register meanwhile
        if db.is_unique_violation(exc):
            raise Conflict("The register changed while the file was being imported (a device was registered or "
                           "checked out meanwhile), so nothing was imported. Import the file again.") from exc
        raise

