"""create_app(): the Litestar application, assembled from each domain's routers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

from partner_audit import db, health, plaintext
from partner_audit.assessments import controller as assessments
from partner_audit.controls import controller as controls
from partner_audit.devices import controller as devices
from partner_audit.devices import pages as device_pages
from partner_audit.errors import problem_details_plugin
from partner_audit.outbox import controller as outbox
from partner_audit.piccolo_app import TABLES
from partner_audit.providers import controller as providers
from partner_audit.security import controller as security
from partner_audit.security import tokens
from partner_audit.security.csrf import csrf_middleware
from partner_audit.security.middleware import (
    SESSION_COOKIE,
    AuthenticationMiddleware,
    request_id_middleware,
    security_headers,
)
from partner_audit.settings import Settings, load_settings
from partner_audit.storage import evidence_store
from partner_audit.web import pages

SWAGGER_ASSETS = Path(importlib.util.find_spec("swagger_ui").submodule_search_locations[0]) / "static"  # type: ignore[index]

# Paths anyone may reach; everything else needs a session cookie or a bearer token.
PUBLIC_PATHS = ["^/schema", "^/health/", "^/static/", "^/$"]


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="partner-audit",
        version="1",
        description=(
            "Privacy controls rolled out to contracted providers, self-assessed, audited and reported. "
            "Sign in with POST /api/v1/auth/login (the browser keeps the session cookie), or send "
            "'Authorization: Bearer TOKEN' with a token from POST /api/v1/me/tokens."
        ),
        path="/schema",
        render_plugins=[
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


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or load_settings()
    tokens.configure(settings.secret_key)
    engine = db.engine_from_url(settings.database_url)
    store = evidence_store(settings)

    async def on_startup() -> None:
        db.bind(engine, TABLES)
        await db.start(engine)
        await db.require_current_schema()

    async def on_shutdown() -> None:
        await db.stop(engine)

    return Litestar(
        route_handlers=[
            health.HealthController,
            *security.ROUTERS,
            *providers.ROUTERS,
            *controls.ROUTERS,
            *assessments.ROUTERS,
            *devices.ROUTERS,
            *device_pages.ROUTERS,
            *outbox.ROUTERS,
            *pages.ROUTERS,
            create_static_files_router(path="/static/swagger", directories=[SWAGGER_ASSETS], opt={
                "exclude_from_auth": True}, include_in_schema=False),
            create_static_files_router(path="/static/web", directories=[pages.STATIC], opt={
                "exclude_from_auth": True}, include_in_schema=False),
        ],
        # Forgery is refused before credentials are looked up: a forged request fails whoever's cookie it carries.
        middleware=[request_id_middleware, csrf_middleware(settings.public_url),
                    DefineMiddleware(AuthenticationMiddleware, exclude=PUBLIC_PATHS),
                    plaintext.parameters_middleware],
        before_send=[security_headers],
        plugins=[problem_details_plugin()],
        dependencies={
            "settings": Provide(lambda: settings, use_cache=True, sync_to_thread=False),
            "store": Provide(lambda: store, use_cache=True, sync_to_thread=False),
        },
        state=State({"settings": settings, "store": store}),
        openapi_config=_openapi(),
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
    )
