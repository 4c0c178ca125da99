"""Step bindings for features/audit_findings.feature: a site visit's findings and corrective actions, answered by
the provider, verified by the auditor, and the audit closed."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from partner_audit.audits import calendar
from partner_audit.audits.tables import Audit
from tests.support import audit_records as ar
from tests.support.bdd import Journey, person_of, provider_of
from tests.support.problems import problem

scenarios("audit_findings.feature")

RATINGS = {"effective": "effective", "partly effective": "partly_effective", "ineffective": "ineffective",
           "not tested": "not_tested"}


@pytest.fixture
def visit() -> dict[str, Any]:
    """What the scenario knows of its site visit: "audit", findings by control, "action"."""
    return {"findings": {}}


def _audit_now(world, visit) -> dict[str, Any]:
    return world.auditor.get(f"/api/v1/audits/{visit['audit']['id']}").json()


@given(parsers.parse("the auditor has scheduled a site visit to provider {letter} of the mini privacy check, two "
                     "working days long"))
def scheduled_visit(world, visit, letter: str) -> None:
    audit = ar.created(world, provider_of(world, letter), offset=10, days=2)
    r = world.auditor.post(f"/api/v1/audits/{audit['id']}/schedule")
    assert r.status_code == 200, r.text
    visit["audit"] = r.json()


@when("the auditor starts the site visit")
def starts(world, visit) -> None:
    r = world.auditor.post(f"/api/v1/audits/{visit['audit']['id']}/start")
    assert r.status_code == 200 and r.json()["status"] == "in_progress", r.text


@when(parsers.parse('the auditor records the finding on "{control}": {rating}, severity {severity}, "{observation}"'))
def records_finding(world, visit, control: str, rating: str, severity: str, observation: str) -> None:
    visit["findings"][control] = ar.finding(world, visit["audit"]["id"], control_id=control,
                                            rating=RATINGS[rating], severity=severity, observation=observation)


@when(parsers.parse('the auditor attaches a photo of the device cupboard to the finding on "{control}"'))
def attaches_photo(world, visit, control: str) -> None:
    r = world.auditor.post(f"/api/v1/findings/{visit['findings'][control]['id']}/evidence",
                           **ar.upload("device-cupboard.pdf"))
    assert r.status_code == 201, r.text


@when(parsers.parse('the auditor asks provider {letter} to "{what}" for "{control}", owned by "{owner}", due in '
                    '{days:d} days'))
def asks_for_fix(world, visit, letter: str, what: str, control: str, owner: str, days: int) -> None:
    action = ar.action(world, visit["findings"][control]["id"], due_in_days=days, description=what, owner_name=owner)
    assert action["provider_id"] == str(provider_of(world, letter)["id"])
    visit["action"] = action


@then(parsers.parse("the site visit shows {findings:d} findings and {actions:d} open corrective action"))
def shows_counts(world, visit, findings: int, actions: int) -> None:
    audit = _audit_now(world, visit)
    assert (audit["findings"], audit["actions"]["open"], audit["actions"]["total"]) == (findings, actions, actions)
    (photo,) = world.auditor.get(f"/api/v1/findings/{visit['findings']['device-register']['id']}").json()["evidence"]
    assert photo["filename"] == "device-cupboard.pdf" and photo["content_type"] == "application/pdf"


@then(parsers.parse('a follow-up visit to provider {letter} is proposed {days:d} working days from today, saying it '
                    'follows the critical finding on "{control}"'))
def follow_up_proposed(world, visit, letter: str, days: int, control: str) -> None:
    provider = provider_of(world, letter)
    found = world.auditor.get("/api/v1/audits", params={"kind": "follow_up"}).json()["items"]
    (follow_up,) = found
    assert (follow_up["provider_id"], follow_up["status"], follow_up["follows_id"]) == (
        str(provider["id"]), "proposed", visit["audit"]["id"])
    assert follow_up["starts_on"] == calendar.add_working_days(
        date.today(), days, calendar.for_region(provider["region"])).isoformat()
    assert f"critical finding on control {control}" in follow_up["reasons"]["provider"]
    visit["follow_up"] = follow_up


@then("saving the critical finding again proposes no second follow-up visit")
def no_second_follow_up(world, visit, run) -> None:
    finding = visit["findings"]["privacy-lead"]
    r = world.auditor.patch(f"/api/v1/findings/{finding['id']}", json={"severity": "critical",
                                                                        "recommendation": "Appoint one this month"})
    assert r.status_code == 200 and r.json()["follow_up_audit_id"] == visit["follow_up"]["id"], r.text
    assert run(lambda: Audit.count().where(Audit.kind == "follow_up").run()) == 1


@then(parsers.parse('the auditor cannot record a second finding on "{control}"'))
def no_second_finding(world, visit, control: str) -> None:
    problem(world.auditor.post(f"/api/v1/audits/{visit['audit']['id']}/findings", json={"control_id": control}), 409)


@then(parsers.parse("the {person} sees the findings of the site visit"))
def sees_findings(world, visit, person: str) -> None:
    r = person_of(world, person).get(f"/api/v1/audits/{visit['audit']['id']}/findings")
    assert r.status_code == 200, r.text
    assert {f["control_id"] for f in r.json()} == set(visit["findings"])


@then(parsers.parse("the {person} cannot see the site visit, its findings or its corrective action"))
def cannot_see(world, visit, person: str) -> None:
    who = person_of(world, person)
    problem(who.get(f"/api/v1/audits/{visit['audit']['id']}"), 404)
    problem(who.get(f"/api/v1/audits/{visit['audit']['id']}/findings"), 404)
    problem(who.get(f"/api/v1/findings/{visit['findings']['privacy-lead']['id']}"), 404)
    problem(who.get(f"/api/v1/corrective-actions/{visit['action']['id']}"), 404)
    assert who.get("/api/v1/audits").json()["total"] == 0
    assert who.get("/api/v1/corrective-actions").json()["total"] == 0


@given(parsers.parse('the auditor has recorded a high finding on "{control}" with a corrective action for provider '
                     '{letter}'))
def high_finding_with_action(world, visit, control: str, letter: str) -> None:
    starts(world, visit)
    visit["findings"][control] = ar.finding(world, visit["audit"]["id"], control_id=control, severity="high")
    asks_for_fix(world, visit, letter, "Appoint a privacy lead and tell staff who it is", control, "Hine Walker", 30)


@when(parsers.parse("the {person} tries to answer the corrective action"))
def tries_to_answer(world, visit, journey: Journey, person: str) -> None:
    journey.response = person_of(world, person).post(f"/api/v1/corrective-actions/{visit['action']['id']}/respond",
                                                     json={"response": "Done"})


@when(parsers.parse('the {person} answers "{response}" with the {document}'))
def answers(world, visit, person: str, response: str, document: str) -> None:
    who = person_of(world, person)
    url = f"/api/v1/corrective-actions/{visit['action']['id']}"
    r = who.post(f"{url}/respond", json={"response": response})
    assert r.status_code == 200 and r.json()["status"] == "responded", r.text
    r = who.post(f"{url}/evidence", **ar.upload(document.replace(" ", "-") + ".pdf"))
    assert r.status_code == 201, r.text


@when(parsers.parse('the auditor sends the answer back because "{reason}"'))
def sends_back(world, visit, reason: str) -> None:
    r = world.auditor.post(f"/api/v1/corrective-actions/{visit['action']['id']}/return", json={"reason": reason})
    assert r.status_code == 200, r.text
    visit["returned_because"] = reason


@then("the corrective action is open again, with the auditor's reason")
def open_again(world, visit) -> None:
    action = world.provider_admin.get(f"/api/v1/corrective-actions/{visit['action']['id']}").json()
    assert (action["status"], action["returned_reason"]) == ("open", visit["returned_because"])
    assert len(action["evidence"]) == 1, "the letter sent with the first answer stays"


@when("the auditor reports the site visit")
def reports(world, visit) -> None:
    r = world.auditor.post(f"/api/v1/audits/{visit['audit']['id']}/report",
                           json={"summary": "The privacy lead role was vacant."})
    assert r.status_code == 200, r.text


@when("the auditor tries to close the site visit")
def tries_to_close(world, visit, journey: Journey) -> None:
    journey.response = world.auditor.post(f"/api/v1/audits/{visit['audit']['id']}/close")


@then(parsers.parse('the auditor is told the corrective action on "{control}" is open, not verified or carried '
                    'forward'))
def told_blocked(journey: Journey, control: str) -> None:
    body = problem(journey.response, 409)
    assert f"the corrective action on {control}" in body["detail"]
    assert "is open, not verified or carried forward" in body["detail"]


@when("the auditor verifies the corrective action")
def verifies(world, visit) -> None:
    r = world.auditor.post(f"/api/v1/corrective-actions/{visit['action']['id']}/verify",
                           json={"note": "Minutes seen; staff could name the lead."})
    assert r.status_code == 200 and r.json()["status"] == "verified", r.text


@when("the auditor closes the site visit")
def closes(world, visit, journey: Journey) -> None:
    journey.response = world.auditor.post(f"/api/v1/audits/{visit['audit']['id']}/close")


@then("the site visit is closed")
def is_closed(world, visit, journey: Journey) -> None:
    assert journey.response.status_code == 200, journey.response.text
    audit = _audit_now(world, visit)
    assert audit["status"] == "closed" and audit["closed_at"] and audit["actions"]["verified"] == 1


@then("its findings can no longer change")
def findings_fixed(world, visit) -> None:
    finding = visit["findings"]["privacy-lead"]
    problem(world.auditor.patch(f"/api/v1/findings/{finding['id']}", json={"rating": "effective"}), 409)
