"""Step bindings for features/device_import.feature: a register spreadsheet (a real .xlsx written by openpyxl)
previewed, refused with its mistakes named, fixed and imported."""

from __future__ import annotations

import csv
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
    csv: bool = False

    def name(self) -> str:
        return "assets.csv" if self.csv else "register.xlsx"

    def content(self) -> bytes:
        if self.csv:
            out = io.StringIO()
            csv.writer(out).writerows([self.header, *self.rows])
            return ("\ufeff" + out.getvalue()).encode("utf-8")
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


def _upload(world, person: str, register: Register, dry_run: bool, **params: str):
    return world.people[person].post("/api/v1/devices/import", params={"dry_run": str(dry_run).lower(), **params},
                                     files={"file": (register.name(), register.content(), "application/octet-stream")})


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


# --- a Snipe-IT export ---------------------------------------------------------------------------------------


@given("the partnerships officer has a Snipe-IT asset export:")
def snipe_it_export(register: Register, datatable) -> None:
    register.header, *register.rows = (list(row) for row in datatable)
    register.csv = True  # Snipe-IT exports CSV, with a byte-order mark


@when(parsers.parse('they preview the import with the default purpose "{purpose}"'))
def preview_with_purpose(world, journey: Journey, register: Register, purpose: str) -> None:
    journey.response = _upload(world, "partnerships", register, dry_run=True, default_purpose=purpose)
    assert journey.response.status_code == 200, journey.response.text


@when(parsers.parse('they import the file with the default purpose "{purpose}"'))
def import_with_purpose(world, journey: Journey, register: Register, purpose: str) -> None:
    journey.response = _upload(world, "partnerships", register, dry_run=False, default_purpose=purpose)
    assert journey.response.status_code == 200, journey.response.text


@then("the preview warns:")
def preview_warns(journey: Journey, datatable) -> None:
    expected = [(row["where"], row["warning"]) for row in _table(datatable)]
    assert [(w["field"], w["message"]) for w in journey.response.json()["warnings"]] == expected


@then("the import lists what it changed, row by row:")
def applied_rows(journey: Journey, datatable) -> None:
    body = journey.response.json()
    assert body["applied"] is True and body["errors"] == [], body
    expected = [(int(r["row"]), r["asset tag"], r["device"], r["assignment"], r["default purpose"] == "yes")
                for r in _table(datatable)]
    assert [(c["row"], c["asset_tag"], c["action"], c["assignment"], c["default_purpose"])
            for c in body["changes"]] == expected


@then(parsers.parse("the import says {count:d} check-outs took the default purpose"))
def default_purpose_count(journey: Journey, count: int) -> None:
    assert journey.response.json()["default_purpose_rows"] == count


@then(parsers.parse('"{tag}" is held by "{name}" ({email}) at provider {letter} for "{purpose}"'))
def held_for(world, tag: str, name: str, email: str, letter: str, purpose: str) -> None:
    held = _devices(world)[tag]["current_assignment"]
    provider = {"A": world.provider_a, "B": world.provider_b}[letter]
    assert (held["holder_name"], held["holder_email"], held["provider_id"], held["purpose"], held["open"]) == (
        name, email, str(provider["id"]), purpose, True)


@then(parsers.parse('"{tag}" is in stock with no holder'))
def in_stock(world, tag: str) -> None:
    device = _devices(world)[tag]
    assert (device["status"], device["current_assignment"]) == ("in_stock", None), device
