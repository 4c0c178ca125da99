"""Exports cannot fail on stored text, on SQLite and PostgreSQL: a vertical tab or another control character an
.xlsx cannot hold, stored directly (as older data or another path may have stored it), used to make every .xlsx
export of it a 500 (openpyxl's IllegalCharacterError). Now each export answers, with the character replaced by
U+FFFD, and formula text still neutralised."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from partner_audit.assessments.tables import Answer
from partner_audit.devices.tables import Assignment, Device
from tests.support.devices import checked_out
from tests.support.workbooks import download, put_answers

STORED = "line\x0bbreak \x01bell\x1f"
SHOWN = "line\ufffdbreak \ufffdbell\ufffd"


def values(content: bytes) -> list:
    book = load_workbook(io.BytesIO(content))
    return [c for sheet in book.worksheets for row in sheet.values for c in row]


def test_device_exports_and_the_privacy_export_survive_control_characters(world, run):
    device, assignment = checked_out(world, "LT-VT", world.provider_a, holder_email="vt@a.example")
    run(lambda: Device.update({Device.notes: STORED}).where(Device.asset_tag == "LT-VT").run())
    run(lambda: Assignment.update({Assignment.purpose: "=" + STORED}).where(Assignment.id == assignment["id"]).run())

    r = world.partnerships.get("/api/v1/devices/export", params={"format": "xlsx"})
    assert r.status_code == 200, r.text
    cells = values(r.content)
    assert SHOWN in cells and "'=" + SHOWN in cells
    r = world.partnerships.get("/api/v1/devices/export", params={"format": "csv"})
    assert r.status_code == 200, r.text
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert SHOWN in rows[1] and "'=" + SHOWN in rows[1]
    for fmt in ("xlsx", "csv"):
        r = world.partnerships.get("/api/v1/devices/export/history",
                                   params={"holder_email": "vt@a.example", "format": fmt})
        assert r.status_code == 200, r.text
        assert "'=" + SHOWN in (values(r.content) if fmt == "xlsx" else r.content.decode("utf-8-sig"))

    r = world.admin.post("/api/v1/privacy-requests", json={"email": "vt@a.example"})
    assert r.status_code in (200, 201), r.text
    assert "'=" + SHOWN in values(r.content)  # the assignment's purpose; device notes are not about the person


def test_the_assessment_workbook_survives_a_control_character_in_a_comment(world, mini, run):
    book, _ = download(world.provider_user, mini["id"])
    question = book["Questions"]["A2"].value
    put_answers(world.provider_user, mini["id"], {"question_id": question, "value": "yes", "version": 0,
                                                  "comment": "fine"})
    run(lambda: Answer.update({Answer.comment: STORED}).where(Answer.question_id == question).run())
    book, _ = download(world.provider_user, mini["id"])
    assert book["Questions"]["E2"].value == SHOWN
