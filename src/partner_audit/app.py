"""create_app(): the Litestar application, and the lifespan every process (the app, each command) runs in.

The app is two routers: the API at /api/v1 (every JSON controller; errors as problem+json) and the portal at /
(HTML pages; errors as pages for a browser). Both get the same app-level dependencies: ``caller`` (the signed-in
person), ``paging`` (``page`` and ``page_size``), ``settings`` and ``store``. A route is public only with
``opt=PUBLIC`` (security.middleware).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar, Router
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

from partner_audit import api, db, health, openapi, plaintext
from partner_audit.assessments import controller as assessments
from partner_audit.audits import controller as audits
from partner_audit.controls import controller as controls
from partner_audit.devices import controller as devices
from partner_audit.devices import pages as device_pages
from partner_audit.errors import PAGE_ERROR_HANDLERS, problem_details_plugin
from partner_audit.outbox import controller as outbox
from partner_audit.piccolo_app import TABLES
from partner_audit.providers import controller as providers
from partner_audit.reports import controller as reports
from partner_audit.security import controller as security
from partner_audit.security import access_log, tokens
from partner_audit.security.csrf import csrf_middleware
from partner_audit.security.middleware import (
    PUBLIC,
    SESSION_COOKIE,
    AuthenticationMiddleware,
    request_id_middleware,
    security_headers,
    signed_in_caller,
)
from partner_audit.settings import Settings, load_settings
from partner_audit.storage import evidence_store
from partner_audit.web import pages

SWAGGER_ASSETS = Path(importlib.util.find_spec("swagger_ui").submodule_search_locations[0]) / "static"  # type: ignore[index]


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="partner-audit",
        version="1",
        description=(
            "Privacy controls rolled out to contracted providers, self-assessed, audited and reported. "
            "Sign in with POST /api/v1/auth/login (the browser keeps the session cookie), or send "
            "'Authorization: Bearer TOKEN' with a token from POST /api/v1/me/tokens."
        ),
        # Each route's docstring is its description in the document (or its decorator's ``description=``).
        use_handler_docstrings=True,
        # The documentation is public; the routes it describes are not.
        openapi_router=Router(path="/schema", route_handlers=[], opt=PUBLIC, include_in_schema=False),
        render_plugins=[
            # /schema/openapi.json: Litestar's document completed with every error, file and form (openapi.py).
            openapi.DocumentJson(),
            pages.SwaggerPage(
                path="/",
                js_url="/static/swagger/swagger-ui-bundle.js",
                css_url="/static/swagger/swagger-ui.css",
                standalone_preset_js_url="/static/swagger/swagger-ui-standalone-preset.js",
                # Litestar's default favicon is on a CDN; the page must work with no internet access.
                favicon="<link rel='icon' type='image/png' href='/static/swagger/favicon-32x32.png'>",
            )
        ],
        components=Components(
            security_schemes={
                "session": SecurityScheme(type="apiKey", name=SESSION_COOKIE, security_scheme_in="cookie"),
                "token": SecurityScheme(type="http", scheme="bearer"),
            }
        ),
        security=[{"session": []}, {"token": []}],
    )


@asynccontextmanager
async def lifespan(settings: Settings, *, need_schema: bool = True) -> AsyncIterator[None]:
    """What a process needs from start to stop, for the app and every command alike: the keys of tokens and of the
    access log, every table bound to the engine from ``PA_DATABASE_URL``, its pool started, a schema that is up to
    date (a command that migrates asks for none) and the access log's sealer running; at the end the sealer seals
    what this process wrote and the pool stops."""
    tokens.configure(settings.secret_key)
    access_log.configure(settings.secret_key, evidence_store(settings))
    engine = db.engine_from_url(settings.database_url)
    db.bind(engine, TABLES)
    await db.start(engine)
    sealer: asyncio.Task[None] | None = None
    stop_sealing = asyncio.Event()
    schema_checked = False
    try:
        if need_schema:
            await db.require_current_schema()
            schema_checked = True
            if settings.access_log_seal_seconds:
                sealer = asyncio.create_task(access_log.keep_sealed(settings.access_log_seal_seconds, stop_sealing))
        yield
    finally:
        if sealer is not None:
            stop_sealing.set()
            await sealer
        if schema_checked:
            try:
                await access_log.seal()
            except Exception:  # stopping must not fail for it: the next process to start seals what is left
                logging.getLogger(__name__).exception("access log: the last seal before stopping failed")
        await db.stop(engine)


def _api() -> Router:
    return Router(path="/api/v1", route_handlers=[
        *security.ROUTERS,
        *providers.ROUTERS,
        *controls.ROUTERS,
        *assessments.ROUTERS,
        *devices.ROUTERS,
        *audits.ROUTERS,
        *reports.ROUTERS,
        *outbox.ROUTERS,
    ])


def _portal() -> Router:
    return Router(path="/", route_handlers=[*pages.ROUTERS, *device_pages.ROUTERS],
                  exception_handlers=PAGE_ERROR_HANDLERS)


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or load_settings()
    store = evidence_store(settings)

    def constant(it: object) -> Provide:
        return Provide(lambda: it, use_cache=True, sync_to_thread=False)

    return Litestar(
        route_handlers=[
            _api(),
            _portal(),
            health.HealthController,
            create_static_files_router(path="/static/swagger", directories=[SWAGGER_ASSETS], opt=PUBLIC,
                                       include_in_schema=False),
            create_static_files_router(path="/static/web", directories=[pages.STATIC], opt=PUBLIC,
                                       include_in_schema=False),
        ],
        # Forgery is refused before credentials are looked up: a forged request fails whoever's cookie it carries.
        middleware=[request_id_middleware, csrf_middleware(settings.public_url),
                    DefineMiddleware(AuthenticationMiddleware), plaintext.parameters_middleware],
        before_send=[security_headers],
        # problem+json for the API, and for whatever no route answers (a 404 or 405 anywhere).
        plugins=[problem_details_plugin()],
        dependencies={
            "caller": Provide(signed_in_caller, sync_to_thread=False),
            "paging": Provide(api.paging, sync_to_thread=False),
            "settings": constant(settings),
            "store": constant(store),
        },
        openapi_config=_openapi(),
        lifespan=[lambda _app: lifespan(settings)],
    )
