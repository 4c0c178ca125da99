"""Incidents: a lost or stolen device closes its assignment and is marked; every incident, near misses too,
starts a breach assessment with its clock; serious harm needs both notifications before it closes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import msgspec
import pytest

from partner_audit.devices.schemas import IncidentCreate
from partner_audit.devices.services import breaches, incidents
from partner_audit.devices.tables import Assignment, BreachAssessment
from partner_audit.errors import Invalid, NotFound
from partner_audit.security.caller import Caller, Role
from tests.support.devices import S113_MATTERS, checked_out, holder, new_device

NOW = datetime.now(UTC)


def incident_body(device: dict, kind: str = "lost", **fields) -> dict:
    return {
        "device_id": device["id"], "kind": kind, "occurred_at": (NOW - timedelta(hours=20)).isoformat(),
        "reported_by": "Hine Walker", "location": "Number 18 bus, Wellington",
        "information_at_risk": "Client names, addresses and case notes in the case management system", **fields,
    }


def report(api, device: dict, kind: str = "lost", **fields):
    return api.post("/api/v1/incidents", json=incident_body(device, kind, **fields))


def test_a_lost_phone_closes_its_assignment_and_starts_an_assessment(world, run):
    device, assignment = checked_out(world, "PH-0001", world.provider_a, "Tama Rangi", kind="phone")
    r = report(world.provider_admin, device, "lost")
    assert r.status_code == 201, r.text
    incident = r.json()
    assert incident["assignment_id"] == assignment["id"]
    assert str(incident["provider_id"]) == str(world.provider_a["id"])
    assert 19.9 <= incident["hours_since_incident"] <= 20.5

    assessment = incident["assessment"]
    reported_at = datetime.fromisoformat(incident["reported_at"])
    assert datetime.fromisoformat(assessment["due_at"]) == reported_at + timedelta(hours=48), \
        "the decision on serious harm is due PA_BREACH_ASSESSMENT_HOURS (48) after the report"
    assert (assessment["status"], assessment["overdue"], assessment["serious_harm_likely"]) == ("open", False, None)
    assert assessment["hours_since_incident"] == incident["hours_since_incident"]
    assert (assessment["asset_tag"], assessment["incident_kind"]) == ("PH-0001", "lost")

    closed = world.partnerships.get(f"/api/v1/assignments/{assignment['id']}").json()
    assert closed["open"] is False and closed["returned_on"] is None and closed["closed_at"] is not None
    (row,) = run(lambda: Assignment.select(Assignment.open_device).where(Assignment.id == assignment["id"]).run())
    assert row["open_device"] is None
    assert world.admin.get(f"/api/v1/devices/{device['id']}").json()["status"] == "lost"
    # The device left the provider's hands: its people no longer see it, the agency still does.
    assert world.provider_admin.get(f"/api/v1/devices/{device['id']}").status_code == 404
    assert world.provider_admin.get(f"/api/v1/incidents/{incident['id']}").status_code == 200

    r = world.partnerships.post(f"/api/v1/devices/{device['id']}/check-out", json=holder(world.provider_a))
    assert r.status_code == 409 and r.json()["errors"] == [{"field": "status", "message": "is lost"}]
    history = world.partnerships.get(f"/api/v1/devices/{device['id']}/history").json()
    assert [i["id"] for i in history["incidents"]] == [incident["id"]]


def test_stolen_from_stock_and_found_again(world):
    device = new_device(world.partnerships, "LT-0002")
    r = report(world.partnerships, device, "stolen", location="Office storeroom")
    assert r.status_code == 201 and r.json()["assignment_id"] is None and r.json()["provider_id"] is None
    assert world.admin.get(f"/api/v1/devices/{device['id']}").json()["status"] == "stolen"
    r = world.partnerships.post(f"/api/v1/devices/{device['id']}/status",
                                json={"status": "in_stock", "reason": "Recovered by police"})
    assert r.status_code == 200 and r.json()["status"] == "in_stock"


def test_a_near_miss_is_assessed_too_and_counts_apart(world):
    device, assignment = checked_out(world, "LT-0003", world.provider_a)
    r = report(world.provider_user, device, "near_miss", description="Left in a café, handed back within minutes")
    assert r.status_code == 201, r.text
    assert r.json()["assessment"]["status"] == "open"
    assert world.admin.get(f"/api/v1/devices/{device['id']}").json()["status"] == "assigned"
    assert world.admin.get(f"/api/v1/assignments/{assignment['id']}").json()["open"] is True
    report(world.partnerships, device, "damaged")

    summary = world.partnerships.get("/api/v1/incidents/summary").json()
    assert (summary["incidents"], summary["near_misses"], summary["open_assessments"]) == (1, 1, 2)
    assert summary["by_kind"] == {"lost": 0, "stolen": 0, "damaged": 1, "misuse": 0, "near_miss": 1}
    assert world.b_admin.get("/api/v1/incidents/summary").json()["near_misses"] == 0
    assert world.partnerships.get("/api/v1/incidents", params={"kind": "near_miss"}).json()["total"] == 1
    tomorrow = (NOW + timedelta(days=1)).date().isoformat()
    assert world.partnerships.get("/api/v1/incidents/summary", params={"since": tomorrow}).json() == {
        "incidents": 0, "near_misses": 0, "by_kind": dict.fromkeys(summary["by_kind"], 0),
        "open_assessments": 0, "overdue_assessments": 0, "overdue_notifications": 0, "serious_harm": 0}


def test_who_may_report_and_read_incidents(world):
    device, _ = checked_out(world, "LT-0004", world.provider_a)
    assert report(world.b_admin, device).status_code == 404
    assert report(world.b_user, device).status_code == 404
    assert report(world.auditor, device).status_code == 403
    assert report(world.governance, device).status_code == 403
    assert world.admin.get(f"/api/v1/devices/{device['id']}").json()["status"] == "assigned"

    incident = report(world.provider_admin, device, "misuse").json()
    assert world.auditor.get(f"/api/v1/incidents/{incident['id']}").status_code == 200
    assert world.b_user.get(f"/api/v1/incidents/{incident['id']}").status_code == 404
    assert world.b_admin.get("/api/v1/incidents").json()["total"] == 0
    assert world.provider_user.get("/api/v1/incidents").json()["total"] == 1
    assert world.provider_admin.get("/api/v1/breach-assessments").status_code == 403
    assert world.auditor.get("/api/v1/breach-assessments").json()["total"] == 1
    aid = incident["assessment"]["id"]
    assert world.auditor.patch(f"/api/v1/breach-assessments/{aid}", json={"notes": "x"}).status_code == 403


def test_incident_input_is_checked(world):
    device, _ = checked_out(world, "LT-0005", world.provider_a)
    r = report(world.partnerships, device, occurred_at=(NOW + timedelta(days=2)).isoformat())
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "occurred_at"
    r = report(world.partnerships, device, occurred_at="2025-03-01T10:00:00")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "occurred_at"
    r = report(world.partnerships, device, "mislaid")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "kind"
    r = report(world.partnerships, device, information_at_risk="")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "information_at_risk"
    assert world.partnerships.get("/api/v1/incidents").json()["total"] == 0


def test_a_serious_harm_assessment_needs_both_notifications_to_close(world):
    device, _ = checked_out(world, "PH-0006", world.provider_a, kind="phone")
    incident = report(world.partnerships, device, "stolen").json()
    url = f"/api/v1/breach-assessments/{incident['assessment']['id']}"

    r = world.partnerships.post(f"{url}/close")
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["serious_harm_likely"]
    r = world.partnerships.patch(url, json={**S113_MATTERS, "serious_harm_likely": True})
    assert r.status_code == 200 and r.json()["assessed_at"] is not None
    r = world.partnerships.post(f"{url}/close")
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["held_as_agent", "commissioner_notified_at",
                                                        "individuals_notified_at"]
    assert world.partnerships.patch(url, json={"held_as_agent": True}).json()["notifier"] == "agency"

    before_incident = (NOW - timedelta(days=3)).isoformat()
    r = world.partnerships.patch(url, json={"commissioner_notified_at": before_incident})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "commissioner_notified_at"
    r = world.partnerships.patch(url, json={"individuals_notified_at": (NOW + timedelta(days=3)).isoformat()})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "individuals_notified_at"

    r = world.partnerships.patch(url, json={"commissioner_notified_at": NOW.isoformat()})
    assert world.partnerships.post(f"{url}/close").json()["errors"][0]["field"] == "individuals_notified_at"
    r = world.partnerships.patch(url, json={"individuals_notified_at": NOW.isoformat(), "notes": "Letters sent"})
    assert r.status_code == 200, r.text
    r = world.partnerships.post(f"{url}/close")
    assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["overdue"] is False

    r = world.partnerships.patch(url, json={"notes": "late edit"})
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "status"
    assert world.partnerships.post(f"{url}/close").status_code == 409
    assert world.partnerships.get("/api/v1/incidents/summary").json()["serious_harm"] == 1


def test_no_serious_harm_closes_without_notifications(world):
    device, _ = checked_out(world, "LT-0007", world.provider_a)
    incident = report(world.partnerships, device, "damaged").json()
    url = f"/api/v1/breach-assessments/{incident['assessment']['id']}"
    r = world.partnerships.patch(url, json={**S113_MATTERS, "serious_harm_likely": False,
                                            "notes": "Screen only; disk encrypted"})
    assert r.status_code == 200, r.text
    assert [c["name"] for c in r.json()["clocks"]] == ["assessment"], "no notification clock without serious harm"
    assert world.partnerships.post(f"{url}/close").json()["status"] == "closed"


def test_overdue_assessments_are_flagged_and_listed(world, run):
    device, _ = checked_out(world, "LT-0008", world.provider_a)
    old = report(world.partnerships, device, "near_miss").json()
    report(world.partnerships, device, "misuse")
    # Move one assessment's clock back past its due time, as if the report had been made 31 days ago.
    run(lambda: BreachAssessment.update({BreachAssessment.due_at: NOW - timedelta(days=1)}).where(
        BreachAssessment.id == old["assessment"]["id"]).run())

    overdue = world.partnerships.get("/api/v1/breach-assessments", params={"overdue": "true"}).json()
    assert [a["id"] for a in overdue["items"]] == [old["assessment"]["id"]] and overdue["items"][0]["overdue"]
    on_time = world.partnerships.get("/api/v1/breach-assessments", params={"overdue": "false"}).json()
    assert on_time["total"] == 1 and on_time["items"][0]["overdue"] is False
    assert world.partnerships.get(f"/api/v1/incidents/{old['id']}").json()["assessment"]["overdue"] is True
    assert world.partnerships.get("/api/v1/incidents/summary").json()["overdue_assessments"] == 1
    assert world.partnerships.get("/api/v1/breach-assessments", params={"status": "closed"}).json()["total"] == 0


def test_incident_rules_without_http(world, run):
    assert breaches.closing_errors({"serious_harm_likely": None}) == [
        {"field": "serious_harm_likely", "message": "decide whether serious harm is likely first"}]
    assert breaches.closing_errors({**S113_MATTERS, "serious_harm_likely": False, "commissioner_notified_at": None,
                                   "individuals_notified_at": None}) == []
    assert [e["field"] for e in breaches.closing_errors({
        **S113_MATTERS, "serious_harm_likely": True, "held_as_agent": False, "commissioner_notified_at": NOW,
        "individuals_notified_at": None})] == ["individuals_notified_at"]
    assert [e["field"] for e in breaches.closing_errors({
        **S113_MATTERS, "recipients": " ", "serious_harm_likely": False})] == ["recipients"], \
        "an assessment decided before the matters were asked (migrated) records them before it closes"

    device, assignment = checked_out(world, "LT-0009", world.provider_b)
    a_admin = world.provider_admin.user
    caller = Caller(UUID(str(a_admin["id"])), a_admin["email"], Role.provider_admin, UUID(str(world.provider_a["id"])))
    data = msgspec.convert(incident_body(device, "lost"), IncidentCreate)
    with pytest.raises(NotFound):
        run(lambda: incidents.report_incident(caller, data))
    b_admin = world.b_admin.user
    caller = Caller(UUID(str(b_admin["id"])), b_admin["email"], Role.provider_admin, UUID(str(world.provider_b["id"])))
    incident = run(lambda: incidents.report_incident(caller, data))
    assert str(incident["assignment_id"]) == assignment["id"]
    with pytest.raises(Invalid):
        run(lambda: incidents.report_incident(caller, msgspec.convert(
            incident_body(device, occurred_at=(NOW + timedelta(hours=2)).isoformat()), IncidentCreate)))
