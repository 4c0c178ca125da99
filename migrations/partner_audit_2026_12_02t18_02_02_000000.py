"""Triggers that refuse UPDATE and DELETE on the access log's two tables, on SQLite and PostgreSQL alike.

They stop the service, a script or a person at a SQL prompt from changing the log by accident or on a whim; they do
not stop someone who may drop triggers (that is what the MACs, the seals and the checkpoint are for).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-02T18:02:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "Triggers refuse UPDATE and DELETE on the access log's entries and seals"

TABLES = ("access_log_entry", "access_log_seal")

POSTGRES = [
    """CREATE FUNCTION access_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the access log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END $$""",
    *(f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION access_log_refuse_change()""" for table in TABLES),
]

SQLITE = [
    f"""CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table}
    BEGIN SELECT RAISE(ABORT, 'the access log is append-only: {op} on {table} refused'); END"""
    for table in TABLES for op in ("UPDATE", "DELETE")
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="partner_audit", description=DESCRIPTION)

    async def create_triggers() -> None:
        engine = engine_finder()
        for statement in SQLITE if engine.engine_type == "sqlite" else POSTGRES:
            await engine.run_ddl(statement)

    manager.add_raw(create_triggers)
    return manager
