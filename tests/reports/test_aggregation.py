"""The report's figures from hand-built frames, checked against figures worked out by hand (below each fixture).

Five providers stand in 2025-Q3 (a sixth, exited, is left out), four in 2025-Q2; bands green from 80, amber
from 50. Quartiles are pandas' linear interpolation between ranks.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

import msgspec
import numpy as np
import pandas as pd
import pytest

from partner_audit.controls import yaml
from partner_audit.reports import aggregation as agg
from partner_audit.reports import scoring
from partner_audit.reports.quarters import Quarter
from partner_audit.reports.schemas import Audience, Band

Q3, Q2 = Quarter(2025, 3), Quarter(2025, 2)
TODAY = date(2025, 10, 10)
NOW = datetime(2025, 10, 10, tzinfo=UTC)
NAN = np.nan


def pid(n: int) -> str:
    return f"00000000-0000-0000-0000-00000000000{n}"


PROVIDERS = pd.DataFrame([
    (pid(1), "Aroha Trust", "Wellington", 1, "ngo", "active"),
    (pid(2), "Kōwhai Services", "Wellington", 2, "ngo", "active"),
    (pid(3), "Ngā Tūmanako", "Wellington", 2, "iwi_maori", "active"),
    (pid(4), "Harbour Contracting", "Auckland", 1, "contractor", "suspended"),
    (pid(5), "Rimu Care", "Auckland", 3, "ngo", "onboarding"),
    (pid(6), "Gone Ltd", "Wellington", 1, "ngo", "exited"),
], columns=["provider_id", "name", "region", "tier", "kind", "status"])

# provider -> quarter -> (self-assessed, verified, completeness, audited)
OVERALL = {
    1: {Q3: (90, 80, 100, True), Q2: (80, 70, 100, True)},
    2: {Q3: (70, 70, 90, False), Q2: (60, 50, 80, False)},
    3: {Q3: (60, 40, 100, True), Q2: (60, 50, 100, False)},
    4: {Q3: (50, 55, 75, True), Q2: (50, 35, 75, True)},
    5: {Q3: (30, 30, 50, False)},
    6: {Q3: (10, 10, 100, False), Q2: (10, 10, 100, False)},
}


def subject(n: int, quarter: Quarter) -> str:
    return f"{pid(n)}:{quarter}"


def standings() -> pd.DataFrame:
    rows = [(subject(n, q), pid(n), str(q), f"assessment-{n}-{q}", "v1", str(q), pd.Timestamp(q.ends_on))
            for n, by_quarter in OVERALL.items() for q in by_quarter]
    return pd.DataFrame(rows, columns=["subject", "provider_id", "quarter", "assessment_id", "template_version",
                                       "assessment_period", "as_of"])


def parts(values: dict[str, dict[int, tuple[float, float]]], level: str) -> pd.DataFrame:
    """part -> provider -> (self-assessed, verified), all in Q3."""
    rows = [(subject(n, Q3), part, s, v) for part, by_provider in values.items() for n, (s, v) in by_provider.items()]
    frame = pd.DataFrame(rows, columns=["subject", level, "self_assessed", "verified"])
    return frame.set_index(["subject", level])


# c1 verified 100, 50, 0, 50, 0: mean 40, red 2; self 100, 100, 50, 50, 0: mean 60.
# c2 verified 100, 100, 50, NaN, 100: scored by 4, mean 87.5.
CONTROLS = {
    "c1": {1: (100, 100), 2: (100, 50), 3: (50, 0), 4: (50, 50), 5: (0, 0), 6: (0, 0)},
    "c2": {1: (100, 100), 2: (100, 100), 3: (100, 50), 4: (NAN, NAN), 5: (100, 100)},
}
# 22: verified 100, 50, 0, 50, 0 -> median 50; green 1, amber 2, red 2.  18: verified 100, 100, 50, 100 (4).
RECOMMENDATIONS = {
    22: {1: (100, 100), 2: (100, 50), 3: (50, 0), 4: (50, 50), 5: (0, 0)},
    18: {1: (100, 100), 2: (100, 100), 3: (100, 50), 5: (100, 100)},
}
# Leadership: Wellington 80, 60, 40 -> 60 (amber); Auckland 55, 30 -> 42.5 (red).
AREAS = {"a1": {1: (90, 80), 2: (70, 60), 3: (60, 40), 4: (50, 55), 5: (30, 30)}}


def scores() -> scoring.Scores:
    rows = [(subject(n, q), s, v, c, a) for n, by_quarter in OVERALL.items() for q, (s, v, c, a) in by_quarter.items()]
    overall = pd.DataFrame(rows, columns=["subject", "self_assessed", "verified", "completeness", "audited"])
    overall = overall.assign(answered=10, not_applicable=0, unanswered=0).set_index("subject")
    return scoring.Scores(overall=overall, areas=parts(AREAS, "area_id"), controls=parts(CONTROLS, "control_id"),
                          recommendations=parts(RECOMMENDATIONS, "recommendation"))


TEMPLATE = """
key: agg
title: Aggregation fixture
version: "1"
areas:
  - id: a1
    title: Leadership
    controls:
      - id: c1
        title: Privacy officer appointed
        recommendations: [22]
        questions:
          - {id: q1, text: "Is there a privacy officer?", type: yes_no}
      - id: c2
        title: Staff trained
        recommendations: [22, 18]
        questions:
          - {id: q2, text: "Are staff trained?", type: yes_no}
