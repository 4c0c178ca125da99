"""Piccolo's configuration module, read by its migration tooling (``PICCOLO_CONF=partner_audit.piccolo_conf``).

Importing it only names the app. ``DB`` is found when Piccolo asks for it: the engine ``db.bind()`` chose when
the service or a ``partner-audit`` command has bound one, otherwise (the ``piccolo`` command line) one engine
made from ``PA_DATABASE_URL``.
"""

from functools import cache

from piccolo.conf.apps import AppRegistry
from piccolo.engine.base import Engine

from partner_audit import db
from partner_audit.settings import load_database_url

APP_REGISTRY = AppRegistry(apps=["partner_audit.piccolo_app"])


@cache
def _engine_from_environment() -> Engine:
    return db.engine_from_url(load_database_url())


def __getattr__(name: str) -> Engine:
    if name != "DB":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    bound = db.bound_engine()
    return bound if bound is not None else _engine_from_environment()
