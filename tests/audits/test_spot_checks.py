"""Device spot-checks: the sample is drawn once (reproducibly, and logged), its auditors see its holders while the
audit is in progress and no others, and a device not seen opens one lost-device incident."""

from __future__ import annotations

import asyncio

from partner_audit.audits import sampling
from partner_audit.audits.schemas import SpotCheckResult
from partner_audit.audits.schemas.spot_checks import SampleDraw, SpotCheckRecord
from partner_audit.audits.services import spot_checks
from partner_audit.audits.tables import Audit, SpotCheckItem
from partner_audit.devices.tables import Incident
from partner_audit.errors import Conflict
from partner_audit.security.caller import Caller, Role
from partner_audit.security.tables import AccessLogEntry
from tests.support.audits import new_audit, set_status
from tests.support.devices import checked_out
from tests.support.problems import problem


def register_at_a(world, count: int = 5) -> list[dict]:
    """``count`` devices held at provider A: their assignments."""
    return [checked_out(world, f"SC-{i:03}", world.provider_a, f"Holder Number{i}")[1] for i in range(count)]


def draw(api, audit_id: str, **body):
    return api.post(f"/api/v1/audits/{audit_id}/sample", json=body)


def as_caller(api) -> Caller:
    return Caller(api.user["id"], api.user["email"], Role(api.user["role"]), None)


def test_the_sample_is_sized_by_the_settings_and_reproducible_from_its_seed(world, run):
    held = register_at_a(world, 4)
    audit_id = new_audit(world, world.provider_a)
    r = draw(world.auditor, audit_id, seed="fixed-seed-0001")
    assert r.status_code == 201, r.text
    sample = r.json()
    ids = [a["id"] for a in held]
    assert (sample["confidence"], sample["tolerable_rate"]) == (0.95, 0.05)
    assert sample["population_size"] == 4 and sample["size"] == sampling.sample_size(4, 0.95, 0.05) == 4
    assert sample["population_sha256"] == sampling.population_digest(ids)
    assert [i["assignment_id"] for i in sample["items"]] == sampling.draw(ids, 4, "fixed-seed-0001")
    assert [i["position"] for i in sample["items"]] == [1, 2, 3, 4]
    stored = run(lambda: Audit.select(Audit.sample_seed, Audit.population_size).where(Audit.id == audit_id).first())
    assert stored == {"sample_seed": "fixed-seed-0001", "population_size": 4}


def test_a_fixed_size_and_a_random_seed(world, run):
    held = register_at_a(world, 5)
    audit_id = new_audit(world, world.provider_a)
    sample = draw(world.auditor, audit_id, size=2).json()
    assert sample["size"] == 2 and sample["confidence"] is None and len(sample["seed"]) == 32
    # Redone from what was recorded, the draw is the same.
    assert [i["assignment_id"] for i in sample["items"]] == sampling.draw([a["id"] for a in held], 2, sample["seed"])
    other = new_audit(world, world.provider_a, starts_on=None)
    assert draw(world.auditor, other, size=2).json()["seed"] != sample["seed"]


def test_the_draw_is_in_the_access_log_with_seed_digest_and_every_sampled_assignment(world, run):
    register_at_a(world, 3)
    audit_id = new_audit(world, world.provider_a)
    sample = draw(world.auditor, audit_id, seed="logged-seed-01").json()
    [entry] = run(lambda: AccessLogEntry.select().where(AccessLogEntry.action == "spot_check.draw",
                                                        AccessLogEntry.record_id == audit_id).run())
    assert "logged-seed-01" in entry["detail"] and sample["population_sha256"] in entry["detail"]
    assert entry["provider_id"] == str(world.provider_a["id"])
    sampled = run(lambda: AccessLogEntry.select(AccessLogEntry.record_id).where(
        AccessLogEntry.action == "spot_check.sampled").run())
    assert sorted(e["record_id"] for e in sampled) == sorted(i["assignment_id"] for i in sample["items"])


def test_the_draw_can_be_redone_from_the_access_log_alone(world, run, monkeypatch):
    monkeypatch.setattr(spot_checks, "POPULATION_PER_ENTRY", 2)  # a population over several entries
    held = register_at_a(world, 5)
    audit_id = new_audit(world, world.provider_a)
    sample = draw(world.auditor, audit_id, size=3).json()
    entries = run(lambda: AccessLogEntry.select(AccessLogEntry.detail).where(
        AccessLogEntry.action == "spot_check.population", AccessLogEntry.record_id == audit_id).run())
    assert len(entries) == 3
    population = spot_checks.population_from_log(list(reversed(entries)))
    assert population == sorted(a["id"] for a in held)
    assert sampling.population_digest(population) == sample["population_sha256"]
    assert sampling.draw(population, 3, sample["seed"]) == [i["assignment_id"] for i in sample["items"]]


