"""Step bindings for features/device_import.feature: a register spreadsheet (a real .xlsx written by openpyxl)
previewed, refused with its mistakes named, fixed and imported."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import pytest
from tests.support.bdd import Journey, person_key
from tests.support.problems import problem
from openpyxl import Workbook
from pytest_bdd import given, parsers, scenarios, then, when

scenarios("device_import.feature")


@dataclass
class Register:
    """The spreadsheet the scenario's person is working on: header, then rows as typed."""

    header: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)

    def content(self) -> bytes:
        book = Workbook()
        sheet = book.active
        for row in [self.header, *self.rows]:
            sheet.append([cell or None for cell in row])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()


@pytest.fixture
def register() -> Register:
    return Register()


def _table(datatable: list[list[str]]) -> list[dict[str, str]]:
    header, *rows = datatable
    return [dict(zip(header, row)) for row in rows]


def _upload(world, person: str, register: Register, dry_run: bool):
    return world.people[person].post("/api/v1/devices/import", params={"dry_run": str(dry_run).lower()},
                                     files={"file": ("register.xlsx", register.content(), "application/octet-stream")})


def _devices(world) -> dict[str, dict[str, Any]]:
    r = world.admin.get("/api/v1/devices", params={"page_size": 200})
    assert r.status_code == 200, r.text
    return {d["asset_tag"]: d for d in r.json()["items"]}


@given("the partnerships officer has an asset-register export:")
def asset_register_export(register: Register, datatable) -> None:
    register.header, *register.rows = (list(row) for row in datatable)


@when("they preview the import")
def preview(world, journey: Journey, register: Register) -> None:
    journey.response = _upload(world, "partnerships", register, dry_run=True)
    assert journey.response.status_code == 200, journey.response.text


@when("they import the file anyway")
@when("they import the file")
def import_file(world, journey: Journey, register: Register) -> None:
    journey.response = _upload(world, "partnerships", register, dry_run=False)


@when(parsers.parse("the {person} imports the file"))
def someone_imports(world, journey: Journey, register: Register, person: str) -> None:
    journey.response = _upload(world, person_key(person), register, dry_run=False)


@then("the preview lists these problems:")
def preview_problems(journey: Journey, datatable) -> None:
    expected = [(row["where"], row["problem"]) for row in _table(datatable)]
    assert [(e["field"], e["message"]) for e in journey.response.json()["errors"]] == expected


@then(parsers.parse('the preview says the column "{column}" is not used'))
def column_not_used(journey: Journey, column: str) -> None:
    assert journey.response.json()["ignored_columns"] == [column]


@then(parsers.parse("the import is refused naming the same {count:d} problems"))
def refused(journey: Journey, count: int) -> None:
    body = problem(journey.response, 422)
    assert body["error_count"] == count and len(body["errors"]) == count
    assert [e["field"] for e in body["errors"]] == ['row 3, column "Expected Checkin"', 'row 4, column "Provider"',
                                                    'row 5, column "Asset Tag"']


@then("the register has no devices")
def no_devices(world) -> None:
    assert _devices(world) == {}


@when("they fix the file:")
def fix_the_file(register: Register, datatable) -> None:
    for change in _table(datatable):
        register.rows[int(change["row"]) - 2][register.header.index(change["column"])] = change["value"]


@then("the preview shows, row by row:")
def preview_rows(journey: Journey, datatable) -> None:
    body = journey.response.json()
    assert body["errors"] == [], body["errors"]
    expected = [(int(r["row"]), r["asset tag"], r["device"], r["assignment"]) for r in _table(datatable)]
    assert [(c["row"], c["asset_tag"], c["action"], c["assignment"]) for c in body["changes"]] == expected


@then(parsers.parse("the register has {count:d} devices"))
def device_count(world, journey: Journey, count: int) -> None:
    assert journey.response.status_code == 200, journey.response.text
    assert len(_devices(world)) == count


@then(parsers.parse('"{tag}" is held by "{email}" at provider A until {until}'))
def held_by(world, tag: str, email: str, until: str) -> None:
    held = _devices(world)[tag]["current_assignment"]
    assert (held["holder_email"], held["provider_id"], held["expected_return_on"]) == (
        email, str(world.provider_a["id"]), until)


@then(parsers.parse('the staff member at provider A sees "{first}" and "{second}" but no holder\'s email'))
def staff_view(world, first: str, second: str) -> None:
    r = world.provider_user.get("/api/v1/devices")
    assert r.status_code == 200, r.text
    assert sorted(d["asset_tag"] for d in r.json()["items"]) == [first, second]
    assert all(d["current_assignment"]["holder_email"] is None for d in r.json()["items"])
