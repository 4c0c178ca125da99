"""Response bodies: scores, aggregates and the quarterly governance report. The report is one struct so that its
JSON and its workbook are the same figures (``xlsx`` writes this, never its own query)."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from uuid import UUID

from partner_audit.api import Output


class Band(str, Enum):
    """A score's band, from the PA_SCORE_BAND_* settings. Always shown with its word, never colour alone."""

    red = "red"
    amber = "amber"
    green = "green"


class Audience(str, Enum):
    """Who a report is for. ``governance``: aggregates only, no provider names and no personal information, and any
    group of fewer providers than PA_REPORT_MIN_GROUP_SIZE suppressed."""

    full = "full"
    governance = "governance"


class Score(Output):
    """A score with what it stands on. ``score`` is 0 to 100 (one decimal), or null when nothing scored was
    answered; ``completeness`` is the share of shown, scored questions answered (N/A counts as answered)."""

    score: float | None
    band: Band | None
    completeness: float | None
    answered: int
    not_applicable: int
    unanswered: int


class PartScore(Output):
    """One focus area's, control's or recommendation's score in an assessment, self-assessed and verified."""

    id: str  # area or control id, or the recommendation's number as text
    title: str
    self_assessed: Score
    verified: Score
    rating: str | None = None  # controls only: the audit rating that replaced the self-assessment, if any


class AssessmentScores(Output):
    """One provider's scores as at the end of one quarter: from its latest accepted self-assessment by then, and
    verified by the findings of its audits reported by then."""

    provider_id: UUID
    quarter: str  # e.g. 2025-Q3
    assessment_id: UUID | None  # null: no accepted self-assessment by the quarter's end
    assessment_period: str | None
    self_assessed: Score
    verified: Score
    gap: float | None  # self-assessed minus verified, when both exist
    audited: bool  # at least one audit rating replaced a self-assessment
    areas: list[PartScore]
    controls: list[PartScore]
    recommendations: list[PartScore]


class ProviderScoresOut(Output):
    """A provider's scores over time, one entry a quarter, oldest first."""

    provider_id: UUID
    provider_name: str
    quarters: list[AssessmentScores]


# --- aggregates ------------------------------------------------------------------------------------------------


class Distribution(Output):
    """The spread of providers' overall scores in one group as at a quarter's end. A governance reader sees
    ``suppressed`` true and null figures for a group smaller than the minimum group size."""

    dimension: str  # "all", "region", "tier" or "kind"
    group: str  # "All providers", a region's name, "Tier 1", a kind's label
    providers: int
    suppressed: bool
    median_self_assessed: float | None
    median_verified: float | None
    q1_verified: float | None
    q3_verified: float | None
    median_verified_previous: float | None  # the previous quarter's, same group
    change: float | None  # median_verified minus median_verified_previous
    bands: dict[str, int]  # {"red": n, "amber": n, "green": n} by verified score


class TrendPoint(Output):
    quarter: str
    providers: int
    median_self_assessed: float | None
    median_verified: float | None
    q1_verified: float | None
    q3_verified: float | None
    # Governance: a quarter with fewer providers than the minimum group size shows no figures.
    suppressed: bool = False


class WeakPoint(Output):
    """A control or recommendation among the weakest across all providers (lowest mean verified score)."""

    kind: str  # "control" or "recommendation"
    id: str
    title: str
    providers: int
    mean_self_assessed: float | None
    mean_verified: float | None
    red: int  # providers whose verified score of it is red


class HeatCell(Output):
    """A focus area's median verified score in one region (the heatmap)."""

    area_id: str
    area_title: str
    region: str
    providers: int
    suppressed: bool
    median_verified: float | None
    band: Band | None


class RecommendationProgress(Output):
    """How far one plan recommendation is implemented across providers, by the band of its verified score."""

    recommendation: int
    title: str  # the plan's focus area it sits in, e.g. "Appropriate access"
    controls: list[str]
    providers: int
    median_verified: float | None
    implemented: int  # green
    partly: int  # amber
    not_implemented: int  # red
    # Governance: scored by fewer providers than the minimum group size; figures null and counts 0.
    suppressed: bool = False


