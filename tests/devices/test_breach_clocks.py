"""Breach assessments on the Privacy Act 2020's clocks, on SQLite and PostgreSQL: the s 113 matters before the
decision, the notification clock started once when serious harm is judged likely, who notifies (s 11), what is
overdue, the settings, old assessments migrated, and the routes tried as an attacker would."""

from __future__ import annotations

import importlib.util
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import msgspec
import pytest

from partner_audit.devices.schemas import IncidentCreate
from partner_audit.devices.services import incidents
from partner_audit.devices.services.breaches import BreachClocks
from partner_audit.devices.tables import BreachAssessment, Device, Incident
from partner_audit.security.caller import Caller
from partner_audit.settings import SettingsError, load_settings
from tests.support.devices import S113_MATTERS, checked_out
from tests.support.problems import problem

NOW = datetime.now(UTC)
MIGRATION = Path(__file__).parents[2] / "migrations" / "partner_audit_2026_12_02t22_05_45_000000.py"


def lost(world, tag: str = "PH-0100") -> dict:
    device, _ = checked_out(world, tag, world.provider_a, "Tama Rangi", kind="phone")
    r = world.provider_admin.post("/api/v1/incidents", json={
        "device_id": device["id"], "kind": "lost", "occurred_at": (NOW - timedelta(hours=3)).isoformat(),
        "reported_by": "Hine Walker", "information_at_risk": "Client contact details"})
    assert r.status_code == 201, r.text
    return r.json()


def url_of(incident: dict) -> str:
    return f"/api/v1/breach-assessments/{incident['assessment']['id']}"


def test_the_decision_waits_for_the_s113_matters_and_a_matter_cannot_be_blanked_after(world):
    url = url_of(lost(world))
    partial = {k: v for k, v in S113_MATTERS.items() if k != "recipients"}
    body = problem(world.partnerships.patch(url, json={**partial, "serious_harm_likely": False}), 422)
    assert body["errors"] == [{"field": "recipients", "message": "record s 113(d), who has obtained or may obtain "
                                                                 "the information, before deciding whether serious "
                                                                 "harm is likely"}]
    assessment = world.partnerships.get(url).json()
    assert assessment["harm_reduction_action"] == "", "nothing of a refused request is kept"

    r = world.partnerships.patch(url, json={**S113_MATTERS, "other_matters": "  ", "serious_harm_likely": False})
    assert r.status_code == 200, r.text
    assert r.json()["missing_matters"] == [] and r.json()["notifiable_at"] is None
    body = problem(world.partnerships.patch(url, json={"nature_of_harm": " "}), 422)
    assert body["errors"] == [{"field": "nature_of_harm", "message": "cannot be blank once decided"}]
    r = world.partnerships.patch(url, json={"nature_of_harm": "Embarrassment only"})
    assert r.status_code == 200 and r.json()["nature_of_harm"] == "Embarrassment only"


def test_serious_harm_starts_the_notification_clock_once_and_who_notifies_follows_s11(world):
    url = url_of(lost(world))
    first = world.partnerships.patch(url, json={**S113_MATTERS, "serious_harm_likely": True}).json()
    notifiable = datetime.fromisoformat(first["notifiable_at"])
    assert datetime.fromisoformat(first["notification_due_at"]) == notifiable + timedelta(hours=72)
    assert [c["name"] for c in first["clocks"]] == ["assessment", "notification"]
    assert first["clocks"][0]["stopped_at"] == first["assessed_at"] and first["clocks"][0]["hours_left"] is None

    again = world.partnerships.patch(url, json={"serious_harm_likely": True, "notes": "checked again"}).json()
    assert (again["notifiable_at"], again["assessed_at"]) == (first["notifiable_at"], first["assessed_at"])

    assert world.partnerships.patch(url, json={"held_as_agent": False}).json()["notifier"] == "provider"
    assert world.partnerships.patch(url, json={"held_as_agent": True}).json()["notifier"] == "agency"
    assert world.partnerships.patch(url, json={"held_as_agent": None}).json()["notifier"] is None

    # Not notifiable after all: the clock goes; judged likely again, it starts then.
    off = world.partnerships.patch(url, json={"serious_harm_likely": False}).json()
    assert (off["notifiable_at"], off["notification_due_at"], [c["name"] for c in off["clocks"]]) == (
        None, None, ["assessment"])
    on = world.partnerships.patch(url, json={"serious_harm_likely": True}).json()
    assert datetime.fromisoformat(on["notifiable_at"]) >= notifiable

    # Notified: the notification clock stops, at the later of the two notifications.
    commissioner, people = NOW - timedelta(minutes=30), NOW - timedelta(minutes=10)
    done = world.partnerships.patch(url, json={"commissioner_notified_at": commissioner.isoformat(),
                                               "individuals_notified_at": people.isoformat()}).json()
    assert datetime.fromisoformat(done["clocks"][1]["stopped_at"]) == people
    assert done["clocks"][1]["overdue"] is False and done["clocks"][1]["hours_left"] is None


