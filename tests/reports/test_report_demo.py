"""The issue's check, as the partnerships team would make it: the demo loaded, the report of the last complete
quarter made over the API as JSON and as a workbook, the workbook read back with openpyxl (every figure equal to
the JSON's), then opened in a real LibreOffice and made a PDF (``soffice --headless --convert-to pdf``), and the
PDF's pages rendered (poppler's ``pdftoppm``) to see the charts drawn. On SQLite and PostgreSQL.

How the charts are seen: each chart's series has a colour used nowhere else in the workbook (``xlsx.VERIFIED_LINE``
and ``SELF_LINE`` for the trend's lines, ``QUARTER_BARS`` for this quarter's incidents); the rendered pages must
hold a few dozen pixels of the lines' colours (where the two lines meet, the verified one hides the other) and of
the bars' (bars and legend keys: a quarter without incidents still draws its chart and legend). The same workbook with its charts taken out is rendered too and must hold none of them, so the check
fails when the charts are missing."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook

from partner_audit import demo
from partner_audit.reports import xlsx
from partner_audit.reports.aggregation import KIND_LABELS
from partner_audit.reports.quarters import Quarter
from partner_audit.security.csrf import token_for_session
from partner_audit.security.middleware import SESSION_COOKIE
from tests.support.reports import assert_workbook_matches, rows_below
from tests.support.workbooks import coloured_pixels, libreoffice_pdf

ENOUGH = 20  # pixels: a line of a chart at 40 dpi is a few dozen; a stray glyph edge is not this colour


def _sign_in(client, email: str, password: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    secret = r.cookies[SESSION_COOKIE]
    client.cookies.clear()
    return {"Cookie": f"{SESSION_COOKIE}={secret}", "X-CSRF-Token": token_for_session(secret)}


CHART_COLOURS = {"verified line": xlsx.VERIFIED_LINE, "self-assessed line": xlsx.SELF_LINE,
                 "incident bars": xlsx.QUARTER_BARS}


def test_the_demos_quarterly_report_opens_in_libreoffice_with_its_charts_and_the_jsons_figures(
        client, run, settings, tmp_path):
    today = date.today()
    made = run(lambda: demo.load(settings, today))
    logins = {email: password for _, email, password in made.logins}
    email = f"partnerships@{demo.DEMO_DOMAIN}"
    partnerships = _sign_in(client, email, logins[email])
    quarter = Quarter.of(today).previous()  # the last complete quarter

    r = client.get(f"/api/v1/reports/quarterly/{quarter}", headers=partnerships)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["quarter"] == str(quarter) and report["audience"] == "full"
    # The demo gives the report something to show: scored providers, a trend, incidents.
    assert report["providers"] and any(p["verified"] is not None for p in report["providers"]), report["providers"]
    assert len([t for t in report["trend"] if t["median_verified"] is not None]) >= 2, report["trend"]
    assert report["incidents"], report
    # The committee's first look: the quarter's incidents of several kinds (demo.incidents), their breach
    # assessments decided, one against each clock's rule, and a device lost in the quarter.
    kinds = {i["kind"] for i in report["incidents"] if i["quarter"]}
    assert len(kinds) >= 3 and "near_miss" in kinds, report["incidents"]
    assert any(i["previous"] for i in report["incidents"]), "the quarter before has incidents too"
    breaches = report["breaches"]
    assert breaches["decided"] >= 1 and breaches["decided_on_time"] < breaches["decided"], breaches
    assert breaches["notifiable"] >= 1 and breaches["notified_on_time"] == breaches["notifiable"], breaches
    assert report["device_exceptions"]["lost_or_stolen"] >= 1, report["device_exceptions"]

    r = client.get(f"/api/v1/reports/quarterly/{quarter}/workbook", headers=partnerships)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == xlsx.MEDIA_TYPE
    assert r.headers["content-disposition"] == f'attachment; filename="quarterly-report-{quarter}.xlsx"'
    book = load_workbook(io.BytesIO(r.content))
    assert_workbook_matches(book, report)
    # Each provider's kind in the words the rest of the report uses, not the stored value.
    kinds_shown = {r["Kind"] for r in rows_below(book[xlsx.PROVIDERS], "Provider")}
    assert kinds_shown and kinds_shown <= set(KIND_LABELS.values()), kinds_shown

    workbook = tmp_path / f"quarterly-report-{quarter}.xlsx"
    workbook.write_bytes(r.content)
    pdf = libreoffice_pdf(workbook, tmp_path)
    assert pdf.read_bytes().startswith(b"%PDF")
    seen = coloured_pixels(pdf, CHART_COLOURS, tmp_path)
    assert seen["verified line"] + seen["self-assessed line"] >= ENOUGH, f"no trend chart in the PDF: {seen}"
    assert seen["incident bars"] >= ENOUGH, f"no chart of incidents in the PDF: {seen}"

    # The check can fail: the same workbook without its charts shows none of their colours.
    for sheet in book.worksheets:
        sheet._charts = []
    bare = tmp_path / "bare" / "no-charts.xlsx"
    bare.parent.mkdir()
    book.save(bare)
    unseen = coloured_pixels(libreoffice_pdf(bare, bare.parent), CHART_COLOURS, bare.parent)
    assert sum(unseen.values()) < ENOUGH, unseen