def test_drawing_again_is_a_conflict_and_twenty_at_once_make_one_sample(world, run):
    register_at_a(world, 3)
    audit_id = new_audit(world, world.provider_a)
    auditor = as_caller(world.auditor)

    async def twenty():
        return await asyncio.gather(*[spot_checks.draw_sample(auditor, audit_id, SampleDraw(size=2))
                                      for _ in range(20)], return_exceptions=True)

    results = run(twenty)
    assert sum(isinstance(r, dict) for r in results) == 1, results
    assert all(isinstance(r, Conflict) for r in results if not isinstance(r, dict)), results
    assert run(lambda: SpotCheckItem.count().where(SpotCheckItem.audit == audit_id).run()) == 2
    problem(draw(world.auditor, audit_id), 409, "sample")


def test_who_may_draw_and_when(world):
    register_at_a(world, 2)
    other_auditor = world.add_person("auditor_two", Role.auditor)
    audit_id = new_audit(world, world.provider_a)
    problem(draw(other_auditor, audit_id), 403)  # not on its team
    problem(draw(world.provider_admin, audit_id), 403)
    problem(draw(world.b_admin, audit_id), 403)
    problem(draw(world.auditor, audit_id, size=2, confidence=0.9), 422, "confidence")
    problem(draw(world.auditor, audit_id, confidence=1.5), 400, "confidence")
    site_visit = new_audit(world, world.provider_a, kind="site_visit")
    problem(draw(world.auditor, site_visit), 409, "kind")
    reported = new_audit(world, world.provider_a, status="reported")
    problem(draw(world.auditor, reported), 409, "status")
    nothing_held = new_audit(world, world.provider_b)
    problem(draw(world.auditor, nothing_held), 409, "population")
    assert draw(world.admin, audit_id, size=1).status_code == 201  # an admin may draw any audit's sample


def test_the_audits_auditors_see_the_sampled_holders_only_while_it_is_in_progress(world):
    held = register_at_a(world, 4)
    member = world.add_person("auditor_member", Role.auditor)
    outsider = world.add_person("auditor_outsider", Role.auditor)
    audit_id = new_audit(world, world.provider_a, members=[member])
    sample = draw(world.auditor, audit_id, size=2).json()
    sampled = {i["assignment_id"] for i in sample["items"]}
    not_sampled = next(a["id"] for a in held if a["id"] not in sampled)
    some_sampled = next(iter(sampled))

    def holders(api) -> list:
        return [i["holder_name"] for i in api.get(f"/api/v1/audits/{audit_id}/sample").json()["items"]]

    def assignment_holder(api, assignment_id):
        return api.get(f"/api/v1/assignments/{assignment_id}").json()["holder_name"]

    assert holders(world.auditor) == [None, None]  # scheduled: not yet
    set_status(world, audit_id, "in_progress")
    for on_team in (world.auditor, member):
        assert all(name and name.startswith("Holder Number") for name in holders(on_team))
        assert assignment_holder(on_team, some_sampled).startswith("Holder Number")
        assert assignment_holder(on_team, not_sampled) is None
        listed = on_team.get("/api/v1/assignments", params={"provider_id": str(world.provider_a["id"])}).json()
        assert {a["id"] for a in listed["items"] if a["holder_visible"]} == sampled
    assert holders(outsider) == [None, None]
    assert assignment_holder(outsider, some_sampled) is None
    set_status(world, audit_id, "reported")
    assert holders(world.auditor) == [None, None]
    assert assignment_holder(world.auditor, some_sampled) is None
    # Those who see holders anyway still do: SEE_HOLDER_DETAILS keeps its meaning.
    assert assignment_holder(world.partnerships, not_sampled).startswith("Holder Number")