def test_the_clocks_follow_the_settings(world, run, tmp_path):
    settings = load_settings({"PA_VAR_DIR": str(tmp_path), "PA_BREACH_ASSESSMENT_HOURS": "24",
                              "PA_BREACH_NOTIFICATION_HOURS": "36"})
    assert BreachClocks.of(settings) == BreachClocks(24, 36)
    assert BreachClocks.of(load_settings({"PA_VAR_DIR": str(tmp_path)})) == BreachClocks(48, 72)
    for bad in ("0", "-1", "721", "three days"):
        with pytest.raises(SettingsError, match="PA_BREACH_NOTIFICATION_HOURS"):
            load_settings({"PA_VAR_DIR": str(tmp_path), "PA_BREACH_NOTIFICATION_HOURS": bad})

    device, _ = checked_out(world, "PH-0101", world.provider_a, kind="phone")
    data = msgspec.convert({"device_id": device["id"], "kind": "stolen", "occurred_at": NOW.isoformat(),
                            "reported_by": "Hine Walker", "information_at_risk": "Case notes"}, IncidentCreate)
    incident = run(lambda: incidents.report_incident(Caller.system("test"), data, BreachClocks(24, 36)))
    assessment = incident["assessment"]
    assert assessment["due_at"] == incident["reported_at"] + timedelta(hours=24)
    assert "24 hours from the report" in assessment["clocks"][0]["rule"]


def test_what_is_overdue_is_listed_and_counted(world, run):
    undecided, notifiable, notified, on_time = (lost(world, f"PH-02{n}") for n in range(4))

    async def age() -> None:
        past = NOW - timedelta(hours=1)
        await BreachAssessment.update({BreachAssessment.due_at: past}).where(
            BreachAssessment.id.is_in([i["assessment"]["id"] for i in (undecided, notifiable, notified)])).run()

    run(age)
    for incident in (notifiable, notified):
        r = world.partnerships.patch(url_of(incident), json={**S113_MATTERS, "serious_harm_likely": True})
        assert r.status_code == 200 and r.json()["assessment_overdue"] is False, "decided: that clock stopped"
    world.partnerships.patch(url_of(notified), json={"commissioner_notified_at": NOW.isoformat()})
    run(lambda: BreachAssessment.update({BreachAssessment.notification_due_at: NOW - timedelta(minutes=1)}).where(
        BreachAssessment.id.is_in([notifiable["assessment"]["id"], notified["assessment"]["id"]])).run())

    late = world.partnerships.get("/api/v1/breach-assessments", params={"overdue": "true"}).json()
    assert sorted(a["id"] for a in late["items"]) == sorted(
        i["assessment"]["id"] for i in (undecided, notifiable, notified)), \
        "told the Commissioner but not the affected people is still overdue"
    assert [a["id"] for a in world.partnerships.get("/api/v1/breach-assessments",
                                                    params={"overdue": "false"}).json()["items"]] == [
        on_time["assessment"]["id"]]
    summary = world.governance.get("/api/v1/incidents/summary").json()
    assert (summary["overdue_assessments"], summary["overdue_notifications"], summary["serious_harm"]) == (1, 2, 2)
    assert world.governance.get("/api/v1/incidents/summary",
                                params={"provider_id": str(world.provider_b["id"])}).json()["incidents"] == 0
    assert world.b_admin.get("/api/v1/incidents/summary").json()["overdue_notifications"] == 0


