"""How the workbook looks: number formats, the band words and fills, the charts' colours, fonts, fills and the
column widths' bounds. Nothing here writes a cell."""

from __future__ import annotations

from openpyxl.styles import Alignment, Font, PatternFill

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
