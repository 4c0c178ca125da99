"""The "Summary" sheet: the headline figures under recommendation 18's headings, with last quarter's and the
change, the edition, and the band words."""

from __future__ import annotations

from collections.abc import Sequence

from partner_audit.reports.schemas import Audience, Headline, QuarterlyReport
from partner_audit.reports.xlsx.sheet import SUMMARY, Column, Sheet, percent, same
from partner_audit.reports.xlsx.styles import (
    BAND_FILLS,
    BAND_WORDS,
    COUNT,
    COUNT_CHANGE,
    DATE,
    DATETIME,
    PERCENT,
    PERCENT_CHANGE,
    SCORE,
    SCORE_CHANGE,
)


def summary(sheet: Sheet, report: QuarterlyReport) -> None:
    sheet.ws.title = SUMMARY
    sheet.title(f"Quarterly privacy report {report.quarter}")
    sheet.note("For the governance group and the risk and assurance committee (Privacy Improvement Plan, "
               "recommendation 18).")
    sheet.skip()
    edition = ("Governance: aggregates only, no provider names or personal information; a group of fewer than "
               f"{report.min_group_size} providers is suppressed" if report.audience is Audience.governance
               else "Full: every provider named")
    sheet.pairs([("Quarter", report.quarter, None), ("From", report.starts_on, DATE),
                 ("To", report.ends_on, DATE), ("Compared with", report.previous_quarter, None),
                 ("Edition", edition, None), ("Made at (UTC)", report.made_at, DATETIME)])
    sheet.skip()
    sheet.heading("Bands: by verified score, always named, never colour alone")
    for band, words in report.bands.items():
        cell = sheet.put(sheet.row, 1, BAND_WORDS.get(band, band))
        if band in BAND_FILLS:
            cell.fill = BAND_FILLS[band]
        sheet.put(sheet.row, 2, words)
        sheet.row += 1
    sheet.skip()
    columns = [Column("Figure"), Column("This quarter"), Column("Last quarter"), Column("Change"), Column("Unit")]
    sheet.header(columns)
    header_row = sheet.row - 1
    for heading, headlines in _grouped(report.headlines):
        sheet.heading(heading, span=len(columns))
        for h in headlines:
            value_format, change_format = _headline_formats(h)
            scale = percent if h.unit == "%" else same
            sheet.row_of([h.label, scale(h.value), scale(h.previous), scale(h.change), h.unit],
                         [None, value_format, value_format, change_format, None])
    sheet.ws.freeze_panes = sheet.ws.cell(header_row + 1, 1).coordinate


def _grouped(headlines: Sequence[Headline]) -> list[tuple[str, list[Headline]]]:
    """Headlines under their headings, each heading where it first appears (the report gives recommendation 18's
    order)."""
    groups: dict[str, list[Headline]] = {}
    for h in headlines:
        groups.setdefault(h.heading, []).append(h)
    return list(groups.items())


def _headline_formats(h: Headline) -> tuple[str | None, str | None]:
    if h.unit == "score":
        return SCORE, SCORE_CHANGE
    if h.unit == "%":
        return PERCENT, PERCENT_CHANGE
    if h.unit == "count":
        return COUNT, COUNT_CHANGE
    return None, None
