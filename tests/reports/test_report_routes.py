"""The report's two routes (JSON and workbook) as each role calls them: who gets which edition, what a provider's
people get (403: the report is not theirs to make), a bad quarter or audience named in a 400, and the workbook
handed out as an attachment named for the quarter and edition. A quarter with nothing in it still makes a sound
report and workbook. On SQLite and PostgreSQL."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from partner_audit.reports import xlsx
from tests.support.reports import assert_workbook_matches
from tests.support.problems import problem

QUARTER = "2025-Q3"
JSON = f"/api/v1/reports/quarterly/{QUARTER}"
WORKBOOK = f"/api/v1/reports/quarterly/{QUARTER}/workbook"


@pytest.mark.parametrize("role", ["provider_user", "provider_admin"])
def test_a_providers_people_may_not_make_the_report(world, role):
    for path in (JSON, WORKBOOK):
        problem(world.people[role].get(path), 403)


@pytest.mark.parametrize("role", ["admin", "partnerships", "auditor"])
def test_the_agencys_people_get_the_full_edition_unless_they_ask_for_governances(world, role):
    who = world.people[role]
    r = who.get(JSON)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["quarter"], report["starts_on"], report["ends_on"], report["audience"]) == (
        QUARTER, "2025-07-01", "2025-09-30", "full")
    r = who.get(JSON, params={"audience": "governance"})
    assert r.status_code == 200, r.text
    assert r.json()["audience"] == "governance"


def test_governance_gets_its_own_edition_and_may_not_ask_for_the_full_one(world):
    r = world.governance.get(JSON)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["audience"] == "governance" and report["providers"] == []
    problem(world.governance.get(JSON, params={"audience": "full"}), 403)
    problem(world.governance.get(WORKBOOK, params={"audience": "full"}), 403)
    r = world.governance.get(WORKBOOK)
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == f'attachment; filename="quarterly-report-{QUARTER}-governance.xlsx"'


def test_the_workbook_is_an_attachment_with_the_jsons_figures_even_for_an_empty_quarter(world):
    report = world.partnerships.get(JSON).json()
    r = world.partnerships.get(WORKBOOK)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == xlsx.MEDIA_TYPE
    assert r.headers["content-disposition"] == f'attachment; filename="quarterly-report-{QUARTER}.xlsx"'
    assert r.headers["x-content-type-options"] == "nosniff"
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames[0] == xlsx.SUMMARY
    assert_workbook_matches(book, report)


@pytest.mark.parametrize("quarter", ["2025-Q5", "2025-3", "1999-Q1", "Q3-2025"])
def test_a_bad_quarter_is_a_400_naming_it(world, quarter):
    for path in (f"/api/v1/reports/quarterly/{quarter}", f"/api/v1/reports/quarterly/{quarter}/workbook"):
        body = problem(world.partnerships.get(path), 400, "quarter")
        assert "YYYY-QN" in body["detail"], body


def test_an_unknown_audience_is_a_400_naming_it(world):
    body = problem(world.partnerships.get(JSON, params={"audience": "everyone"}), 400)
    assert "audience" in body["detail"] or "audience" in str(body.get("errors")), body


def test_the_document_describes_the_workbook_as_a_file_and_the_json_as_the_report(client):
    paths = client.get("/schema/openapi.json").json()["paths"]
    workbook = paths["/api/v1/reports/quarterly/{quarter}/workbook"]["get"]
    assert workbook["responses"]["200"]["content"] == {xlsx.MEDIA_TYPE: {"schema": {"type": "string",
                                                                                    "format": "binary"}}}
    report = paths["/api/v1/reports/quarterly/{quarter}"]["get"]
    assert report["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/QuarterlyReport"}
    for operation in (workbook, report):
        assert {"400", "401", "403", "422"} <= set(operation["responses"]), operation["responses"]
        assert [p["name"] for p in operation["parameters"]] == ["quarter", "audience"]
