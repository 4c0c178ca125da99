"""A Snipe-IT asset export imported as it is, on SQLite and PostgreSQL: the holder from the four "Checked Out To:"
columns and "Company", the notes from "Asset Notes", a default purpose for an export with no purpose column, and
every row that names a holder either checked out or named in an error or a warning, never dropped.

The fixture (tests/data/snipe-it-assets.csv) has Snipe-IT's own columns in its own order (sample_csvs/
assets-sample.csv, with the Serial, Status and Expected Checkin an export of the asset list adds), its byte-order
mark and CRLF line ends, money with thousands separators, and rows checked out to people, to a location, and to
no one (the agency's spare pool, named as the Company).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from partner_audit.security.tables import AccessLogEntry
from tests.support.devices import csv_file, devices, import_file, new_device
from tests.support.problems import problem

FIXTURE = Path(__file__).parents[1] / "data" / "snipe-it-assets.csv"
PURPOSE = "Client visits and case notes (as held in Snipe-IT)"
HEADER = ("Company,Name,Asset Tag,Serial,Category,Status,Manufacturer,Model,Asset Notes,Checkout Type,"
          "Checked Out To: Username,Checked Out To: First Name,Checked Out To: Last Name,Checked Out To: Email,"
          "Checked Out To: Location")


DUE_BACK = date.today() + timedelta(days=200)


def snipe_export() -> bytes:
    """The fixture, its one future return date moved to 200 days from today so the file does not age; its other
    (31 March 2025) has passed, as a real register's overdue devices have."""
    return FIXTURE.read_bytes().replace(b"2030-06-30", DUE_BACK.isoformat().encode())


def test_a_snipe_it_export_checks_out_every_device_it_says_is_checked_out(world):
    content = snipe_export()
    preview = import_file(world.partnerships, content, "assets.csv", dry_run=True, default_purpose=PURPOSE)
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["errors"] == [], body["errors"]
    assert body["columns"]["holder_first_name"] == "Checked Out To: First Name"
    assert body["columns"]["company"] == "Company" and body["columns"]["notes"] == "Asset Notes"
    assert body["ignored_columns"] == ["Name", "Supplier", "Location", "Order Number", "Model Notes", "Model Number",
                                       "Purchase Date", "Purchase Cost"]
    assert [(c["row"], c["asset_tag"], c["assignment"], c["default_purpose"]) for c in body["changes"]] == [
        (2, "NZ-LT-0101", "check_out", True), (3, "NZ-PH-0102", "check_out", True),
        (4, "NZ-TB-0103", "check_out", True), (5, "NZ-LT-0104", "none", False),
        (6, "NZ-LT-0105", "none", False), (7, "NZ-PH-0106", "none", False),
        (8, "NZ-LT-0107", "check_out", True), (9, "NZ-LT-0108", "none", False)]
    assert body["default_purpose_rows"] == 4 and body["assignments"]["check_out"] == 4
    assert body["warnings"] == [{
        "field": 'row 6, column "Checked Out To: Location"', "row": 6, "column": "Checked Out To: Location",
        "message": 'is checked out to a location ("Wellington Office"), not to a person: the register keeps the '
                   "devices people hold, so this row checks nothing out"}, {
        "field": 'row 8, column "Expected Checkin"', "row": 8, "column": "Expected Checkin",
        "message": "2025-03-31 has passed and the file has no checkout date: the assignment starts today and is "
                   "overdue for return"}]
    assert body["warning_count"] == 2
    assert devices(world) == {}, "a preview changes nothing"

    applied = import_file(world.partnerships, content, "assets.csv", default_purpose=PURPOSE)
    assert applied.status_code == 200, applied.text
    report = applied.json()
    assert (report["applied"], report["created"], report["default_purpose_rows"]) == (True, 8, 4)
    assert [(c["asset_tag"], c["action"], c["assignment"]) for c in report["changes"]][:2] == [
        ("NZ-LT-0101", "create", "check_out"), ("NZ-PH-0102", "create", "check_out")], \
        "an applied import says what it changed"
    assert len(report["changes"]) == 8

    found = devices(world)
    a, b = str(world.provider_a["id"]), str(world.provider_b["id"])
    held = {tag: d["current_assignment"] for tag, d in found.items() if d["current_assignment"]}
    assert {tag: (h["holder_name"], h["holder_email"], h["provider_id"], h["purpose"], h["open"])
            for tag, h in held.items()} == {
        "NZ-LT-0101": ("Mere Tawhiri", "mere.tawhiri@provider-a.example", a, PURPOSE, True),
        "NZ-PH-0102": ("Hēmi Walker", "hemi.walker@provider-a.example", a, PURPOSE, True),
        "NZ-TB-0103": ("Aroha Ngata", "aroha.ngata@provider-b.example", b, PURPOSE, True),
        "NZ-LT-0107": ("Pita Roa", "pita.roa@provider-b.example", b, PURPOSE, True),
    }, "each device Snipe-IT says is checked out to a person has an open assignment"
    assert all(found[t]["status"] == "assigned" for t in held)
    assert held["NZ-LT-0101"]["expected_return_on"] == DUE_BACK.isoformat()
    assert held["NZ-LT-0107"]["return_overdue"] is True
    assert held["NZ-LT-0101"]["starts_on"] == date.today().isoformat()
    assert found["NZ-LT-0101"]["notes"] == "Charger replaced March 2025, case scratched"
    assert found["NZ-LT-0107"]["notes"] == "Kaiāwhina laptop; MFA token with it"
    assert (found["NZ-LT-0104"]["status"], found["NZ-LT-0105"]["status"], found["NZ-PH-0106"]["status"],
            found["NZ-LT-0108"]["status"]) == ("in_stock", "in_stock", "in_stock", "retired")
    assert found["NZ-TB-0103"]["kind"] == "tablet" and found["NZ-PH-0102"]["make"] == "Samsung"
    log = world.run(lambda: AccessLogEntry.select().where(AccessLogEntry.action == "device.import").run())
    assert "default purpose on 4 row(s)" in log[0]["detail"] and "2 warning(s)" in log[0]["detail"]

    again = import_file(world.partnerships, content, "assets.csv", default_purpose=PURPOSE)
    assert again.status_code == 200, again.text
    assert again.json()["changes"] == [] and again.json()["default_purpose_rows"] == 0, \
        "the same export again changes nothing, and the holders' purposes stay"
    assert again.json()["assignments"]["keep"] == 4


