"""Step bindings for features/offline_workbook.feature: a provider downloads its assessment as an .xlsx workbook,
fills it in (with openpyxl, and saved through a real LibreOffice), and uploads it back."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.support.bdd import Journey, person_key, provider_of
from tests.support.problems import problem
from openpyxl import load_workbook
from pytest_bdd import given, parsers, scenarios, then, when

from partner_audit.assessments.xlsx import MEDIA_TYPE
from partner_audit.controls import service as controls
from tests.support.workbooks import libreoffice_save
from tests.support.paths import DATA

scenarios("offline_workbook.feature")

MINI = DATA / "mini-template.yaml"


@dataclass
class Offline:
    """The workbook the scenario's person is working on, and who that is."""

    person: str = ""
    content: bytes = b""


@pytest.fixture
def offline() -> Offline:
    return Offline()


def _api(world, person: str):
    return world.people[person_key(person)]


def _assessment_id(world, letter: str) -> str:
    r = world.admin.get("/api/v1/assessments", params={"provider_id": str(provider_of(world, letter)["id"])})
    assert r.status_code == 200 and r.json()["total"] == 1, r.text
    return r.json()["items"][0]["id"]


def _answers(world, letter: str) -> dict[str, Any]:
    r = world.admin.get(f"/api/v1/assessments/{_assessment_id(world, letter)}")
    assert r.status_code == 200, r.text
    return {a["question_id"]: a["value"] for a in r.json()["answers"]}


def _answer_on_the_web(world, person: str, question_id: str, value: str) -> None:
    api, aid = _api(world, person), _assessment_id(world, "A")
    versions = {a["question_id"]: a["version"] for a in api.get(f"/api/v1/assessments/{aid}").json()["answers"]}
    r = api.put(f"/api/v1/assessments/{aid}/answers", json={"answers": [
        {"question_id": question_id, "value": value, "version": versions.get(question_id, 0)}]})
    assert r.status_code == 200, r.text


@given("the mini privacy check has gone out to providers A and B")
def mini_check_out(world, run) -> None:
    row, _ = run(lambda: controls.load_file(MINI))
    today = date.today()
    r = world.partnerships.post("/api/v1/rollouts", json={
        "name": "Mini privacy check", "template_version_id": str(row["id"]), "period": "2025-Q3",
        "opens_on": today.isoformat(), "due_on": (today + timedelta(days=28)).isoformat(),
        "selection": {"provider_ids": [str(provider_of(world, letter)["id"]) for letter in "AB"]},
    })
    assert r.status_code == 201, r.text
    r = world.partnerships.post(f"/api/v1/rollouts/{r.json()['id']}/launch")
    assert r.status_code == 200 and r.json()["created"] == 2, r.text


@given(parsers.parse('the {person} has answered "{question_id}" with "{value}" on the web'))
def answered_on_the_web(world, person: str, question_id: str, value: str) -> None:
    _answer_on_the_web(world, person, question_id, value)


@when(parsers.parse('the {person} then answers "{question_id}" with "{value}" on the web'))
def then_answers_on_the_web(world, person: str, question_id: str, value: str) -> None:
    _answer_on_the_web(world, person, question_id, value)


@when(parsers.parse("the {person} downloads their assessment as a workbook"))
def downloads(world, offline: Offline, person: str) -> None:
    r = _api(world, person).get(f"/api/v1/assessments/{_assessment_id(world, 'A')}/workbook")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == MEDIA_TYPE
    assert r.headers["content-disposition"].endswith('-2025-Q3-self-assessment.xlsx"')
    offline.person, offline.content = person, r.content


@then(parsers.parse('the workbook has a row for each of its {count:d} questions, with "{label}" as the answer to '
                    '"{question_id}"'))
def has_rows(offline: Offline, count: int, label: str, question_id: str) -> None:
    sheet = load_workbook(io.BytesIO(offline.content))["Questions"]
    rows = {row[0]: row[3] for row in sheet.iter_rows(min_row=2, max_col=4, values_only=True)}
    assert len(rows) == count, rows
    assert rows[question_id] == label


