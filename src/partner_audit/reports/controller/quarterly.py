"""HTTP for the quarterly governance report (recommendation 18): the same report as JSON and as an .xlsx workbook.
Thin: who may have which edition is decided in ``reports.services.quarterly``; the workbook is ``reports.xlsx``."""

from __future__ import annotations

import asyncio
from typing import Annotated

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter

from partner_audit.api import download, file_download
from partner_audit.reports import xlsx
from partner_audit.reports.controller.params import one_of_each, quarter_named
from partner_audit.reports.schemas import Audience, QuarterlyReport
from partner_audit.reports.services import quarterly
from partner_audit.security import policies
from partner_audit.security.caller import Caller
from partner_audit.settings import Settings

AUDIENCE = Annotated[Audience | None, QueryParameter(
    description="`governance`: the committee's edition (aggregates only: no provider names or personal "
                "information, and a group smaller than PA_REPORT_MIN_GROUP_SIZE suppressed). A governance caller "
                "always gets it, and asking for `full` is then a 403. Default: `full` for everyone else.")]
QUARTER = Annotated[str, PathParameter(description="The quarter, e.g. 2025-Q3 (1 July to 30 September 2025)",
                                      max_length=40)]


class QuarterlyReportController(Controller):
    path = "/reports/quarterly"
    tags = ["Reports"]
    before_request = one_of_each

    @get("/{quarter:str}", guards=[policies.MAKE_QUARTERLY_REPORT.guard], summary="The quarterly report")
    async def report(self, caller: NamedDependency[Caller], settings: NamedDependency[Settings],
                     quarter: QUARTER,
                     audience: AUDIENCE = None) -> QuarterlyReport:
        """The quarterly privacy report for the governance group and the risk and assurance committee, under
        recommendation 18's headings: progress with the review findings (self-assessment rounds, completion and
        lateness), privacy breaches and near-misses (incidents by kind, breach assessments against their
        clocks), compliance (scores self-assessed and verified, by region, tier and kind, the assurance gap),
        implementation of agreed controls and recommendations (by band, the weakest, corrective actions
        overdue), and trends (eight quarters' medians). Each headline figure has last quarter's beside it.
        Figures are as at the quarter's last day; the same figures as the workbook (`/workbook`). Logged."""
        # The app's settings (minimum group size, bands), as the scores routes use: not the process environment.
        return await quarterly.quarterly_report(caller, quarter_named(quarter), audience=audience, settings=settings)

    @get("/{quarter:str}/workbook", guards=[policies.MAKE_QUARTERLY_REPORT.guard],
         summary="The quarterly report as a workbook",
         responses={200: download(xlsx.MEDIA_TYPE, description="The .xlsx workbook.")})
    async def workbook(self, caller: NamedDependency[Caller], settings: NamedDependency[Settings],
                       quarter: QUARTER,
                       audience: AUDIENCE = None) -> Response:
        """The same report as an .xlsx workbook, for Excel or LibreOffice: a summary sheet with the headline
        figures under recommendation 18's headings, providers by score with their bands (full edition), a
        heatmap of focus areas by region, recommendations by implementation, the assurance gap, overdue
        corrective actions, device exceptions, incidents and breach assessments, and the trend, with charts."""
        report = await quarterly.quarterly_report(caller, quarter_named(quarter), audience=audience, settings=settings)
        content = await asyncio.to_thread(xlsx.workbook, report)  # a second or so of CPU for thousands of providers
        return file_download(content, xlsx.file_name(report), xlsx.MEDIA_TYPE)


ROUTERS = [QuarterlyReportController]
