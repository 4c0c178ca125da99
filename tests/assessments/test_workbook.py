"""The offline workbook: an assessment downloaded as .xlsx, filled in (with openpyxl, and saved through a real
LibreOffice), and uploaded back: all rows or none, blank cells keep answers, every wrong cell named."""

from __future__ import annotations

import io
import os
import zipfile
from datetime import date

import pytest
from openpyxl import Workbook
from openpyxl.utils.cell import range_boundaries

from partner_audit.assessments.xlsx import MAX_BYTES, MEDIA_TYPE
from partner_audit.controls import service as controls
from tests.support.assessments import assessment_of, launched, rollout_body
from tests.support.workbooks import as_bytes, download, fill, libreoffice_save, put_answers, row_of, saved, upload
from tests.support.problems import is_problem

WIDE = """\
key: wide
title: Every kind of question
version: "1"
areas:
  - id: all
    title: All kinds
    controls:
      - id: kinds
        title: One of each
        recommendations: [22]
        questions:
          - id: partly
            text: Is it done?
            type: yes_partial_no
          - id: how-often
            text: How often is it checked?
            type: choice
            options:
              - {value: weekly, label: "Weekly, or more often", score: 100}
              - {value: rarely, label: 'Rarely ("hardly ever")', score: 0}
          - id: systems
            text: Which systems do your people use?
            type: multi_choice
            options:
              - {value: email, label: Email}
              - {value: files, label: File shares}
              - {value: none, label: None}
          - id: reviewed-on
            text: When was it last reviewed?
            type: date
          - id: staff
            text: How many staff hold devices?
            type: number
            min: 1
            allow_na: true
          - id: notes
            text: Anything else?
            type: text
            required: false
"""


@pytest.fixture
def wide(world, run, tmp_path) -> dict:
    path = tmp_path / "wide.yaml"
    path.write_text(WIDE)
    row, _ = run(lambda: controls.load_file(path))
    launched(world, str(row["id"]))
    return assessment_of(world.provider_user, world.provider_a["id"])


def validation_of(sheet, ref: str):
    found = [dv for dv in sheet.data_validations.dataValidation if ref in dv.sqref]
    assert len(found) <= 1, found
    return found[0] if found else None


def list_items(book: Workbook, formula: str) -> list[str]:
    sheet_name, cells = formula.split("!")
    sheet = book[sheet_name]
    min_col, min_row, max_col, max_row = range_boundaries(cells.replace("$", ""))
    return [c.value for row in sheet.iter_rows(min_row, max_row, min_col, max_col) for c in row]


# --- export ----------------------------------------------------------------------------------------------