@then("only the answer and comment cells can be changed")
def only_answers_unlocked(offline: Offline) -> None:
    book = load_workbook(io.BytesIO(offline.content))
    sheet = book["Questions"]
    assert sheet.protection.sheet and book.security.lockStructure
    unlocked = {cell.column_letter for row in sheet.iter_rows() for cell in row if not cell.protection.locked}
    assert unlocked == {"D", "E"}
    assert [sheet.cell(1, column).value for column in (4, 5)] == ["Answer", "Comment"]


@when("they fill in the workbook:")
def fill_in(offline: Offline, datatable: list[list[str]]) -> None:
    book = load_workbook(io.BytesIO(offline.content))
    sheet = book["Questions"]
    rows = {cell.value: cell.row for cell in sheet["A"]}
    for question_id, answer in datatable[1:]:
        # A person types a number as a number, and clears a cell to leave it blank.
        sheet[f"D{rows[question_id]}"] = int(answer) if answer.isdigit() else (answer or None)
    out = io.BytesIO()
    book.save(out)
    offline.content = out.getvalue()


@when("they save the workbook in LibreOffice")
def save_in_libreoffice(offline: Offline, tmp_path: Path) -> None:
    filled = tmp_path / "filled.xlsx"
    filled.write_bytes(offline.content)
    (tmp_path / "saved").mkdir()
    offline.content = libreoffice_save(filled, tmp_path / "saved").read_bytes()


@when("they upload the workbook")
def upload(world, journey: Journey, offline: Offline) -> None:
    journey.response = _api(world, offline.person).put(
        f"/api/v1/assessments/{_assessment_id(world, 'A')}/workbook",
        files={"file": ("filled.xlsx", offline.content, MEDIA_TYPE)})


@then(parsers.parse('the upload saves the answers to "{question_ids}"'))
def upload_saves(journey: Journey, question_ids: str) -> None:
    assert journey.response.status_code == 200, journey.response.text
    assert sorted(a["question_id"] for a in journey.response.json()) == sorted(question_ids.split(", "))


@then(parsers.parse("provider {letter}'s answers are now, as stored:"))
def answers_now(world, letter: str, datatable: list[list[str]]) -> None:
    assert _answers(world, letter) == {question_id: json.loads(value) for question_id, value in datatable[1:]}


@then(parsers.parse("provider {letter}'s assessment is in progress"))
def in_progress(world, letter: str) -> None:
    r = world.admin.get(f"/api/v1/assessments/{_assessment_id(world, letter)}")
    assert r.json()["status"] == "in_progress"


@then("they are told to fix these cells:")
def told_to_fix(journey: Journey, datatable: list[list[str]]) -> None:
    body = problem(journey.response, 422)
    assert body["errors"] == [{"field": cell, "message": problem} for cell, problem in datatable[1:]]
    assert "nothing was saved" in body["detail"]


@then(parsers.parse("provider {letter}'s assessment has no answers yet"))
def no_answers(world, letter: str) -> None:
    assert _answers(world, letter) == {}


@then(parsers.parse("they are told {cell} was changed on the web after the workbook was downloaded"))
def told_changed(journey: Journey, cell: str) -> None:
    body = problem(journey.response, 409)
    assert [e["field"] for e in body["errors"]] == [cell]
    assert "changed on the web after this workbook was downloaded" in body["errors"][0]["message"]
    assert "nothing was saved" in body["detail"]


@when(parsers.parse("the {person} asks for provider {letter}'s assessment as a workbook"))
def asks_for_other(world, journey: Journey, person: str, letter: str) -> None:
    journey.response = _api(world, person).get(f"/api/v1/assessments/{_assessment_id(world, letter)}/workbook")


@when(parsers.parse("the {person} uploads a workbook to provider {letter}'s assessment"))
def uploads_to_other(world, journey: Journey, person: str, letter: str) -> None:
    api = _api(world, person)
    # Their own assessment's workbook, filled in, sent to provider A's.
    own = api.get("/api/v1/assessments").json()["items"][0]["id"]
    content = api.get(f"/api/v1/assessments/{own}/workbook").content
    journey.response = api.put(f"/api/v1/assessments/{_assessment_id(world, letter)}/workbook",
                               files={"file": ("filled.xlsx", content, MEDIA_TYPE)})
