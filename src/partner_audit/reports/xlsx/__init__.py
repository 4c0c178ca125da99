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

The package: ``styles`` (number formats, band words and fills, the charts' colours, fonts, widths), ``sheet`` (the
sheets' titles and the writer every sheet uses), ``summary`` (the Summary sheet), ``scores`` (the sheets of
scores), ``activity`` (rollouts, corrective actions, devices, incidents) and ``charts`` (the native charts). The
names other code and the tests use are all here.
"""

from __future__ import annotations

from openpyxl import Workbook

from partner_audit import spreadsheets
from partner_audit.reports.schemas import Audience, QuarterlyReport
from partner_audit.reports.xlsx.activity import (
    DEVICE_COUNTS,
    corrective_actions,
    devices,
    incidents,
    rollouts,
)
from partner_audit.reports.xlsx.scores import (
    PROVIDER_COLUMNS,
    assurance_gap,
    distribution,
    heatmap,
    providers,
    recommendations,
    trend,
    weakest,
)
from partner_audit.reports.xlsx.sheet import (
    ACTIONS,
    DEVICES,
    DISTRIBUTION,
    GAP,
    GOVERNANCE_LEFT_OUT,
    HEATMAP,
    INCIDENTS,
    PROVIDERS,
    RECOMMENDATIONS,
    ROLLOUTS,
    SUMMARY,
    TREND,
    WEAKEST,
    Column,
    Sheet,
)
from partner_audit.reports.xlsx.styles import (
    BAND_FILLS,
    BAND_WORDS,
    COUNT,
    COUNT_CHANGE,
    DATE,
    DATETIME,
    PERCENT,
    PERCENT_CHANGE,
    PREVIOUS_BARS,
    QUARTER_BARS,
    SCORE,
    SCORE_CHANGE,
    SELF_LINE,
    VERIFIED_LINE,
)
from partner_audit.reports.xlsx.summary import summary

__all__ = [
    "ACTIONS", "BAND_FILLS", "BAND_WORDS", "COUNT", "COUNT_CHANGE", "DATE", "DATETIME", "DEVICES", "DEVICE_COUNTS",
    "DISTRIBUTION", "GAP", "GOVERNANCE_LEFT_OUT", "HEATMAP", "INCIDENTS", "MEDIA_TYPE", "PERCENT", "PERCENT_CHANGE",
    "PREVIOUS_BARS", "PROVIDERS", "PROVIDER_COLUMNS", "QUARTER_BARS", "RECOMMENDATIONS", "ROLLOUTS", "SCORE",
    "SCORE_CHANGE", "SELF_LINE", "SUMMARY", "TREND", "VERIFIED_LINE", "WEAKEST", "Column", "file_name", "workbook",
]

MEDIA_TYPE = spreadsheets.XLSX_MEDIA_TYPE

# The sheets in the workbook's order, each written by one function.
WRITERS = (summary, providers, distribution, heatmap, recommendations, weakest, rollouts, assurance_gap,
          corrective_actions, devices, incidents, trend)


def workbook(report: QuarterlyReport) -> bytes:
    """The report as an .xlsx file. Blocking (a few thousand providers take a second or so): run it in a thread
    from a request."""
    book = Workbook()
    book.remove(book.active)
    for write in WRITERS:
        sheet = Sheet(book, report)
        write(sheet, report)
        sheet.finish()
    book.properties.title = f"Quarterly privacy report {report.quarter}"
    book.properties.creator = "partner-audit"
    return spreadsheets.workbook_bytes(book)


def file_name(report: QuarterlyReport) -> str:
    edition = "-governance" if report.audience is Audience.governance else ""
    return f"quarterly-report-{report.quarter}{edition}.xlsx"
