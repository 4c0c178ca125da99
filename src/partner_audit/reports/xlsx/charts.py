"""The workbook's native Excel charts: incidents by kind (this quarter's and last quarter's bars) and the median
scores' trend over the quarters (self-assessed and verified lines). Each series has a colour of its own
(``styles``), used nowhere else in the workbook."""

from __future__ import annotations

from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.worksheet.worksheet import Worksheet

from partner_audit.reports.schemas import QuarterlyReport
from partner_audit.reports.xlsx.styles import PREVIOUS_BARS, QUARTER_BARS, SELF_LINE, VERIFIED_LINE


def incidents(ws: Worksheet, report: QuarterlyReport, first: int, last: int) -> BarChart:
    """Bars over the incidents table: kinds in column A from row ``first`` to ``last``, this quarter's and last
    quarter's counts in columns B and C, their headers in the row above."""
    chart = BarChart()
    chart.type = "col"
    chart.title = f"Incidents and near misses by kind, {report.quarter} and {report.previous_quarter}"
    chart.y_axis.title = "Incidents"
    chart.x_axis.title = "Kind"
    chart.add_data(Reference(ws, min_col=2, max_col=3, min_row=first - 1, max_row=last), titles_from_data=True)
    _text_categories(chart, Reference(ws, min_col=1, min_row=first, max_row=last))
    for series, colour in zip(chart.series, (QUARTER_BARS, PREVIOUS_BARS), strict=True):
        series.graphicalProperties.solidFill = colour
        series.graphicalProperties.line.solidFill = colour
    _show_axes(chart)
    chart.y_axis.scaling.min = 0
    chart.y_axis.majorGridlines = None
    chart.width, chart.height = 18, 9
    return chart


def trend(ws: Worksheet, first: int, last: int) -> LineChart:
    """Lines over the trend table: quarters in column A from row ``first`` to ``last``, the median self-assessed
    and verified scores in columns C and D, their headers in the row above."""
    chart = LineChart()
    chart.title = "Median score over the quarters"
    chart.y_axis.title = "Score (0 to 100)"
    chart.x_axis.title = "Quarter"
    # Verified drawn last, so on top where the two lines meet (no audit has rated anything yet): it is the
    # figure the committee follows; the self-assessed line above it shows the gap.
    chart.add_data(Reference(ws, min_col=3, min_row=first - 1, max_row=last), titles_from_data=True)
    chart.add_data(Reference(ws, min_col=4, min_row=first - 1, max_row=last), titles_from_data=True)
    _text_categories(chart, Reference(ws, min_col=1, min_row=first, max_row=last))
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
    return chart


def _text_categories(chart: BarChart | LineChart, labels: Reference) -> None:
    # openpyxl's set_categories refers to the labels as numbers; Excel then numbers the axis 1, 2, 3 rather than
    # showing the quarters' or kinds' names.
    for series in chart.series:
        series.cat = AxDataSource(strRef=StrRef(f=str(labels)))


def _show_axes(chart: BarChart | LineChart) -> None:
    # openpyxl 3.1 marks both axes deleted unless told otherwise, and Excel then draws none.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
