"""The sheets' titles and the writer every sheet uses: ``Sheet`` writes one worksheet top to bottom (titles,
notes, label and value pairs, tables with their filter and frozen header, band colours), measures the columns as
it goes and sets the widths and the page at the end; the helpers turn the report's figures into cell values."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from partner_audit import spreadsheets
from partner_audit.reports.schemas import Distribution, QuarterlyReport, RecommendationProgress, TrendPoint
from partner_audit.reports.xlsx.styles import (
    BAND_FILLS,
    BAND_WORDS,
    BOLD,
    HEADER_FILL,
    HEADING_FILL,
    INDENTED,
    MAX_WIDTH,
    MIN_WIDTH,
    TITLE,
    WRAP,
)

SUMMARY, PROVIDERS, DISTRIBUTION, HEATMAP = "Summary", "Providers", "Distribution", "Heatmap"
RECOMMENDATIONS, WEAKEST, ROLLOUTS, GAP = "Recommendations", "Weakest", "Rollouts", "Assurance gap"
ACTIONS, DEVICES, INCIDENTS, TREND = "Corrective actions", "Devices", "Incidents", "Trend"

GOVERNANCE_LEFT_OUT = ("Left out of the governance edition, which names no provider and holds no personal "
                       "information: {what}. The other sheets give the figures by group.")


@dataclass(frozen=True)
class Column:
    header: str
    format: str | None = None  # the cells' number format; None: text or as the value is


# --- cells ---------------------------------------------------------------------------------------------------


def percent(value: float | int | None) -> float | None:
    """A percentage (0 to 100, as the JSON gives it) as Excel keeps one (0 to 1), shown with PERCENT."""
    return None if value is None else value / 100


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def suppressed(figures: Distribution | TrendPoint | RecommendationProgress, report: QuarterlyReport) -> str:
    """Whether a group's figures are held back from the governance edition, in words."""
    return f"yes: fewer than {report.min_group_size} providers" if figures.suppressed else "no"


def same(value: Any) -> Any:
    return value


def band(band: Any) -> str | None:
    return None if band is None else BAND_WORDS.get(getattr(band, "value", band), str(band))


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return spreadsheets.export_value(value)  # UTC without a zone: Excel has none
    if isinstance(value, date) or value is None or isinstance(value, (int, float)):
        return value
    return spreadsheets.cell(str(value))


# --- the writer ----------------------------------------------------------------------------------------------


class Sheet:
    """One worksheet written top to bottom: ``row`` is the next free row; the widths of table columns are
    measured as they are written and set at the end."""

    def __init__(self, book: Workbook, report: QuarterlyReport) -> None:
        self.ws: Worksheet = book.create_sheet()
        self.report = report
        self.row = 1
        self.widths: dict[int, int] = {}

    def put(self, row: int, column: int, value: Any, number_format: str | None = None, *, measure: bool = True):
        target = self.ws.cell(row, column)
        target.value = _value(value)
        if number_format and isinstance(target.value, (int, float, date)):
            target.number_format = number_format
        if measure and target.value is not None:
            self.widths[column] = max(self.widths.get(column, 0), _shown_length(target.value, number_format))
        return target

    def title(self, text: str) -> None:
        self.put(self.row, 1, text, measure=False).font = TITLE
        self.row += 1

    def note(self, text: str) -> None:
        self.put(self.row, 1, text, measure=False)
        self.row += 1

    def heading(self, text: str, span: int = 1) -> None:
        for column in range(1, span + 1):
            self.ws.cell(self.row, column).fill = HEADING_FILL
        self.put(self.row, 1, text, measure=False).font = BOLD
        self.row += 1

    def skip(self) -> None:
        self.row += 1

    def pairs(self, items: Iterable[tuple[str, Any, str | None]]) -> None:
        for label, value, number_format in items:
            self.put(self.row, 1, label).font = BOLD
            self.put(self.row, 2, value, number_format)
            self.row += 1

    def header(self, columns: Sequence[Column]) -> None:
        for index, column in enumerate(columns, start=1):
            target = self.put(self.row, index, column.header)
            target.font, target.fill, target.alignment = BOLD, HEADER_FILL, WRAP
        self.row += 1

    def row_of(self, values: Sequence[Any], formats: Sequence[str | None]) -> None:
        for index, (value, number_format) in enumerate(zip(values, formats, strict=True), start=1):
            target = self.put(self.row, index, value, number_format)
            if index > 1 and isinstance(target.value, str):
                target.alignment = INDENTED  # not run into the right-aligned number before it
        self.row += 1

    def table(self, columns: Sequence[Column], rows: Sequence[Sequence[Any]], *, filter: bool = True,
              freeze_column: bool = False) -> tuple[int, int]:
        """A header and its rows; returns the first and last data rows (the last is the header's when there are
        none). ``filter``: an autofilter over it, and its header frozen, for the sheet's main table."""
        header = self.row
        self.header(columns)
        formats = [c.format for c in columns]
        for values in rows:
            self.row_of(values, formats)
        first, last = header + 1, self.row - 1
        if filter:
            self.ws.auto_filter.ref = f"A{header}:{get_column_letter(len(columns))}{max(last, header)}"
            self.ws.freeze_panes = self.ws.cell(first, 2 if freeze_column else 1).coordinate
        if not rows:
            self.note("None this quarter.")
        return first, last

    def band_colours(self, first: int, last: int, score: str, band: str) -> None:
        """Fill the score and band columns of rows ``first`` to ``last`` by the band word in each row."""
        if last < first:
            return
        for name, word in BAND_WORDS.items():
            self.ws.conditional_formatting.add(f"{score}{first}:{band}{last}", FormulaRule(
                formula=[f'${band}{first}="{word}"'], fill=BAND_FILLS[name]))

    def finish(self) -> None:
        for column, length in self.widths.items():
            self.ws.column_dimensions[get_column_letter(column)].width = max(MIN_WIDTH, min(MAX_WIDTH, length + 2))
        if 1 not in self.widths:
            self.ws.column_dimensions["A"].width = 40
        # Printed (or made a PDF) landscape, as wide as the page, each page headed with the sheet and quarter.
        self.ws.page_setup.orientation = "landscape"
        self.ws.page_setup.fitToWidth = 1
        self.ws.page_setup.fitToHeight = 0
        self.ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        self.ws.oddHeader.center.text = f"&A: quarterly privacy report {self.report.quarter}"


def _shown_length(value: Any, number_format: str | None) -> int:
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    if isinstance(value, float):
        return len(f"{value:.1f}") + 2
    return max((len(line) for line in str(value).splitlines()), default=0)
