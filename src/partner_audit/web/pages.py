"""The front door: a sign-in page that points to the API and its browsable documentation.

Pages carry no inline script or style: their Content-Security-Policy (``security.middleware.PAGE_CSP``) allows
only files served from ``/static/web``.
"""

from __future__ import annotations

from html import escape
from importlib.resources import files
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.openapi.plugins import SwaggerRenderPlugin

from partner_audit.security.csrf import csrf_token
from partner_audit.security.middleware import PUBLIC

STATIC = Path(str(files("partner_audit.web").joinpath("static")))
_SIGN_IN = files("partner_audit.web").joinpath("templates/sign_in.html").read_text()


@get("/", opt=PUBLIC, include_in_schema=False)
async def sign_in_page() -> Response[str]:
    return Response(_SIGN_IN, media_type="text/html")


class SwaggerPage(SwaggerRenderPlugin):
    """Swagger UI at /schema without Litestar's inline script (which also inlines the whole schema) and style:
    the page loads the schema from /schema/openapi.json and starts Swagger UI from /static/web/schema.js."""

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        token = csrf_token(request)
        meta = f'<meta name="csrf-token" content="{escape(token)}">' if token else ""
        return f"""<!doctype html>
<html lang="en-NZ">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{escape(openapi_schema["info"]["title"])}</title>
  {self.favicon}
  {meta}
  <link rel="stylesheet" href="{self.css_url}">
  <link rel="stylesheet" href="/static/web/schema.css">
  <script src="{self.js_url}"></script>
  <script src="{self.standalone_preset_js_url}"></script>
  <script src="/static/web/schema.js" defer></script>
</head>
<body>
  <div id="swagger-container"></div>
</body>
</html>
""".encode()


ROUTERS = [sign_in_page]
