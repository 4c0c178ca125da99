"""The quarterly report's workbook from a hand-made report with every section filled (no database): every sheet,
frozen headers, filters, widths, conditional formatting, native charts over the right cells, numbers typed as
numbers and dates as dates, user text neutralised, the governance edition naming no provider, and every figure
read back equal to the report's JSON."""

from __future__ import annotations

import io
from datetime import datetime

import msgspec
import pytest
from openpyxl import load_workbook
from openpyxl.chart import BarChart, LineChart

from partner_audit.reports import xlsx
from partner_audit.reports.schemas import Audience
from tests.support.reports import (
    HOSTILE_ACTION,
    HOSTILE_NAME,
    HOSTILE_ROLLOUT,
    assert_workbook_matches,
    rich_report,
    rows_below,
)

SHEETS = [xlsx.SUMMARY, xlsx.PROVIDERS, xlsx.DISTRIBUTION, xlsx.HEATMAP, xlsx.RECOMMENDATIONS, xlsx.WEAKEST,
          xlsx.ROLLOUTS, xlsx.GAP, xlsx.ACTIONS, xlsx.DEVICES, xlsx.INCIDENTS, xlsx.TREND]


def _book(audience: Audience = Audience.full):
    report = rich_report(audience)
    return load_workbook(io.BytesIO(xlsx.workbook(report))), report


def _as_json(report) -> dict:
    return msgspec.json.decode(msgspec.json.encode(report))


@pytest.mark.parametrize("audience", list(Audience))
def test_every_figure_reads_back_as_the_json_has_it(audience):
    book, report = _book(audience)
    assert book.sheetnames == SHEETS
    assert_workbook_matches(book, _as_json(report))


def test_the_summary_groups_the_headlines_under_recommendation_18s_headings_with_band_words():
    book, report = _book()
    sheet = book[xlsx.SUMMARY]
    assert sheet["A1"].value == "Quarterly privacy report 2025-Q3"
    bold = [r[0].value for r in sheet.iter_rows() if r[0].font.bold and r[1].value is None and r[0].value]
    for heading in ["Progress with the review findings", "Privacy breaches and near-misses", "Compliance",
                    "Implementation of agreed controls and recommendations", "Trends"]:
        assert heading in bold
    words = {r[0].value: r[1].value for r in sheet.iter_rows(max_col=2) if r[0].value in ("Green", "Amber", "Red")}
    assert words == {"Green": "Green: 80 or more", "Amber": "Amber: 50 to 79.9", "Red": "Red: below 50"}
    median = next(r for r in sheet.iter_rows() if r[0].value == "Median verified score")
    assert [c.value for c in median[1:4]] == [68.3, 66.1, 2.2]
    assert median[1].number_format == xlsx.SCORE and median[3].number_format == xlsx.SCORE_CHANGE
    share = next(r for r in sheet.iter_rows() if r[0].value == "Self-assessments accepted or submitted")
    assert share[1].value == pytest.approx(0.875) and share[1].number_format == xlsx.PERCENT
    made = next(r for r in sheet.iter_rows() if r[0].value == "Made at (UTC)")
    assert made[1].value == datetime(2025, 10, 3, 1, 30)  # a date-time cell, in UTC without a zone


def test_providers_by_verified_score_with_band_words_fills_frozen_header_filter_and_widths():
    book, report = _book()
    sheet = book[xlsx.PROVIDERS]
    assert sheet.freeze_panes == "B2"
    assert sheet.auto_filter.ref == f"A1:L{len(report.providers) + 1}"
    rows = rows_below(sheet, "Provider")
    assert [r["Verified"] for r in rows] == [31.7, 64.0, 72.5, 85.0, None]  # weakest first, unscored last
    assert [r["Verified band"] for r in rows] == ["Red", "Amber", "Amber", "Green", None]
    # Numbers as numbers, with one decimal shown; a date as a date.
    assert sheet["G2"].data_type == "n" and sheet["G2"].number_format == "0.0"
    assert sheet["J2"].number_format == "0.0%" and sheet["J2"].value == pytest.approx(0.667)
    assert sheet["L2"].is_date and sheet["L2"].value == datetime(2025, 9, 2)
    assert sheet["C2"].value == 3 and sheet["C2"].data_type == "n"
    # Colours from the band word, on the score and the word both.
    rules = {str(rng.sqref): [r.formula[0] for r in rng.rules] for rng in sheet.conditional_formatting}
    assert rules[f"E2:F{len(rows) + 1}"] == ['$F2="Green"', '$F2="Amber"', '$F2="Red"']
    assert rules[f"G2:H{len(rows) + 1}"] == ['$H2="Green"', '$H2="Amber"', '$H2="Red"']
    fills = [r.dxf.fill.fgColor.rgb for rng in sheet.conditional_formatting for r in rng.rules]
    assert {f[-6:] for f in fills} == {"C6EFCE", "FFEB9C", "FFC7CE"}
    # Sensible widths: the longest name fits, nothing is absurdly wide or narrow.
    widths = {c: sheet.column_dimensions[c].width for c in "ABCDEFGHIJKL"}
    assert widths["A"] >= len("Kōwhai Community Trust") and all(8 <= w <= 60 for w in widths.values()), widths