"""


def library() -> scoring.Library:
    return scoring.library({"v1": yaml.parse(TEMPLATE)})


def d(text: str | None) -> pd.Timestamp:
    return pd.NaT if text is None else pd.Timestamp(text)


def t(text: str | None) -> pd.Timestamp:
    return pd.NaT if text is None else pd.Timestamp(text, tz="UTC")


def typed(rows: list[tuple], name: str) -> pd.DataFrame:
    empty = agg.empty_frames()[name]
    return pd.DataFrame(rows, columns=list(empty.columns)).astype(empty.dtypes.to_dict())


def facts() -> agg.Facts:
    return agg.Facts(
        providers=PROVIDERS, standings=standings(), scores=scores(), library=library(),
        # R1, due 31 August: accepted on time; submitted late; returned after an on-time submission; in progress
        # and not started, both past due: 5 assessments, 3 late, completion 40%. R0 (Q2): both accepted.
        assessments=typed([
            ("10000000-0000-0000-0000-000000000001", "Round one", "2025-Q3", d("2025-08-31"), "accepted",
             d("2025-08-20")),
            ("10000000-0000-0000-0000-000000000001", "Round one", "2025-Q3", d("2025-08-31"), "submitted",
             d("2025-09-05")),
            ("10000000-0000-0000-0000-000000000001", "Round one", "2025-Q3", d("2025-08-31"), "returned",
             d("2025-08-30")),
            ("10000000-0000-0000-0000-000000000001", "Round one", "2025-Q3", d("2025-08-31"), "in_progress", None),
            ("10000000-0000-0000-0000-000000000001", "Round one", "2025-Q3", d("2025-08-31"), "not_started", None),
            ("10000000-0000-0000-0000-000000000000", "Round zero", "2025-Q2", d("2025-06-30"), "accepted",
             d("2025-06-01")),
            ("10000000-0000-0000-0000-000000000000", "Round zero", "2025-Q2", d("2025-06-30"), "accepted",
             d("2025-06-02")),
        ], "assessments"),
        audits_closed=typed([(pid(1), d("2025-08-20")), (pid(1), d("2024-03-01")), (pid(3), d("2025-11-01"))],
                            "audits_closed"),
        # As at 30 September: A1 (overdue 29 days), A2 (not yet due) and A4 (verified in October: overdue 20 days
        # at the quarter's end) open; A0 and A3 verified in the quarter; A5 raised after it.
        # As at 30 June: A0 open and overdue.
        actions=typed([
            ("20000000-0000-0000-0000-000000000000", pid(2), "Desktop review", "c1", "low", "Name a lead",
             d("2025-06-01"), "verified", d("2025-05-01"), d("2025-07-20")),
            ("20000000-0000-0000-0000-000000000001", pid(1), "Site visit", "c1", "high", "Appoint an officer",
             d("2025-09-01"), "open", d("2025-07-10"), None),
            ("20000000-0000-0000-0000-000000000002", pid(3), "Site visit", "c2", "medium", "Train staff",
             d("2025-10-15"), "responded", d("2025-08-01"), None),
            ("20000000-0000-0000-0000-000000000003", pid(1), "Site visit", "c2", "low", "Keep a register",
             d("2025-08-01"), "verified", d("2025-07-01"), d("2025-08-15")),
            ("20000000-0000-0000-0000-000000000004", pid(4), "Follow-up", None, "high", "=HYPERLINK(\"x\")",
             d("2025-09-10"), "verified", d("2025-07-05"), d("2025-10-05")),
            ("20000000-0000-0000-0000-000000000005", pid(5), "Follow-up", "c1", "critical", "Later",
             d("2025-11-01"), "open", d("2025-10-02"), None),
        ], "actions"),
        # Held on 30 September: S1 (return overdue), S2 (no attestation since 1 May: overdue), S5 (attested
        # 20 September). S3 returned, S4 not yet out, S6 closed when its device was stolen.
        assignments=typed([
            ("s1", pid(1), d("2025-01-10"), d("2025-09-01"), None, None),
            ("s2", pid(2), d("2025-05-01"), None, None, None),
            ("s3", pid(4), d("2025-02-01"), d("2025-12-01"), d("2025-09-15"), d("2025-09-15")),
            ("s4", pid(5), d("2025-10-05"), None, None, None),
            ("s5", pid(3), d("2025-03-01"), d("2026-01-01"), None, None),
            ("s6", pid(4), d("2025-04-01"), d("2025-08-01"), None, d("2025-09-29")),  # stolen: closed, not returned
        ], "assignments"),
        attestations=typed([("s1", d("2025-08-01")), ("s5", d("2025-09-20")), ("s5", d("2025-10-10"))],
                           "attestations"),
        spot_checks=typed([(pid(3), "discrepancy", d("2025-08-10")), (pid(4), "seen", d("2025-08-10")),
                           (pid(1), "not_seen", d("2025-06-10"))], "spot_checks"),
        incidents=typed([("i1", pid(1), "lost", d("2025-07-15")), ("i2", pid(2), "near_miss", d("2025-08-01")),
                         ("i3", pid(1), "misuse", d("2025-05-01")), ("i4", pid(4), "stolen", d("2025-09-29"))],
                        "incidents"),
        # i1: decided and notified on time, closed. i2: undecided past due. i4: decided late, notifiable, not
        # notified past due. i3 is last quarter's: not counted.
        breaches=typed([
            ("i1", "closed", t("2025-07-17 10:00"), True, t("2025-07-16 09:00"), t("2025-07-19 09:00"),
             t("2025-07-18 12:00")),
            ("i2", "open", t("2025-08-03 10:00"), None, None, None, None),
            ("i4", "open", t("2025-10-01 10:00"), True, t("2025-10-02 09:00"), t("2025-10-05 09:00"), None),
            ("i3", "open", t("2025-05-03 10:00"), None, None, None, None),
        ], "breaches"),
    )


def edition(audience: Audience = Audience.full, min_group_size: int = 5) -> agg.Edition:
    return agg.Edition(audience=audience, min_group_size=min_group_size, green_from=80, amber_from=50)


@pytest.fixture
def table() -> pd.DataFrame:
    return agg.provider_table(PROVIDERS, standings(), scores())


def test_the_provider_table_leaves_out_exited_providers_and_has_the_gap(table: pd.DataFrame) -> None:
    assert sorted(table.loc[table["quarter"] == "2025-Q3", "name"]) == [
        "Aroha Trust", "Harbour Contracting", "Kōwhai Services", "Ngā Tūmanako", "Rimu Care"]
    assert pid(6) not in set(table["provider_id"])
    gaps = table[table["quarter"] == "2025-Q3"].set_index("provider_id")["gap"]
    assert gaps.to_dict() == {pid(1): 10, pid(2): 0, pid(3): 20, pid(4): -5, pid(5): 0}


def test_distribution_medians_quartiles_bands_and_change(table: pd.DataFrame) -> None:
    by = {(x.dimension, x.group): x for x in agg.distributions(table, Q3, edition())}
    every = by[("all", "All providers")]
    # verified 30, 40, 55, 70, 80; self 30, 50, 60, 70, 90; last quarter's verified 35, 50, 50, 70.
    assert (every.providers, every.median_verified, every.q1_verified, every.q3_verified) == (5, 55.0, 40.0, 70.0)
    assert every.median_self_assessed == 60.0
    assert (every.median_verified_previous, every.change) == (50.0, 5.0)
    assert every.bands == {"red": 2, "amber": 2, "green": 1}
    wellington = by[("region", "Wellington")]  # 80, 70, 40; before 70, 50, 50
    assert (wellington.providers, wellington.median_verified, wellington.q1_verified, wellington.q3_verified) == (
        3, 70.0, 55.0, 75.0)
    assert (wellington.median_verified_previous, wellington.change) == (50.0, 20.0)
    auckland = by[("region", "Auckland")]  # 55, 30; before 35
    assert (auckland.median_verified, auckland.q1_verified, auckland.q3_verified) == (42.5, 36.2, 48.8)
    assert (auckland.median_verified_previous, auckland.change) == (35.0, 7.5)
    assert by[("tier", "Tier 1")].providers == 2 and by[("tier", "Tier 3")].median_verified == 30.0
    assert by[("kind", "Iwi/Māori provider")].median_verified == 40.0
    assert by[("kind", "NGO")].providers == 3  # Aroha, Kōwhai, Rimu (Gone Ltd exited)
    assert [x.dimension for x in agg.distributions(table, Q3, edition())][:2] == ["all", "region"]
    assert not any(x.suppressed for x in by.values())


def test_governance_suppresses_groups_below_the_minimum_and_not_at_it(table: pd.DataFrame) -> None:
    by = {(x.dimension, x.group): x for x in agg.distributions(table, Q3, edition(Audience.governance, 3))}
    wellington, auckland = by[("region", "Wellington")], by[("region", "Auckland")]
    assert (wellington.providers, wellington.suppressed, wellington.median_verified) == (3, False, 70.0)
    assert wellington.median_verified_previous == 50.0  # three stood last quarter too
    assert (auckland.providers, auckland.suppressed) == (2, True)
    assert (auckland.median_verified, auckland.median_self_assessed, auckland.q1_verified, auckland.q3_verified,
            auckland.median_verified_previous, auckland.change, auckland.bands) == (None,) * 6 + ({},)
    # Four providers stood in 2025-Q2: with a minimum of five, last quarter's figure is withheld, not this one's.
    every = {(x.dimension, x.group): x for x in agg.distributions(table, Q3, edition(Audience.governance, 5))}[
        ("all", "All providers")]
    assert (every.suppressed, every.median_verified, every.median_verified_previous, every.change) == (
        False, 55.0, None, None)


def test_governance_counts_the_providers_whose_scores_make_the_figure(table: pd.DataFrame) -> None:
    unscored = table.assign(verified=table["verified"].mask(table["provider_id"] == pid(5)))
    every = {(x.dimension, x.group): x for x in agg.distributions(unscored, Q3, edition(Audience.governance, 5))}[
        ("all", "All providers")]
    assert (every.providers, every.suppressed, every.median_verified) == (5, True, None)
    full = {(x.dimension, x.group): x for x in agg.distributions(unscored, Q3, edition())}[("all", "All providers")]
    assert (full.providers, full.median_verified, full.bands) == (5, 62.5, {"red": 1, "amber": 2, "green": 1})


def test_changes_and_gaps_are_between_the_figures_as_shown() -> None:
    standing = pd.DataFrame({"subject": ["x:2025-Q2", "x:2025-Q3"], "provider_id": [pid(1)] * 2,
                             "quarter": ["2025-Q2", "2025-Q3"]})
    overall = pd.DataFrame({"self_assessed": [80.66, 80.66], "verified": [80.66, 80.64], "completeness": 100.0,
                            "audited": True}, index=pd.Index(standing["subject"], name="subject"))
    table = agg.provider_table(PROVIDERS, standing, scoring.Scores(overall, *(pd.DataFrame(),) * 3))
    [every] = [d for d in agg.distributions(table, Q3, edition()) if d.dimension == "all"]
    assert (every.median_verified, every.median_verified_previous, every.change) == (80.6, 80.7, -0.1)
    [row] = agg.providers(table, Q3, facts().audits_closed, edition())
    assert (row.self_assessed, row.verified, row.gap, row.change) == (80.7, 80.6, 0.1, -0.1)


def test_trend_is_eight_quarters_oldest_first(table: pd.DataFrame) -> None:
    points = agg.trend(table, Q3.last(8), edition())
    assert [p.quarter for p in points][0] == "2023-Q4" and points[-1].quarter == "2025-Q3"
    assert [p.providers for p in points] == [0, 0, 0, 0, 0, 0, 4, 5]
    assert (points[-1].median_verified, points[-1].q1_verified, points[-1].q3_verified,
            points[-1].median_self_assessed) == (55.0, 40.0, 70.0, 60.0)
    assert (points[-2].median_verified, points[-2].q1_verified, points[-2].q3_verified) == (50.0, 46.2, 55.0)
    assert points[0].median_verified is None
    governed = agg.trend(table, Q3.last(8), edition(Audience.governance, 5))
    assert (governed[-2].suppressed, governed[-2].median_verified) == (True, None)
    assert (governed[-1].suppressed, governed[-1].median_verified) == (False, 55.0)


def test_weakest_controls_and_recommendations(table: pd.DataFrame) -> None:
    controls, _, placed = agg._titles(library())
    weakest = agg.weakest(scores().controls, table, Q3, "control", controls, edition())
    assert [(w.id, w.title, w.providers, w.mean_verified, w.mean_self_assessed, w.red) for w in weakest] == [
        ("c1", "Privacy officer appointed", 5, 40.0, 60.0, 2),
        ("c2", "Staff trained", 4, 87.5, 100.0, 0),
    ]
    # Governance, minimum 5: c2 was scored by four providers, so it is left out.
    assert [w.id for w in agg.weakest(scores().controls, table, Q3, "control", controls,
                                      edition(Audience.governance, 5))] == ["c1"]
    recs = agg.weakest(scores().recommendations, table, Q3, "recommendation", placed["title"], edition())
    assert [(w.id, w.title, w.mean_verified) for w in recs] == [("22", "Leadership", 40.0), ("18", "Leadership", 87.5)]
    assert len(agg.weakest(scores().controls, table, Q3, "control", controls, edition(), top=1)) == 1


def test_recommendations_by_implementation(table: pd.DataFrame) -> None:
    _, _, placed = agg._titles(library())
    progress = {r.recommendation: r for r in agg.recommendation_progress(
        scores().recommendations, table, Q3, placed, edition())}
    r22 = progress[22]
    assert (r22.title, r22.controls, r22.providers, r22.median_verified) == ("Leadership", ["c1", "c2"], 5, 50.0)
    assert (r22.implemented, r22.partly, r22.not_implemented) == (1, 2, 2)
    assert (progress[18].controls, progress[18].providers, progress[18].implemented, progress[18].partly) == (
        ["c2"], 4, 3, 1)
    governed = {r.recommendation: r for r in agg.recommendation_progress(
        scores().recommendations, table, Q3, placed, edition(Audience.governance, 5))}
    assert (governed[22].suppressed, governed[22].median_verified) == (False, 50.0)
    assert (governed[18].suppressed, governed[18].median_verified, governed[18].implemented) == (True, None, 0)


def test_heatmap_of_areas_by_region(table: pd.DataFrame) -> None:
    _, areas, _ = agg._titles(library())
    cells = {(c.area_id, c.region): c for c in agg.heatmap(scores().areas, table, Q3, areas, edition())}
    assert (cells[("a1", "Wellington")].median_verified, cells[("a1", "Wellington")].band) == (60.0, Band.amber)
    assert (cells[("a1", "Auckland")].median_verified, cells[("a1", "Auckland")].band) == (42.5, Band.red)
    assert cells[("a1", "Auckland")].area_title == "Leadership"
    governed = {c.region: c for c in agg.heatmap(scores().areas, table, Q3, areas, edition(Audience.governance, 3))}
    assert (governed["Auckland"].suppressed, governed["Auckland"].median_verified, governed["Auckland"].band) == (
        True, None, None)
    assert governed["Wellington"].median_verified == 60.0


def test_providers_lowest_verified_first_with_change_and_last_audit(table: pd.DataFrame) -> None:
    rows = agg.providers(table, Q3, facts().audits_closed, edition())
    assert [r.provider_name for r in rows] == [
        "Rimu Care", "Ngā Tūmanako", "Harbour Contracting", "Kōwhai Services", "Aroha Trust"]
    by = {r.provider_name: r for r in rows}
    aroha = by["Aroha Trust"]
    assert (aroha.verified, aroha.verified_band, aroha.self_assessed, aroha.self_band, aroha.gap, aroha.change) == (
        80.0, Band.green, 90.0, Band.green, 10.0, 10.0)
    assert aroha.last_audit_closed_on == date(2025, 8, 20) and aroha.provider_id == UUID(pid(1))
    assert by["Ngā Tūmanako"].last_audit_closed_on is None  # closed after the quarter
    assert by["Rimu Care"].change is None and by["Harbour Contracting"].change == 20.0
    assert agg.providers(table, Q3, facts().audits_closed, edition(Audience.governance)) == []


def test_assurance_gap_among_audited_providers(table: pd.DataFrame) -> None:
    gap = agg.assurance_gap(table, Q3, facts().audits_closed, edition())
    # audited: Aroha 90-80=10, Ngā Tūmanako 60-40=20, Harbour 50-55=-5
    assert (gap.providers_audited, gap.mean_gap, gap.median_gap, gap.largest_gap, gap.outrunning) == (
        3, 8.3, 10.0, 20.0, 2)
    assert [r.provider_name for r in gap.by_provider] == ["Ngā Tūmanako", "Aroha Trust", "Harbour Contracting"]
    shown = agg.assurance_gap(table, Q3, facts().audits_closed, edition(Audience.governance, 3))
    assert (shown.suppressed, shown.mean_gap, shown.by_provider) == (False, 8.3, [])
    hidden = agg.assurance_gap(table, Q3, facts().audits_closed, edition(Audience.governance, 4))
    assert (hidden.providers_audited, hidden.suppressed, hidden.mean_gap, hidden.median_gap, hidden.largest_gap,
            hidden.outrunning) == (3, True, None, None, None, 0)


def test_rollout_progress_and_lateness() -> None:
    [round_one] = agg.rollouts(facts().assessments, Q3, TODAY, edition())
    assert (round_one.name, round_one.due_on, round_one.assessments) == ("Round one", date(2025, 8, 31), 5)
    assert (round_one.accepted, round_one.submitted, round_one.in_progress, round_one.not_started) == (1, 1, 2, 1)
    assert (round_one.late, round_one.completion) == (3, 40.0)
    # On the due date itself nothing unsubmitted is late yet: only the one submitted after it.
    [on_the_day] = agg.rollouts(facts().assessments, Q3, date(2025, 8, 31), edition())
    assert on_the_day.late == 1
    assert agg.rollouts(facts().assessments, Q3, TODAY, edition(Audience.governance, 6)) == []
    assert [r.name for r in agg.rollouts(facts().assessments, Q2, TODAY, edition())] == ["Round zero"]


def test_corrective_actions_as_at_the_quarter_end() -> None:
    actions = agg.corrective_actions(facts().actions, PROVIDERS, Q3, Q3.ends_on, edition())
    assert (actions.open, actions.overdue, actions.verified_in_quarter) == (3, 2, 2)
    assert actions.by_severity == {"low": 0, "medium": 1, "high": 2, "critical": 0}
    assert [(a.provider_name, a.days_overdue, a.severity, a.control_id) for a in actions.overdue_actions] == [
        ("Aroha Trust", 29, "high", "c1"), ("Harbour Contracting", 20, "high", None)]
    assert actions.overdue_actions[1].status == "verified"  # verified since; overdue at the quarter's end
    before = agg.corrective_actions(facts().actions, PROVIDERS, Q2, Q2.ends_on, edition())
    assert (before.open, before.overdue, before.verified_in_quarter) == (1, 1, 0)
    governed = agg.corrective_actions(facts().actions, PROVIDERS, Q3, Q3.ends_on, edition(Audience.governance))
    assert (governed.open, governed.overdue, governed.overdue_actions) == (3, 2, [])


def test_device_exceptions() -> None:
    devices = agg.device_exceptions(facts(), Q3, Q3.ends_on, 90, edition())
    assert (devices.devices_held, devices.overdue_returns, devices.overdue_attestations,
            devices.spot_check_discrepancies, devices.lost_or_stolen) == (3, 1, 1, 1, 2)
    assert devices.by_provider == [
        {"provider_name": "Aroha Trust", "devices_held": 1, "overdue_returns": 1, "overdue_attestations": 0,
         "spot_check_discrepancies": 0, "lost_or_stolen": 1},
        {"provider_name": "Kōwhai Services", "devices_held": 1, "overdue_returns": 0, "overdue_attestations": 1,
         "spot_check_discrepancies": 0, "lost_or_stolen": 0},
        {"provider_name": "Harbour Contracting", "devices_held": 0, "overdue_returns": 0, "overdue_attestations": 0,
         "spot_check_discrepancies": 0, "lost_or_stolen": 1},
        {"provider_name": "Ngā Tūmanako", "devices_held": 1, "overdue_returns": 0, "overdue_attestations": 0,
         "spot_check_discrepancies": 1, "lost_or_stolen": 0},
    ]
    # A longer interval: S2's attestation (owed 90 days after 1 May) is not yet overdue at 150 days.
    assert agg.device_exceptions(facts(), Q3, Q3.ends_on, 153, edition()).overdue_attestations == 0
    assert agg.device_exceptions(facts(), Q3, Q3.ends_on, 90, edition(Audience.governance)).by_provider == []


def test_incidents_and_breach_clocks() -> None:
    counts = {i.kind: (i.quarter, i.previous) for i in agg.incidents(facts().incidents, Q3)}
    assert counts == {"lost": (1, 0), "stolen": (1, 0), "damaged": (0, 0), "misuse": (0, 1), "near_miss": (1, 0)}
    breaches = agg.breaches(facts().incidents, facts().breaches, Q3, NOW)
    assert msgspec.structs.asdict(breaches) == {
        "assessments": 3, "decided": 2, "decided_on_time": 1, "undecided_overdue": 1, "notifiable": 2,
        "notified_on_time": 1, "notification_overdue": 1}
    # Before i4's notification fell due, nothing about it was overdue.
    early = agg.breaches(facts().incidents, facts().breaches, Q3, datetime(2025, 10, 4, tzinfo=UTC))
    assert (early.notification_overdue, early.undecided_overdue) == (0, 1)


def test_the_whole_report_and_its_headlines() -> None:
    report = agg.quarterly(facts(), Q3, edition(), today=TODAY, now=NOW, attestation_days=90)
    assert (report.quarter, report.previous_quarter, report.starts_on, report.ends_on) == (
        "2025-Q3", "2025-Q2", date(2025, 7, 1), date(2025, 9, 30))
    assert set(report.bands) == {"red", "amber", "green"}
    lines = {h.label: h for h in report.headlines}
    assert [h.heading for h in report.headlines][0] == agg.PROGRESS
    assert {h.heading for h in report.headlines} == set(agg.HEADINGS)
    median = lines["Median verified score"]
    assert (median.value, median.previous, median.change, median.unit) == (55.0, 50.0, 5.0, "score")
    opened = lines["Corrective actions open"]
    assert (opened.value, opened.previous, opened.change) == (3, 1, 2)
    completion = lines["Self-assessments due in the quarter submitted"]
    assert (completion.value, completion.previous, completion.change) == (40.0, 100.0, -60.0)
    incidents = lines["Incidents (lost, stolen, damaged, misuse)"]
    assert (incidents.value, incidents.previous, incidents.change) == (2, 1, 1)
    assert (lines["Near misses"].value, lines["Near misses"].previous) == (1, 0)
    assert (lines["Providers green (verified score)"].value, lines["Providers green (verified score)"].previous) == (
        20.0, 0.0)
    assert lines["Providers with a score"].value == 5 and lines["Providers with a score"].change == 1
    # 22: 1 green of 5; 18: 3 of 4 -> 4 of 9
    assert lines["Recommendations implemented (green, per provider)"].value == 44.4
    assert lines["Assurance gap (mean, audited providers)"].previous == 12.5  # Q2: Aroha 10, Harbour 15
    assert lines["Median verified score, change over four quarters"].value is None  # no standing a year ago
    assert len(report.providers) == 5 and len(report.trend) == 8
    msgspec.json.encode(report)  # the JSON the API gives


def test_the_governance_edition_names_no_provider() -> None:
    report = agg.quarterly(facts(), Q3, edition(Audience.governance, 3), today=TODAY, now=NOW,
                           attestation_days=90)
    body = msgspec.json.encode(report).decode()
    for name in PROVIDERS["name"]:
        assert name not in body
    for n in range(1, 7):
        assert pid(n) not in body
    assert report.providers == [] and report.assurance_gap.by_provider == []
    assert report.corrective_actions.overdue_actions == [] and report.device_exceptions.by_provider == []
    assert report.audience is Audience.governance
    assert {(d.group, d.suppressed) for d in report.distributions if d.dimension == "region"} == {
        ("Wellington", False), ("Auckland", True)}
