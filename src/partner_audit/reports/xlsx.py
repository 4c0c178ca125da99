"""The quarterly governance report (recommendation 18) as an .xlsx workbook: only the format lives here. Every
figure comes from the ``QuarterlyReport`` the JSON gives, so the workbook and the JSON cannot disagree; nothing
here queries or computes a figure beyond a sort and a share.

Sheets, in order: "Summary" (the headline figures under recommendation 18's headings, with last quarter's and
the change, and the band words), "Providers" (by verified score, weakest first; left out of the governance
edition), "Distribution" (the spread by region, tier and kind), "Heatmap" (focus areas by region), "Recommendations"
(by implementation), "Weakest" (controls and recommendations), "Rollouts", "Assurance gap", "Corrective actions",
"Devices", "Incidents" (by kind, with a bar chart, and the breach assessments against their clocks) and "Trend"
(the quarters' medians, with a line chart).

How the cells are written: numbers as numbers and dates as dates, so they sort, filter and chart; scores with one
decimal; percentages (completeness, completion) as Excel percentages; text through ``spreadsheets.cell``, so a
provider's name or an action's title that starts with "=" is shown, never run. A band is always a word in its own
column; its colour is conditional formatting keyed on that word, so the colour and the word cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.formatting.rule import ColorScaleRule, DataBarRule, FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from partner_audit import spreadsheets
from partner_audit.reports.schemas import (
    Audience,
    Distribution,
    Headline,
    ProviderRow,
    QuarterlyReport,
    RecommendationProgress,
    TrendPoint,
)

MEDIA_TYPE = spreadsheets.XLSX_MEDIA_TYPE

SUMMARY, PROVIDERS, DISTRIBUTION, HEATMAP = "Summary", "Providers", "Distribution", "Heatmap"
RECOMMENDATIONS, WEAKEST, ROLLOUTS, GAP = "Recommendations", "Weakest", "Rollouts", "Assurance gap"
ACTIONS, DEVICES, INCIDENTS, TREND = "Corrective actions", "Devices", "Incidents", "Trend"

# Number formats: a score with one decimal, a change with its sign, a share as a percentage.
SCORE = "0.0"
SCORE_CHANGE = "+0.0;-0.0;0.0"
PERCENT = "0.0%"
PERCENT_CHANGE = "+0.0%;-0.0%;0.0%"
COUNT = "0"
COUNT_CHANGE = "+0;-0;0"
DATE = "yyyy-mm-dd"
DATETIME = "yyyy-mm-dd hh:mm"

BAND_WORDS = {"green": "Green", "amber": "Amber", "red": "Red"}
# Excel's own good/neutral/bad fills, readable with black text.
BAND_FILLS = {"green": PatternFill("solid", start_color="C6EFCE", end_color="C6EFCE"),
              "amber": PatternFill("solid", start_color="FFEB9C", end_color="FFEB9C"),
              "red": PatternFill("solid", start_color="FFC7CE", end_color="FFC7CE")}
# The charts' series colours, used nowhere else in the workbook (tests look for them in the printed report).
VERIFIED_LINE, SELF_LINE = "1F4E79", "C55A11"
QUARTER_BARS, PREVIOUS_BARS = "7030A0", "A5A5A5"

BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
HEADER_FILL = PatternFill("solid", start_color="D9E1F2", end_color="D9E1F2")
HEADING_FILL = PatternFill("solid", start_color="EDEDED", end_color="EDEDED")
WRAP = Alignment(wrap_text=True, vertical="top")
INDENTED = Alignment(indent=1)
MIN_WIDTH, MAX_WIDTH = 8, 60

GOVERNANCE_LEFT_OUT = ("Left out of the governance edition, which names no provider and holds no personal "
                       "information: {what}. The other sheets give the figures by group.")


@dataclass(frozen=True)
class Column:
    header: str
    format: str | None = None  # the cells' number format; None: text or as the value is


def workbook(report: QuarterlyReport) -> bytes:
    """The report as an .xlsx file. Blocking (a few thousand providers take a second or so): run it in a thread
    from a request."""
    book = Workbook()
    book.remove(book.active)
    for write in (_summary, _providers, _distribution, _heatmap, _recommendations, _weakest, _rollouts,
                  _assurance_gap, _corrective_actions, _devices, _incidents, _trend):
        sheet = _Sheet(book, report)
        write(sheet, report)
        sheet.finish()
    book.properties.title = f"Quarterly privacy report {report.quarter}"
    book.properties.creator = "partner-audit"
    return spreadsheets.workbook_bytes(book)


def file_name(report: QuarterlyReport) -> str:
    edition = "-governance" if report.audience is Audience.governance else ""
    return f"quarterly-report-{report.quarter}{edition}.xlsx"


# --- the sheets ----------------------------------------------------------------------------------------------


def _summary(sheet: _Sheet, report: QuarterlyReport) -> None:
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
            scale = _percent if h.unit == "%" else _same
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


PROVIDER_COLUMNS = [Column("Provider"), Column("Region"), Column("Tier", COUNT), Column("Kind"),
                    Column("Self-assessed", SCORE), Column("Self-assessed band"), Column("Verified", SCORE),
                    Column("Verified band"), Column("Gap", SCORE_CHANGE), Column("Completeness", PERCENT),
                    Column("Change from last quarter", SCORE_CHANGE), Column("Last audit closed", DATE)]


def _providers(sheet: _Sheet, report: QuarterlyReport) -> None:
    sheet.ws.title = PROVIDERS
    if report.audience is Audience.governance:
        sheet.note(GOVERNANCE_LEFT_OUT.format(what="the providers by score"))
        return
    rows = sorted(report.providers, key=_weakest_first)
    first, last = sheet.table(PROVIDER_COLUMNS, [_provider_cells(p) for p in rows], freeze_column=True)
    # Each score coloured by its band, from the band word beside it: a reader without colour reads the word.
    sheet.band_colours(first, last, "E", "F")
    sheet.band_colours(first, last, "G", "H")


def _weakest_first(p: ProviderRow) -> tuple[bool, float, str]:
    return p.verified is None, p.verified if p.verified is not None else 0.0, p.provider_name.casefold()


def _provider_cells(p: ProviderRow) -> list[Any]:
    return [p.provider_name, p.region, p.tier, p.kind, p.self_assessed, _band(p.self_band), p.verified,
            _band(p.verified_band), p.gap, _percent(p.completeness), p.change, p.last_audit_closed_on]


def _distribution(sheet: _Sheet, report: QuarterlyReport) -> None:
    sheet.ws.title = DISTRIBUTION
    columns = [Column("Dimension"), Column("Group"), Column("Providers", COUNT), Column("Median self-assessed", SCORE),
               Column("Median verified", SCORE), Column("Lower quartile verified", SCORE),
               Column("Upper quartile verified", SCORE), Column("Median verified last quarter", SCORE),
               Column("Change", SCORE_CHANGE), Column("Red", COUNT), Column("Amber", COUNT), Column("Green", COUNT),
               Column("Suppressed")]
    rows = []
    for d in report.distributions:
        suppressed = _suppressed(d, report)
        rows.append([d.dimension.capitalize(), d.group, d.providers, d.median_self_assessed, d.median_verified,
                     d.q1_verified, d.q3_verified, d.median_verified_previous, d.change, d.bands.get("red"),
                     d.bands.get("amber"), d.bands.get("green"), suppressed])
    sheet.table(columns, rows, freeze_column=True)


def _heatmap(sheet: _Sheet, report: QuarterlyReport) -> None:
    """Focus areas down, regions across: each cell the area's median verified score in the region, coloured on a
    red to green scale, or the word "suppressed". The same cells follow as a list with their bands in words."""
    sheet.ws.title = HEATMAP
    areas: dict[str, str] = {}
    for c in report.heatmap:
        areas.setdefault(c.area_id, c.area_title)
    regions = sorted({c.region for c in report.heatmap}, key=str.casefold)
    cells = {(c.area_id, c.region): c for c in report.heatmap}
    sheet.header([Column("Focus area")] + [Column(r) for r in regions])
    top = sheet.row
    for area_id, title in areas.items():
        values: list[Any] = [title]
        for region in regions:
            c = cells.get((area_id, region))
            values.append(None if c is None else "suppressed" if c.suppressed else c.median_verified)
        sheet.row_of(values, [None] + [SCORE] * len(regions))
    bottom = sheet.row - 1
    if regions and areas:
        grid = f"B{top}:{get_column_letter(1 + len(regions))}{bottom}"
        sheet.ws.conditional_formatting.add(grid, ColorScaleRule(
            start_type="num", start_value=0, start_color="F8696B", mid_type="num", mid_value=50,
            mid_color="FFEB84", end_type="num", end_value=100, end_color="63BE7B"))
    sheet.ws.freeze_panes = "B2"
    sheet.skip()
    sheet.note(f"Suppressed: fewer than {report.min_group_size} providers (governance edition). "
               "A blank cell: no provider of the region has a score in the focus area.")
    sheet.skip()
    columns = [Column("Focus area"), Column("Region"), Column("Providers", COUNT), Column("Median verified", SCORE),
               Column("Band"), Column("Suppressed")]
    rows = [[c.area_title, c.region, c.providers, c.median_verified, _band(c.band), "yes" if c.suppressed else "no"]
            for c in report.heatmap]
    first, last = sheet.table(columns, rows, filter=False)
    sheet.band_colours(first, last, "D", "E")


def _recommendations(sheet: _Sheet, report: QuarterlyReport) -> None:
    sheet.ws.title = RECOMMENDATIONS
    columns = [Column("Recommendation", COUNT), Column("Focus area"), Column("Controls"), Column("Providers", COUNT),
               Column("Median verified", SCORE), Column("Implemented (green)", COUNT),
               Column("Partly (amber)", COUNT), Column("Not implemented (red)", COUNT),
               Column("Implemented share", PERCENT), Column("Suppressed")]
    rows = [[r.recommendation, r.title, ", ".join(r.controls), r.providers, r.median_verified, r.implemented,
             r.partly, r.not_implemented, _share(r.implemented, r.implemented + r.partly + r.not_implemented),
             _suppressed(r, report)]
            for r in sorted(report.recommendations, key=lambda r: r.recommendation)]
    first, last = sheet.table(columns, rows)
    if rows:
        sheet.ws.conditional_formatting.add(f"I{first}:I{last}", DataBarRule(
            start_type="num", start_value=0, end_type="num", end_value=1, color="63BE7B"))


def _weakest(sheet: _Sheet, report: QuarterlyReport) -> None:
    sheet.ws.title = WEAKEST
    columns = [Column("Kind"), Column("Id"), Column("Title"), Column("Providers", COUNT),
               Column("Mean self-assessed", SCORE), Column("Mean verified", SCORE), Column("Providers red", COUNT)]
    rows = [[w.kind.capitalize(), w.id, w.title, w.providers, w.mean_self_assessed, w.mean_verified, w.red]
            for w in [*report.weakest_controls, *report.weakest_recommendations]]
    sheet.table(columns, rows, freeze_column=False)


def _rollouts(sheet: _Sheet, report: QuarterlyReport) -> None:
    sheet.ws.title = ROLLOUTS
    columns = [Column("Rollout"), Column("Period"), Column("Due", DATE), Column("Assessments", COUNT),
               Column("Accepted", COUNT), Column("Submitted", COUNT), Column("In progress", COUNT),
               Column("Not started", COUNT), Column("Late", COUNT), Column("Completion", PERCENT)]
    rows = [[r.name, r.period, r.due_on, r.assessments, r.accepted, r.submitted, r.in_progress, r.not_started,
             r.late, _percent(r.completion)] for r in report.rollouts]
    sheet.table(columns, rows, freeze_column=True)


def _assurance_gap(sheet: _Sheet, report: QuarterlyReport) -> None:
    sheet.ws.title = GAP
    gap = report.assurance_gap
    sheet.title("How far self-assessed scores outrun verified ones")
    sheet.note("Among providers with at least one audit rating; the gap is self-assessed minus verified.")
    sheet.skip()
    sheet.pairs([("Providers audited", gap.providers_audited, COUNT), ("Mean gap", gap.mean_gap, SCORE_CHANGE),
                 ("Median gap", gap.median_gap, SCORE_CHANGE), ("Largest gap", gap.largest_gap, SCORE_CHANGE),
                 ("Self-assessed above verified", gap.outrunning, COUNT)])
    if gap.suppressed:
        sheet.note(f"Suppressed: fewer than {report.min_group_size} audited providers, too few to show the gap "
                   "without pointing at them.")
    sheet.skip()
    if report.audience is Audience.governance:
        sheet.note(GOVERNANCE_LEFT_OUT.format(what="the gap provider by provider"))
        return
    rows = sorted(gap.by_provider, key=lambda p: (p.gap is None, -(p.gap or 0.0), p.provider_name.casefold()))
    first, last = sheet.table(PROVIDER_COLUMNS, [_provider_cells(p) for p in rows], freeze_column=True)
    sheet.band_colours(first, last, "E", "F")
    sheet.band_colours(first, last, "G", "H")


def _corrective_actions(sheet: _Sheet, report: QuarterlyReport) -> None:
    sheet.ws.title = ACTIONS
    actions = report.corrective_actions
    sheet.title("Corrective actions from audit findings")
    sheet.skip()
    sheet.pairs([("Open", actions.open, COUNT), ("Overdue", actions.overdue, COUNT),
                 ("Verified in the quarter", actions.verified_in_quarter, COUNT)])
    sheet.skip()
    sheet.table([Column("Severity of the finding"), Column("Open", COUNT)],
                [[severity, n] for severity, n in actions.by_severity.items()], filter=False)
    sheet.skip()
    sheet.heading("Overdue: past the due date and not yet verified")
    if report.audience is Audience.governance:
        sheet.note(GOVERNANCE_LEFT_OUT.format(what="the overdue actions one by one"))
        return
    columns = [Column("Provider"), Column("Audit"), Column("Control"), Column("Severity"), Column("Action"),
               Column("Due", DATE), Column("Days overdue", COUNT), Column("Status")]
    rows = [[a.provider_name, a.audit_title, a.control_id, a.severity, a.title, a.due_on, a.days_overdue, a.status]
            for a in sorted(actions.overdue_actions, key=lambda a: (-a.days_overdue, a.provider_name.casefold()))]
    sheet.table(columns, rows, freeze_column=True)


DEVICE_COUNTS = [("devices_held", "Devices held"), ("overdue_returns", "Overdue returns"),
                 ("overdue_attestations", "Overdue attestations"),
                 ("spot_check_discrepancies", "Spot-check discrepancies"), ("lost_or_stolen", "Lost or stolen")]


def _devices(sheet: _Sheet, report: QuarterlyReport) -> None:
    sheet.ws.title = DEVICES
    devices = report.device_exceptions
    sheet.title("Agency devices held by providers' people: exceptions")
    sheet.note("Overdue returns and attestations as at the quarter's end; spot-check discrepancies and devices "
               "lost or stolen in the quarter.")
    sheet.skip()
    sheet.pairs([(label, getattr(devices, key), COUNT) for key, label in DEVICE_COUNTS])
    sheet.skip()
    if report.audience is Audience.governance:
        sheet.note(GOVERNANCE_LEFT_OUT.format(what="the exceptions provider by provider"))
        return
    known = [key for key, _ in DEVICE_COUNTS]
    extra = sorted({k for row in devices.by_provider for k in row} - {"provider_name", *known})
    columns = ([Column("Provider")] + [Column(label, COUNT) for _, label in DEVICE_COUNTS]
               + [Column(k.replace("_", " ").capitalize()) for k in extra])
    rows = [[row.get("provider_name"), *(row.get(k) for k in known), *(row.get(k) for k in extra)]
            for row in devices.by_provider]
    sheet.table(columns, rows, freeze_column=True)


def _incidents(sheet: _Sheet, report: QuarterlyReport) -> None:
    sheet.ws.title = INCIDENTS
    columns = [Column("Kind"), Column("This quarter", COUNT), Column("Last quarter", COUNT),
               Column("Change", COUNT_CHANGE)]
    rows = [[i.kind.replace("_", " ").capitalize(), i.quarter, i.previous, i.quarter - i.previous]
            for i in report.incidents]
    first, last = sheet.table(columns, rows, filter=False)
    if rows:
        chart = BarChart()
        chart.type = "col"
        chart.title = f"Incidents and near misses by kind, {report.quarter} and {report.previous_quarter}"
        chart.y_axis.title = "Incidents"
        chart.x_axis.title = "Kind"
        chart.add_data(Reference(sheet.ws, min_col=2, max_col=3, min_row=first - 1, max_row=last),
                       titles_from_data=True)
        _text_categories(chart, Reference(sheet.ws, min_col=1, min_row=first, max_row=last))
        for series, colour in zip(chart.series, (QUARTER_BARS, PREVIOUS_BARS), strict=True):
            series.graphicalProperties.solidFill = colour
            series.graphicalProperties.line.solidFill = colour
        _show_axes(chart)
        chart.y_axis.scaling.min = 0
        chart.y_axis.majorGridlines = None
        chart.width, chart.height = 18, 9
        sheet.ws.add_chart(chart, "G2")
    sheet.skip()
    b = report.breaches
    sheet.heading("Breach assessments of the quarter's incidents, against their clocks")
    sheet.pairs([("Breach assessments", b.assessments, COUNT), ("Decided", b.decided, COUNT),
                 ("Decided on time", b.decided_on_time, COUNT),
                 ("Undecided and past the clock", b.undecided_overdue, COUNT),
                 ("Notifiable", b.notifiable, COUNT), ("Notified on time", b.notified_on_time, COUNT),
                 ("Notification overdue", b.notification_overdue, COUNT)])


def _trend(sheet: _Sheet, report: QuarterlyReport) -> None:
    sheet.ws.title = TREND
    columns = [Column("Quarter"), Column("Providers", COUNT), Column("Median self-assessed", SCORE),
               Column("Median verified", SCORE), Column("Lower quartile verified", SCORE),
               Column("Upper quartile verified", SCORE), Column("Suppressed")]
    rows = [[t.quarter, t.providers, t.median_self_assessed, t.median_verified, t.q1_verified, t.q3_verified,
             _suppressed(t, report)] for t in report.trend]
    first, last = sheet.table(columns, rows, filter=False)
    if rows:
        chart = LineChart()
        chart.title = "Median score over the quarters"
        chart.y_axis.title = "Score (0 to 100)"
        chart.x_axis.title = "Quarter"
        # Verified drawn last, so on top where the two lines meet (no audit has rated anything yet): it is the
        # figure the committee follows; the self-assessed line above it shows the gap.
        chart.add_data(Reference(sheet.ws, min_col=3, min_row=first - 1, max_row=last), titles_from_data=True)
        chart.add_data(Reference(sheet.ws, min_col=4, min_row=first - 1, max_row=last), titles_from_data=True)
        _text_categories(chart, Reference(sheet.ws, min_col=1, min_row=first, max_row=last))
        for series, colour in zip(chart.series, (SELF_LINE, VERIFIED_LINE), strict=True):
            series.graphicalProperties.line.solidFill = colour
            series.graphicalProperties.line.width = 28575  # 2.25 pt
            series.marker.symbol = "circle"
            series.marker.graphicalProperties.solidFill = colour
            series.marker.graphicalProperties.line.solidFill = colour
            series.smooth = False
        _show_axes(chart)
        chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 100
        chart.width, chart.height = 18, 9
        sheet.ws.add_chart(chart, "H2")


def _text_categories(chart: BarChart | LineChart, labels: Reference) -> None:
    # openpyxl's set_categories refers to the labels as numbers; Excel then numbers the axis 1, 2, 3 rather than
    # showing the quarters' or kinds' names.
    for series in chart.series:
        series.cat = AxDataSource(strRef=StrRef(f=str(labels)))


def _show_axes(chart: BarChart | LineChart) -> None:
    # openpyxl 3.1 marks both axes deleted unless told otherwise, and Excel then draws none.
    chart.x_axis.delete = False
    chart.y_axis.delete = False


# --- cells ---------------------------------------------------------------------------------------------------


def _percent(value: float | int | None) -> float | None:
    """A percentage (0 to 100, as the JSON gives it) as Excel keeps one (0 to 1), shown with PERCENT."""
    return None if value is None else value / 100


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _suppressed(figures: Distribution | TrendPoint | RecommendationProgress, report: QuarterlyReport) -> str:
    """Whether a group's figures are held back from the governance edition, in words."""
    return f"yes: fewer than {report.min_group_size} providers" if figures.suppressed else "no"


def _same(value: Any) -> Any:
    return value


def _band(band: Any) -> str | None:
    return None if band is None else BAND_WORDS.get(getattr(band, "value", band), str(band))


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return spreadsheets.export_value(value)  # UTC without a zone: Excel has none
    if isinstance(value, date) or value is None or isinstance(value, (int, float)):
        return value
    return spreadsheets.cell(str(value))


class _Sheet:
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
