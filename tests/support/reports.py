"""A hand-made quarterly report with every section filled, for the workbook's tests: ``rich_report()``. Its
figures are made up (the workbook only formats them); one provider's name starts with "=" to prove neutralising,
one action's title with "@", one rollout's name with "+". ``readback``: the workbook's figures read back with
openpyxl, to compare with the report's JSON."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid5

from openpyxl.workbook.workbook import Workbook

from partner_audit.reports import xlsx
from partner_audit.reports.schemas import (
    AssuranceGap,
    Audience,
    Band,
    BreachFigures,
    CorrectiveActions,
    DeviceExceptions,
    Distribution,
    HeatCell,
    Headline,
    IncidentCount,
    OverdueAction,
    ProviderRow,
    QuarterlyReport,
    RecommendationProgress,
    RolloutProgress,
    TrendPoint,
    WeakPoint,
)

NS = UUID("6b0f3c9e-1d2a-4c55-9a3e-0d6a9b1c2e7f")
HOSTILE_NAME = '=HYPERLINK("http://evil.example","Click")'
HOSTILE_ACTION = "@SUM(1+1)"
HOSTILE_ROLLOUT = "+2025 self-assessment"
HEADINGS = ["Progress with the review findings", "Privacy breaches and near-misses", "Compliance",
            "Implementation of agreed controls and recommendations", "Trends"]


def _id(text: str) -> UUID:
    return uuid5(NS, text)


def _band(score: float | None) -> Band | None:
    if score is None:
        return None
    return Band.green if score >= 80 else Band.amber if score >= 50 else Band.red


def provider(name: str, region: str, tier: int, self_assessed: float | None, verified: float | None,
             completeness: float | None = 100.0, change: float | None = None,
             closed: date | None = None) -> ProviderRow:
    gap = None if self_assessed is None or verified is None else round(self_assessed - verified, 1)
    return ProviderRow(provider_id=_id(name), provider_name=name, region=region, tier=tier, kind="NGO",
                       self_assessed=self_assessed, self_band=_band(self_assessed), verified=verified,
                       verified_band=_band(verified), gap=gap, completeness=completeness, change=change,
                       last_audit_closed_on=closed)


def rich_report(audience: Audience = Audience.full) -> QuarterlyReport:
    full = audience is Audience.full
    providers = [
        provider("Aroha Whānau Services", "Wellington", 1, 91.2, 72.5, 100.0, -3.5, date(2025, 8, 14)),
        provider(HOSTILE_NAME, "Auckland", 2, 64.0, 64.0, 87.5, 2.0),
        provider("Kōwhai Community Trust", "Canterbury", 3, 48.3, 31.7, 66.7, None, date(2025, 9, 2)),
        provider("Tūī Support Ltd", "Auckland", 2, 85.0, 85.0, 100.0, 0.0),
        provider("No Score Yet Trust", "Otago", 3, None, None, None, None),
    ]
    audited = [p for p in providers if p.last_audit_closed_on is not None]
    return QuarterlyReport(
        quarter="2025-Q3", starts_on=date(2025, 7, 1), ends_on=date(2025, 9, 30), previous_quarter="2025-Q2",
        audience=audience, made_at=datetime(2025, 10, 3, 1, 30, tzinfo=UTC), min_group_size=5,
        bands={"green": "Green: 80 or more", "amber": "Amber: 50 to 79.9", "red": "Red: below 50"},
        headlines=[
            Headline(heading=HEADINGS[0], label="Self-assessments accepted or submitted", value=87.5, previous=70.0,
                     change=17.5, unit="%"),
            Headline(heading=HEADINGS[0], label="Audits reported", value=6, previous=4, change=2, unit="count"),
            Headline(heading=HEADINGS[1], label="Incidents and near misses", value=9, previous=12, change=-3,
                     unit="count"),
            Headline(heading=HEADINGS[1], label="Notifiable breaches", value=1, previous=0, change=1, unit="count"),
            Headline(heading=HEADINGS[2], label="Median verified score", value=68.3, previous=66.1, change=2.2,
                     unit="score"),
            Headline(heading=HEADINGS[2], label="Median self-assessed score", value=74.5, previous=None,
                     change=None, unit="score"),
            Headline(heading=HEADINGS[3], label="Recommendations implemented", value=41.7, previous=40.0,
                     change=1.7, unit="%"),
            Headline(heading=HEADINGS[4], label="Providers with a score", value=4, previous=3, change=1,
                     unit="count"),
        ],
        rollouts=[
            RolloutProgress(rollout_id=_id("r1"), name=HOSTILE_ROLLOUT, period="2025-Q3", due_on=date(2025, 8, 29),
                            assessments=8, accepted=5, submitted=2, in_progress=1, not_started=0, late=2,
                            completion=87.5),
            RolloutProgress(rollout_id=_id("r2"), name="Tier 1 devices round", period="2025-Q3",
                            due_on=date(2025, 9, 26), assessments=3, accepted=1, submitted=0, in_progress=1,
                            not_started=1, late=1, completion=33.3),
        ],
        distributions=[
            Distribution(dimension="all", group="All providers", providers=4, suppressed=False,
                         median_self_assessed=74.5, median_verified=68.3, q1_verified=56.0, q3_verified=76.6,
                         median_verified_previous=66.1, change=2.2, bands={"red": 1, "amber": 2, "green": 1}),
            Distribution(dimension="region", group="Auckland", providers=2, suppressed=False,
                         median_self_assessed=74.5, median_verified=74.5, q1_verified=69.3, q3_verified=79.8,
                         median_verified_previous=None, change=None, bands={"red": 0, "amber": 1, "green": 1}),
            Distribution(dimension="tier", group="Tier 3", providers=1, suppressed=not full,
                         median_self_assessed=None if not full else 48.3, median_verified=None if not full else 31.7,
                         q1_verified=None if not full else 31.7, q3_verified=None if not full else 31.7,
                         median_verified_previous=None, change=None,
                         bands={} if not full else {"red": 1, "amber": 0, "green": 0}),
        ],
        trend=[TrendPoint(quarter=q, providers=n, median_self_assessed=s, median_verified=v, q1_verified=lo,
                          q3_verified=hi)
               for q, n, s, v, lo, hi in [("2023-Q4", 1, 60.0, 50.0, 50.0, 50.0), ("2024-Q1", 1, 61.0, 52.5, 52.5, 52.5),
                                          ("2024-Q2", 2, 63.5, 55.0, 50.0, 60.0), ("2024-Q3", 2, 66.0, 57.5, 52.0, 63.0),
                                          ("2024-Q4", 3, 70.0, 60.0, 55.0, 65.0), ("2025-Q1", 3, 71.0, 63.3, 58.0, 70.0),
                                          ("2025-Q2", 3, 72.0, 66.1, 60.0, 72.0), ("2025-Q3", 4, 74.5, 68.3, 56.0, 76.6)]],
        weakest_controls=[
            WeakPoint(kind="control", id="access-reviews", title="Access reviewed quarterly", providers=4,
                      mean_self_assessed=62.5, mean_verified=37.5, red=2),
            WeakPoint(kind="control", id="device-register", title="Device register kept", providers=4,
                      mean_self_assessed=70.0, mean_verified=55.0, red=1),
        ],
        weakest_recommendations=[
            WeakPoint(kind="recommendation", id="22", title="Devices", providers=4, mean_self_assessed=66.0,
                      mean_verified=48.0, red=2),
        ],
        recommendations=[
            RecommendationProgress(recommendation=22, title="Devices", controls=["device-register", "attestation"],
                                   providers=4, median_verified=52.5, implemented=1, partly=2, not_implemented=1),
            RecommendationProgress(recommendation=7, title="Appropriate access", controls=["access-reviews"],
                                   providers=4, median_verified=45.0, implemented=0, partly=2, not_implemented=2),
            RecommendationProgress(recommendation=18, title="Reporting", controls=["quarterly-reporting"],
                                   providers=0, median_verified=None, implemented=0, partly=0, not_implemented=0),
        ],
        heatmap=[
            HeatCell(area_id="devices", area_title="Devices", region="Auckland", providers=2, suppressed=not full,
                     median_verified=None if not full else 70.0, band=None if not full else Band.amber),
            HeatCell(area_id="devices", area_title="Devices", region="Wellington", providers=1, suppressed=not full,
                     median_verified=None if not full else 85.0, band=None if not full else Band.green),
            HeatCell(area_id="access", area_title="Appropriate access", region="Auckland", providers=2,
                     suppressed=not full, median_verified=None if not full else 40.0,
                     band=None if not full else Band.red),
            HeatCell(area_id="access", area_title="Appropriate access", region="Canterbury", providers=1,
                     suppressed=not full, median_verified=None if not full else 55.0,
                     band=None if not full else Band.amber),
        ],
        providers=providers if full else [],
        assurance_gap=AssuranceGap(providers_audited=len(audited), mean_gap=17.7, median_gap=17.7, largest_gap=18.7,
                                   outrunning=2, by_provider=audited if full else []),
        corrective_actions=CorrectiveActions(
            open=5, overdue=2, verified_in_quarter=3, by_severity={"high": 2, "medium": 2, "low": 1},
            overdue_actions=[
                OverdueAction(action_id=_id("a1"), provider_name=HOSTILE_NAME, audit_title="Site visit 2025",
                              control_id="access-reviews", severity="high", title=HOSTILE_ACTION,
                              due_on=date(2025, 9, 1), days_overdue=29, status="open"),
                OverdueAction(action_id=_id("a2"), provider_name="Kōwhai Community Trust",
                              audit_title="Desktop review", control_id=None, severity="medium",
                              title="Train new staff on the privacy policy", due_on=date(2025, 9, 20),
                              days_overdue=10, status="responded"),
            ] if full else []),
        device_exceptions=DeviceExceptions(
            devices_held=40, overdue_returns=3, overdue_attestations=4, spot_check_discrepancies=2, lost_or_stolen=1,
            by_provider=[
                {"provider_name": "Aroha Whānau Services", "devices_held": 25, "overdue_returns": 1,
                 "overdue_attestations": 3, "spot_check_discrepancies": 2, "lost_or_stolen": 1},
                {"provider_name": HOSTILE_NAME, "devices_held": 15, "overdue_returns": 2, "overdue_attestations": 1,
                 "spot_check_discrepancies": 0, "lost_or_stolen": 0},
            ] if full else []),
        incidents=[IncidentCount(kind="lost", quarter=3, previous=2), IncidentCount(kind="stolen", quarter=1, previous=3),
                   IncidentCount(kind="damaged", quarter=2, previous=2), IncidentCount(kind="misuse", quarter=0, previous=1),
                   IncidentCount(kind="near_miss", quarter=3, previous=4)],
        breaches=BreachFigures(assessments=6, decided=5, decided_on_time=4, undecided_overdue=1, notifiable=1,
                               notified_on_time=1, notification_overdue=0),
    )


# --- reading a workbook back -----------------------------------------------------------------------------------


def rows_below(sheet: Any, header: str, column: int = 1) -> list[dict[str, Any]]:
    """The table whose header row has ``header`` in ``column``: one dict a row (header -> value), to the first
    blank row."""
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(values) if len(r) >= column and r[column - 1] == header)
    names = values[start]
    out = []
    for r in values[start + 1:]:
        if all(v is None for v in r) or r[0] == "None this quarter.":
            break
        out.append({n: v for n, v in zip(names, r, strict=True) if n is not None})
    return out


def pairs(sheet: Any) -> dict[str, Any]:
    """Label -> value, from the two-column label rows (column A bold, B its value)."""
    return {r[0].value: r[1].value for r in sheet.iter_rows(max_col=2) if r[0].font.bold and r[1].value is not None
            and isinstance(r[0].value, str)}


def text(value: Any) -> Any:
    """A cell's text as the report has it: the neutralising apostrophe taken off."""
    from partner_audit.spreadsheets import restore
    return restore(value) if isinstance(value, str) else value


