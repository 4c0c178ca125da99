"""Exports of the device register and of one holder's history as .xlsx and .csv, on SQLite and PostgreSQL:
text a spreadsheet would run is neutralised (checked in a real workbook, and in LibreOffice when installed),
holder details only for those who may see them, a provider's people only their own provider's devices, and
every export in the access log."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from partner_audit.security.tables import AccessLogEntry

HOSTILE = {"serial": "=1+1", "make": "+SUM(A1)", "model": "-2+3", "notes": "@cmd|' /C calc'!A0"}
HOSTILE_HOLDER = "=HYPERLINK(\"http://evil.example\",\"click\")"


def check_out(world, tag: str, provider: dict[str, Any], name: str, email: str, **device: Any) -> dict[str, Any]:
    d = world.partnerships.post("/api/v1/devices", json={"asset_tag": tag, "kind": "phone", **device}).json()
    r = world.partnerships.post(f"/api/v1/devices/{d['id']}/check-out", json={
        "provider_id": str(provider["id"]), "holder_name": name, "holder_email": email, "purpose": "Visits",
        "holder_phone": "+64 21 555 0101", "systems": ["Case notes", "Email"], "starts_on": "2025-01-06"})
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def register(world) -> dict[str, Any]:
    """A's device held by a holder whose name is a formula, B's device, and one in stock."""
    a = check_out(world, "A-HOSTILE", world.provider_a, HOSTILE_HOLDER, "ana@a.example", **HOSTILE)
    b = check_out(world, "B-PHONE", world.provider_b, "Bea Holder", "bea@b.example", notes="\tTabbed")
    world.partnerships.post("/api/v1/devices", json={"asset_tag": "STOCK-1", "kind": "tablet"})
    return {"a": a, "b": b}


def export(api, fmt: str, **params: Any):
    return api.get("/api/v1/devices/export", params={"format": fmt, **params})


def xlsx_rows(content: bytes) -> list[list[Any]]:
    book = load_workbook(io.BytesIO(content))
    return [[c.value for c in row] for row in book.worksheets[0].iter_rows()]


def csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "a BOM, so Excel reads UTF-8"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def by_tag(rows: list[list[Any]]) -> dict[str, dict[str, Any]]:
    header = rows[0]
    return {row[0]: dict(zip(header, row)) for row in rows[1:]}


def test_cells_a_spreadsheet_would_run_are_neutralised_in_a_real_workbook(world, register):
    world.partnerships.post("/api/v1/devices", json={"asset_tag": "CR-1", "kind": "other", "notes": "\rReturned"})
    r = export(world.partnerships, "xlsx")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert 'filename="device-register-' in r.headers["content-disposition"]
    book = load_workbook(io.BytesIO(r.content))
    sheet = book.worksheets[0]
    cells = [c for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"], "no cell is a formula"
    row = by_tag(xlsx_rows(r.content))["A-HOSTILE"]
    assert row["Serial Number"] == "'=1+1" and row["Make"] == "'+SUM(A1)" and row["Model"] == "'-2+3"
    assert row["Notes"] == "'@cmd|' /C calc'!A0" and row["Holder Name"] == "'" + HOSTILE_HOLDER
    assert by_tag(xlsx_rows(r.content))["B-PHONE"]["Notes"] == "'\tTabbed"
    # XML keeps no carriage return: the workbook holds a line feed, still behind the apostrophe.
    assert by_tag(xlsx_rows(r.content))["CR-1"]["Notes"] == "'\nReturned"
    assert row["Holder Phone"] == "'+64 21 555 0101"
    assert row["Assigned On"].date().isoformat() == "2025-01-06", "dates stay dates"


def test_cells_are_neutralised_in_csv_too(world, register):
    world.partnerships.post("/api/v1/devices", json={"asset_tag": "CR-1", "kind": "other", "notes": "\rReturned"})
    r = export(world.partnerships, "csv")
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"  # the charset once
    row = by_tag(csv_rows(r.content))["A-HOSTILE"]
    assert row["Serial Number"] == "'=1+1" and row["Holder Name"] == "'" + HOSTILE_HOLDER
    assert row["Encrypted"] == "no" and row["Assigned On"] == "2025-01-06"
    assert by_tag(csv_rows(r.content))["CR-1"]["Notes"] == "'\rReturned"


def test_libreoffice_shows_the_text_and_runs_nothing(world, register, tmp_path):
    binary = shutil.which("soffice") or shutil.which("libreoffice")
    if binary is None:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc-nogui)")
    source = tmp_path / "register.xlsx"
    source.write_bytes(export(world.partnerships, "xlsx").content)
    out = tmp_path / "lo"
    subprocess.run([binary, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless", "--convert-to",
                    "csv", "--outdir", str(out), str(source)], check=True, capture_output=True, timeout=180)
    converted = list(csv.reader(io.StringIO((out / "register.csv").read_text(encoding="utf-8", errors="replace"))))
    row = by_tag(converted)["A-HOSTILE"]
    # Had LibreOffice run them, these would read 2, 1 and a link's text.
    assert row["Serial Number"] == "'=1+1" and row["Model"] == "'-2+3"
    assert row["Holder Name"] == "'" + HOSTILE_HOLDER


def test_an_export_imports_again_as_unchanged(world, register):
    for fmt, name in (("xlsx", "register.xlsx"), ("csv", "register.csv")):
        content = export(world.partnerships, fmt).content
        r = world.partnerships.post("/api/v1/devices/import", params={"dry_run": "true"},
                                    files={"file": (name, content, "application/octet-stream")})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["errors"] == [] and body["ignored_columns"] == []
        assert {(c["asset_tag"], c["action"], c["assignment"]) for c in body["changes"]} == {
            ("A-HOSTILE", "unchanged", "keep"), ("B-PHONE", "unchanged", "keep"), ("STOCK-1", "unchanged", "none")}


def test_holder_details_only_for_those_who_may_see_them(world, register):
    agency = by_tag(xlsx_rows(export(world.partnerships, "xlsx").content))
    assert agency["B-PHONE"]["Holder Email"] == "bea@b.example" and set(agency) == {"A-HOSTILE", "B-PHONE",
                                                                                  "STOCK-1"}
    for who in ("auditor", "provider_user"):
        r = export(world.people[who], "csv")
        assert r.status_code == 200, r.text
        rows = csv_rows(r.content)
        assert "Holder Name" not in rows[0] and "Holder Email" not in rows[0]
        assert "ana@a.example" not in r.text and "bea@b.example" not in r.text
    own = by_tag(csv_rows(export(world.provider_admin, "csv").content))
    assert set(own) == {"A-HOSTILE"} and own["A-HOSTILE"]["Holder Email"] == "ana@a.example"
    assert export(world.governance, "csv").status_code == 403


def test_a_providers_people_export_only_their_providers_devices(world, register):
    for who in ("provider_user", "provider_admin"):
        r = export(world.people[who], "csv")
        assert set(by_tag(csv_rows(r.content))) == {"A-HOSTILE"}
        assert "B-PHONE" not in r.text and "Provider B Trust" not in r.text
        asked = export(world.people[who], "csv", provider_id=str(world.provider_b["id"]))
        assert asked.status_code == 200 and by_tag(csv_rows(asked.content)) == {}


def test_a_holders_history_and_who_may_export_it(world, register):
    device_id = register["a"]["device_id"]
    world.partnerships.post(f"/api/v1/devices/{device_id}/check-in", json={
        "returned_on": "2025-02-01", "condition": "good", "data_wiped": True, "wiped_by": "IT desk"})
    world.partnerships.post(f"/api/v1/devices/{device_id}/check-out", json={
        "provider_id": str(world.provider_a["id"]), "holder_name": "Ana Lee", "holder_email": "ANA@a.example",
        "purpose": "Visits", "starts_on": "2025-03-01"})
    r = world.partnerships.get("/api/v1/devices/export/history", params={"holder_email": "ana@a.example"})
    assert r.status_code == 200, r.text
    rows = xlsx_rows(r.content)
    assert [(row[0], str(row[12])[:10], row[15], row[16]) for row in rows[1:]] == [
        ("A-HOSTILE", "2025-03-01", None, None), ("A-HOSTILE", "2025-01-06", "good", "yes")]
    csv_history = world.provider_admin.get("/api/v1/devices/export/history",
                                           params={"holder_email": "ana@a.example", "format": "csv"})
    assert len(csv_rows(csv_history.content)) == 3
    foreign = world.provider_admin.get("/api/v1/devices/export/history", params={"holder_email": "bea@b.example"})
    assert foreign.status_code == 200 and xlsx_rows(foreign.content)[1:] == [], "B's holder is not A's to see"
    for who in ("provider_user", "auditor", "governance"):
        r = world.people[who].get("/api/v1/devices/export/history", params={"holder_email": "ana@a.example"})
        assert r.status_code == 403, (who, r.text)
    bad = world.partnerships.get("/api/v1/devices/export/history", params={"holder_email": "not an email"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "holder_email"


def test_every_export_is_in_the_access_log(world, register):
    export(world.partnerships, "csv")
    export(world.provider_user, "xlsx")
    world.partnerships.get("/api/v1/devices/export/history", params={"holder_email": "bea@b.example"})
    log = world.run(lambda: AccessLogEntry.select().where(AccessLogEntry.action.is_in(
        ["device.export", "assignment.history_export"])).order_by(AccessLogEntry.seq).run())
    assert [(e["action"], e["email"], e["detail"]) for e in log] == [
        ("device.export", "partnerships@example.org", "csv: 3 devices"),
        ("device.export", "provider.user@example.org", "xlsx: 1 devices, holder details left out"),
        ("assignment.history_export", "partnerships@example.org", "xlsx: 1 assignments of one holder")]
    reads = world.run(lambda: AccessLogEntry.select().where(AccessLogEntry.action == "assignment.holder_read",
                                                            AccessLogEntry.detail.is_in(
        ["device.export", "assignment.history_export"])).run())
    assert sorted((r["email"], r["detail"]) for r in reads) == [
        ("partnerships@example.org", "assignment.history_export"),
        ("partnerships@example.org", "device.export"), ("partnerships@example.org", "device.export")]


def test_the_command_line_exports(world, register, settings, tmp_path: Path):
    import os
    import sys

    env = {**os.environ, "PA_DATABASE_URL": settings.database_url, "PA_VAR_DIR": str(settings.var_dir),
           "PA_SECRET_KEY": settings.secret_key}
    out = tmp_path / "register.csv"
    done = subprocess.run([sys.executable, "-m", "partner_audit.cli", "export", "devices", str(out)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert f"wrote 3 devices to {out}" in done.stdout
    assert by_tag(csv_rows(out.read_bytes()))["B-PHONE"]["Holder Email"] == "bea@b.example"
    wrong = subprocess.run([sys.executable, "-m", "partner_audit.cli", "export", "devices", str(tmp_path / "x.pdf")],
                           env=env, capture_output=True, text=True, timeout=120, check=False)
    assert wrong.returncode == 2 and "name the file .xlsx or .csv" in wrong.stderr
