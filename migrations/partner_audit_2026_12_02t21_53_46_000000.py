"""Comments written before comments had an author role were all reviewers' (only auditors and admins could comment):
they take their author's role, so the questions those reviewers raised show as raised."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-02T21:53:46:000000"
VERSION = "1.38.0"
DESCRIPTION = "Earlier review comments take their author's role"

# Plain SQL both databases run alike. A separate migration, as Piccolo runs a migration's raw steps before its
# added columns exist.
BACKFILL = """UPDATE review_comment SET author_role = (
    SELECT app_user.role FROM app_user WHERE app_user.id = review_comment.author
) WHERE author_role IS NULL AND author IS NOT NULL"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="partner_audit", description=DESCRIPTION)

    async def backfill() -> None:
        await engine_finder().run_ddl(BACKFILL)

    manager.add_raw(backfill)
    return manager
