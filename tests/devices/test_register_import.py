"""Bulk import of the device register from real .xlsx (written by openpyxl) and .csv files, on SQLite and
PostgreSQL: header spellings, the dry run, all-or-nothing with one precise message per mistake, upserts on asset
tag, assignments checked out, kept, transferred and checked in, and who may import."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from typing import Any

from partner_audit.security.tables import AccessLogEntry
from tests.support.devices import csv_file, devices, import_file, xlsx_file
from tests.support.problems import is_problem

SNIPE_HEADERS = ["Asset Tag", "Serial", "Model", "Manufacturer", "Category", "Status", "Checked Out To", "Email",
                 "Provider", "Purpose", "Expected Checkin", "Notes", "Purchase Cost", "Location"]
TODAY = date.today()


def snipe_rows(world) -> list[list[Any]]:
    a = world.provider_a
    return [
        ["LT-001", "C02XK1", "MacBook Air", "Apple", "Laptops", "Ready to Deploy", None, None, None, None, None,
         "Spare charger", 1999.0, "Wellington"],
        ["PH-002", 35000123, "Galaxy A54", "Samsung", "Mobile Phones", "Deployed", "Mere Tawhiri",
         "Mere.Tawhiri@Provider-A.example", a["name"], "Home visits", TODAY + timedelta(days=90), None, 650,
         "Porirua"],
        ["TB-003", "DMPX", "iPad", "Apple", "Tablets", None, "Hemi Walker", "hemi@provider-a.example", a["nzbn"],
         "Field notes", f"{(TODAY + timedelta(days=30)):%d/%m/%Y}", None, None, None],
    ]


def test_a_snipe_it_export_is_previewed_then_imported(world):
    content = xlsx_file(SNIPE_HEADERS, snipe_rows(world))

    preview = import_file(world.partnerships, content, dry_run=True)
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["dry_run"] is True and body["applied"] is False and body["errors"] == []
    assert body["ignored_columns"] == ["Purchase Cost", "Location"]
    assert body["columns"]["holder_name"] == "Checked Out To" and body["columns"]["expected_return_on"] == \
        "Expected Checkin"
    assert [(c["row"], c["asset_tag"], c["action"], c["assignment"]) for c in body["changes"]] == [
        (2, "LT-001", "create", "none"), (3, "PH-002", "create", "check_out"), (4, "TB-003", "create", "check_out")]
    assert (body["created"], body["assignments"]["check_out"]) == (3, 2)
    assert devices(world) == {}, "a dry run changes nothing"

    applied = import_file(world.partnerships, content)
    assert applied.status_code == 200, applied.text
    assert applied.json()["applied"] is True and applied.json()["created"] == 3
    found = devices(world)
    assert found["LT-001"]["status"] == "in_stock" and found["LT-001"]["kind"] == "laptop"
    assert found["LT-001"]["make"] == "Apple" and found["LT-001"]["notes"] == "Spare charger"
    phone = found["PH-002"]
    assert phone["status"] == "assigned" and phone["kind"] == "phone" and phone["serial"] == "35000123"
    held = phone["current_assignment"]
    assert held["holder_name"] == "Mere Tawhiri" and held["holder_email"] == "mere.tawhiri@provider-a.example"
    assert held["provider_id"] == str(world.provider_a["id"]) and held["purpose"] == "Home visits"
    assert held["starts_on"] == TODAY.isoformat()
    assert held["expected_return_on"] == (TODAY + timedelta(days=90)).isoformat()
    tablet = found["TB-003"]["current_assignment"]
    assert tablet["expected_return_on"] == (TODAY + timedelta(days=30)).isoformat(), "day-first dates, as in NZ"
    log = world.run(lambda: AccessLogEntry.select().where(AccessLogEntry.action.is_in(
        ["device.import", "device.import_preview"])).order_by(AccessLogEntry.seq).run())
    assert [(e["action"], e["outcome"]) for e in log] == [("device.import_preview", "success"),
                                                          ("device.import", "success")]
    assert "created 3" in log[1]["detail"] and "check_out 2" in log[1]["detail"]


def done_when_file(world) -> bytes:
    """A bad date, a duplicate asset tag and an unknown provider, and two columns the import does not use."""
    a = world.provider_a["name"]
    return xlsx_file(SNIPE_HEADERS, [
        ["LT-001", "NEW-SERIAL", "MacBook Pro", "Apple", "Laptops", None, None, None, None, None, None, None, 1, "x"],
        ["PH-002", "S2", "Pixel", "Google", "Phones", None, "Ana Lee", "ana@a.example", a, "Visits", "31/02/2025",
         None, None, None],
        ["PH-003", "S3", "Pixel", "Google", "Phones", None, "Tui Rangi", "tui@a.example", "Acme Widgets Ltd",
         "Visits", None, None, None, None],
        ["LT-001", "S4", "ThinkPad", "Lenovo", "Laptops", None, None, None, None, None, None, None, None, None],
    ])


EXPECTED_PROBLEMS = [
    {"field": 'row 3, column "Expected Checkin"', "row": 3, "column": "Expected Checkin",
     "message": '"31/02/2025" is not a date'},
    {"field": 'row 4, column "Provider"', "row": 4, "column": "Provider",
     "message": 'no provider is named "Acme Widgets Ltd" or has that NZBN'},
    {"field": 'row 5, column "Asset Tag"', "row": 5, "column": "Asset Tag",
     "message": '"LT-001" is also on row 2: list each device once'},
]


def test_a_bad_date_a_duplicate_tag_and_an_unknown_provider_get_one_message_each_and_change_nothing(world):
    world.partnerships.post("/api/v1/devices", json={"asset_tag": "LT-001", "kind": "laptop", "serial": "OLD"})
    before = devices(world)
    content = done_when_file(world)

    preview = import_file(world.partnerships, content, dry_run=True)
    assert preview.status_code == 200, preview.text
    assert preview.json()["errors"] == EXPECTED_PROBLEMS
    assert preview.json()["ignored_columns"] == ["Purchase Cost", "Location"]
    assert [(c["asset_tag"], c["action"], c["changes"]) for c in preview.json()["changes"]] == [
        ("LT-001", "update", ["serial", "make", "model"])], "the rows that are right are previewed too"

    r = import_file(world.partnerships, content)
    assert r.status_code == 422, r.text
    assert is_problem(r)
    body = r.json()
    assert body["errors"] == EXPECTED_PROBLEMS and body["error_count"] == 3
    assert body["ignored_columns"] == ["Purchase Cost", "Location"]
    assert 'row 3, column "Expected Checkin": "31/02/2025" is not a date' in body["detail"]
    assert devices(world) == before, "nothing changed: the right rows were not applied either"
    refused = world.run(lambda: AccessLogEntry.select().where(AccessLogEntry.action == "device.import").run())
    assert [e["outcome"] for e in refused] == ["rejected"]


def test_csv_with_a_bom_semicolons_and_other_header_spellings(world):
    content = csv_file([
        ("asset_tag;SERIAL NUMBER;device-type;make;Encrypted;mdm;holder name;Holder_Email;holder phone;"
         "provider;role;purpose;systems;assigned on;expected return;Cost Centre"),
        (f"CS-1;A1;laptop;Dell;yes;Y;Aroha Ngata;aroha@a.example;+64 21 555 0101;{world.provider_a['nzbn']};"
         "Social worker;Case notes;\"Case management; Email\";2025-01-06;2026-01-06;CC-9"),
        "CS-2;A2;other;Dell;no;n;;;;;;;;;;CC-9",
    ])
    r = import_file(world.partnerships, content, "register.csv")
    assert r.status_code == 200, r.text
    assert r.json()["ignored_columns"] == ["Cost Centre"]
    found = devices(world)
    one = found["CS-1"]
    assert (one["encrypted"], one["mdm_enrolled"], one["kind"]) == (True, True, "laptop")
    held = one["current_assignment"]
    assert held["holder_phone"] == "+64 21 555 0101" and held["holder_role"] == "Social worker"
    assert held["systems"] == ["Case management", "Email"] and held["starts_on"] == "2025-01-06"
    assert found["CS-2"]["encrypted"] is False and found["CS-2"]["current_assignment"] is None


def test_a_windows_csv_in_cp1252_is_read(world):
    content = "Asset Tag,Device Type,Notes\r\nWN-1,laptop,Māori is not in cp1252 but é is\r\n".replace(
        "Māori is not in cp1252 but ", "café ").encode("cp1252")
    r = import_file(world.partnerships, content, "register.csv")
    assert r.status_code == 200, r.text
    assert devices(world)["WN-1"]["notes"] == "café é is"


def test_importing_again_upserts_keeps_transfers_and_checks_in(world):
    a, b = world.provider_a, world.provider_b
    first = xlsx_file(["Asset Tag", "Device Type", "Holder Name", "Holder Email", "Provider", "Purpose",
                       "Assigned On"], [
        ["K-1", "laptop", "Ana Lee", "ana@a.example", a["name"], "Visits", "2025-01-06"],
        ["K-2", "phone", "Tui Rangi", "tui@a.example", a["name"], "Visits", "2025-01-06"],
        ["K-3", "tablet", "Rua Kemp", "rua@a.example", a["name"], "Visits", "2025-01-06"],
        ["K-4", "tablet", None, None, None, None, None],
    ])
    assert import_file(world.partnerships, first).status_code == 200
    old_k2 = devices(world)["K-2"]["current_assignment"]

    second = xlsx_file(["Asset Tag", "Serial", "Status", "Checked Out To", "Email", "Provider", "Purpose",
                        "Checkout Date"], [
        ["K-1", None, None, None, None, None, "Visits and reports", None],  # blank cells keep; purpose changes
        ["K-2", None, None, "Pita Roa", "pita@b.example", b["nzbn"], "Audits", "2025-03-03"],  # to someone else
        ["K-3", None, "In Repair", None, None, None, None, None],  # comes back, goes to repair
        ["K-4", "SER-4", None, None, None, None, None, None],
    ])
    preview = import_file(world.partnerships, second, dry_run=True).json()
    assert [(c["asset_tag"], c["action"], c["changes"], c["assignment"]) for c in preview["changes"]] == [
        ("K-1", "unchanged", [], "update"), ("K-2", "unchanged", [], "transfer"),
        ("K-3", "update", ["status"], "check_in"), ("K-4", "update", ["serial"], "none")]

    r = import_file(world.partnerships, second)
    assert r.status_code == 200, r.text
    found = devices(world)
    assert found["K-1"]["current_assignment"]["purpose"] == "Visits and reports"
    assert found["K-1"]["current_assignment"]["holder_name"] == "Ana Lee"
    assert found["K-2"]["current_assignment"]["holder_email"] == "pita@b.example"
    assert found["K-2"]["current_assignment"]["provider_id"] == str(b["id"])
    closed = world.admin.get(f"/api/v1/assignments/{old_k2['id']}").json()
    assert (closed["open"], closed["returned_on"]) == (False, "2025-03-03")
    assert found["K-3"]["status"] == "in_repair" and found["K-3"]["current_assignment"] is None
    assert found["K-4"]["serial"] == "SER-4" and found["K-4"]["kind"] == "tablet"

    again = import_file(world.partnerships, second, dry_run=True).json()
    assert {(c["action"], c["assignment"]) for c in again["changes"]} == {("unchanged", "keep"),
                                                                          ("unchanged", "none")}


def test_the_registers_own_rules_apply_row_by_row(world):
    world.admin.post(f"/api/v1/providers/{world.provider_b['id']}/status", json={"status": "exited",
                                                                                 "reason": "contract ended"})
    world.partnerships.post("/api/v1/devices", json={"asset_tag": "R-REPAIR", "kind": "laptop"})
    repair = devices(world)["R-REPAIR"]
    world.partnerships.post(f"/api/v1/devices/{repair['id']}/status", json={"status": "in_repair", "reason": "x"})
    a, b = world.provider_a["name"], world.provider_b["name"]
    content = xlsx_file(["Asset Tag", "Type", "Status", "Holder", "Email", "Provider", "Purpose", "Serial"], [
        ["R-LOST", "phone", "Lost", None, None, None, None, None],
        ["R-REPAIR", None, None, "Ana Lee", "ana@a.example", a, "Visits", None],
        ["R-EXITED", "phone", None, "Ana Lee", "ana@a.example", b, "Visits", None],
        ["R-EMAIL", "phone", None, "Ana Lee", "not-an-email", a, "Visits", None],
        ["R-KIND", None, None, None, None, None, None, None],
        ["R-KIND2", "Monitor", None, None, None, None, None, None],
        ["R-PURPOSE", "phone", None, "Ana Lee", "ana@a.example", a, None, None],
        ["R-LONG", "phone", None, None, None, None, None, "x" * 101],
        ["R-WHO", "phone", "Deployed", None, None, None, None, None],
    ])
    r = import_file(world.partnerships, content)
    assert r.status_code == 422, r.text
    assert [(e["field"], e["message"]) for e in r.json()["errors"]] == [
        ('row 2, column "Status"', "cannot be lost: lost is set by reporting an incident, not by hand"),
        ('row 3, column "Status"', "the device is in_repair and cannot be checked out: only a device in stock can"),
        ('row 4, column "Provider"', "Provider B Trust is exited and cannot receive devices"),
        ('row 5, column "Email"', "is not an email address"),
        ('row 6, column "Type"', "a new device needs its type (laptop, phone, tablet or other)"),
        ('row 7, column "Type"', '"Monitor" is not a device type: use laptop, phone, tablet or other'),
        ('row 8, column "Purpose"', "what the device is for is needed to check the device out (fill it, or "
                                    "give the import a default purpose)"),
        ('row 9, column "Serial"', "is longer than 100 characters"),
        ('row 10, column "Status"', "say who holds it: fill Checked Out To, Email and Provider"),
    ]
    assert set(devices(world)) == {"R-REPAIR"}


def test_files_that_are_not_a_register_are_refused_with_the_reason(world):
    r = import_file(world.partnerships, xlsx_file(["Serial", "Model"], [["S", "M"]]))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "row 1", r.text
    assert "no asset tag column" in r.json()["errors"][0]["message"]
    r = import_file(world.partnerships, xlsx_file(["Asset Tag", "Email", "Holder Email"], [["T", "a@b.co", "c@d.co"]]))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == 'row 1, column "Holder Email"'
    r = import_file(world.partnerships, b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "old.xls")
    assert r.status_code == 415 and r.json()["errors"][0]["field"] == "file"
    r = import_file(world.partnerships, b"", "empty.csv")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"


def test_the_raw_file_can_be_the_body(world):
    content = xlsx_file(["Asset Tag", "Device Type"], [["RAW-1", "laptop"]])
    r = world.partnerships.post("/api/v1/devices/import", params={"filename": "raw.xlsx"}, content=content,
                                headers={"Content-Type": "application/vnd.openxmlformats-officedocument."
                                                         "spreadsheetml.sheet"})
    assert r.status_code == 200, r.text
    assert r.json()["file"] == "raw.xlsx" and "RAW-1" in devices(world)


def test_only_partnerships_and_admin_import(world):
    content = xlsx_file(["Asset Tag", "Device Type"], [["P-1", "laptop"]])
    for who in ("provider_user", "provider_admin", "auditor", "governance"):
        r = import_file(world.people[who], content, dry_run=(who == "provider_user"))
        assert r.status_code == 403, (who, r.text)
        assert is_problem(r)
    assert devices(world) == {}
    assert import_file(world.admin, content).status_code == 200


def test_the_command_line_imports_with_progress(world, settings, tmp_path):
    path = tmp_path / "register.xlsx"
    path.write_bytes(xlsx_file(["Asset Tag", "Device Type", "Notes", "Colour"],
                               [[f"CLI-{n:03}", "phone", f"n{n}", "blue"] for n in range(250)]))
    env = {**os.environ, "PA_DATABASE_URL": settings.database_url, "PA_VAR_DIR": str(settings.var_dir),
           "PA_SECRET_KEY": settings.secret_key}
    cli = [sys.executable, "-m", "partner_audit.cli", "import", "devices", str(path)]
    dry = subprocess.run([*cli, "--dry-run"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert dry.returncode == 0, dry.stderr
    assert "row 2: CLI-000: create; assignment: none" in dry.stdout
    assert "ignored columns: Colour" in dry.stdout and "(dry run: nothing changed)" in dry.stdout
    assert devices(world) == {}
    done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "reading rows: 250 done in" in done.stderr and "adding devices: 1/1 done in" in done.stderr
    assert "250 rows: created 250" in done.stdout
    assert world.admin.get("/api/v1/devices").json()["total"] == 250

    bad = tmp_path / "bad.csv"
    bad.write_text("Asset Tag,Device Type,Expected Return\nCLI-000,phone,someday\n")
    failed = subprocess.run([*cli[:-1], str(bad)], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert failed.returncode == 1
    assert 'bad.csv: row 2, column "Expected Return": "someday" is not a date' in failed.stderr


# --- reading an .xlsx with calamine: values as the import always read them, and a sheet it would hold whole ------


def test_cells_read_as_before_dates_numbers_text_and_a_formula_error(world):
    """calamine types cells its own way (every number a float, a date cell without a time a date, an error
    blank); the import reads them as it did with openpyxl."""
    import io

    from openpyxl import Workbook

    a = world.provider_a
    back_on = TODAY + timedelta(days=400)
    book = Workbook()
    sheet = book.active
    # The register starts in column C, with a blank row: rows keep the spreadsheet's own numbers.
    for col, header in enumerate(["Asset Tag", "Serial", "Kind", "Checked Out To", "Email", "Provider", "Purpose",
                                  "Checkout Date", "Expected Checkin", "Holder Phone"], start=3):
        sheet.cell(row=1, column=col, value=header)
    rows = [["00123", 35000123, "laptop", "Mere Tawhiri", "mere@provider-a.example", int(a["nzbn"]), "Home visits",
             TODAY - timedelta(days=2), (back_on - date(1899, 12, 30)).days, 2102345678],
            ["TB-2", "SN-2", "tablet", None, None, None, None, None, None, None]]
    for number, row in zip((2, 4), rows):
        for col, value in enumerate(row, start=3):
            sheet.cell(row=number, column=col, value=value)
    out = io.BytesIO()
    book.save(out)
    preview = import_file(world.partnerships, out.getvalue(), dry_run=True)
    assert [c["row"] for c in preview.json()["changes"]] == [2, 4], preview.text
    r = import_file(world.partnerships, out.getvalue())
    assert r.status_code == 200, r.text
    got = devices(world)
    assert sorted(got) == ["00123", "TB-2"], "text that looks like a number keeps its zeros"
    assert got["00123"]["serial"] == "35000123", "a serial the spreadsheet took for a number, without .0"
    held = world.partnerships.get(f"/api/v1/devices/{got['00123']['id']}").json()["current_assignment"]
    assert held["starts_on"] == (TODAY - timedelta(days=2)).isoformat()
    assert held["expected_return_on"] == back_on.isoformat(), "a date cell that lost its format: its serial"
    assert held["holder_phone"] == "2102345678"

    # A formula's error is its text, as openpyxl gave it: not a date, rather than a blank keeping the old one.
    content = xlsx_file(["Asset Tag", "Expected Checkin"], [["00123", "=1"]])
    content = _with_first_sheet(content, lambda xml: xml.replace(b'<c r="B2"><f>1</f><v /></c>',
                                                                  b'<c r="B2" t="e"><f>1</f><v>#N/A</v></c>'))
    r = import_file(world.partnerships, content)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["message"] == '"#N/A" is not a date', r.text


def test_two_cells_far_apart_are_refused_before_the_sheet_is_read(world):
    """calamine holds a sheet as a grid, blanks and all: a cell at A1 and one at CV200001 would be 20 million
    cells (600 MB) of a file of a few KB."""
    content = _with_first_sheet(xlsx_file(["Asset Tag"], [["LT-1"]]), lambda xml: xml.replace(
        b"</sheetData>", b'<row r="200001"><c r="CV200001"><v>1</v></c></row></sheetData>'))
    r = import_file(world.partnerships, content)
    assert r.status_code == 413, r.text
    assert "a grid of 20000100 cells; at most 4000020 are accepted" in r.json()["detail"]
    assert devices(world) == {}


def _with_first_sheet(content: bytes, edit) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item.filename, edit(data) if item.filename == "xl/worksheets/sheet1.xml" else data)
    return out.getvalue()


def test_the_rows_listed_are_capped_but_the_counts_are_whole():
    """A preview of a 200,000-row register would be tens of megabytes of JSON row by row: ``changes`` lists the
    first 10,000, the counts beside it every row."""
    from partner_audit.devices.services import imports
    from partner_audit.devices.xlsx.reading import Source
    from partner_audit.devices.xlsx.register import Sheet

    rows = [imports.Planned(n, f"T-{n}", "create", [], "none", {}) for n in range(imports.MAX_CHANGES_SHOWN + 5)]
    for dry_run in (True, False):
        summary = imports._summary(Source("big.csv", b""), Sheet({}, [], [], []), imports.Plan(rows=rows),
                                   dry_run=dry_run, applied=not dry_run)
        assert len(summary["changes"]) == imports.MAX_CHANGES_SHOWN
        assert summary["created"] == imports.MAX_CHANGES_SHOWN + 5
