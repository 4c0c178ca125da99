"""The sheets of scores: "Providers" (by verified score, weakest first; left out of the governance edition),
"Distribution" (the spread by region, tier and kind), "Heatmap" (focus areas by region), "Recommendations" (by
implementation), "Weakest" (controls and recommendations), "Assurance gap" and "Trend" (the quarters' medians,
with a line chart)."""

from __future__ import annotations

from typing import Any

from openpyxl.formatting.rule import ColorScaleRule, DataBarRule
from openpyxl.utils import get_column_letter

from partner_audit.reports.aggregation import KIND_LABELS
from partner_audit.reports.schemas import Audience, ProviderRow, QuarterlyReport
from partner_audit.reports.xlsx import charts
from partner_audit.reports.xlsx.sheet import (
    DISTRIBUTION,
    GAP,
    GOVERNANCE_LEFT_OUT,
    HEATMAP,
    PROVIDERS,
    RECOMMENDATIONS,
    TREND,
    WEAKEST,
    Column,
    Sheet,
    band,
    percent,
    share,
    suppressed,
)
from partner_audit.reports.xlsx.styles import COUNT, DATE, PERCENT, SCORE, SCORE_CHANGE

PROVIDER_COLUMNS = [Column("Provider"), Column("Region"), Column("Tier", COUNT), Column("Kind"),
                    Column("Self-assessed", SCORE), Column("Self-assessed band"), Column("Verified", SCORE),
                    Column("Verified band"), Column("Gap", SCORE_CHANGE), Column("Completeness", PERCENT),
                    Column("Change from last quarter", SCORE_CHANGE), Column("Last audit closed", DATE)]


def providers(sheet: Sheet, report: QuarterlyReport) -> None:
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
    return [p.provider_name, p.region, p.tier, KIND_LABELS.get(p.kind, p.kind), p.self_assessed,
            band(p.self_band), p.verified, band(p.verified_band), p.gap, percent(p.completeness), p.change,
            p.last_audit_closed_on]


def distribution(sheet: Sheet, report: QuarterlyReport) -> None:
    sheet.ws.title = DISTRIBUTION
    columns = [Column("Dimension"), Column("Group"), Column("Providers", COUNT), Column("Median self-assessed", SCORE),
               Column("Median verified", SCORE), Column("Lower quartile verified", SCORE),
               Column("Upper quartile verified", SCORE), Column("Median verified last quarter", SCORE),
               Column("Change", SCORE_CHANGE), Column("Red", COUNT), Column("Amber", COUNT), Column("Green", COUNT),
               Column("Suppressed")]
    rows = []
    for d in report.distributions:
        rows.append([d.dimension.capitalize(), d.group, d.providers, d.median_self_assessed, d.median_verified,
                     d.q1_verified, d.q3_verified, d.median_verified_previous, d.change, d.bands.get("red"),
                     d.bands.get("amber"), d.bands.get("green"), suppressed(d, report)])
    sheet.table(columns, rows, freeze_column=True)


def heatmap(sheet: Sheet, report: QuarterlyReport) -> None:
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
    rows = [[c.area_title, c.region, c.providers, c.median_verified, band(c.band), "yes" if c.suppressed else "no"]
            for c in report.heatmap]
    first, last = sheet.table(columns, rows, filter=False)
    sheet.band_colours(first, last, "D", "E")


def recommendations(sheet: Sheet, report: QuarterlyReport) -> None:
    sheet.ws.title = RECOMMENDATIONS
    columns = [Column("Recommendation", COUNT), Column("Focus area"), Column("Controls"), Column("Providers", COUNT),
               Column("Median verified", SCORE), Column("Implemented (green)", COUNT),
               Column("Partly (amber)", COUNT), Column("Not implemented (red)", COUNT),
               Column("Implemented share", PERCENT), Column("Suppressed")]
    rows = [[r.recommendation, r.title, ", ".join(r.controls), r.providers, r.median_verified, r.implemented,
             r.partly, r.not_implemented, share(r.implemented, r.implemented + r.partly + r.not_implemented),
             suppressed(r, report)]
            for r in sorted(report.recommendations, key=lambda r: r.recommendation)]
    first, last = sheet.table(columns, rows)
    if rows:
        sheet.ws.conditional_formatting.add(f"I{first}:I{last}", DataBarRule(
            start_type="num", start_value=0, end_type="num", end_value=1, color="63BE7B"))


def weakest(sheet: Sheet, report: QuarterlyReport) -> None:
    sheet.ws.title = WEAKEST
    columns = [Column("Kind"), Column("Id"), Column("Title"), Column("Providers", COUNT),
               Column("Mean self-assessed", SCORE), Column("Mean verified", SCORE), Column("Providers red", COUNT)]
    rows = [[w.kind.capitalize(), w.id, w.title, w.providers, w.mean_self_assessed, w.mean_verified, w.red]
            for w in [*report.weakest_controls, *report.weakest_recommendations]]
    sheet.table(columns, rows, freeze_column=False)


def assurance_gap(sheet: Sheet, report: QuarterlyReport) -> None:
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


def trend(sheet: Sheet, report: QuarterlyReport) -> None:
    sheet.ws.title = TREND
    columns = [Column("Quarter"), Column("Providers", COUNT), Column("Median self-assessed", SCORE),
               Column("Median verified", SCORE), Column("Lower quartile verified", SCORE),
               Column("Upper quartile verified", SCORE), Column("Suppressed")]
    rows = [[t.quarter, t.providers, t.median_self_assessed, t.median_verified, t.q1_verified, t.q3_verified,
             suppressed(t, report)] for t in report.trend]
    first, last = sheet.table(columns, rows, filter=False)
    if rows:
        sheet.ws.add_chart(charts.trend(sheet.ws, first, last), "H2")