def test_old_assessments_are_put_on_the_new_clocks_by_the_migration(world, run):
    """The data migration, run again over rows written as the 30-day register wrote them."""
    spec = importlib.util.spec_from_file_location("breach_clock_migration", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    reported = NOW - timedelta(days=10)
    judged = reported + timedelta(days=2)

    async def old_rows() -> list[UUID]:
        device = Device(asset_tag="OLD-1", kind="laptop")
        await device.save().run()
        ids = []
        for likely, assessed in ((None, None), (True, judged), (False, judged), (True, None)):
            incident = Incident(device=device.id, kind="lost", occurred_at=reported, reported_at=reported,
                                reported_by="x", information_at_risk="y")
            await incident.save().run()
            assessment = BreachAssessment(incident=incident.id, due_at=reported + timedelta(days=30),
                                          serious_harm_likely=likely, assessed_at=assessed)
            await assessment.save().run()
            ids.append(assessment.id)
        manager = await migration.forwards()
        await manager.run()
        return ids

    ids = run(old_rows)
    got = {str(a["id"]): a for a in world.partnerships.get("/api/v1/breach-assessments",
                                                          params={"page_size": 50}).json()["items"]}
    undecided, likely, unlikely, likely_unknown_when = (got[str(i)] for i in ids)
    assert datetime.fromisoformat(undecided["due_at"]) == reported + timedelta(hours=48)
    assert undecided["assessment_overdue"] is True, "ten days undecided is overdue under the Act's clock"
    assert datetime.fromisoformat(likely["notifiable_at"]) == judged
    assert datetime.fromisoformat(likely["notification_due_at"]) == judged + timedelta(hours=72)
    assert likely["notification_overdue"] is True and likely["missing_matters"] == list(S113_MATTERS)
    assert (unlikely["notifiable_at"], unlikely["overdue"]) == (None, False)
    assert datetime.fromisoformat(likely_unknown_when["notifiable_at"]) == reported
    assert likely["held_as_agent"] is None and likely["notifier"] is None


def test_breach_routes_tried_as_an_attacker(world):
    incident = lost(world)
    url = url_of(incident)
    assert problem(world.partnerships.patch(f"/api/v1/breach-assessments/{uuid.uuid4()}",
                                            json={"notes": "x"}), 404)
    for who in ("provider_admin", "b_admin", "auditor", "governance"):
        assert problem(world.people[who].patch(url, json={"serious_harm_likely": True}), 403)
    r = world.partnerships.patch(url, content=b"serious_harm_likely=true",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code in (400, 415), r.text
    assert problem(world.partnerships.patch(url, json={"held_as_agent": "yes"}), 400)["errors"][0]["field"] == \
        "held_as_agent"
    assert problem(world.partnerships.patch(url, json={"recipients": "x" * 5001}), 400)["errors"][0]["field"] == \
        "recipients"
    assert problem(world.partnerships.patch(url, json={"recipients": "a\x00b"}), 400)["errors"][0]["field"] == \
        "recipients"
    assert problem(world.partnerships.patch(url, json={"notifier": "agency"}), 400)["errors"][0]["field"] == \
        "notifier", "who notifies follows held_as_agent; it is not set on its own"
    assert world.partnerships.get(url).json()["recipients"] == ""


def test_two_people_recording_serious_harm_at_once_start_one_clock(world, run):
    url = url_of(lost(world))
    assert world.partnerships.patch(url, json=S113_MATTERS).status_code == 200
    assessment_id = UUID(url.rsplit("/", 1)[1])
    people = [world.partnerships.user, world.admin.user]
    from partner_audit.devices.schemas import BreachAssessmentUpdate
    from partner_audit.devices.services import breaches
    from partner_audit.security.caller import Role

    callers = [Caller(UUID(str(p["id"])), p["email"], Role(p["role"]), None) for p in people]
    data = BreachAssessmentUpdate(serious_harm_likely=True)

    async def both() -> list[dict]:
        import asyncio

        return await asyncio.gather(*(breaches.update_breach_assessment(c, assessment_id, data) for c in callers))

    first, second = run(both)
    now = world.partnerships.get(url).json()
    assert datetime.fromisoformat(now["notifiable_at"]) in (first["notifiable_at"], second["notifiable_at"])
    assert datetime.fromisoformat(now["notification_due_at"]) == datetime.fromisoformat(
        now["notifiable_at"]) + timedelta(hours=72), "one clock, whole"
