"""What a device-import CSV is read as, on SQLite and PostgreSQL: UTF-8 (with or without a BOM), or
Windows-1252 only when it reads plausibly as that; a UTF-8 file with a stray byte and a Shift-JIS file are
refused naming the row, never stored as mojibake; macrons survive CSV and .xlsx import and export. And a header
that is not a header: too many columns, or ignored names millions of characters long."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.support.problems import problem
from tests.support.devices import csv_file, devices, import_file, xlsx_file

HEADER = "Asset Tag,Device Type,Notes"


def lines_bytes(*lines: bytes) -> bytes:
    return b"\r\n".join(lines) + b"\r\n"


def test_utf8_with_one_stray_byte_is_refused_naming_its_row(world):
    content = lines_bytes(HEADER.encode(), "LT-1,laptop,Ngā Hau e Whā".encode(),
                          b"LT-2,laptop,Caf\xe9 stray byte", "LT-3,laptop,Tūhoe".encode())
    body = problem(import_file(world.partnerships, content, "register.csv"), 422, "row 3")
    assert "row 3" in body["detail"] and "not UTF-8" in body["errors"][0]["message"], body
    assert devices(world) == {}


def test_shift_jis_is_refused(world):
    content = lines_bytes(HEADER.encode(), "LT-1,laptop,山田太郎のノートパソコン".encode("shift_jis"))
    body = problem(import_file(world.partnerships, content, "register.csv"), 422, "row 2")
    assert "neither UTF-8 nor Windows-1252" in body["detail"], body
    assert devices(world) == {}


def test_windows_1252_from_excel_is_read_as_such(world):
    content = lines_bytes(HEADER.encode(), "LT-1,laptop,“Renée’s” spare – Zoë".encode("cp1252"))
    r = import_file(world.partnerships, content, "register.csv")
    assert r.status_code == 200, r.text
    assert devices(world)["LT-1"]["notes"] == "“Renée’s” spare – Zoë"


def test_macrons_survive_import_and_export_both_ways(world):
    notes = "Ngā Puhi, Tūhoe, Whakatōhea, Māori"
    r = import_file(world.partnerships, csv_file([HEADER, f'LT-1,laptop,"{notes}"'], bom=False), "register.csv")
    assert r.status_code == 200, r.text
    assert devices(world)["LT-1"]["notes"] == notes
    r = import_file(world.partnerships, xlsx_file(["Asset Tag", "Device Type", "Notes"],
                                                  [["LT-2", "phone", notes + " (xlsx)"]]))
    assert r.status_code == 200, r.text
    as_csv = world.partnerships.get("/api/v1/devices/export", params={"format": "csv"})
    assert notes in as_csv.content.decode("utf-8-sig") and notes + " (xlsx)" in as_csv.content.decode("utf-8-sig")
    as_xlsx = world.partnerships.get("/api/v1/devices/export", params={"format": "xlsx"})
    cells = [c for row in load_workbook(io.BytesIO(as_xlsx.content)).worksheets[0].values for c in row]
    assert notes in cells and notes + " (xlsx)" in cells
    # Both exports, imported again, change nothing.
    for content, name in ((as_csv.content, "export.csv"), (as_xlsx.content, "export.xlsx")):
        again = import_file(world.partnerships, content, name)
        assert again.status_code == 200, again.text
        assert (again.json()["unchanged"], again.json()["updated"]) == (2, 0), again.json()
    assert devices(world)["LT-1"]["notes"] == notes


def test_ignored_columns_are_reported_in_short(world):
    long_names = [f"Custom field {i} " + "x" * 100 for i in range(30)]
    r = import_file(world.partnerships, xlsx_file(["Asset Tag", "Device Type", *long_names], [["LT-1", "laptop"]]),
                    dry_run=True)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ignored_column_count"] == 30 and len(body["ignored_columns"]) == 20
    assert all(len(name) <= 60 for name in body["ignored_columns"])
    assert body["ignored_columns"][0].startswith("Custom field 0 xxx")
    # One header cell of 8 MB: reported in 60 characters, not echoed back.
    huge = "Asset Tag,Device Type," + "y" * (8 * 2**20 - 30)
    r = import_file(world.partnerships, csv_file([huge, "LT-1,laptop"]), "register.csv", dry_run=True)
    problem(r, 413, "row 1")
    assert len(r.content) < 4096


def test_a_header_too_wide_or_a_row_too_long_is_refused(world):
    wide = ",".join(["Asset Tag", "Device Type", *(f"c{i}" for i in range(200))])
    body = problem(import_file(world.partnerships, csv_file([wide, "LT-1,laptop"]), "register.csv"), 413, "row 1")
    assert "202 columns; at most 100" in body["detail"], body
    # A row of three million tiny fields would be three million strings: refused before it is split.
    body = problem(import_file(world.partnerships, csv_file([HEADER, "ab," * 3_000_000]), "register.csv"), 413,
                   "row 2")
    assert "longer than 256 KiB" in body["detail"], body
    assert devices(world) == {}


def test_a_long_cell_within_the_row_limit_is_read(world):
    """csv's own 128 KiB cap on a field is not the import's limit: a 200 KiB cell in a row under 256 KiB is read."""
    long_notes = "n" * (200 * 1024)
    r = import_file(world.partnerships, csv_file([HEADER, f"LT-9,laptop,{long_notes}"]), "register.csv",
                    dry_run=True)
    assert r.status_code == 200, r.text
    assert r.json()["errors"][0]["field"] == 'row 2, column "Notes"', r.json()  # too long for notes, not "not CSV"
