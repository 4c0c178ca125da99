"""Answers and evidence carried into the next period.

Answers gain ``carried_from`` (the accepted assessment an answer was carried from) and ``confirmed_at``/``_by``.
Evidence gains ``expires_on``, ``carried_from`` and ``carry_key`` (unique: a file is carried into an assessment
once), and ``storage_key`` stops being unique, since a carried row names the same stored file as the row it was
carried from.

SQLite can neither add a UNIQUE column nor drop a UNIQUE constraint, so there the evidence table is rebuilt with
its new shape (SQLite's documented way: make the new table, copy, drop the old, rename); PostgreSQL runs the
operations recorded below, which are also what Piccolo reads to know the schema when it writes later migrations.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.columns.base import OnDelete
from piccolo.columns.base import OnUpdate
from piccolo.columns.column_types import Date
from piccolo.columns.column_types import ForeignKey
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.column_types import UUID
from piccolo.columns.column_types import Varchar
from piccolo.columns.defaults.uuid import UUID4
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class Assessment(Table, tablename="assessment", schema=None):
    id = UUID(
        default=UUID4(),
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name=None,
        secret=False,
    )


class User(Table, tablename="app_user", schema=None):
    id = UUID(
        default=UUID4(),
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name=None,
        secret=False,
    )


ID = "2026-12-02T21:53:58:009152"
VERSION = "1.38.0"
DESCRIPTION = "Answers and evidence carried into the next period: carried_from and confirmation on answers; expiry, carried_from and a carry key on evidence, whose stored file several rows may now share"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="partner_audit", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="Answer",
        tablename="answer",
        column_name="carried_from",
        db_column_name="carried_from",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": Assessment,
            "on_delete": OnDelete.set_null,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="Answer",
        tablename="answer",
        column_name="confirmed_at",
        db_column_name="confirmed_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="Answer",
        tablename="answer",
        column_name="confirmed_by",
        db_column_name="confirmed_by",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": User,
            "on_delete": OnDelete.set_null,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="Evidence",
        tablename="evidence",
        column_name="carried_from",
        db_column_name="carried_from",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": Assessment,
            "on_delete": OnDelete.set_null,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="Evidence",
        tablename="evidence",
        column_name="carry_key",
        db_column_name="carry_key",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 80,
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": True,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="Evidence",
        tablename="evidence",
        column_name="expires_on",
        db_column_name="expires_on",
        column_class_name="Date",
        column_class=Date,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.alter_column(
        table_class_name="Evidence",
        tablename="evidence",
        column_name="storage_key",
        db_column_name="storage_key",
        params={"unique": False, "index": True},
        old_params={"unique": True, "index": False},
        column_class=Varchar,
        old_column_class=Varchar,
        schema=None,
    )

    if engine_finder().engine_type == "sqlite":
        manager.add_columns.add_columns = [c for c in manager.add_columns.add_columns if c.tablename != "evidence"]
        manager.alter_columns.alter_columns = [
            c for c in manager.alter_columns.alter_columns if c.tablename != "evidence"]
        manager.add_raw(_rebuild_evidence_on_sqlite)

    return manager


_EVIDENCE_COLUMNS = ('"id", "assessment", "question_id", "filename", "content_type", "size", "sha256", '
                     '"storage_key", "uploaded_by", "uploaded_at"')

SQLITE_REBUILD = [
    """CREATE TABLE "evidence_rebuilt" ("id" UUID PRIMARY KEY NOT NULL, """
    """"assessment" UUID NOT NULL REFERENCES "assessment" ("id") ON DELETE CASCADE ON UPDATE CASCADE, """
    """"question_id" VARCHAR(80) NOT NULL DEFAULT '', "filename" VARCHAR(255) NOT NULL DEFAULT '', """
    """"content_type" VARCHAR(120) NOT NULL DEFAULT '', "size" INTEGER NOT NULL DEFAULT 0, """
    """"sha256" VARCHAR(64) NOT NULL DEFAULT '', "storage_key" VARCHAR(200) NOT NULL DEFAULT '', """
    """"uploaded_by" UUID REFERENCES "app_user" ("id") ON DELETE CASCADE ON UPDATE CASCADE, """
    """"uploaded_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp, "expires_on" DATE, """
    """"carried_from" UUID REFERENCES "assessment" ("id") ON DELETE SET NULL ON UPDATE CASCADE, """
    """"carry_key" VARCHAR(80) UNIQUE)""",
    f'INSERT INTO "evidence_rebuilt" ({_EVIDENCE_COLUMNS}) SELECT {_EVIDENCE_COLUMNS} FROM "evidence"',
    'DROP TABLE "evidence"',
    'ALTER TABLE "evidence_rebuilt" RENAME TO "evidence"',
    'CREATE INDEX evidence_assessment ON "evidence" ("assessment")',
    'CREATE INDEX evidence_storage_key ON "evidence" ("storage_key")',
]


async def _rebuild_evidence_on_sqlite() -> None:
    engine = engine_finder()
    for statement in SQLITE_REBUILD:
        await engine.run_ddl(statement)