def approx(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) < 1e-9
    return a == b


def percent(value: Any) -> Any:
    return None if value is None else value * 100


def assert_workbook_matches(book: Workbook, report: dict[str, Any]) -> None:
    """Every figure of the workbook equals the report's JSON (``report``, as the API gives it)."""
    summary = book[xlsx.SUMMARY]
    got = pairs(summary)
    assert got["Quarter"] == report["quarter"]
    assert got["From"].date().isoformat() == report["starts_on"]
    assert got["To"].date().isoformat() == report["ends_on"]
    assert got["Compared with"] == report["previous_quarter"]
    # Headlines under their headings, in the report's order.
    read, heading = [], None
    values = list(summary.iter_rows())
    start = next(i for i, r in enumerate(values) if r[0].value == "Figure" and r[1].value == "This quarter")
    for r in values[start + 1:]:
        if r[0].value is None:
            continue
        if r[0].font.bold and all(c.value is None for c in r[1:5]):
            heading = r[0].value
            continue
        read.append((heading, r[0].value, r[1].value, r[2].value, r[3].value, r[4].value))
    expected = [(h["heading"], h["label"], h["value"], h["previous"], h["change"], h["unit"])
                for h in report["headlines"]]
    assert len(read) == len(expected), (read, expected)
    for (rh, rl, rv, rp, rc, ru), (eh, el, ev, ep, ec, eu) in zip(read, expected, strict=True):
        scale = percent if eu == "%" else (lambda v: v)
        assert (rh, text(rl), ru) == (eh, el, eu)
        assert approx(scale(rv), ev) and approx(scale(rp), ep) and approx(scale(rc), ec), (rl, rv, rp, rc, ev, ep, ec)

    if report["audience"] == "full":
        rows = rows_below(book[xlsx.PROVIDERS], "Provider")
        assert len(rows) == len(report["providers"])
        by_name = {p["provider_name"]: p for p in report["providers"]}
        for r in rows:
            p = by_name[text(r["Provider"])]
            assert approx(r["Self-assessed"], p["self_assessed"]) and approx(r["Verified"], p["verified"])
            assert approx(r["Gap"], p["gap"]) and approx(r["Change from last quarter"], p["change"])
            assert approx(percent(r["Completeness"]), p["completeness"])
            assert (r["Verified band"] or None) == (p["verified_band"].capitalize() if p["verified_band"] else None)
            assert r["Region"] == p["region"] and r["Tier"] == p["tier"]
        verified = [r["Verified"] for r in rows if r["Verified"] is not None]
        assert verified == sorted(verified), "weakest first"
    else:
        assert rows_count(book[xlsx.PROVIDERS]) == 1  # the note alone

    trend = rows_below(book[xlsx.TREND], "Quarter")
    assert [(t["Quarter"], t["Providers"], t["Median self-assessed"], t["Median verified"]) for t in trend] == [
        (t["quarter"], t["providers"], t["median_self_assessed"], t["median_verified"]) for t in report["trend"]]

    incidents = rows_below(book[xlsx.INCIDENTS], "Kind")
    assert [(r["This quarter"], r["Last quarter"]) for r in incidents] == [
        (i["quarter"], i["previous"]) for i in report["incidents"]]
    breaches = pairs(book[xlsx.INCIDENTS])
    b = report["breaches"]
    assert (breaches["Breach assessments"], breaches["Decided"], breaches["Notifiable"],
            breaches["Notification overdue"]) == (b["assessments"], b["decided"], b["notifiable"],
                                                  b["notification_overdue"])

    recs = rows_below(book[xlsx.RECOMMENDATIONS], "Recommendation")
    assert {r["Recommendation"]: (r["Median verified"], r["Implemented (green)"], r["Partly (amber)"],
                                  r["Not implemented (red)"]) for r in recs} == {
        r["recommendation"]: (r["median_verified"], r["implemented"], r["partly"], r["not_implemented"])
        for r in report["recommendations"]}

    dist = rows_below(book[xlsx.DISTRIBUTION], "Dimension")
    assert [(r["Group"], r["Providers"], r["Median verified"], r["Change"]) for r in dist] == [
        (d["group"], d["providers"], d["median_verified"], d["change"]) for d in report["distributions"]]

    heat = rows_below(book[xlsx.HEATMAP], "Focus area", 1)
    # The grid first: area -> region -> median or "suppressed".
    for cell in report["heatmap"]:
        row = next(r for r in heat if r["Focus area"] == cell["area_title"])
        assert row[cell["region"]] == ("suppressed" if cell["suppressed"] else cell["median_verified"])

    gap = pairs(book[xlsx.GAP])
    g = report["assurance_gap"]
    assert (gap["Providers audited"], gap.get("Mean gap"), gap.get("Median gap"), gap.get("Largest gap"),
            gap["Self-assessed above verified"]) == (g["providers_audited"], g["mean_gap"], g["median_gap"],
                                                     g["largest_gap"], g["outrunning"])

    actions = pairs(book[xlsx.ACTIONS])
    ca = report["corrective_actions"]
    assert (actions["Open"], actions["Overdue"], actions["Verified in the quarter"]) == (
        ca["open"], ca["overdue"], ca["verified_in_quarter"])
    if report["audience"] == "full" and ca["overdue_actions"]:
        overdue = rows_below(book[xlsx.ACTIONS], "Provider")
        assert sorted((text(r["Action"]), r["Due"].date().isoformat(), r["Days overdue"]) for r in overdue) == sorted(
            (a["title"], a["due_on"], a["days_overdue"]) for a in ca["overdue_actions"])

    devices = pairs(book[xlsx.DEVICES])
    d = report["device_exceptions"]
    assert [devices[label] for _, label in xlsx.DEVICE_COUNTS] == [d[key] for key, _ in xlsx.DEVICE_COUNTS]

    rollouts = rows_below(book[xlsx.ROLLOUTS], "Rollout")
    assert [(text(r["Rollout"]), r["Assessments"], r["Late"]) for r in rollouts] == [
        (r["name"], r["assessments"], r["late"]) for r in report["rollouts"]]
    assert all(approx(round(percent(r["Completion"]), 9), e["completion"])
               for r, e in zip(rollouts, report["rollouts"], strict=True))


def rows_count(sheet: Any) -> int:
    return sum(1 for r in sheet.iter_rows(values_only=True) if any(v is not None for v in r))