def test_without_a_default_purpose_each_check_out_is_named(world):
    r = import_file(world.partnerships, snipe_export(), "assets.csv")
    body = problem(r, 422)
    assert [(e["field"], e["message"]) for e in body["errors"]] == [
        (f"row {n}", 'what the device is for is needed to check the device out (add a "Purpose" column, or give '
                     "the import a default purpose)") for n in (2, 3, 4, 8)]
    assert devices(world) == {}


def test_a_row_naming_a_holder_it_cannot_check_out_is_an_error_naming_its_row(world):
    retired = new_device(world.partnerships, "SN-RETIRED")
    world.partnerships.post(f"/api/v1/devices/{retired['id']}/status", json={"status": "retired", "reason": "old"})
    content = csv_file([
        HEADER,
        "Acme Widgets Ltd,,SN-1,S1,Laptops,Deployed,Dell,Latitude,,User,ana.lee,Ana,Lee,ana@acme.example,",
        "Provider A Trust,,SN-2,S2,Laptops,Deployed,Dell,Latitude,,User,jbloggs,Joe,Bloggs,,",
        "Provider A Trust,,SN-RETIRED,S3,Laptops,,Dell,Latitude,,User,tui,Tui,Rangi,tui@a.example,",
        "Provider A Trust,,SN-4,S4,Laptops,Lost/Stolen,Dell,Latitude,,User,rua,Rua,Kemp,rua@a.example,",
        "Provider A Trust,,SN-5,S5,Laptops,Archived,Dell,Latitude,,User,kiri,Kiri,Hona,kiri@a.example,",
        ",,SN-6,S6,Laptops,Deployed,Dell,Latitude,,User,aroha,Aroha,Ngata,aroha@a.example,",
        "Provider A Trust,,SN-7,S7,Laptops,Ready to Deploy (deployable),Dell,Latitude,,,,,,,",
    ])
    r = import_file(world.partnerships, content, "assets.csv", default_purpose=PURPOSE)
    body = problem(r, 422)
    assert [(e["field"], e["message"]) for e in body["errors"]] == [
        ('row 2, column "Company"', 'no provider is named "Acme Widgets Ltd" or has that NZBN'),
        ('row 3, column "Checked Out To: Email"', 'the holder\'s email is needed to check the device out (the '
                                                  'username "jbloggs" is not an email address)'),
        ('row 4, column "Status"', "the device is retired and cannot be checked out: only a device in stock can"),
        ('row 5, column "Status"', '"Lost/Stolen": a lost or stolen device is recorded by reporting an incident, '
                                   "not by a file"),
        ('row 6, column "Status"', '"retired" does not fit a device someone holds: leave the holder columns blank '
                                   "to check it in, or the status blank"),
        ('row 7, column "Company"', "the holder's provider is needed to check the device out"),
    ], "row 8 (a status with Snipe-IT's meaning in brackets) is right"
    assert set(devices(world)) == {"SN-RETIRED"}, "nothing was imported"


