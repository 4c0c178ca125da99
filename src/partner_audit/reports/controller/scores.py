"""HTTP for scores: one provider's over time, and their spread across providers. Thin: the rules are in
``reports.services.scores``."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from partner_audit.reports.controller.params import one_of_each, quarter_named
from partner_audit.reports.quarters import Quarter
from partner_audit.reports.schemas import Distribution, ProviderScoresOut
from partner_audit.reports.services import scores
from partner_audit.security import policies
from partner_audit.security.caller import Caller
from partner_audit.settings import Settings


class ProviderScoresController(Controller):
    path = "/providers/{provider_id:uuid}/scores"
    tags = ["Scores"]
    before_request = one_of_each

    @get("/", guards=[policies.SEE_PROVIDER_SCORES.guard], summary="A provider's scores over time")
    async def provider_scores(
        self,
        caller: NamedDependency[Caller],
        settings: NamedDependency[Settings],
        provider_id: FromPath[UUID],
        first: Annotated[str | None, QueryParameter(
            name="from", description="The first quarter, e.g. 2025-Q1 (default: seven before `to`)",
        )] = None,
        last: Annotated[str | None, QueryParameter(
            name="to", description="The last quarter, e.g. 2026-Q4 (default: this quarter)",
        )] = None,
    ) -> ProviderScoresOut:
        """The provider's scores at the end of each quarter from `from` to `to` (at most 20; by default the last
        eight to this one), oldest first: from its latest self-assessment accepted by the quarter's end, as the
        provider gave it (`self_assessed`) and as its auditors verified it (`verified`: a control an audit
        reported by then rated replaces the provider's answers to it), with the `gap` between them, by focus area,
        control and plan recommendation. Every score comes with its band and its completeness. A quarter with no
        accepted self-assessment by its end has null scores. A provider's people see their own provider only."""
        quarters = scores.quarter_range(quarter_named(first, "from"), quarter_named(last, "to"))
        return await scores.provider_scores(caller, provider_id, quarters, settings=settings)


class ScoreAggregatesController(Controller):
    path = "/scores"
    tags = ["Scores"]
    before_request = one_of_each

    @get("/", guards=[policies.SEE_SCORE_AGGREGATES.guard], summary="Scores across providers")
    async def aggregates(
        self,
        caller: NamedDependency[Caller],
        settings: NamedDependency[Settings],
        quarter: Annotated[str | None, QueryParameter(
            description="The quarter, e.g. 2026-Q3 (default: this quarter)")] = None,
        dimension: Annotated[Literal["all", "region", "tier", "kind"], QueryParameter(
            description="How to group the providers: all of them together (the default), or by region, risk tier or "
                        "kind")] = "all",
    ) -> list[Distribution]:
        """The spread of providers' overall scores at the end of the quarter, one entry a group: how many
        providers have a score, the median self-assessed score, the verified score's median and quartiles, last
        quarter's median and the change from it, and how many providers are in each band by verified score.
        Providers that have exited are left out. For governance, a group of fewer providers than the minimum
        group size (PA_REPORT_MIN_GROUP_SIZE) is `suppressed`: its size is shown, its figures are null."""
        chosen = quarter_named(quarter) or Quarter.of(scores.nz_today())
        return await scores.aggregates(caller, chosen, dimension, settings=settings)


ROUTERS = [ProviderScoresController, ScoreAggregatesController]
