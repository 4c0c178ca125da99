from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T18:02:00:754731"
VERSION = "1.38.0"
DESCRIPTION = (
    "The hash-chained access_log table of the first releases goes: its chain could be cut or rewritten undetected, "
    "and no deployment holds entries worth keeping yet (the next migrations make its replacement)"
)


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="partner_audit", description=DESCRIPTION
    )

    manager.drop_table(
        class_name="AccessLogEntry", tablename="access_log", schema=None
    )

    return manager
