"""The quarterly report from a small world made through the services, on SQLite and PostgreSQL.

The report is of last quarter (R), beside the one before it (P), so every date in it is past. What the services
stamp "now" is moved back into R or P in the rows, where time would have put it.

- Provider A (Wellington): accepted in P (has a lead, maturity 3: 75) and in R (maturity 5: 100); an audit
  reported in R rated its privacy lead partly effective (verified 50), with a corrective action overdue at R's end.
  A laptop out with A since P's start, due back 20 days into R, never attested; a phone lost 15 days into R, its
  breach assessment never decided.
- Provider B (Wellington): accepted in R (maturity 1: 50), submitted ten days after its round's due date.
- Provider C (Auckland): accepted in P (maturity 4: 87.5), still its standing in R.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import msgspec
import pytest

from partner_audit.assessments.tables import Assessment, Rollout
from partner_audit.audits.tables import Audit, CorrectiveAction
from partner_audit.devices.tables import Assignment, BreachAssessment, Incident
from partner_audit.errors import Forbidden, Invalid
from partner_audit.providers.schemas import Region
from partner_audit.reports.quarters import Quarter
from partner_audit.reports.schemas import Audience, Band
from partner_audit.reports.services import quarterly
from partner_audit.security.caller import Caller, Role
from partner_audit.security.tables import AccessLogEntry
from tests.support import audit_records
from tests.support.assessments import ACCEPTED_ANSWERS, accepted_assessment, load_template
from tests.support.devices import checked_out
from tests.support.paths import DATA
from tests.support.world import register_provider

TODAY = quarterly.nz_today()
R = Quarter.of(TODAY).previous()
P = R.previous()


def at(day: date) -> datetime:
    """02:00 UTC: the afternoon of the same day in New Zealand, whatever the daylight saving."""
    return datetime.combine(day, time(2), UTC)


def answered(maturity: str) -> list[dict[str, Any]]:
    return [{**a, "value": maturity} if a["question_id"] == "lead-maturity" else a for a in ACCEPTED_ANSWERS]


def moved(world, assessment: dict[str, Any], decided_on: date, due_on: date | None = None,
          submitted_on: date | None = None) -> None:
    async def update() -> None:
        await Assessment.update({Assessment.decided_at: at(decided_on),
                                 Assessment.submitted_at: at(submitted_on or decided_on)}).where(
            Assessment.id == assessment["id"]).run()
        if due_on is not None:
            await Assessment.update({Assessment.due_on: due_on}).where(Assessment.id == assessment["id"]).run()
            await Rollout.update({Rollout.due_on: due_on}).where(Rollout.id == assessment["rollout_id"]).run()

    world.run(update)


def caller_of(api) -> Caller:
    user = api.user
    return Caller(user["id"], user["email"], Role(user["role"]), user.get("provider_id"))


@pytest.fixture
def built(world) -> dict[str, Any]:
    template = load_template(world.run, DATA / "mini-template.yaml")
    c = register_provider(world.run, "Kauri Whānau Services", 3, region=Region.auckland)
    world.add_person("c_admin", Role.provider_admin, c["id"])
    world.add_person("c_user", Role.provider_user, c["id"])

    a_before = accepted_assessment(world, template, period=str(P), answers=answered("3"))
    moved(world, a_before, P.starts_on + timedelta(days=20))
    a_now = accepted_assessment(world, template, period=str(R), answers=answered("5"))
    moved(world, a_now, R.starts_on + timedelta(days=10))
    b_now = accepted_assessment(world, template, period=str(R), answers=answered("1"), admin=world.b_admin,
                                staff=world.b_user, provider=world.provider_b)
    b_due = R.starts_on + timedelta(days=5)
    moved(world, b_now, R.starts_on + timedelta(days=16), due_on=b_due, submitted_on=b_due + timedelta(days=10))
    c_before = accepted_assessment(world, template, period=str(P), answers=answered("4"),
                                   admin=world.people["c_admin"], staff=world.people["c_user"], provider=c)
    moved(world, c_before, P.starts_on + timedelta(days=30))

    audit = audit_records.in_progress(world, world.provider_a)
    made = audit_records.finding(world, audit["id"], rating="partly_effective", severity="high")
    raised = audit_records.action(world, made["id"])
    action_due = R.starts_on + timedelta(days=30)

    async def report_audit() -> None:
        await Audit.update({Audit.status: "reported", Audit.reported_at: at(R.starts_on + timedelta(days=25))}).where(
            Audit.id == audit["id"]).run()
        await CorrectiveAction.update({CorrectiveAction.due_on: action_due,
                                       CorrectiveAction.created_at: at(R.starts_on + timedelta(days=25))}).where(
            CorrectiveAction.id == raised["id"]).run()

    world.run(report_audit)

    device, assignment = checked_out(world, "LT-0001", world.provider_a, "Tama Rangi")
    phone, _ = checked_out(world, "PH-0002", world.provider_a, "Mere Tawhiri", kind="phone")
    r = world.provider_admin.post("/api/v1/incidents", json={
        "device_id": phone["id"], "kind": "lost", "occurred_at": datetime.now(UTC).isoformat(),
        "reported_by": "Hine Walker", "information_at_risk": "Client contact details"})
    assert r.status_code == 201, r.text
    incident = r.json()
    lost_at = at(R.starts_on + timedelta(days=15))

    async def back_in_time() -> None:
        await Assignment.update({Assignment.starts_on: P.starts_on,
                                 Assignment.expected_return_on: R.starts_on + timedelta(days=20)}).where(
            Assignment.id == assignment["id"]).run()
        await Incident.update({Incident.occurred_at: lost_at, Incident.reported_at: lost_at}).where(
            Incident.id == incident["id"]).run()
        await Assignment.update({Assignment.starts_on: P.starts_on, Assignment.closed_at: lost_at}).where(
            Assignment.device == phone["id"]).run()
        await BreachAssessment.update({BreachAssessment.due_at: lost_at + timedelta(hours=48)}).where(
            BreachAssessment.incident == incident["id"]).run()

    world.run(back_in_time)
    return {"c": c, "action": raised, "action_due": action_due, "device": device}


def report_of(world, settings, who, quarter: Any = R, **kw: Any):
    return world.run(lambda: quarterly.quarterly_report(caller_of(who), quarter, today=TODAY, settings=settings,
                                                        **kw))


def test_the_full_report_of_a_small_world(world, built, settings) -> None:
    steps: list[tuple[str, int, int]] = []
    report = report_of(world, settings, world.partnerships, progress=lambda *step: steps.append(step))
    assert (report.quarter, report.previous_quarter, report.audience) == (str(R), str(P), Audience.full)
    assert steps[0] == ("providers", 0, 7) and steps[-1] == ("done", 7, 7) and len(steps) == 8

    every = next(d for d in report.distributions if d.dimension == "all")
    # R: A 100 (verified 50), B 50, C 87.5. P: A 75, C 87.5.
    assert (every.providers, every.median_verified, every.median_self_assessed) == (3, 50.0, 87.5)
    assert (every.q1_verified, every.q3_verified) == (50.0, 68.8)
    assert every.median_verified_previous == round(81.25, 1) and every.change == round(50 - 81.25, 1)
    assert every.bands == {"red": 0, "amber": 2, "green": 1}
    regions = {d.group: d for d in report.distributions if d.dimension == "region"}
    assert (regions["Wellington"].providers, regions["Wellington"].median_verified) == (2, 50.0)
    assert (regions["Auckland"].median_verified, regions["Auckland"].change) == (87.5, 0.0)
    assert [(t.quarter, t.providers) for t in report.trend][-2:] == [(str(P), 2), (str(R), 3)]

    rows = {r.provider_name: r for r in report.providers}
    a = rows["Provider A Trust"]
    assert (a.self_assessed, a.verified, a.gap, a.verified_band, a.change) == (100.0, 50.0, 50.0, Band.amber, -25.0)
    assert [r.provider_name for r in report.providers][0] in {"Provider A Trust", "Provider B Trust"}
    assert rows["Kauri Whānau Services"].verified == 87.5

    gap = report.assurance_gap
    assert (gap.providers_audited, gap.mean_gap, gap.outrunning) == (1, 50.0, 1)
    assert [r.provider_name for r in gap.by_provider] == ["Provider A Trust"]
    weakest = {w.id: w for w in report.weakest_controls}
    assert (weakest["privacy-lead"].providers, weakest["privacy-lead"].mean_verified,
            weakest["privacy-lead"].title) == (3, round((50 + 50 + 87.5) / 3, 1), "A named privacy lead")
    # 22 is the device register's, which has no scored question: listed, scored by nobody.
    assert [(r.recommendation, r.providers, r.implemented, r.partly) for r in report.recommendations] == [
        (5, 3, 1, 2), (22, 0, 0, 0)]
    cells = {(c.area_id, c.region): c for c in report.heatmap}
    assert cells[("leadership", "Auckland")].median_verified == 87.5

    [round_b] = report.rollouts
    assert (round_b.assessments, round_b.accepted, round_b.late, round_b.completion) == (1, 1, 1, 100.0)

    actions = report.corrective_actions
    assert (actions.open, actions.overdue, actions.by_severity["high"]) == (1, 1, 1)
    [overdue] = actions.overdue_actions
    assert (overdue.provider_name, overdue.days_overdue, overdue.severity) == (
        "Provider A Trust", (R.ends_on - built["action_due"]).days, "high")
    devices = report.device_exceptions
    assert (devices.devices_held, devices.overdue_returns, devices.overdue_attestations, devices.lost_or_stolen) == (
        1, 1, 1, 1)
    assert devices.by_provider[0]["provider_name"] == "Provider A Trust"
    assert {i.kind: i.quarter for i in report.incidents}["lost"] == 1
    assert (report.breaches.assessments, report.breaches.decided, report.breaches.undecided_overdue) == (1, 0, 1)
    lines = {h.label: h for h in report.headlines}
    assert (lines["Median verified score"].value, lines["Median verified score"].previous) == (50.0, 81.2)
    assert (lines["Corrective actions overdue"].value, lines["Corrective actions overdue"].previous) == (1, 0)

    entries = world.run(lambda: AccessLogEntry.select(AccessLogEntry.action, AccessLogEntry.record_id,
                                                      AccessLogEntry.detail).where(
        AccessLogEntry.action == "report.quarterly").run())
    assert entries == [{"action": "report.quarterly", "record_id": str(R), "detail": "audience=full"}]


def test_the_governance_edition_has_no_names_and_suppresses_small_groups(world, built, settings) -> None:
    small = dataclasses.replace(settings, report_min_group_size=3)
    report = report_of(world, small, world.governance)
    assert report.audience is Audience.governance
    body = msgspec.json.encode(report).decode()
    for name in ("Provider A Trust", "Provider B Trust", "Kauri Whānau Services", "Tama Rangi", "Hine Walker"):
        assert name not in body
    for provider in (world.provider_a, world.provider_b, built["c"]):
        assert str(provider["id"]) not in body
    assert report.providers == [] and report.assurance_gap.by_provider == []
    assert report.corrective_actions.overdue_actions == [] and report.device_exceptions.by_provider == []
    every = next(d for d in report.distributions if d.dimension == "all")
    assert (every.suppressed, every.median_verified) == (False, 50.0)  # three providers: at the minimum
    regions = {d.group: d for d in report.distributions if d.dimension == "region"}
    assert all(d.suppressed and d.median_verified is None for d in regions.values())
    assert (report.assurance_gap.suppressed, report.assurance_gap.mean_gap) == (True, None)
    assert report.rollouts == []  # one assessment: below the minimum
    # Partnerships may ask for the governance edition, to see what the committee sees.
    assert report_of(world, small, world.partnerships, audience=Audience.governance).providers == []


def test_who_may_have_it_and_a_bad_quarter(world, built, settings) -> None:
    with pytest.raises(Forbidden):
        report_of(world, settings, world.provider_admin)
    with pytest.raises(Forbidden, match="governance edition"):
        report_of(world, settings, world.governance, audience=Audience.full)
    with pytest.raises(Invalid) as bad:
        report_of(world, settings, world.auditor, quarter="2025-Q5")
    assert bad.value.errors[0]["field"] == "quarter" and "YYYY-QN" in bad.value.errors[0]["message"]
    with pytest.raises(Invalid, match="has not begun"):
        report_of(world, settings, world.auditor, quarter=Quarter.of(TODAY).next())


def test_a_register_with_nothing_to_report_gives_empty_figures(world, settings) -> None:
    report = report_of(world, settings, world.admin)
    assert (report.distributions, report.providers, report.rollouts, report.heatmap) == ([], [], [], [])
    assert [t.providers for t in report.trend] == [0] * 8
    assert (report.assurance_gap.providers_audited, report.assurance_gap.mean_gap) == (0, None)
    assert (report.corrective_actions.open, report.device_exceptions.devices_held, report.breaches.assessments) == (
        0, 0, 0)
    lines = {h.label: h for h in report.headlines}
    assert (lines["Median verified score"].value, lines["Providers with a score"].value) == (None, 0)
    msgspec.json.encode(report)
