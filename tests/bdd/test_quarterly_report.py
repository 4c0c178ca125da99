"""Step bindings for features/quarterly_report.feature: the partnerships team makes the quarter's report for the
committee as a workbook, the committee's edition names no one, and a provider's people cannot make it."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from pytest_bdd import given, parsers, scenarios, then, when

from partner_audit.reports import xlsx
from partner_audit.reports.quarters import Quarter
from tests.support.reports import assert_workbook_matches, rows_below
from tests.support.bdd import Journey, person_of, provider_of
from tests.support.devices import checked_out
from tests.support.problems import problem

scenarios("quarterly_report.feature")


@pytest.fixture
def made() -> dict[str, Any]:
    """What the scenario has made: "device", "response" (the workbook's), "book", "person"."""
    return {}


def _this_quarter() -> Quarter:
    return Quarter.of(date.today())


@given(parsers.parse('the partnerships officer has checked the laptop "{tag}" out to "{name}" at provider {letter}'))
def laptop_checked_out(world, made, tag: str, name: str, letter: str) -> None:
    made["device"], _ = checked_out(world, tag, provider_of(world, letter), name)


@given(parsers.parse('the {person} has reported "{tag}" stolen an hour ago'))
def reported_stolen(world, made, person: str, tag: str) -> None:
    r = person_of(world, person).post("/api/v1/incidents", json={
        "device_id": made["device"]["id"], "kind": "stolen",
        "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "reported_by": "Hine Walker, privacy lead", "location": "The office car park",
        "information_at_risk": "Case notes of the whānau Aroha Ngata visits", "description": "Taken from a car"})
    assert r.status_code == 201, r.text


@when(parsers.parse("the {person} makes this quarter's report as a workbook"))
def makes_workbook(world, made, person: str) -> None:
    made["person"] = person
    made["response"] = r = person_of(world, person).get(f"/api/v1/reports/quarterly/{_this_quarter()}/workbook")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == xlsx.MEDIA_TYPE
    made["book"] = load_workbook(io.BytesIO(r.content))


@when(parsers.parse("the {person} asks for the full edition of this quarter's report"))
def asks_for_full(world, journey: Journey, person: str) -> None:
    journey.response = person_of(world, person).get(f"/api/v1/reports/quarterly/{_this_quarter()}",
                                                    params={"audience": "full"})


@when(parsers.parse("the {person} asks for this quarter's report"))
def asks_for_report(world, journey: Journey, person: str) -> None:
    journey.response = person_of(world, person).get(f"/api/v1/reports/quarterly/{_this_quarter()}")


@then("the workbook is named for the quarter")
def named_for_quarter(made) -> None:
    assert made["response"].headers["content-disposition"] == (
        f'attachment; filename="quarterly-report-{_this_quarter()}.xlsx"')


@then("the workbook is named for the quarter and the governance edition")
def named_for_governance(made) -> None:
    assert made["response"].headers["content-disposition"] == (
        f'attachment; filename="quarterly-report-{_this_quarter()}-governance.xlsx"')


@then("its summary gives the headline figures under recommendation 18's headings, with last quarter's beside them")
def summary_headings(made) -> None:
    book = made["book"]
    assert book.sheetnames[0] == xlsx.SUMMARY
    summary = book[xlsx.SUMMARY]
    header = next(r for r in summary.iter_rows() if r[0].value == "Figure")
    assert [c.value for c in header[:5]] == ["Figure", "This quarter", "Last quarter", "Change", "Unit"]
    headings = [r[0].value for r in summary.iter_rows(min_row=header[0].row + 1)
                if r[0].font.bold and r[0].value and all(c.value is None for c in r[1:5])]
    assert len(headings) >= 5, headings
    for words in ("progress", "breach", "compliance", "implementation", "trend"):
        assert any(words in h.lower() for h in headings), (words, headings)


@then(parsers.parse("it counts {count:d} stolen device this quarter, beside a chart of incidents by kind"))
def counts_stolen(made, count: int) -> None:
    sheet = made["book"][xlsx.INCIDENTS]
    stolen = next(r for r in rows_below(sheet, "Kind") if r["Kind"] == "Stolen")
    assert stolen["This quarter"] == count
    [chart] = sheet._charts
    assert chart.tagname == "barChart"


@then("its figures are the figures of the JSON report")
def same_as_json(world, made) -> None:
    r = person_of(world, made["person"]).get(f"/api/v1/reports/quarterly/{_this_quarter()}")
    assert r.status_code == 200, r.text
    assert_workbook_matches(made["book"], r.json())


@then(parsers.parse('it names neither provider A nor provider B, nor "{name}"'))
def names_no_one(world, made, name: str) -> None:
    texts = " ".join(c.value for sheet in made["book"] for row in sheet.iter_rows() for c in row
                     if isinstance(c.value, str))
    for words in (world.provider_a["name"], world.provider_b["name"], name):
        assert words not in texts, words


@then("its Providers sheet says the providers are left out of the governance edition")
def providers_left_out(made) -> None:
    sheet = made["book"][xlsx.PROVIDERS]
    assert sheet["A1"].value.startswith("Left out of the governance edition"), sheet["A1"].value
    assert sheet.max_row == 1


@then("they are refused")
def refused(journey: Journey) -> None:
    problem(journey.response, 403)
