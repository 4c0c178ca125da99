"""The device holder's attestation page, reached from the link in their email: no account, no sign-in.

Plain server-rendered HTML with its style inline and no external assets, so it works on any phone or locked-down
laptop. It shows only the device and the holder of the link's own assignment. A link that is unknown, used,
expired or for a device already returned gets a page saying so in plain words, never an error trace or JSON.
"""

from __future__ import annotations

from html import escape

from litestar import Request, Response, get, post
from litestar.params import FromPath

from partner_audit.devices.services import attestations
from partner_audit.devices.services.attestations import LinkState, LinkView
from partner_audit.errors import Invalid
from partner_audit.security.middleware import PUBLIC, anonymous_caller

# The token is in the URL: never cached, never sent on as a referrer, never indexed; nothing loads from elsewhere.
# Never framed, so no other page can dress up the form; the form itself is refused from any page but this one
# (security.csrf checks Origin and Sec-Fetch-Site), and the token in the URL is what only the holder has.
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": ("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; "
                                "frame-ancestors 'none'"),
}
_STYLE = """
body { font: 17px/1.5 system-ui, sans-serif; max-width: 34rem; margin: 3rem auto; padding: 0 1rem; color: #1b1b1b; }
.device { background: #f3f5f7; border-radius: .4rem; padding: .8rem 1rem; }
label { display: flex; gap: .6rem; align-items: flex-start; margin-top: 1rem; }
input { margin-top: .35rem; transform: scale(1.3); }
button { margin-top: 1.5rem; padding: .7rem 1.4rem; font: inherit; }
.error { color: #a40000; }
.small { color: #555; font-size: .9rem; }
"""
_CANNOT = ("If you no longer have the device, or it has been used for anything else, do not confirm: tell your "
           "organisation's privacy lead or the agency's partnerships team today.")


def _page(title: str, body: str, status: int = 200) -> Response[str]:
    html = (f'<!doctype html>\n<html lang="en-NZ">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)} · partner-audit</title>\n<style>{_STYLE}</style>\n</head>\n"
            f"<body>\n<h1>{escape(title)}</h1>\n{body}\n</body>\n</html>\n")
    return Response(html, status_code=status, media_type="text/html", headers=HEADERS)


def _device(view: LinkView) -> str:
    model = f"<br>{escape(view.device)}" if view.device else ""
    return f'<p class="device">Asset tag <strong>{escape(view.asset_tag)}</strong>{model}</p>'


def _form(token: str, view: LinkView, error: str = "") -> Response[str]:
    message = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    expires = f"{view.expires_at:%d %B %Y}" if view.expires_at else ""
    return _page("Confirm you hold your agency device", f"""
<p>Kia ora {escape(view.holder_name)}. You hold this agency device:</p>
{_device(view)}
{message}
<form method="post" action="/attest/{escape(token)}">
  <label><input type="checkbox" name="holds_device" value="yes" required>
    <span>I still have this device in my possession.</span></label>
  <label><input type="checkbox" name="authorised_use_only" value="yes" required>
    <span>I use it only for the work it was issued for.</span></label>
  <button type="submit">Confirm</button>
</form>
<p class="small">{escape(_CANNOT)}</p>
<p class="small">This link works once, until {escape(expires)}.</p>""", 422 if error else 200)


def _state_page(view: LinkView) -> Response[str]:
    """Every answer but the form: thanks, or why the link no longer works and what to do."""
    if view.state is LinkState.recorded:
        return _page("Thank you", f"""
{_device(view)}
<p>Your confirmation was recorded on {view.used_at:%d %B %Y at %H:%M} UTC. You can close this page.</p>""")
    if view.state is LinkState.used:
        return _page("This link has already been used", f"""
{_device(view)}
<p>A confirmation was recorded with this link on {view.used_at:%d %B %Y}. Nothing more is needed.</p>
<p class="small">If that was not you, tell the agency's partnerships team.</p>""", 410)
    if view.state is LinkState.expired:
        return _page("This link has expired", f"""
<p>The link expired on {view.expires_at:%d %B %Y}. Ask the agency's partnerships team to send you a new one.</p>
<p class="small">{escape(_CANNOT)}</p>""", 410)
    if view.state is LinkState.closed:
        return _page("Nothing to confirm", """
<p>This device has been returned to the agency, so there is nothing to confirm. Thank you.</p>""", 410)
    return _page("This link is not valid", """
<p>We do not recognise this link. Check that you opened the whole link from the email; if it still does not
work, ask the agency's partnerships team to send you a new one.</p>""", 404)


@get("/attest/{token:str}", opt=PUBLIC, include_in_schema=False)
async def attestation_page(token: FromPath[str]) -> Response[str]:
    view = await attestations.view_link(token)
    return _form(token, view) if view.state is LinkState.open else _state_page(view)


@post("/attest/{token:str}", opt=PUBLIC, include_in_schema=False)
async def attest(request: Request, token: FromPath[str]) -> Response[str]:
    form = await request.form()
    try:
        view = await attestations.attest_by_link(
            anonymous_caller(request), token, form.get("holds_device") == "yes",
            form.get("authorised_use_only") == "yes")
    except Invalid as exc:
        view = await attestations.view_link(token)
        return _form(token, view, exc.detail) if view.state is LinkState.open else _state_page(view)
    return _state_page(view)


ROUTERS = [attestation_page, attest]
