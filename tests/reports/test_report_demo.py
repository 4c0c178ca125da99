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
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from partner_audit import demo
from partner_audit.reports import xlsx
from partner_audit.reports.quarters import Quarter
from partner_audit.security.csrf import token_for_session
from partner_audit.security.middleware import SESSION_COOKIE
from tests.reports.report_fixture import assert_workbook_matches

# A series' colour, give or take what anti-aliasing and the PDF's colour handling do to it.
NEAR = 12
ENOUGH = 20  # pixels: a line of a chart at 40 dpi is a few dozen; a stray glyph edge is not this colour


def _sign_in(client, email: str, password: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    secret = r.cookies[SESSION_COOKIE]
    client.cookies.clear()
    return {"Cookie": f"{SESSION_COOKIE}={secret}", "X-CSRF-Token": token_for_session(secret)}


def _tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (apt-get install {package}); .ci/run installs it")
    return found


def to_pdf(path: Path, out_dir: Path) -> Path:
    """``path`` opened in a real LibreOffice and exported as PDF, as the issue asks; fails on any error."""
    binary = shutil.which("soffice") or shutil.which("libreoffice")
    if binary is None:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc-nogui); .ci/run installs it")
    profile = (out_dir / "profile").as_uri()  # its own profile: no clash with a LibreOffice already running
    result = subprocess.run([binary, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                             "--outdir", str(out_dir), str(path)], capture_output=True, text=True, timeout=180)
    pdf = out_dir / (path.stem + ".pdf")
    assert result.returncode == 0 and pdf.exists() and pdf.stat().st_size > 0, result.stdout + result.stderr
    return pdf


def coloured_pixels(pdf: Path, colours: dict[str, str], out_dir: Path) -> dict[str, int]:
    """How many pixels of each colour (hex RGB) the PDF's pages hold, rendered at 40 dpi."""
    pdftoppm = _tool("pdftoppm", "poppler-utils")
    prefix = out_dir / "page"
    subprocess.run([pdftoppm, "-r", "40", str(pdf), str(prefix)], check=True, capture_output=True, timeout=120)
    targets = {name: tuple(int(hex_[i:i + 2], 16) for i in (0, 2, 4)) for name, hex_ in colours.items()}
    counts = dict.fromkeys(colours, 0)
    pages = sorted(out_dir.glob("page*.ppm"))
    assert pages, "pdftoppm rendered no page"
    for page in pages:
        magic, size, _, pixels = page.read_bytes().split(b"\n", 3)
        assert magic == b"P6", page
        width, height = map(int, size.split())
        assert len(pixels) == 3 * width * height
        rgb = list(zip(pixels[0::3], pixels[1::3], pixels[2::3], strict=True))
        for name, (r0, g0, b0) in targets.items():
            counts[name] += sum(1 for r, g, b in rgb if abs(r - r0) <= NEAR and abs(g - g0) <= NEAR
                                and abs(b - b0) <= NEAR)
        page.unlink()
    return counts


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

    r = client.get(f"/api/v1/reports/quarterly/{quarter}/workbook", headers=partnerships)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == xlsx.MEDIA_TYPE
    assert r.headers["content-disposition"] == f'attachment; filename="quarterly-report-{quarter}.xlsx"'
    book = load_workbook(io.BytesIO(r.content))
    assert_workbook_matches(book, report)

    workbook = tmp_path / f"quarterly-report-{quarter}.xlsx"
    workbook.write_bytes(r.content)
    pdf = to_pdf(workbook, tmp_path)
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
    unseen = coloured_pixels(to_pdf(bare, bare.parent), CHART_COLOURS, bare.parent)
    assert sum(unseen.values()) < ENOUGH, unseen
