from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from enum import Enum
from piccolo.columns.column_types import Varchar

ID = "2026-12-02T03:26:18:264685"
VERSION = "1.38.0"
DESCRIPTION = "Enumerated columns name their choices (the database schema does not change)"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="partner_audit", description=DESCRIPTION
    )

    manager.alter_column(
        table_class_name="Provider",
        tablename="provider",
        column_name="kind",
        db_column_name="kind",
        params={
            "choices": Enum(
                "ProviderKind",
                {
                    "iwi_maori": "iwi_maori",
                    "ngo": "ngo",
                    "contractor": "contractor",
                    "other": "other",
                },
            )
        },
        old_params={"choices": None},
        column_class=Varchar,
        old_column_class=Varchar,
        schema=None,
    )

    manager.alter_column(
        table_class_name="Provider",
        tablename="provider",
        column_name="region",
        db_column_name="region",
        params={
            "choices": Enum(
                "Region",
                {
                    "northland": "Northland",
                    "auckland": "Auckland",
                    "waikato": "Waikato",
                    "bay_of_plenty": "Bay of Plenty",
                    "gisborne": "Gisborne",
                    "hawkes_bay": "Hawke's Bay",
                    "taranaki": "Taranaki",
                    "manawatu_whanganui": "Manawatū-Whanganui",
                    "wellington": "Wellington",
                    "tasman": "Tasman",
                    "nelson": "Nelson",
                    "marlborough": "Marlborough",
                    "west_coast": "West Coast",
                    "canterbury": "Canterbury",
                    "otago": "Otago",
                    "southland": "Southland",
                    "national": "National",
                },
            )
        },
        old_params={"choices": None},
        column_class=Varchar,
        old_column_class=Varchar,
        schema=None,
    )

    manager.alter_column(
        table_class_name="Provider",
        tablename="provider",
        column_name="status",
        db_column_name="status",
        params={
            "choices": Enum(
                "ProviderStatus",
                {
                    "onboarding": "onboarding",
                    "active": "active",
                    "suspended": "suspended",
                    "exited": "exited",
                },
            )
        },
        old_params={"choices": None},
        column_class=Varchar,
        old_column_class=Varchar,
        schema=None,
    )

    manager.alter_column(
        table_class_name="User",
        tablename="app_user",
        column_name="role",
        db_column_name="role",
        params={
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
            )
        },
        old_params={"choices": None},
        column_class=Varchar,
        old_column_class=Varchar,
        schema=None,
    )

    manager.alter_column(
        table_class_name="Assessment",
        tablename="assessment",
        column_name="status",
        db_column_name="status",
        params={
            "choices": Enum(
                "AssessmentStatus",
                {
                    "not_started": "not_started",
                    "in_progress": "in_progress",
                    "submitted": "submitted",
                    "returned": "returned",
                    "accepted": "accepted",
                },
            )
        },
        old_params={"choices": None},
        column_class=Varchar,
        old_column_class=Varchar,
        schema=None,
    )

    manager.alter_column(
        table_class_name="Device",
        tablename="device",
        column_name="kind",
        db_column_name="kind",
        params={
            "choices": Enum(
                "DeviceKind",
                {
                    "laptop": "laptop",
                    "phone": "phone",
                    "tablet": "tablet",
                    "other": "other",
                },
            )
        },
        old_params={"choices": None},
        column_class=Varchar,
        old_column_class=Varchar,
        schema=None,
    )

    manager.alter_column(
        table_class_name="Device",
        tablename="device",
        column_name="status",
        db_column_name="status",
        params={
            "choices": Enum(
                "DeviceStatus",
                {
                    "in_stock": "in_stock",
                    "assigned": "assigned",
                    "in_repair": "in_repair",
                    "lost": "lost",
                    "stolen": "stolen",
                    "retired": "retired",
                },
            )
        },
        old_params={"choices": None},
        column_class=Varchar,
        old_column_class=Varchar,
        schema=None,
    )

    manager.alter_column(
        table_class_name="Attestation",
        tablename="attestation",
        column_name="method",
        db_column_name="method",
        params={
            "choices": Enum(
                "AttestationMethod", {"link": "link", "in_person": "in_person"}
            )
        },
        old_params={"choices": None},
        column_class=Varchar,
        old_column_class=Varchar,
        schema=None,
    )

    manager.alter_column(
        table_class_name="Incident",
        tablename="incident",
        column_name="kind",
        db_column_name="kind",
        params={
            "choices": Enum(
                "IncidentKind",
                {
                    "lost": "lost",
                    "stolen": "stolen",
                    "damaged": "damaged",
                    "misuse": "misuse",
                    "near_miss": "near_miss",
                },
            )
        },
        old_params={"choices": None},
        column_class=Varchar,
        old_column_class=Varchar,
        schema=None,
    )

    manager.alter_column(
        table_class_name="BreachAssessment",
        tablename="breach_assessment",
        column_name="status",
        db_column_name="status",
        params={
            "choices": Enum("BreachStatus", {"open": "open", "closed": "closed"})
        },
        old_params={"choices": None},
        column_class=Varchar,
        old_column_class=Varchar,
        schema=None,
    )

    return manager
