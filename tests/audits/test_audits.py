"""Audits: their lifecycle, dates on working days where the provider works, an independent team booked without
clashes, SEQUENCE raised on every change a calendar shows, the access log, and a provider's people kept to their
own provider's audits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest

from partner_audit.audits import calendar
from partner_audit.audits.services.independence import History, lead_barred_reason, member_barred_reason, months_before
from partner_audit.audits.tables import Audit, AuditBooking, AuditorConflict
from partner_audit.providers.tables import Provider
from partner_audit.security.tables import AccessLogEntry
from tests.support import audit_records as ar
from tests.support.assessments import accepted_assessment
from tests.support.problems import problem


def bookings_of(run, audit_id: str) -> list[dict]:
    return run(lambda: AuditBooking.select(AuditBooking.auditor, AuditBooking.day).where(
        AuditBooking.audit == audit_id).order_by(AuditBooking.day).run())


def log_of(run, record_id: str) -> list[str]:
    rows = run(lambda: AccessLogEntry.select(AccessLogEntry.action, AccessLogEntry.outcome).where(
        AccessLogEntry.record_id == record_id).order_by(AccessLogEntry.seq).run())
    return [f"{r['action']}:{r['outcome']}" for r in rows]


def first_day(provider: dict, wanted) -> date:
    """The first day after today, on a weekday, for which ``wanted(day)`` holds."""
    day = date.today() + timedelta(days=1)
    while not (day.weekday() < 5 and wanted(day)):
        day += timedelta(days=1)
    return day


def test_an_audit_goes_from_proposed_to_closed_raising_its_sequence_and_logging_each_step(world, run):
    body = ar.audit_body(world, world.provider_a, offset=10, days=3, auditor_ids=[str(world.admin.user["id"])])
    r = world.auditor.post("/api/v1/audits", json=body)
    assert r.status_code == 201, r.text
    audit = r.json()
    assert (audit["status"], audit["sequence"], audit["origin"]) == ("proposed", 0, "manual")
    assert {(m["name"], m["role"]) for m in audit["team"]} == {("Auditor", "lead"), ("Admin", "member")}
    days = calendar.working_days(date.fromisoformat(body["starts_on"]), date.fromisoformat(body["ends_on"]),
                                 calendar.for_region(world.provider_a["region"]))
    assert len(bookings_of(run, audit["id"])) == 2 * len(list(days)) == 6, "both auditors, each working day"

    sequences = [audit["sequence"]]
    for step, payload in (("schedule", None), ("start", None), ("report", {"summary": "Two gaps found."}),
                          ("close", None)):
        r = world.auditor.post(f"/api/v1/audits/{audit['id']}/{step}", json=payload)
        assert r.status_code == 200, r.text
        sequences.append(r.json()["sequence"])
    closed = r.json()
    assert closed["status"] == "closed" and closed["summary"] == "Two gaps found." and closed["closed_at"]
    assert sequences == [0, 1, 2, 3, 4]
    assert bookings_of(run, audit["id"]) == [], "a closed audit holds no days"

    r = world.auditor.post(f"/api/v1/audits/{audit['id']}/cancel", json={"reason": "Too late"})
    problem(r, 409)
    assert world.provider_admin.get(f"/api/v1/audits/{audit['id']}").status_code == 200
    assert log_of(run, audit["id"]) == [
        "audit.create:success", "audit.schedule:success", "audit.start:success", "audit.report:success",
        "audit.close:success", "audit.cancel:conflict", "audit.read:success"]


def test_start_and_end_must_be_working_days_where_the_provider_works(world, run):
    saturday = first_day(world.provider_a, lambda d: True)
    saturday += timedelta(days=(5 - saturday.weekday()) % 7)
    body = ar.audit_body(world, world.provider_a, starts_on=saturday.isoformat(), ends_on=saturday.isoformat())
    body_problem = problem(world.auditor.post("/api/v1/audits", json=body), 422, "starts_on")
    assert "Saturday" in body_problem["detail"]

    holiday = first_day(world.provider_a, lambda d: calendar.day_off(d) is not None)
    body = ar.audit_body(world, world.provider_a, offset=1)
    body["ends_on"] = holiday.isoformat()
    body["starts_on"] = min(holiday, date.fromisoformat(body["starts_on"])).isoformat()
    refused = problem(world.auditor.post("/api/v1/audits", json=body), 422)
    assert calendar.day_off(holiday) in refused["detail"]

    # Provider A (Wellington) observes Canterbury's anniversary day: that day is off, Wellington's is not.
    run(lambda: Provider.update({Provider.anniversary_day: "canterbury"}).where(
        Provider.id == world.provider_a["id"]).run())
    canterbury = first_day(world.provider_a, lambda d: calendar.day_off(d, "canterbury") and not calendar.day_off(d))
    wellington = first_day(world.provider_a, lambda d: calendar.day_off(d, "wellington") and not calendar.day_off(d))
    body = ar.audit_body(world, world.provider_a, starts_on=canterbury.isoformat(), ends_on=canterbury.isoformat())
    refused = problem(world.auditor.post("/api/v1/audits", json=body), 422, "starts_on")
    assert calendar.day_off(canterbury, "canterbury") in refused["detail"]
    body = ar.audit_body(world, world.provider_a, starts_on=wellington.isoformat(), ends_on=wellington.isoformat())
    assert world.auditor.post("/api/v1/audits", json=body).status_code == 201

    body = ar.audit_body(world, world.provider_b, offset=12)
    body["ends_on"] = ar.working_day(world.provider_b, 10).isoformat()
    problem(world.auditor.post("/api/v1/audits", json=body), 422, "ends_on")


def test_a_declared_conflict_of_interest_keeps_an_auditor_off_the_team(world, run):
    auditor = world.auditor.user["id"]
    run(lambda: AuditorConflict(auditor=auditor, provider=world.provider_a["id"], kind="interest",
                                reason="Sister is the chief executive",
                                auditor_provider_kind=f"{auditor}:{world.provider_a['id']}:interest").save().run())
    refused = problem(world.auditor.post("/api/v1/audits", json=ar.audit_body(world, world.provider_a)), 422,
                      "lead_auditor_id")
    assert "conflict of interest" in refused["detail"] and "Sister is the chief executive" in refused["detail"]
    body = ar.audit_body(world, world.provider_a, lead_auditor_id=str(world.admin.user["id"]),
                         auditor_ids=[str(auditor)])
    problem(world.auditor.post("/api/v1/audits", json=body), 422, "auditor_ids[0]")
    # Withdrawn, it no longer counts.
    run(lambda: AuditorConflict.update({AuditorConflict.withdrawn_at: datetime.now(UTC)}).where(
        AuditorConflict.auditor == auditor).run())
    assert world.auditor.post("/api/v1/audits", json=body).status_code == 201
    assert run(lambda: Audit.count().run()) == 1


def test_no_one_leads_a_review_of_a_provider_they_led_or_ran_within_the_independence_window(world, run):
    earlier = ar.in_progress(world, world.provider_a, offset=3)
    body = ar.audit_body(world, world.provider_a, offset=40)
    refused = problem(world.auditor.post("/api/v1/audits", json=body), 422, "lead_auditor_id")
    assert "led an audit of Provider A Trust" in refused["detail"] and "12 months" in refused["detail"]
    # As a member under another lead, they may be on it.
    body = ar.audit_body(world, world.provider_a, offset=40, lead_auditor_id=str(world.admin.user["id"]),
                         auditor_ids=[str(world.auditor.user["id"])])
    assert world.auditor.post("/api/v1/audits", json=body).status_code == 201
    world.auditor.post(f"/api/v1/audits/{earlier['id']}/cancel", json={"reason": "Replaced"})
    # Provider B, whose activity they were responsible for until 200 days ago, they may not lead ...
    auditor = world.auditor.user["id"]
    key = f"{auditor}:{world.provider_b['id']}:responsibility"
    run(lambda: AuditorConflict(auditor=auditor, provider=world.provider_b["id"], kind="responsibility",
                                ends_on=date.today() - timedelta(days=200), auditor_provider_kind=key).save().run())
    refused = problem(world.auditor.post("/api/v1/audits", json=ar.audit_body(world, world.provider_b, offset=50)),
                      422, "lead_auditor_id")
    assert "was responsible until" in refused["detail"]
    # ... and accepted once it ended more than 12 months before the start.
    run(lambda: AuditorConflict.update({AuditorConflict.ends_on: date.today() - timedelta(days=500)}).where(
        AuditorConflict.auditor_provider_kind == key).run())
    r = world.auditor.post("/api/v1/audits", json=ar.audit_body(world, world.provider_b, offset=50))
    assert r.status_code == 201, r.text


def test_the_independence_rule_as_pure_functions():
    start = date(2027, 3, 31)
    assert months_before(start, 1) == date(2027, 2, 28) and months_before(date(2027, 1, 15), 12) == date(2026, 1, 15)
    assert member_barred_reason(History(name="Ana"), "P") is None
    declared = member_barred_reason(History(name="Ana", interest=""), "P")
    assert declared.startswith("Ana has declared a conflict of interest with P, so")
    assert lead_barred_reason(History(led_until=date(2026, 3, 30)), "P", start, 12) is None
    assert "led an audit of P ending 2026-03-31" in lead_barred_reason(History(led_until=date(2026, 3, 31)), "P",
                                                                        start, 12)
    assert "still responsible" in lead_barred_reason(History(responsible=True), "P", start, 12)
    assert lead_barred_reason(History(responsible=True, responsible_until=date(2025, 1, 1)), "P", start, 12) is None
    assert lead_barred_reason(History(led_until=date(2026, 12, 1)), "P", start, 0) is None
    assert lead_barred_reason(History(led_until=start + timedelta(days=1)), "P", start, 12) is None, "not past work"


def test_nobody_is_double_booked_and_cancelling_frees_the_days(world, run):
    first = ar.created(world, world.provider_a, offset=10)
    body = ar.audit_body(world, world.provider_b, starts_on=first["starts_on"], ends_on=first["ends_on"])
    clash = problem(world.auditor.post("/api/v1/audits", json=body), 409)
    assert "Auditor is already on another audit" in clash["detail"] and first["starts_on"] in clash["detail"]
    assert run(lambda: Audit.count().run()) == 1, "nothing half-written"

    problem(world.auditor.post(f"/api/v1/audits/{first['id']}/cancel", json={"reason": ""}), 400)
    r = world.auditor.post(f"/api/v1/audits/{first['id']}/cancel", json={"reason": "The provider asked to move it"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["sequence"] == 1
    assert r.json()["cancelled_reason"] == "The provider asked to move it"
    assert bookings_of(run, first["id"]) == []
    assert world.auditor.post("/api/v1/audits", json=body).status_code == 201


def test_changing_dates_or_team_rebooks_and_raises_the_sequence_scope_alone_does_not(world, run):
    audit = ar.created(world, world.provider_a, offset=10)
    moved = ar.working_day(world.provider_a, 15)
    r = world.auditor.patch(f"/api/v1/audits/{audit['id']}", json={"starts_on": moved.isoformat(),
                                                                    "ends_on": moved.isoformat()})
    assert r.status_code == 200, r.text
    assert r.json()["sequence"] == 1
    assert [row["day"] for row in bookings_of(run, audit["id"])] in ([moved], [moved.isoformat()])
    r = world.auditor.patch(f"/api/v1/audits/{audit['id']}", json={"scope_areas": ["devices"]})
    assert r.status_code == 200 and r.json()["sequence"] == 1 and r.json()["scope_areas"] == ["devices"]
    problem(world.auditor.patch(f"/api/v1/audits/{audit['id']}", json={"scope_controls": ["no-such-control"]}),
            422, "scope_controls[0]")
    r = world.auditor.patch(f"/api/v1/audits/{audit['id']}", json={"auditor_ids": [str(world.admin.user["id"])]})
    assert r.json()["sequence"] == 2 and len(r.json()["team"]) == 2
    assert len(bookings_of(run, audit["id"])) == 2
    # A provider's person cannot be on the team; nor can someone who is not active.
    problem(world.auditor.patch(f"/api/v1/audits/{audit['id']}", json={
        "auditor_ids": [str(world.provider_admin.user["id"])]}), 422, "auditor_ids[0]")


def test_a_scheduled_audit_needs_a_lead_and_reviews_the_latest_accepted_self_assessment(world, run, template_id):
    assessment = accepted_assessment(world, template_id)
    body = ar.audit_body(world, world.provider_a, template_version_id=None)
    del body["lead_auditor_id"]
    r = world.auditor.post("/api/v1/audits", json=body)
    assert r.status_code == 201, r.text
    audit = r.json()
    assert audit["assessment_id"] == assessment["id"]
    assert audit["template_version_id"] == assessment["template_version_id"], "its template is the scope"
    problem(world.auditor.post(f"/api/v1/audits/{audit['id']}/schedule"), 409, "lead_auditor_id")
    world.auditor.patch(f"/api/v1/audits/{audit['id']}", json={"lead_auditor_id": str(world.auditor.user["id"])})
    assert world.auditor.post(f"/api/v1/audits/{audit['id']}/schedule").json()["status"] == "scheduled"
    problem(world.auditor.patch(f"/api/v1/audits/{audit['id']}", json={"lead_auditor_id": None}), 422,
            "lead_auditor_id")
    assert len(bookings_of(run, audit["id"])) == 2
    # Provider B has no accepted self-assessment to give.
    body = ar.audit_body(world, world.provider_b, offset=30, assessment_id=assessment["id"])
    problem(world.auditor.post("/api/v1/audits", json=body), 422, "assessment_id")


def test_a_providers_people_see_their_own_audits_only(world, run):
    mine = ar.created(world, world.provider_a, offset=10)
    theirs = ar.created(world, world.provider_b, offset=20)
    for who in (world.provider_user, world.provider_admin):
        listed = who.get("/api/v1/audits").json()
        assert [a["id"] for a in listed["items"]] == [mine["id"]] and listed["total"] == 1
        assert who.get("/api/v1/audits", params={"provider_id": str(world.provider_b["id"])}).json()["total"] == 0
        problem(who.get(f"/api/v1/audits/{theirs['id']}"), 404)
        problem(who.get(f"/api/v1/audits/{theirs['id']}/findings"), 404)
        problem(who.post("/api/v1/audits", json=ar.audit_body(world, world.provider_a, offset=40)), 403)
    problem(world.governance.get("/api/v1/audits"), 403)
    everyone = world.partnerships.get("/api/v1/audits", params={"status": "proposed", "kind": "site_visit"}).json()
    assert {a["id"] for a in everyone["items"]} == {mine["id"], theirs["id"]}
    window = world.partnerships.get("/api/v1/audits", params={"to": mine["ends_on"]}).json()
    assert [a["id"] for a in window["items"]] == [mine["id"]]
    window = world.partnerships.get("/api/v1/audits", params={"from": theirs["starts_on"]}).json()
    assert [a["id"] for a in window["items"]] == [theirs["id"]]
    assert {"audit.read:not_found", "finding.list:not_found"} <= set(log_of(run, str(theirs["id"])))


def test_bad_input_is_refused_naming_the_field(world, run):
    body = ar.audit_body(world, world.provider_a, title="Site\x00visit")
    problem(world.auditor.post("/api/v1/audits", json=body), 400, "title")
    body = ar.audit_body(world, world.provider_a)
    r = world.auditor.post("/api/v1/audits", content=str(body).encode(), headers={"Content-Type": "text/plain"})
    problem(r, 415)
    problem(world.auditor.post("/api/v1/audits", json={**body, "kind": "picnic"}), 400, "kind")
    problem(world.auditor.post("/api/v1/audits", json={**body, "provider_id": str(UUID(int=1))}), 422, "provider_id")
    problem(world.auditor.post("/api/v1/audits", json={**body, "scope_areas": ["gardening"]}), 422, "scope_areas[0]")
    assert run(lambda: Audit.count().run()) == 0


@pytest.mark.parametrize("step", ["schedule", "start"])
def test_a_transition_out_of_order_is_a_conflict(world, step):
    audit = ar.created(world, world.provider_a)
    if step == "start":
        problem(world.auditor.post(f"/api/v1/audits/{audit['id']}/start"), 409)
    else:
        world.auditor.post(f"/api/v1/audits/{audit['id']}/schedule")
        problem(world.auditor.post(f"/api/v1/audits/{audit['id']}/schedule"), 409)
    problem(world.auditor.post(f"/api/v1/audits/{audit['id']}/close"), 409)