def test_names_with_control_characters_are_refused_naming_the_row(world):
    content = csv_file([HEADER, "Provider A Trust,,CC-1,S1,Laptops,Deployed,Dell,Latitude,,User,ana,Ana\x07,Lee,"
                                "ana@a.example,"])
    body = problem(import_file(world.partnerships, content, "assets.csv", default_purpose=PURPOSE), 422)
    assert len(body["errors"]) == 1 and body["errors"][0]["row"] == 2, body
    assert body["errors"][0]["column"] == "Checked Out To: First Name", body
    assert "control character" in body["errors"][0]["message"], body
    assert devices(world) == {}


def test_the_default_purpose_is_checked_like_a_check_outs(world):
    content = snipe_export()
    long = problem(import_file(world.partnerships, content, "assets.csv", default_purpose="x" * 2001), 400)
    assert long["errors"][0]["field"] == "default_purpose"
    control = problem(import_file(world.partnerships, content, "assets.csv", default_purpose="Visits\x00"), 400)
    assert control["errors"][0]["field"] == "default_purpose"
    assert devices(world) == {}


def test_a_provider_cannot_import_even_an_export_naming_another_provider(world):
    for who in ("provider_admin", "b_admin", "governance"):
        r = import_file(world.people[who], snipe_export(), "assets.csv", default_purpose=PURPOSE)
        assert problem(r, 403)
    assert devices(world) == {}


def test_the_command_line_takes_a_default_purpose(world, settings, tmp_path):
    env = {**os.environ, "PA_DATABASE_URL": settings.database_url, "PA_VAR_DIR": str(settings.var_dir),
           "PA_SECRET_KEY": settings.secret_key}
    path = tmp_path / "assets.csv"
    path.write_bytes(snipe_export())
    cli = [sys.executable, "-m", "partner_audit.cli", "import", "devices", str(path)]
    refused = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 1 and "row 2: what the device is for is needed" in refused.stderr, refused.stderr
    done = subprocess.run([*cli, "--default-purpose", PURPOSE], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "row 2: NZ-LT-0101: create; assignment: check_out" in done.stdout, done.stdout
    assert 'warning: row 6, column "Checked Out To: Location"' in done.stdout
    assert "8 rows: created 8" in done.stdout and "4 check-out(s) with the default purpose" in done.stdout
    assert world.admin.get("/api/v1/assignments", params={"open": "true"}).json()["total"] == 4


def test_snipe_it_custom_report_layout(world):
    """Snipe-IT's custom asset report: "Checked Out To" holds a person's full name or a place, and the "Type"
    after it says which; "Title" is the job title; a status carries its meaning in brackets."""
    content = csv_file([
        "Company,Asset Tag,Category,Serial,Checked Out To,Type,Username,Title,Status,Checkout Date,Expected Checkin,"
        "Notes",
        "Provider A Trust,CR-1,Laptops,S1,Mere Tawhiri,user,mere@provider-a.example,Kaiāwhina,"
        "Laptop pool (deployed),2025-05-01 09:30:00,,Charger with it",
        "Te Tari Agency,CR-2,Laptops,S2,Wellington Office,location,,,Laptop pool (deployed),2025-05-01 09:30:00,,",
        "Te Tari Agency,CR-3,Laptops,S3,,,,,Ready to Deploy (deployable),,,",
        "Te Tari Agency,CR-4,Laptops,S4,,user,,,,,,",
    ])
    r = import_file(world.partnerships, content, "custom-asset-report.csv", default_purpose=PURPOSE)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["columns"]["checkout_type"] == "Type" and body["columns"]["kind"] == "Category"
    assert [w["field"] for w in body["warnings"]] == ['row 3, column "Checked Out To"', 'row 5, column "Type"']
    assert body["warnings"][1]["message"] == ("says the device is checked out to a user but names no one: it is "
                                              "not checked out")
    assert 'a location ("Wellington Office")' in body["warnings"][0]["message"]
    found = devices(world)
    held = found["CR-1"]["current_assignment"]
    assert (held["holder_name"], held["holder_email"], held["holder_role"], held["starts_on"]) == (
        "Mere Tawhiri", "mere@provider-a.example", "Kaiāwhina", "2025-05-01")
    assert (found["CR-2"]["status"], found["CR-2"]["current_assignment"]) == ("in_stock", None)
    assert found["CR-3"]["status"] == "in_stock"
