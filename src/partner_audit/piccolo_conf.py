"""Piccolo's configuration module, used by its migration tooling (``PICCOLO_CONF=partner_audit.piccolo_conf``).

``DB`` is replaced by ``db.bind()`` whenever the app or a command picks its engine.
"""

from piccolo.conf.apps import AppRegistry

from partner_audit.db import engine_from_url
from partner_audit.settings import load_settings

DB = engine_from_url(load_settings().database_url)
APP_REGISTRY = AppRegistry(apps=["partner_audit.piccolo_app"])
