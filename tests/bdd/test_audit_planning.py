"""Step bindings for features/audit_planning.feature: a risk-based plan of a quarter across several auditors,
accepted whole or in part, and auditors with a conflict never proposed."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from partner_audit.audits import calendar
from partner_audit.audits.schemas import AuditKind, AuditStatus
from partner_audit.audits.tables import Audit, AuditBooking
from partner_audit.providers.schemas import Region
from partner_audit.security.caller import Role
from tests.support.bdd import provider_of
from tests.support.world import register_provider

scenarios("audit_planning.feature")

PLANS = "/api/v1/audit-plans"


@pytest.fixture
def planning() -> dict[str, Any]:
    """What the scenario knows: auditors and providers by name, leave by auditor id, the plan, what changed."""
    return {"auditors": {}, "providers": {}, "leave": {}, "plan": None, "changed": None}


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.replace(" and ", ", ").split(",") if n.strip()]


def _provider(world, planning: dict[str, Any], name: str) -> dict[str, Any]:
    if name in planning["providers"]:
        return planning["providers"][name]
    return next(p for p in (world.provider_a, world.provider_b) if p["name"] == name)


def _proposals(world, planning: dict[str, Any]) -> list[dict[str, Any]]:
    return world.admin.get(f"{PLANS}/{planning['plan']['id']}").json()["proposals"]


@given(parsers.parse("the auditors {names}"))
def auditors(world, planning: dict[str, Any], names: str) -> None:
    for name in _names(names):
        person = world.add_person(name.lower().replace(" ", "_"), Role.auditor)
        assert person.user["full_name"] == name
        planning["auditors"][name] = person


@given(parsers.re(r'a tier (?P<tier>\d) provider "(?P<name>[^"]+)" in (?P<region>[^,]+), '
                  r'(?:last audited on (?P<last>[\d-]+)|never audited)'))
def provider(world, planning: dict[str, Any], tier: str, name: str, region: str, last: str | None) -> None:
    row = register_provider(world.run, name, 40 + len(planning["providers"]), risk_tier=int(tier),
                            region=Region(region))
    planning["providers"][name] = row
    if last:  # its last audit, closed: what the plan counts the interval from
        day = date.fromisoformat(last)
        world.run(lambda: Audit(provider=row["id"], kind=AuditKind.site_visit.value, status=AuditStatus.closed.value,
                                starts_on=day, ends_on=day).save().run())


@given(parsers.parse("{name} is on leave from {first} to {last}"))
def on_leave(world, planning: dict[str, Any], name: str, first: str, last: str) -> None:
    person = planning["auditors"][name]
    r = person.post(f"/api/v1/auditors/{person.user['id']}/leave", json={"starts_on": first, "ends_on": last})
    assert r.status_code == 201, r.text
    planning["leave"][str(person.user["id"])] = (date.fromisoformat(first), date.fromisoformat(last))


@given(parsers.parse("{name} takes {count:d} audit a week"))
def takes(world, planning: dict[str, Any], name: str, count: int) -> None:
    person = planning["auditors"][name]
    r = person.put(f"/api/v1/auditors/{person.user['id']}/capacity", json={"audits_per_week": count})
    assert r.status_code == 200, r.text


@given(parsers.parse('{name} has declared a conflict of interest with provider {letter}: "{reason}"'))
def declared(world, planning: dict[str, Any], name: str, letter: str, reason: str) -> None:
    person = planning["auditors"][name]
    r = person.post("/api/v1/auditor-conflicts", json={"provider_id": str(provider_of(world, letter)["id"]),
                                                       "reason": reason})
    assert r.status_code == 201, r.text


@when(parsers.parse("{name} plans audits from {first} to {last}"))
def plans(world, planning: dict[str, Any], name: str, first: str, last: str) -> None:
    r = planning["auditors"][name].post(PLANS, json={"starts_on": first, "ends_on": last})
    assert r.status_code == 201, r.text
    planning["plan"] = r.json()


@when(parsers.re(r"(?P<name>.+?) accepts the whole plan(?: again)?$"))
def accepts_all(world, planning: dict[str, Any], name: str) -> None:
    r = planning["auditors"][name].post(f"{PLANS}/{planning['plan']['id']}/accept", json={})
    assert r.status_code == 200, r.text
    planning["changed"] = r.json()["changed"]


@when(parsers.parse("{name} accepts the proposals for {names}"))
def accepts_some(world, planning: dict[str, Any], name: str, names: str) -> None:
    wanted = {str(_provider(world, planning, n)["id"]) for n in _names(names)}
    ids = [p["id"] for p in planning["plan"]["proposals"] if p["provider_id"] in wanted]
    assert len(ids) == len(wanted)
    r = planning["auditors"][name].post(f"{PLANS}/{planning['plan']['id']}/accept", json={"audit_ids": ids})
    assert r.status_code == 200, r.text
    assert r.json()["changed"] == len(ids)


@when(parsers.parse("{name} discards the rest of the plan"))
def discards(world, planning: dict[str, Any], name: str) -> None:
    r = planning["auditors"][name].post(f"{PLANS}/{planning['plan']['id']}/discard")
    assert r.status_code == 200, r.text
    planning["changed"] = r.json()["changed"]


@then(parsers.parse("the plan proposes {names}"))
def proposes(world, planning: dict[str, Any], names: str) -> None:
    proposed = Counter(p["provider_name"] for p in planning["plan"]["proposals"])
    assert proposed == Counter(_names(names)), proposed
    assert planning["plan"]["skipped"] == []


@then(parsers.parse("{name} is not proposed, as it is not due until {due}"))
def not_proposed(world, planning: dict[str, Any], name: str, due: str) -> None:
    assert name not in {p["provider_name"] for p in planning["plan"]["proposals"]}
    # A plan reaching its due date proposes it, due then.
    later = world.admin.post(PLANS, json={"starts_on": "2027-04-01", "ends_on": "2027-12-31"}).json()
    [p] = [p for p in later["proposals"] if p["provider_name"] == name]
    assert p["due_on"] == due and p["starts_on"] >= due


@then(parsers.parse("{name} is proposed on or after {due}, when it falls due"))
def proposed_when_due(world, planning: dict[str, Any], name: str, due: str) -> None:
    [p] = [p for p in planning["plan"]["proposals"] if p["provider_name"] == name]
    assert p["due_on"] == due and p["starts_on"] >= due
    assert f"so due {due}, within the plan." in p["reasons"]["provider"]


@then("no proposed audit falls on a weekend, a public holiday or the anniversary day its provider observes")
def working_days_only(world, planning: dict[str, Any]) -> None:
    for p in planning["plan"]["proposals"]:
        provider = world.admin.get(f"/api/v1/providers/{p['provider_id']}").json()
        observes = provider["anniversary_day"] or calendar.for_region(provider["region"])
        for day in (date.fromisoformat(p["starts_on"]), date.fromisoformat(p["ends_on"])):
            assert calendar.day_off(day, observes) is None, (p, calendar.day_off(day, observes))
    waikato = next(p for p in planning["plan"]["proposals"] if p["provider_name"] == "Hauraki Waikato Trust")
    assert waikato["starts_on"] != "2027-02-01"  # Auckland Anniversary Day, which Waikato observes


@then("no auditor is proposed while on leave, twice on one day, or over their audits a week")
def within_availability(world, planning: dict[str, Any]) -> None:
    booked = world.run(lambda: AuditBooking.select(AuditBooking.auditor, AuditBooking.day, AuditBooking.audit).run())
    proposals = {p["id"]: p for p in planning["plan"]["proposals"]}
    every_day = [(str(b["auditor"]), str(b["day"])) for b in booked]
    assert len(every_day) == len(set(every_day))
    days = [(str(b["auditor"]), str(b["day"])) for b in booked if str(b["audit"]) in proposals]
    assert {str(b["audit"]) for b in booked} >= set(proposals)
    for who, (first, last) in planning["leave"].items():
        assert not any(a == who and first.isoformat() <= d <= last.isoformat() for a, d in days)
    capacity = {a["id"]: a["audits_per_week"] for a in world.admin.get("/api/v1/auditors").json()}
    weeks = Counter((p["lead_auditor_id"], date.fromisoformat(p["starts_on"]).isocalendar()[:2])
                    for p in proposals.values())
    assert all(n <= capacity[who] for (who, _), n in weeks.items()), weeks
    assert {p["lead_auditor_name"] for p in proposals.values()} == set(planning["auditors"])


@then("every proposal says why this provider, why this date and why this auditor")
def explained(world, planning: dict[str, Any]) -> None:
    for p in planning["plan"]["proposals"]:
        assert p["reasons"]["provider"].startswith("Risk tier ")
        assert p["reasons"]["date"].startswith(p["starts_on"]) and "working day" in p["reasons"]["date"]
        assert p["reasons"]["auditor"].startswith(f"{p['lead_auditor_name']}: free on those days")


@then("every proposal in the plan is scheduled")
def all_scheduled(world, planning: dict[str, Any]) -> None:
    assert planning["changed"] == len(planning["plan"]["proposals"])
    assert {p["status"] for p in _proposals(world, planning)} == {"scheduled"}


@then("nothing more is scheduled")
def nothing_more(world, planning: dict[str, Any]) -> None:
    assert planning["changed"] == 0
    rows = world.run(lambda: Audit.select(Audit.sequence).where(Audit.plan == planning["plan"]["id"]).run())
    assert {r["sequence"] for r in rows} == {1}


@then(parsers.parse("the audits of {names} are scheduled"))
def some_scheduled(world, planning: dict[str, Any], names: str) -> None:
    wanted = {str(_provider(world, planning, n)["id"]) for n in _names(names)}
    scheduled = {p["provider_id"] for p in _proposals(world, planning) if p["status"] == "scheduled"}
    assert scheduled == wanted


@then(parsers.parse('the others are cancelled because "{reason}", and their days are free again'))
def others_cancelled(world, planning: dict[str, Any], reason: str) -> None:
    proposals = _proposals(world, planning)
    others = [p for p in proposals if p["status"] != "scheduled"]
    assert others and all((p["status"], p["cancelled_reason"]) == ("cancelled", reason) for p in others)
    assert planning["changed"] == len(others)
    booked = {str(b["audit"]) for b in world.run(lambda: AuditBooking.select(AuditBooking.audit).run())}
    assert booked == {p["id"] for p in proposals if p["status"] == "scheduled"}


@then(parsers.parse("{name} leads no proposed audit of {provider_name}"))
def leads_none(world, planning: dict[str, Any], name: str, provider_name: str) -> None:
    [p] = [p for p in planning["plan"]["proposals"] if p["provider_name"] == provider_name]
    assert p["lead_auditor_name"] != name
    assert name in {p["lead_auditor_name"] for p in planning["plan"]["proposals"]}  # planned for others


@then(parsers.parse('the proposal for {provider_name} says "{words}"'))
def proposal_says(world, planning: dict[str, Any], provider_name: str, words: str) -> None:
    [p] = [p for p in planning["plan"]["proposals"] if p["provider_name"] == provider_name]
    assert words in p["reasons"]["auditor"], p["reasons"]


@then(parsers.parse('{provider_name} is skipped because "{words}"'))
def skipped(world, planning: dict[str, Any], provider_name: str, words: str) -> None:
    [s] = [s for s in planning["plan"]["skipped"] if s["provider_name"] == provider_name]
    assert s["reason"].startswith(words) and s["code"] == "independence"
    assert all(f"{n} (declared a conflict of interest)" in s["reason"] for n in planning["auditors"])


@then(parsers.parse("nobody is proposed for {provider_name}"))
def nobody(world, planning: dict[str, Any], provider_name: str) -> None:
    proposed = {p["provider_name"] for p in _proposals(world, planning)}
    assert provider_name not in proposed
    assert proposed == {"Provider B Trust", "Kāpiti Whānau Services", "Hauraki Waikato Trust"}  # the others are