def test_export_has_its_sheets_rows_drop_downs_and_protection(world, mini, run):
    book, r = download(world.provider_user, mini["id"])
    assert r.headers["content-disposition"] == 'attachment; filename="Provider-A-Trust-2025-Q3-self-assessment.xlsx"'
    assert book.sheetnames == ["Instructions", "Questions", "Lists", "About"]
    assert [s.sheet_state for s in book.worksheets] == ["visible", "visible", "veryHidden", "veryHidden"]
    assert book.security.lockStructure
    assert all(s.protection.sheet for s in book.worksheets)

    sheet = book["Questions"]
    assert [c.value for c in sheet[1]] == ["Id", "Question", "How to answer", "Answer", "Comment", "Focus area",
                                           "Control"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert [r[0] for r in rows] == ["has-lead", "lead-name", "lead-maturity", "device-count", "device-notes"]
    assert rows[0][1] == "Does your organisation have a named privacy lead?"
    assert rows[0][5:] == ["Leadership", "A named privacy lead"]
    assert rows[3][5:] == ["Devices", "Agency devices are tracked"]
    # A question shown only after another answer is still there, marked.
    assert 'Only if the answer to has-lead ("Does your organisation have a named privacy lead?") is Yes.' \
        in rows[1][2]
    assert "If you answer Yes, attach evidence on the web page." in rows[0][2]
    assert "A number from 0 to 500." in rows[3][2]

    # Only the answer and comment cells can be edited.
    for row in range(2, 7):
        assert not sheet[f"D{row}"].protection.locked and not sheet[f"E{row}"].protection.locked
        assert all(sheet[f"{col}{row}"].protection.locked for col in "ABCFG")
    assert sheet["D1"].protection.locked

    has_lead = validation_of(sheet, "D2")
    assert has_lead.type == "list" and list_items(book, has_lead.formula1) == ["Yes", "No"]
    maturity = validation_of(sheet, "D4")
    assert maturity.type == "list" and list_items(book, maturity.formula1) == [
        "1 - Not in place", "2 - Getting started", "3 - Partly in place", "4 - Mostly in place",
        "5 - Fully in place and checked"]
    count = validation_of(sheet, "D5")
    assert (count.type, count.operator, count.formula1, count.formula2) == ("decimal", "between", "0", "500")
    assert validation_of(sheet, "D3").type == "textLength"
    comments = validation_of(sheet, "E4")
    assert (comments.type, comments.formula1) == ("textLength", "5000")

    version_row, template = run(lambda: controls.get_version(mini["template_version_id"]))
    about = dict(book["About"].iter_rows(max_col=2, max_row=4, values_only=True))
    assert about["assessment_id"] == mini["id"]
    assert about["template_version_id"] == mini["template_version_id"]
    assert about["content_hash"] == version_row["content_hash"]
    assert "Provider A Trust" in book["Instructions"]["A2"].value

    # Agency staff may download it too; they just cannot upload answers.
    auditor_book, _ = download(world.auditor, mini["id"])
    assert upload(world.auditor, mini["id"], as_bytes(auditor_book)).status_code == 403


def test_every_kind_of_question_gets_the_right_cell(world, wide):
    book, _ = download(world.provider_admin, wide["id"])
    sheet = book["Questions"]
    often = validation_of(sheet, f"D{row_of(sheet, 'how-often')}")
    # Labels with a comma and quotes survive because the choices live in cells, not in an inline list.
    assert list_items(book, often.formula1) == ["Weekly, or more often", 'Rarely ("hardly ever")']
    assert list_items(book, validation_of(sheet, "D2").formula1) == ["Yes", "Partly", "No"]
    systems = row_of(sheet, "systems")
    assert validation_of(sheet, f"D{systems}") is None
    assert 'separated by ";": Email; File shares; None' in sheet[f"C{systems}"].value
    reviewed = validation_of(sheet, f"D{row_of(sheet, 'reviewed-on')}")
    assert (reviewed.type, reviewed.operator) == ("date", "between")
    staff = row_of(sheet, "staff")
    assert validation_of(sheet, f"D{staff}") is None  # "n/a" must be typeable
    assert 'Type "n/a" if it does not apply to you.' in sheet[f"C{staff}"].value


def test_export_shows_answers_neutralises_formulas_and_an_unchanged_upload_saves_nothing(world, mini):
    aid = mini["id"]
    put_answers(world.provider_user, aid,
                {"question_id": "has-lead", "value": "yes", "comment": '=HYPERLINK("http://evil.example","x")'},
                {"question_id": "lead-maturity", "value": 3},
                {"question_id": "device-count", "value": 4},
                {"question_id": "device-notes", "value": "@SUM(1+1)", "comment": "-2 phones lost"})
    before = saved(world.provider_user, aid)
    book, _ = download(world.provider_user, aid)
    sheet = book["Questions"]
    assert [sheet[f"D{r}"].value for r in range(2, 7)] == ["Yes", None, "3 - Partly in place", 4, "'@SUM(1+1)"]
    for ref, text in (("E2", "'=HYPERLINK(\"http://evil.example\",\"x\")"), ("D6", "'@SUM(1+1)"),
                      ("E6", "'-2 phones lost")):
        assert (sheet[ref].value, sheet[ref].data_type) == (text, "s"), ref
    versions = {r[0]: r[1] for r in book["About"].iter_rows(min_row=8, max_col=2, values_only=True)}
    assert versions == {"has-lead": 1, "lead-name": 0, "lead-maturity": 1, "device-count": 1, "device-notes": 1}

    r = upload(world.provider_user, aid, as_bytes(book))
    assert r.status_code == 200, r.text
    assert r.json() == []
    assert saved(world.provider_user, aid) == before


# --- upload ----------------------------------------------------------------------------------------------


def test_round_trip_saves_answers_and_blank_cells_keep_existing_ones(world, mini):
    aid = mini["id"]
    put_answers(world.provider_user, aid, {"question_id": "has-lead", "value": "no", "comment": "not yet"})
    book, _ = download(world.provider_admin, aid)
    sheet = book["Questions"]
    sheet["D2"] = sheet["E2"] = None  # blank: keeps "no" and its comment
    fill(book, **{"lead-maturity": "4 - Mostly in place", "device-count": 12})
    sheet["E6"] = "Two laptops are on order."
    r = upload(world.provider_admin, aid, as_bytes(book))
    assert r.status_code == 200, r.text
    assert sorted(a["question_id"] for a in r.json()) == ["device-count", "device-notes", "lead-maturity"]
    answers = saved(world.provider_admin, aid)
    assert (answers["has-lead"]["value"], answers["has-lead"]["comment"], answers["has-lead"]["version"]) == (
        "no", "not yet", 1)
    assert answers["lead-maturity"]["value"] == "4" and answers["device-count"]["value"] == 12
    assert (answers["device-notes"]["value"], answers["device-notes"]["comment"]) == (None, "Two laptops are on order.")
    assert world.provider_admin.get(f"/api/v1/assessments/{aid}").json()["status"] == "in_progress"
    # Logged like any other change: the upload, and the answers it saved.
    log = world.admin.get("/api/v1/access-log", params={"record_id": aid}).json()["items"]
    actions = {(e["action"], e["outcome"], e["email"]) for e in log}
    assert {("assessment.workbook_upload", "success", "provider.admin@example.org"),
            ("assessment.answer", "success", "provider.admin@example.org")} <= actions


def test_every_wrong_cell_is_named_and_nothing_is_saved(world, mini):
    aid = mini["id"]
    book, _ = download(world.provider_user, aid)
    sheet = book["Questions"]
    sheet.delete_rows(3)  # lead-name: a deleted row is fine, rows are matched by id
    # Now: 2 has-lead, 3 lead-maturity, 4 device-count, 5 device-notes.
    sheet["D2"] = "Sometimes"
    sheet["D3"] = "3 - Partly in place"  # fine on its own, but the upload is all or nothing
    sheet["D4"] = 900
    sheet["A5"], sheet["E5"] = None, "a comment on a row whose id was wiped"
    sheet["A7"], sheet["D7"] = "no-such-question", "yes"
    sheet["A8"], sheet["D8"] = "lead-maturity", "2 - Getting started"
    sheet["E3"] = "=1+1"
    r = upload(world.provider_user, aid, as_bytes(book))
    assert r.status_code == 422, r.text
    assert is_problem(r)
    assert r.json()["errors"] == [
        {"field": "Questions!D2", "message": '"Sometimes" is not one of Yes, No'},
        {"field": "Questions!E3", "message": "a formula is not an answer: type the answer itself"},
        {"field": "Questions!D4", "message": "must be at most 500"},
        {"field": "Questions!A5", "message": "the question id is missing, so this row cannot be matched to a "
                                             "question: put the id back, or copy the row from a fresh workbook"},
        {"field": "Questions!A7", "message": 'there is no question "no-such-question" in this assessment'},
        {"field": "Questions!A8", "message": "lead-maturity is also on row 3: answer it once"},
    ]
    assert "nothing was saved" in r.json()["detail"]
    assert saved(world.provider_user, aid) == {}
    assert world.provider_user.get(f"/api/v1/assessments/{aid}").json()["status"] == "not_started"
    log = world.admin.get("/api/v1/access-log", params={"action": "assessment.workbook_upload"}).json()["items"]
    assert [(e["outcome"], e["record_id"]) for e in log] == [("rejected", aid)]


def test_a_workbook_for_another_assessment_or_template_version_is_refused(world, mini, run):
    aid = mini["id"]
    book, _ = download(world.provider_user, aid)
    fill(book, **{"has-lead": "Yes"})
    # A second assessment for provider A: the same template, another period.
    body = {**rollout_body(mini["template_version_id"]), "period": "2025-Q4"}
    rollout = world.partnerships.post("/api/v1/rollouts", json=body).json()
    assert world.partnerships.post(f"/api/v1/rollouts/{rollout['id']}/launch").status_code == 200
    other = next(a for a in world.provider_user.get("/api/v1/assessments").json()["items"] if a["id"] != aid)
    r = upload(world.provider_user, other["id"], as_bytes(book))
    assert r.status_code == 409, r.text
    assert "different assessment" in r.json()["detail"]
    assert r.json()["errors"] == [{"field": "About!B2", "message": f"is {aid}, not {other['id']}"}]

    book["About"]["B4"] = "0" * 64  # made from other template content
    r = upload(world.provider_user, aid, as_bytes(book))
    assert r.status_code == 409, r.text
    assert r.json()["errors"][0]["field"] == "About!B3"
    assert "another version of the questions" in r.json()["detail"]

    book["About"]["B1"] = "some other workbook"
    r = upload(world.provider_user, aid, as_bytes(book))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "About!B1", r.text
    assert saved(world.provider_user, aid) == {} and saved(world.provider_user, other["id"]) == {}


def test_an_answer_changed_on_the_web_since_download_is_a_conflict_not_an_overwrite(world, mini):
    aid = mini["id"]
    put_answers(world.provider_user, aid, {"question_id": "has-lead", "value": "no"})
    book, _ = download(world.provider_user, aid)
    put_answers(world.provider_admin, aid, {"question_id": "has-lead", "value": "yes", "version": 1},
                {"question_id": "device-count", "value": 9})
    fill(book, **{"has-lead": "No", "lead-maturity": "2 - Getting started", "device-count": 9})
    r = upload(world.provider_user, aid, as_bytes(book))
    assert r.status_code == 409, r.text
    # device-count was answered since, but with the same value: nothing to overwrite, so no conflict.
    assert [e["field"] for e in r.json()["errors"]] == ["Questions!D2"]
    assert "changed on the web after this workbook was downloaded (it is now version 2)" in \
        r.json()["errors"][0]["message"]
    answers = saved(world.provider_user, aid)
    assert answers["has-lead"]["value"] == "yes" and "lead-maturity" not in answers


def test_uploads_that_are_not_our_workbook(world, mini):
    aid = mini["id"]

    def refused(content: bytes, status: int, name: str = "filled.xlsx") -> dict:
        r = upload(world.provider_user, aid, content, name)
        assert r.status_code == status, r.text
        assert is_problem(r)
        return r.json()

    assert "not an .xlsx workbook" in refused(os.urandom(2000), 415)["detail"]
    assert "plain text (a CSV file?)" in refused(b"Id,Answer\nhas-lead,Yes\n", 415, "answers.xlsx")["detail"]
    assert "Excel 97-2003" in refused(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), 415)["detail"]
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert "a zip file, not a workbook" in refused(plain_zip.getvalue(), 415)["detail"]
    # A workbook, but not one of ours.
    body = refused(as_bytes(Workbook()), 422)
    assert body["errors"] == [{"field": "file", "message": "has no Questions sheet"},
                              {"field": "file", "message": "has no About sheet"}]
    assert refused(b"x" * (MAX_BYTES + 1), 413)["errors"] == [{"field": "file", "message": "is too large"}]
    # A sheet that defines an entity is refused by the XML parser, not expanded.
    book, _ = download(world.provider_user, aid)
    hostile = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(as_bytes(book))) as source, zipfile.ZipFile(hostile, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet2.xml":
                assert data.startswith(b"<worksheet")
                data = b'<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>' + data
            target.writestr(item, data)
    assert refused(hostile.getvalue(), 415)["errors"][0]["field"] == "file"
    r = world.provider_user.put(f"/api/v1/assessments/{aid}/workbook", files={"other": ("a.xlsx", b"x", MEDIA_TYPE)})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "file", r.text
    assert saved(world.provider_user, aid) == {}


def test_a_submitted_assessment_takes_no_workbook(world, mini):
    aid = mini["id"]
    put_answers(world.provider_user, aid, {"question_id": "has-lead", "value": "no"},
                {"question_id": "lead-maturity", "value": 2}, {"question_id": "device-count", "value": 1})
    book, _ = download(world.provider_admin, aid)
    assert world.provider_admin.post(f"/api/v1/assessments/{aid}/submit").status_code == 200
    r = upload(world.provider_admin, aid, as_bytes(fill(book, **{"device-count": 3})))
    assert r.status_code == 409 and "submitted" in r.json()["detail"]
    assert saved(world.provider_admin, aid)["device-count"]["value"] == 1


def test_another_providers_people_get_404_on_both_routes(world, mini):
    book, _ = download(world.provider_user, mini["id"])
    for api in (world.b_user, world.b_admin):
        r = api.get(f"/api/v1/assessments/{mini['id']}/workbook")
        assert r.status_code == 404 and is_problem(r)
        r = upload(api, mini["id"], as_bytes(fill(book, **{"has-lead": "No"})))
        assert r.status_code == 404, r.text
    assert saved(world.provider_user, mini["id"]) == {}


# --- LibreOffice ------------------------------------------------------------------------------------------


def test_the_round_trip_survives_a_save_in_libreoffice(world, wide, tmp_path):
    aid = wide["id"]
    put_answers(world.provider_user, aid, {"question_id": "notes", "value": "=cmd|' /C calc'!A0", "comment": "+1"})
    book, _ = download(world.provider_user, aid)
    fill(book, **{"partly": "Partly", "how-often": "Weekly, or more often", "systems": "Email; File shares",
                  "staff": "n/a"})
    sheet = book["Questions"]
    sheet[f"D{row_of(sheet, 'reviewed-on')}"] = date(2025, 3, 31)
    sheet[f"E{row_of(sheet, 'partly')}"] = "Only the office, not home visits."
    filled = tmp_path / "filled.xlsx"
    filled.write_bytes(as_bytes(book))
    (tmp_path / "lo").mkdir()
    converted = libreoffice_save(filled, tmp_path / "lo")

    r = upload(world.provider_user, aid, converted.read_bytes())
    assert r.status_code == 200, r.text
    assert sorted(a["question_id"] for a in r.json()) == ["how-often", "partly", "reviewed-on", "staff", "systems"]
    answers = saved(world.provider_user, aid)
    assert {q: answers[q]["value"] for q in answers} == {
        "partly": "partly", "how-often": "weekly", "systems": ["email", "files"], "reviewed-on": "2025-03-31",
        "staff": "n/a", "notes": "=cmd|' /C calc'!A0"}
    assert answers["partly"]["comment"] == "Only the office, not home visits."
    assert answers["notes"]["comment"] == "+1" and answers["notes"]["version"] == 1

    # A fresh download, passed through LibreOffice untouched, reads back exactly: nothing is saved again.
    book, _ = download(world.provider_user, aid)
    fresh = tmp_path / "fresh.xlsx"
    fresh.write_bytes(as_bytes(book))
    (tmp_path / "lo2").mkdir()
    r = upload(world.provider_user, aid, libreoffice_save(fresh, tmp_path / "lo2").read_bytes())
    assert r.status_code == 200 and r.json() == [], r.text
    assert saved(world.provider_user, aid) == answers