def test_holder_details_shown_to_an_auditor_are_logged_with_the_audit(world, run):
    register_at_a(world, 2)
    audit_id = new_audit(world, world.provider_a, status="in_progress")
    sample = draw(world.auditor, audit_id, size=1).json()
    world.auditor.get(f"/api/v1/assignments/{sample['items'][0]['assignment_id']}")
    logged = run(lambda: AccessLogEntry.select(AccessLogEntry.detail).where(
        AccessLogEntry.action == "assignment.holder_read", AccessLogEntry.email == world.auditor.user["email"]).run())
    assert any(f"audit {audit_id}" in e["detail"] and e["detail"].startswith("assignment.read") for e in logged)


def test_a_provider_admin_sees_their_own_providers_sample_and_no_other(world):
    register_at_a(world, 2)
    audit_id = new_audit(world, world.provider_a)
    draw(world.auditor, audit_id, size=2)
    mine = world.provider_admin.get(f"/api/v1/audits/{audit_id}/sample")
    assert mine.status_code == 200, mine.text
    assert all(i["holder_visible"] for i in mine.json()["items"])  # their own people, as in the register
    problem(world.b_admin.get(f"/api/v1/audits/{audit_id}/sample"), 404)
    problem(world.provider_user.get(f"/api/v1/audits/{audit_id}/sample"), 403)
    problem(world.auditor.get(f"/api/v1/audits/{new_audit(world, world.provider_a)}/sample"), 409, "sample")


def record(api, item_id: str, **body):
    return api.post(f"/api/v1/spot-check-items/{item_id}", json=body)


def test_results_are_recorded_while_in_progress_and_a_discrepancy_says_what(world):
    register_at_a(world, 3)
    audit_id = new_audit(world, world.provider_a)
    items = draw(world.auditor, audit_id, size=3).json()["items"]
    problem(record(world.auditor, items[0]["id"], result="seen"), 409, "status")
    set_status(world, audit_id, "in_progress")
    problem(record(world.auditor, items[0]["id"], result="discrepancy"), 422, "note")
    problem(record(world.auditor, items[0]["id"], result="discrepancy", note="bad\x00"), 400, "note")
    problem(record(world.auditor, items[0]["id"], result="maybe"), 400, "result")
    problem(record(world.add_person("auditor_x", Role.auditor), items[0]["id"], result="seen"), 403)
    r = record(world.auditor, items[0]["id"], result="discrepancy", note="Serial differs from the register")
    assert r.status_code == 200, r.text
    assert (r.json()["result"], r.json()["note"]) == ("discrepancy", "Serial differs from the register")
    assert record(world.auditor, items[1]["id"], result="seen").json()["incident_id"] is None
    results = [i["result"] for i in world.auditor.get(f"/api/v1/audits/{audit_id}/sample").json()["items"]]
    assert results == ["discrepancy", "seen", None]


def test_not_seen_opens_one_lost_device_incident(world, run):
    register_at_a(world, 2)
    audit_id = new_audit(world, world.provider_a, status="in_progress")
    item = draw(world.auditor, audit_id, size=1).json()["items"][0]
    first = record(world.auditor, item["id"], result="not_seen", note="Holder on leave, device not produced")
    assert first.status_code == 200, first.text
    incident_id = first.json()["incident_id"]
    assert incident_id
    again = record(world.auditor, item["id"], result="not_seen")
    assert again.json()["incident_id"] == incident_id
    incidents = run(lambda: Incident.select().where(Incident.device == item["device_id"]).run())
    assert len(incidents) == 1
    assert incidents[0]["kind"] == "lost" and "spot-check" in incidents[0]["description"]
    assert incidents[0]["reported_by"] == world.auditor.user["email"]
    device = world.admin.get(f"/api/v1/devices/{item['device_id']}").json()
    assert device["status"] == "lost" and device["current_assignment"] is None
    assert world.admin.get(f"/api/v1/incidents/{incident_id}").json()["assessment"]["status"] == "open"


def test_five_recordings_of_not_seen_at_once_open_one_incident(world, run):
    register_at_a(world, 1)
    audit_id = new_audit(world, world.provider_a, status="in_progress")
    item = draw(world.auditor, audit_id).json()["items"][0]
    auditor = as_caller(world.auditor)

    async def five():
        return await asyncio.gather(*[spot_checks.record(auditor, item["id"], SpotCheckRecord(result=SpotCheckResult.not_seen))
                                      for _ in range(5)])

    results = run(five)
    assert len({r["incident_id"] for r in results}) == 1 and results[0]["incident_id"] is not None
    assert run(lambda: Incident.count().where(Incident.device == item["device_id"]).run()) == 1
