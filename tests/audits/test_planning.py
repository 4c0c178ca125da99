"""Risk-based plans over the API, on both databases: plan a quarter across several auditors, accept part, accept
again, twenty accepts at once, discard; and the auditors' capacity, leave and conflicts the plan works within."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from partner_audit.audits import calendar
from partner_audit.audits.services import planning
from partner_audit.audits.tables import Audit, AuditBooking
from partner_audit.providers.schemas import Region
from partner_audit.security.caller import Caller, Role
from partner_audit.security.tables import AccessLogEntry
from tests.support.problems import problem
from tests.support.world import World, register_provider

PLANS, AUDITORS, CONFLICTS = "/api/v1/audit-plans", "/api/v1/auditors", "/api/v1/auditor-conflicts"
Q1 = {"starts_on": "2027-01-01", "ends_on": "2027-03-31"}


def team(world: World, n: int = 3) -> list[dict[str, Any]]:
    """``world.auditor`` and ``n - 1`` more auditors."""
    people = [world.auditor]
    for k in range(2, n + 1):
        key = f"auditor_{k}"
        people.append(world.people[key] if key in world.people else world.add_person(key, Role.auditor))
    return [{**p.user, "id": str(p.user["id"])} for p in people]


def providers(world: World, count: int, **kw: Any) -> list[dict[str, Any]]:
    return [register_provider(world.run, f"Planned Trust {n:02d}", 10 + n, **kw) for n in range(count)]


def make_plan(world: World, body: dict[str, str] = Q1) -> dict[str, Any]:
    r = world.auditor.post(PLANS, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def audits(world: World, **where: Any) -> list[dict[str, Any]]:
    query = Audit.select(Audit.id, Audit.status, Audit.sequence, Audit.origin, Audit.origin_key, Audit.provider,
                         Audit.lead_auditor, Audit.cancelled_reason)
    for name, value in where.items():
        query = query.where(getattr(Audit, name) == value)
    return world.run(lambda: query.run())


def test_a_quarter_planned_across_several_auditors_explains_itself_and_is_accepted(world: World):
    people = team(world, 3)
    providers(world, 8, risk_tier=3)  # desktop reviews; A and B are tier 2: site visits
    plan = make_plan(world)
    assert plan["status"] == "proposed" and plan["skipped"] == []
    assert plan["settings"]["interval_months"] == {"tier 1": 12, "tier 2": 24, "tier 3": 36}
    proposals = plan["proposals"]
    assert len(proposals) == 10
    leads = {p["lead_auditor_id"] for p in proposals}
    assert leads == {p["id"] for p in people}, "the load is spread over every auditor"
    for p in proposals:
        assert p["status"] == "proposed" and p["due_on"] == "2027-01-01"
        assert p["reasons"]["provider"].startswith(("Risk tier 2: audited every 24 months. Never audited: due now.",
                                                     "Risk tier 3: audited every 36 months. Never audited: due now."))
        assert "Skipped 2027-01-01 (New Year's Day)" in p["reasons"]["date"]
        assert p["reasons"]["auditor"].startswith(p["lead_auditor_name"] + ": free on those days")
        first, last = date.fromisoformat(p["starts_on"]), date.fromisoformat(p["ends_on"])
        assert calendar.is_working_day(first, "wellington") and calendar.is_working_day(last, "wellington")
        assert (p["kind"], calendar.working_days_between(first, last)) in {("site_visit", 1), ("desktop_review", 0)}
    stored = audits(world, plan=plan["id"])
    assert {a["origin"] for a in stored} == {"plan"}
    assert {a["origin_key"] for a in stored} == {f"plan:{p['provider_id']}:2027-01-01" for p in proposals}
    booked = world.run(lambda: AuditBooking.select(AuditBooking.auditor, AuditBooking.day).run())
    assert len(booked) == sum(2 if p["kind"] == "site_visit" else 1 for p in proposals)
    assert len({(b["auditor"], b["day"]) for b in booked}) == len(booked)

    # Accept two of them, then the same two again: nothing changes twice.
    chosen = [proposals[0]["id"], proposals[1]["id"]]
    r = world.auditor.post(f"{PLANS}/{plan['id']}/accept", json={"audit_ids": chosen})
    assert r.status_code == 200, r.text
    assert r.json()["changed"] == 2 and r.json()["plan"]["status"] == "proposed"
    again = world.admin.post(f"{PLANS}/{plan['id']}/accept", json={"audit_ids": chosen})
    assert again.json()["changed"] == 0
    rows = audits(world, plan=plan["id"])
    assert {str(a["id"]) for a in rows if a["status"] == "scheduled"} == set(chosen)
    assert {a["sequence"] for a in rows if a["status"] == "scheduled"} == {1}
    # The rest, then all again.
    r = world.auditor.post(f"{PLANS}/{plan['id']}/accept", json={})
    assert r.json()["changed"] == 8 and r.json()["plan"]["status"] == "accepted"
    assert world.auditor.post(f"{PLANS}/{plan['id']}/accept", json={}).json()["changed"] == 0
    assert {a["status"] for a in audits(world, plan=plan["id"])} == {"scheduled"}
    logged = world.run(lambda: AccessLogEntry.select(AccessLogEntry.record_id, AccessLogEntry.provider_id).where(
        AccessLogEntry.action == "audit.schedule").run())
    assert len(logged) == 10 and {str(e["provider_id"]) for e in logged} == {p["provider_id"] for p in proposals}
    # Read back as planned.
    read = world.admin.get(f"{PLANS}/{plan['id']}").json()
    assert [p["reasons"] for p in read["proposals"]] == [p["reasons"] for p in proposals]
    # Planned again: every provider is under audit, so nothing is due.
    second = make_plan(world)
    assert second["proposals"] == []
    listed = world.admin.get(PLANS).json()
    assert listed["total"] == 2
    assert [(p["id"], p["status"], p["proposals"], p["skipped"]) for p in listed["items"]] == [
        (second["id"], "proposed", 0, 0), (plan["id"], "accepted", 10, 0)]


def test_twenty_accepts_at_once_schedule_each_proposal_once(world: World, run):
    team(world, 2)
    providers(world, 6, risk_tier=3)
    plan = make_plan(world)
    caller = Caller(world.auditor.user["id"], world.auditor.user["email"], Role.auditor, None)

    async def twenty() -> list[tuple[int, dict[str, Any]]]:
        return await asyncio.gather(*(planning.accept(caller, plan["id"]) for _ in range(20)))

    results = run(twenty)
    assert sum(changed for changed, _ in results) == 8
    assert {a["sequence"] for a in audits(world, plan=plan["id"])} == {1}
    logged = run(lambda: AccessLogEntry.count().where(AccessLogEntry.action == "audit.schedule").run())
    assert logged == 8


def test_discarding_declines_the_rest_and_frees_their_days(world: World):
    team(world, 2)
    providers(world, 3, risk_tier=3)
    plan = make_plan(world)
    kept = plan["proposals"][0]["id"]
    world.auditor.post(f"{PLANS}/{plan['id']}/accept", json={"audit_ids": [kept]})
    r = world.auditor.post(f"{PLANS}/{plan['id']}/discard")
    assert r.status_code == 200, r.text
    assert r.json()["changed"] == 4 and r.json()["plan"]["status"] == "accepted"  # one of it was accepted
    rows = audits(world, plan=plan["id"])
    assert {(str(a["id"]) == kept, a["status"], a["cancelled_reason"]) for a in rows} == {
        (True, "scheduled", ""), (False, "cancelled", "plan discarded")}
    booked = world.run(lambda: AuditBooking.select(AuditBooking.audit).run())
    assert {str(b["audit"]) for b in booked} == {kept}
    assert world.auditor.post(f"{PLANS}/{plan['id']}/discard").json()["changed"] == 0
    problem(world.auditor.post(f"{PLANS}/{plan['id']}/accept", json={"audit_ids": [plan["proposals"][1]["id"]]}),
            409)
    # The declined providers are due again: a new plan proposes them, under a new origin key each.
    second = make_plan(world)
    assert len(second["proposals"]) == 4
    keys = {a["origin_key"] for a in audits(world, plan=second["id"])}
    assert all(k.endswith(":2027-01-01:2") for k in keys), keys
    # Discarded whole: nothing can be accepted after.
    world.auditor.post(f"{PLANS}/{second['id']}/discard")
    assert world.auditor.get(f"{PLANS}/{second['id']}").json()["status"] == "discarded"
    problem(world.auditor.post(f"{PLANS}/{second['id']}/accept", json={}), 409)


def test_an_auditor_with_a_conflict_is_never_proposed(world: World):
    people = team(world, 2)
    conflicted = world.auditor
    r = conflicted.post(CONFLICTS, json={"provider_id": str(world.provider_a["id"]), "reason": "My sister runs it"})
    assert r.status_code == 201, r.text
    assert (r.json()["auditor_id"], r.json()["kind"]) == (str(conflicted.user["id"]), "interest")
    providers(world, 5, risk_tier=3)
    plan = make_plan(world)
    a = next(p for p in plan["proposals"] if p["provider_id"] == str(world.provider_a["id"]))
    assert a["lead_auditor_id"] == people[1]["id"]
    assert "Not considered: Auditor (declared a conflict of interest)." in a["reasons"]["auditor"]
    world.auditor.post(f"{PLANS}/{plan['id']}/discard")
    # The other auditor declares one too: A is skipped, with the reason.
    world.admin.post(CONFLICTS, json={"provider_id": str(world.provider_a["id"]), "auditor_id": people[1]["id"],
                                      "reason": "Board member"})
    plan = make_plan(world)
    assert str(world.provider_a["id"]) not in {p["provider_id"] for p in plan["proposals"]}
    [skip] = plan["skipped"]
    assert skip["provider_id"] == str(world.provider_a["id"]) and skip["code"] == "independence"
    assert "declared a conflict of interest" in skip["reason"]
    # Withdrawn: the auditor may be planned for A again.
    listed = world.auditor.get(CONFLICTS, params={"provider_id": str(world.provider_a["id"])}).json()
    assert listed["total"] == 2
    listed = listed["items"]
    for conflict in listed:
        assert world.admin.post(f"{CONFLICTS}/{conflict['id']}/withdraw").json()["withdrawn_at"]
    assert world.auditor.get(CONFLICTS).json()["items"] == []
    assert world.auditor.get(CONFLICTS, params={"withdrawn": True}).json()["total"] == 2
    world.auditor.post(f"{PLANS}/{plan['id']}/discard")
    assert str(world.provider_a["id"]) in {p["provider_id"] for p in make_plan(world)["proposals"]}


def test_a_waikato_provider_is_not_audited_on_aucklands_anniversary_day(world: World):
    team(world, 3)
    waikato = register_provider(world.run, "Waikato Whānau Trust", 30, region=Region.waikato,
                                risk_tier=3)
    plan = make_plan(world, {"starts_on": "2027-02-01", "ends_on": "2027-02-05"})
    by = {p["provider_id"]: p for p in plan["proposals"]}
    assert by[str(world.provider_a["id"])]["starts_on"] == "2027-02-01"  # Wellington works that day
    assert by[str(waikato["id"])]["starts_on"] == "2027-02-02"
    assert "2027-02-01 (Auckland Anniversary Day)" in by[str(waikato["id"])]["reasons"]["date"]


def test_capacity_and_leave_are_planned_around(world: World):
    [me] = team(world, 1)
    r = world.auditor.put(f"{AUDITORS}/{me['id']}/capacity", json={"audits_per_week": 1})
    assert r.status_code == 200, r.text
    assert (r.json()["audits_per_week"], r.json()["default_capacity"]) == (1, False)
    r = world.auditor.post(f"{AUDITORS}/{me['id']}/leave", json={"starts_on": "2027-01-04", "ends_on": "2027-01-15",
                                                                   "note": "Summer"})
    assert r.status_code == 201, r.text
    assert [x["id"] for x in world.admin.get(f"{AUDITORS}/{me['id']}/leave").json()] == [r.json()["id"]]
    plan = make_plan(world, {"starts_on": "2027-01-01", "ends_on": "2027-02-12"})
    starts = sorted(p["starts_on"] for p in plan["proposals"])
    assert starts == ["2027-01-18", "2027-01-26"]  # one a week, after the leave; 25 January is Wellington's day
    listed = world.admin.get(AUDITORS).json()
    assert [(a["id"], a["audits_per_week"]) for a in listed] == [(me["id"], 1)]
    world.auditor.delete(f"{AUDITORS}/{me['id']}/leave/{r.json()['id']}")
    assert world.auditor.get(f"{AUDITORS}/{me['id']}/leave").json() == []


def test_availability_is_an_auditors_own_or_an_admins(world: World):
    me, other = team(world, 2)
    other_api = world.people["auditor_2"]
    problem(other_api.put(f"{AUDITORS}/{me['id']}/capacity", json={"audits_per_week": 3}), 403)
    problem(other_api.post(f"{AUDITORS}/{me['id']}/leave", json={"starts_on": "2027-01-04",
                                                                   "ends_on": "2027-01-05"}), 403)
    assert world.admin.put(f"{AUDITORS}/{me['id']}/capacity", json={"audits_per_week": 3}).status_code == 200
    problem(other_api.post(CONFLICTS, json={"provider_id": str(world.provider_a["id"]), "auditor_id": me["id"],
                                            "reason": "x"}), 403)
    conflict = world.auditor.post(CONFLICTS, json={"provider_id": str(world.provider_b["id"]), "reason": "x"}).json()
    problem(other_api.post(f"{CONFLICTS}/{conflict['id']}/withdraw"), 403)
    # Someone who is not an auditor, a provider that does not exist, leave ending before it starts.
    problem(world.admin.put(f"{AUDITORS}/{world.partnerships.user['id']}/capacity", json={"audits_per_week": 2}), 404)
    problem(world.auditor.post(CONFLICTS, json={"provider_id": "00000000-0000-4000-8000-000000000000",
                                                "reason": "x"}), 404)
    problem(world.auditor.post(f"{AUDITORS}/{me['id']}/leave", json={"starts_on": "2027-01-05",
                                                                      "ends_on": "2027-01-04"}), 422, "ends_on")
    problem(world.auditor.put(f"{AUDITORS}/{me['id']}/capacity", json={"audits_per_week": 0}), 400, "audits_per_week")


def test_plans_are_the_auditors_and_admins_only(world: World):
    for role in ("provider_user", "provider_admin", "partnerships", "governance"):
        problem(world.people[role].post(PLANS, json=Q1), 403)
        problem(world.people[role].get(AUDITORS), 403)
    plan = make_plan(world)
    for role in ("provider_user", "provider_admin", "b_admin", "partnerships"):
        problem(world.people[role].get(f"{PLANS}/{plan['id']}"), 403)
        problem(world.people[role].post(f"{PLANS}/{plan['id']}/accept", json={}), 403)
    assert {a["status"] for a in audits(world, plan=plan["id"])} == {"proposed"}
    problem(world.admin.get(f"{PLANS}/00000000-0000-4000-8000-000000000000"), 404)
    problem(world.auditor.post(PLANS, json={"starts_on": "2027-03-01", "ends_on": "2027-02-01"}), 422, "ends_on")
    problem(world.auditor.post(PLANS, json={"starts_on": "2027-01-01", "ends_on": "2028-06-01"}), 422, "ends_on")
    problem(world.auditor.post(f"{PLANS}/{plan['id']}/accept",
                               json={"audit_ids": ["00000000-0000-4000-8000-000000000000"]}), 422, "audit_ids")
    problem(world.auditor.post(PLANS, json={**Q1, "extra": 1}), 400)


def test_a_conflict_declared_again_stays_one_declaration(world: World):
    body = {"provider_id": str(world.provider_b["id"]), "reason": "Was its privacy officer", "kind": "responsibility",
            "ends_on": "2026-10-31"}
    first = world.auditor.post(CONFLICTS, json=body).json()
    again = world.auditor.post(CONFLICTS, json={**body, "ends_on": "2026-11-30"}).json()
    assert again["id"] == first["id"] and again["ends_on"] == "2026-11-30"
    world.auditor.post(f"{CONFLICTS}/{first['id']}/withdraw")
    withdrawn_twice = world.auditor.post(f"{CONFLICTS}/{first['id']}/withdraw")
    assert withdrawn_twice.status_code == 200 and withdrawn_twice.json()["withdrawn_at"]
    renewed = world.auditor.post(CONFLICTS, json=body).json()
    assert renewed["id"] == first["id"] and renewed["withdrawn_at"] is None
    assert world.admin.get(CONFLICTS, params={"withdrawn": True}).json()["total"] == 1
    problem(world.auditor.post(CONFLICTS, json={**body, "kind": "interest"}), 422, "ends_on")
    # Declared again, responsible until 31 October 2026: may not lead B's audit before November 2027; another does.
    team(world, 2)
    plan = make_plan(world)
    b = next(p for p in plan["proposals"] if p["provider_id"] == str(world.provider_b["id"]))
    assert b["lead_auditor_name"] == "Auditor 2"
    assert ("Auditor (responsible for it until 2026-10-31: not leading it within 12 months, so not before "
            "2027-11-01)") in b["reasons"]["auditor"]


def test_a_plan_logging_thousands_of_proposals_at_once_is_logged_whole(world: World, run):
    """A year's plan logs one entry per proposal in its own transaction: more rows than one statement may bind
    (13 values an entry; PostgreSQL binds 32,767 at most), so they are written a thousand at a time."""
    from partner_audit.security import access_log

    caller = Caller.system("test")

    async def log_many() -> None:
        async with access_log.audited(caller, "audit_plan.create", "audit_plan"):
            for n in range(2600):
                await access_log.append(caller, action="audit.propose", record_type="audit", record_id=f"r{n}")

    run(log_many)
    assert run(lambda: AccessLogEntry.count().where(AccessLogEntry.action == "audit.propose").run()) == 2600