def test_user_text_is_neutralised_never_a_formula():
    book, _ = _book()
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    assert not [c for c in cells if c.data_type == "f"], "no cell of the workbook is a formula"
    name = [c for c in cells if c.value == "'" + HOSTILE_NAME]
    assert {c.parent.title for c in name} == {xlsx.PROVIDERS, xlsx.ACTIONS, xlsx.DEVICES}
    assert [c for c in cells if c.value == "'" + HOSTILE_ACTION]
    assert [c for c in cells if c.value == "'" + HOSTILE_ROLLOUT]
    assert not [c for c in cells if c.value.startswith(("=", "+", "@"))]


def test_native_charts_over_the_trend_and_the_incidents():
    book, report = _book()
    [line] = book[xlsx.TREND]._charts
    assert isinstance(line, LineChart)
    n = len(report.trend) + 1
    # Self-assessed, then verified (drawn last, on top where they meet).
    assert [s.val.numRef.f for s in line.series] == [f"'Trend'!$C$2:$C${n}", f"'Trend'!$D$2:$D${n}"]
    assert [s.tx.strRef.f for s in line.series] == ["'Trend'!C1", "'Trend'!D1"]
    assert {s.cat.strRef.f for s in line.series} == {f"'Trend'!$A$2:$A${n}"}  # the quarters, as text
    [bar] = book[xlsx.INCIDENTS]._charts
    assert isinstance(bar, BarChart)
    m = len(report.incidents) + 1
    assert [s.val.numRef.f for s in bar.series] == [f"'Incidents'!$B$2:$B${m}", f"'Incidents'!$C$2:$C${m}"]
    assert {s.cat.strRef.f for s in bar.series} == {f"'Incidents'!$A$2:$A${m}"}
    assert not line.x_axis.delete and not line.y_axis.delete and not bar.x_axis.delete
    # The charted cells are the figures: quarters' medians, kinds' counts.
    trend = book[xlsx.TREND]
    assert [trend.cell(r, 4).value for r in range(2, n + 1)] == [t.median_verified for t in report.trend]
    assert [book[xlsx.INCIDENTS].cell(r, 2).value for r in range(2, m + 1)] == [i.quarter for i in report.incidents]


def test_heatmap_grid_has_a_colour_scale_and_suppressed_cells_say_so():
    book, _ = _book()
    sheet = book[xlsx.HEATMAP]
    assert [c.value for c in sheet[1]][:4] == ["Focus area", "Auckland", "Canterbury", "Wellington"]
    assert sheet.freeze_panes == "B2"
    scales = [str(rng.sqref) for rng in sheet.conditional_formatting for r in rng.rules if r.type == "colorScale"]
    assert scales == ["B2:D3"]
    governance, _ = _book(Audience.governance)
    grid = governance[xlsx.HEATMAP]
    assert grid["B2"].value == "suppressed" and grid["D2"].value == "suppressed"


def test_recommendations_by_implementation_and_every_table_filtered_and_frozen():
    book, _ = _book()
    recs = rows_below(book[xlsx.RECOMMENDATIONS], "Recommendation")
    assert [r["Recommendation"] for r in recs] == [7, 18, 22]
    assert [r["Implemented share"] for r in recs] == [0.0, None, 0.25]
    for title in (xlsx.PROVIDERS, xlsx.DISTRIBUTION, xlsx.RECOMMENDATIONS, xlsx.WEAKEST, xlsx.ROLLOUTS,
                  xlsx.GAP, xlsx.ACTIONS, xlsx.DEVICES):
        sheet = book[title]
        assert sheet.auto_filter.ref, title
        assert sheet.freeze_panes, title
        header_row = int("".join(ch for ch in sheet.auto_filter.ref.split(":")[0] if ch.isdigit()))
        assert int("".join(ch for ch in sheet.freeze_panes if ch.isdigit())) == header_row + 1, title
    overdue = rows_below(book[xlsx.ACTIONS], "Provider")
    assert [r["Days overdue"] for r in overdue] == [29, 10]
    assert overdue[0]["Due"] == datetime(2025, 9, 1)


def test_the_governance_edition_names_no_provider():
    book, report = _book(Audience.governance)
    full, _ = _book(Audience.full)
    names = {p.provider_name for p in rich_report(Audience.full).providers}
    texts = {c.value for sheet in book for row in sheet.iter_rows() for c in row if isinstance(c.value, str)}
    assert not {n for n in names if n in texts or "'" + n in texts}
    for title in (xlsx.PROVIDERS, xlsx.GAP, xlsx.ACTIONS, xlsx.DEVICES):
        assert any("Left out of the governance edition" in t for t in
                   (c.value for row in book[title].iter_rows() for c in row if isinstance(c.value, str))), title
    summary = {r[0].value: r[1].value for r in book[xlsx.SUMMARY].iter_rows(max_col=2)}
    assert summary["Edition"].startswith("Governance: aggregates only")
    assert xlsx.file_name(report) == "quarterly-report-2025-Q3-governance.xlsx"
    # The full edition names them all.
    full_texts = {c.value for sheet in full for row in sheet.iter_rows() for c in row if isinstance(c.value, str)}
    assert all(n in full_texts or "'" + n in full_texts for n in names)


def test_an_empty_quarter_still_makes_a_sound_workbook():
    report = rich_report()
    empty = msgspec.structs.replace(report, headlines=[], rollouts=[], distributions=[], trend=[],
                                    weakest_controls=[], weakest_recommendations=[], recommendations=[],
                                    heatmap=[], providers=[], incidents=[])
    book = load_workbook(io.BytesIO(xlsx.workbook(empty)))
    assert book.sheetnames == SHEETS
    assert not book[xlsx.TREND]._charts and not book[xlsx.INCIDENTS]._charts
    assert book[xlsx.PROVIDERS]["A2"].value == "None this quarter."
