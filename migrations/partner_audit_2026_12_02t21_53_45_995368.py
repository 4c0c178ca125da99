from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from enum import Enum
from piccolo.columns.base import OnDelete
from piccolo.columns.base import OnUpdate
from piccolo.columns.column_types import ForeignKey
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-02T21:53:45:995368"
VERSION = "1.38.0"
DESCRIPTION = "Comment threads - the role each comment author wrote as, and the comment a reply answers"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="partner_audit", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="ReviewComment",
        tablename="review_comment",
        column_name="author_role",
        db_column_name="author_role",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 20,
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": Enum(
                "Role",
                {
                    "provider_user": "provider_user",
                    "provider_admin": "provider_admin",
                    "auditor": "auditor",
                    "partnerships": "partnerships",
                    "governance": "governance",
                    "admin": "admin",
                },
            ),
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="ReviewComment",
        tablename="review_comment",
        column_name="reply_to",
        db_column_name="reply_to",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": "self",
            "on_delete": OnDelete.cascade,
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

    return manager
