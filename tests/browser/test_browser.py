"""In a real browser (Debian's Chromium, driven by Playwright): the sign-in page, the session it sets, and the
API documentation at /schema, all served by `partner-audit serve` with the demo data and no outside assets."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# As root, in a sandbox with no network: no sandboxing of its own, and no calls home.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.fixture
def page(tmp_path: Path):
    if CHROMIUM is None:
        pytest.skip("browser tests need Debian's chromium (apt-get install chromium); .ci/run installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context()
        outside: list[str] = []
        context.on("request", lambda r: None if r.url.startswith("http://127.0.0.1") else outside.append(r.url))
        yield context.new_page()
        context.close()
        browser.close()
        assert not outside, f"the pages fetched from outside the service: {outside}"


def test_sign_in_then_use_the_api_docs(served, page, tmp_path: Path) -> None:
    base, logins = served
    # Everything the pages need is allowed by their Content-Security-Policy: the browser reports nothing blocked.
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    email, (_, password) = next((e, v) for e, v in logins.items() if v[0] == "provider_admin")

    page.goto(f"{base}/")
    page.fill("#email", email)
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    page.wait_for_selector("#message.error")
    assert "do not match" in page.inner_text("#message")

    page.fill("#password", password)
    page.click("button[type=submit]")
    # A selector, not wait_for_function: the page's CSP forbids the eval that a JavaScript string would need.
    page.wait_for_selector("#message:text-matches('^Signed in as')")
    assert "(provider_admin)" in page.inner_text("#message")
    # The session cookie is HTTP-only: the page's scripts cannot read it, but the browser sends it.
    assert "pa_session" not in page.evaluate("document.cookie")
    me = page.request.get(f"{base}/api/v1/me")
    assert me.status == 200 and me.json()["email"] == email

    page.goto(f"{base}/schema")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "partner-audit" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-summary-path[data-path='/api/v1/providers']")
    page.screenshot(path=str(tmp_path / "schema.png"), full_page=False)

    # Evidence uploaded from /schema alone: the document gives the upload a form with a file picker, and the
    # page sends it with the session's CSRF token.
    assessment = next(a for a in page.request.get(f"{base}/api/v1/assessments").json()["items"]
                      if a["status"] in ("not_started", "in_progress", "returned"))
    template = page.request.get(f"{base}/api/v1/templates/{assessment['template_version_id']}").json()
    question = template["template"]["areas"][0]["controls"][0]["questions"][0]["id"]
    upload = page.locator("#operations-Evidence-ApiV1AssessmentsAssessmentIdEvidenceAttach")
    upload.locator(".opblock-summary").click()
    upload.locator("button.try-out__btn").click()
    upload.locator("tr[data-param-name='assessment_id'] input").fill(assessment["id"])
    form = upload.locator(".opblock-section-request-body")
    form.locator("tr[data-property-name='question_id'] input[type=text]").fill(question)
    # No expiry unless one is given (Swagger UI would otherwise offer today's date).
    assert form.locator("tr[data-property-name='expires_on'] input[type=text]").input_value() == ""
    pdf = tmp_path / "policy.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    form.locator("tr[data-property-name='file'] input[type=file]").set_input_files(str(pdf))
    upload.locator("button.execute").click()
    status = upload.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "201", upload.locator(".live-responses-table").inner_text()
    evidence = page.request.get(f"{base}/api/v1/assessments/{assessment['id']}").json()["evidence"]
    assert "policy.pdf" in [e["filename"] for e in evidence if e["question_id"] == question]
    assert not blocked, blocked