class RolloutProgress(Output):
    """A self-assessment round due in the quarter: how many are done, and how many were late."""

    rollout_id: UUID
    name: str
    period: str
    due_on: date
    assessments: int
    accepted: int
    submitted: int  # submitted and waiting for review
    in_progress: int  # in progress or returned
    not_started: int
    late: int  # submitted after the due date, or not submitted and past it
    completion: float  # accepted or submitted, as a percentage of assessments


class ProviderRow(Output):
    """One provider in the providers-by-score table (full edition only)."""

    provider_id: UUID
    provider_name: str
    region: str
    tier: int
    kind: str
    self_assessed: float | None
    self_band: Band | None
    verified: float | None
    verified_band: Band | None
    gap: float | None
    completeness: float | None
    change: float | None  # verified minus last quarter's verified
    last_audit_closed_on: date | None


class AssuranceGap(Output):
    """How far self-assessed scores outrun verified ones, among providers with at least one audit rating."""

    providers_audited: int
    mean_gap: float | None
    median_gap: float | None
    largest_gap: float | None
    outrunning: int  # audited providers whose self-assessed score is above the verified one
    by_provider: list[ProviderRow]  # full edition only; empty for governance
    # Governance: fewer audited providers than the minimum group size; the gap figures null, outrunning 0.
    suppressed: bool = False


class OverdueAction(Output):
    """A corrective action past its due date and not yet verified (full edition only)."""

    action_id: UUID
    provider_name: str
    audit_title: str
    control_id: str | None
    severity: str
    title: str
    due_on: date
    days_overdue: int
    status: str


class CorrectiveActions(Output):
    open: int
    overdue: int
    verified_in_quarter: int
    by_severity: dict[str, int]  # open ones, by the severity of their finding
    overdue_actions: list[OverdueAction]  # full edition only


class DeviceExceptions(Output):
    """Devices held by providers' people that need attention as at the quarter's end."""

    devices_held: int
    overdue_returns: int
    overdue_attestations: int
    spot_check_discrepancies: int  # in spot-checks recorded in the quarter
    lost_or_stolen: int  # in the quarter
    by_provider: list[dict[str, str | int]]  # full edition only: provider_name and the counts above


class IncidentCount(Output):
    kind: str  # lost, stolen, damaged, misuse, near_miss
    quarter: int
    previous: int


class BreachFigures(Output):
    """Breach assessments of the quarter's incidents against their clocks (PA_BREACH_*_HOURS)."""

    assessments: int
    decided: int
    decided_on_time: int
    undecided_overdue: int
    notifiable: int
    notified_on_time: int
    notification_overdue: int


class Headline(Output):
    """A headline figure on the summary sheet, with last quarter's beside it."""

    heading: str  # the recommendation 18 heading it reports under
    label: str
    value: float | int | None
    previous: float | int | None
    change: float | int | None
    unit: str  # "score", "%", "count"


class QuarterlyReport(Output):
    """The quarterly governance report (recommendation 18). Headings: progress with the review findings; privacy
    breaches and near-misses; compliance; implementation of agreed controls and recommendations; trends."""

    quarter: str
    starts_on: date
    ends_on: date
    previous_quarter: str
    audience: Audience
    made_at: datetime
    min_group_size: int
    bands: dict[str, str]  # band -> its words, e.g. {"green": "Green: 80 or more", ...}
    headlines: list[Headline]
    rollouts: list[RolloutProgress]
    distributions: list[Distribution]
    trend: list[TrendPoint]  # the last eight quarters, oldest first
    weakest_controls: list[WeakPoint]
    weakest_recommendations: list[WeakPoint]
    recommendations: list[RecommendationProgress]
    heatmap: list[HeatCell]
    providers: list[ProviderRow]  # full edition only; empty for governance
    assurance_gap: AssuranceGap
    corrective_actions: CorrectiveActions
    device_exceptions: DeviceExceptions
    incidents: list[IncidentCount]
    breaches: BreachFigures
