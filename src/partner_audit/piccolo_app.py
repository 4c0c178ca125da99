"""Every table of every domain, registered once for Piccolo's migrations and for ``db.bind()``."""

from piccolo.conf.apps import AppConfig

from partner_audit.db import APP_NAME, MIGRATIONS_DIR
from partner_audit.providers.tables import Provider
from partner_audit.security.tables import AccessLogEntry, AccessToken, LoginAttempt, User

TABLES = [Provider, User, AccessToken, LoginAttempt, AccessLogEntry]

APP_CONFIG = AppConfig(
    app_name=APP_NAME,
    migrations_folder_path=str(MIGRATIONS_DIR),
    table_classes=TABLES,
)
