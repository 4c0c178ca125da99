"""How the service uses Piccolo: its own nested transactions, a configuration module that is safe to import,
enumerated columns that name their choices, and migrations that describe themselves and match the tables."""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import sqlite3
import subprocess
import sys
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from tests.support.databases import Database, catalogue
from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.commands.new import AutoMigrationManager
from piccolo.columns import Column
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import TransactionType

from partner_audit import db
from partner_audit.assessments.schemas import AssessmentStatus
from partner_audit.assessments.tables import Assessment
from partner_audit.devices.schemas import BreachStatus, DeviceKind, DeviceStatus, IncidentKind
from partner_audit.devices.tables import Attestation, BreachAssessment, Device, Incident
from partner_audit.outbox.tables import OutboxMessage
from partner_audit.piccolo_app import APP_CONFIG, TABLES
from partner_audit.providers.schemas import ProviderKind, ProviderStatus, Region
from partner_audit.providers.tables import Provider
from partner_audit.security.caller import Role
from partner_audit.security.tables import User

PICCOLO = shutil.which("piccolo", path=str(Path(sys.executable).parent))


def bare_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A process environment with only the settings under test (none of the developer's own PA_* variables)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PA_")}
    return {**env, "PA_VAR_DIR": str(tmp_path / "var"), "PICCOLO_CONF": "partner_audit.piccolo_conf", **extra}


# --- transactions ----------------------------------------------------------------------------------


def test_a_nested_transaction_joins_the_outer_one(run: Any) -> None:
    async def nest() -> tuple[Any, Any, Any]:
        async with db.transaction() as outer:
            async with db.transaction() as inner:
                return outer, inner, db.engine().current_transaction.get()

    outer, inner, current = run(nest)
    assert current is not None
    assert outer is current and inner is current


def test_a_failure_inside_a_nested_transaction_undoes_the_outer_ones_writes(run: Any) -> None:
    class Stop(Exception):
        pass

    async def write_then_fail() -> None:
        async with db.transaction():
            await OutboxMessage.insert(OutboxMessage(to_address="a@example.govt.nz", subject="s", body="b")).run()
            async with db.transaction():
                raise Stop

    with pytest.raises(Stop):
        run(write_then_fail)
    assert run(lambda: OutboxMessage.count().run()) == 0


def test_on_sqlite_the_outermost_transaction_takes_the_write_lock_before_any_query(tmp_path: Path) -> None:
    path = tmp_path / "lock.sqlite3"
    db.bind(db.engine_from_url(f"sqlite:///{path}"), TABLES)

    def another_writer_is_refused() -> bool:
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            return "locked" in str(exc)
        else:
            other.execute("ROLLBACK")
            return False
        finally:
            other.close()

    async def hold() -> tuple[bool, bool, Any]:
        async with db.transaction() as outer:
            locked = another_writer_is_refused()
            async with db.transaction():
                still_locked = another_writer_is_refused()
            return locked, still_locked, outer.transaction_type

    locked, still_locked, transaction_type = asyncio.run(hold())
    assert transaction_type is TransactionType.immediate
    assert locked and still_locked
    assert not another_writer_is_refused()  # and lets go when it ends


def test_on_sqlite_writers_of_every_process_take_turns_and_a_cancelled_one_leaves_no_lock(tmp_path: Path) -> None:
    """Two started engines on one file stand for two processes: while one writes, the other's turn (the ``flock``
    on the file beside the database) is taken, so it waits without asking SQLite; a writer cancelled while it
    waits for its turn holds nothing afterwards."""
    url = f"sqlite:///{tmp_path / 'turns.sqlite3'}"
    turns = tmp_path / "turns.sqlite3.writers"

    def turn_is_free() -> bool:
        fd = os.open(turns, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return True
        finally:
            os.close(fd)

    async def work() -> tuple[list[str], bool, bool]:
        first, second = db.engine_from_url(url), db.engine_from_url(url)
        await db.start(first)
        await db.start(second)
        order: list[str] = []
        try:
            async def write(engine: Any, name: str, hold: float) -> None:
                async with engine.transaction(transaction_type=TransactionType.immediate):
                    order.append(f"{name} writes")
                    await asyncio.sleep(hold)
                    order.append(f"{name} done")

            holder = asyncio.create_task(write(first, "first", 0.3))
            await asyncio.sleep(0.05)
            taken_while_writing = not turn_is_free()
            waiter = asyncio.create_task(write(second, "cancelled", 0))
            await asyncio.sleep(0.05)
            waiter.cancel()
            await asyncio.gather(waiter, return_exceptions=True)
            await write(second, "second", 0)
            await holder
            return order, taken_while_writing, turn_is_free()
        finally:
            await db.stop(first)
            await db.stop(second)

    order, taken_while_writing, free_after = asyncio.run(work())
    assert order == ["first writes", "first done", "second writes", "second done"]
    assert taken_while_writing and free_after


# --- the configuration module ----------------------------------------------------------------------


def test_importing_piccolo_conf_writes_nothing(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", "import partner_audit.piccolo_conf"], env=bare_env(tmp_path),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "var").exists(), sorted(p.name for p in (tmp_path / "var").iterdir())


def test_binding_an_engine_leaves_piccolo_conf_alone_and_piccolo_finds_that_engine(tmp_path: Path) -> None:
    script = f"""
import sys
from piccolo.engine.finder import engine_finder
from partner_audit import db
from partner_audit.piccolo_app import TABLES

engine = db.engine_from_url({f"sqlite:///{tmp_path / 'bound.sqlite3'}"!r})
db.bind(engine, TABLES)
assert "partner_audit.piccolo_conf" not in sys.modules, "db imports piccolo_conf"
assert engine_finder() is engine, "Piccolo's tooling would use another engine"
"""
    result = subprocess.run([sys.executable, "-c", script], env=bare_env(tmp_path), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr


def test_the_piccolo_command_migrates_the_configured_database_without_making_a_secret_key(
        tmp_path: Path, empty_database: Database) -> None:
    assert PICCOLO, f"the piccolo command is not installed next to {sys.executable}"
    result = subprocess.run([PICCOLO, "migrations", "forwards", "partner_audit"],
                            env=bare_env(tmp_path, PA_DATABASE_URL=empty_database.url),
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {t._meta.tablename for t in TABLES} <= set(catalogue(empty_database))
    assert not (tmp_path / "var" / "secret_key").exists()


# --- columns and migrations ------------------------------------------------------------------------

ENUMERATED_COLUMNS: list[tuple[Column, type[Enum]]] = [
    (Provider.kind, ProviderKind), (Provider.region, Region), (Provider.status, ProviderStatus),
    (User.role, Role), (Assessment.status, AssessmentStatus),
    (Device.kind, DeviceKind), (Device.status, DeviceStatus), (Incident.kind, IncidentKind),
    (BreachAssessment.status, BreachStatus),
]


@pytest.mark.parametrize(("column", "enum"), ENUMERATED_COLUMNS,
                         ids=[f"{c._meta.table._meta.tablename}.{c._meta.name}" for c, _ in ENUMERATED_COLUMNS])
def test_an_enumerated_column_names_its_choices(column: Column, enum: type[Enum]) -> None:
    assert column._meta.choices is enum


def test_an_attestation_names_its_methods() -> None:
    from partner_audit.devices.schemas import AttestationMethod

    assert Attestation.method._meta.choices is AttestationMethod


def test_the_migrations_match_the_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """What `piccolo migrations new --auto` would write next: nothing, or a table and its migrations disagree.

    Replayed as on PostgreSQL, whatever engine an earlier test left bound: on SQLite one migration rebuilds the
    evidence table by hand (SQLite cannot alter a column), a step Piccolo's record of the schema cannot follow."""
    monkeypatch.setenv("PICCOLO_CONF", "partner_audit.piccolo_conf")
    monkeypatch.setattr(db, "bound_engine", lambda: PostgresEngine(config={}))
    statements = asyncio.run(AutoMigrationManager().get_alter_statements(app_config=APP_CONFIG))
    assert [s.statements for s in statements if s.statements] == []


def test_every_migration_says_what_it_does() -> None:
    modules = BaseMigrationManager().get_migration_modules(str(db.MIGRATIONS_DIR))
    assert modules
    for migration_id, module in modules.items():
        description = module.DESCRIPTION
        assert isinstance(description, str) and len(description.split()) >= 3 and description != "True", migration_id


# --- provider statuses -----------------------------------------------------------------------------


def test_every_provider_status_is_either_engaged_or_disengaged() -> None:
    from partner_audit.providers.schemas import DISENGAGED_STATUSES, ENGAGED_STATUSES

    assert ENGAGED_STATUSES == {ProviderStatus.onboarding, ProviderStatus.active}
    assert DISENGAGED_STATUSES == {ProviderStatus.suspended, ProviderStatus.exited}
    assert ENGAGED_STATUSES | DISENGAGED_STATUSES == set(ProviderStatus)
