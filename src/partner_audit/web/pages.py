"""The front door: a sign-in page that points to the API and its browsable documentation."""

from __future__ import annotations

from importlib.resources import files

from litestar import Response, get

_SIGN_IN = files("partner_audit.web").joinpath("templates/sign_in.html").read_text()


@get("/", opt={"exclude_from_auth": True}, include_in_schema=False)
async def sign_in_page() -> Response[str]:
    return Response(_SIGN_IN, media_type="text/html")


ROUTERS = [sign_in_page]
