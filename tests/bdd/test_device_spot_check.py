"""Step bindings for features/device_spot_check.feature: a spot-check's sample drawn once and reproducibly, its
holders seen by its auditors only while it is in progress, a discrepancy and a device not seen."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from partner_audit.audits import sampling
from partner_audit.devices.tables import Incident
from partner_audit.security.tables import AccessLogEntry
from tests.support.audits import new_audit, set_status
from tests.support.bdd import Journey, person_of
from tests.support.devices import checked_out
from tests.support.problems import problem

scenarios("device_spot_check.feature")

ORDINALS = {"first": 0, "second": 1, "third": 2}


@pytest.fixture
def spot_check() -> dict[str, Any]:
    """What the scenario knows: the audit's id, the held assignments by provider, the sample."""
    return {}


@given(parsers.parse("provider A holds {a:d} laptops and provider B holds {b:d}"))
def laptops(world, spot_check: dict[str, Any], a: int, b: int) -> None:
    spot_check["A"] = [checked_out(world, f"LT-A{i}", world.provider_a, f"Aroha Holder{i}")[1] for i in range(a)]
    spot_check["B"] = [checked_out(world, f"LT-B{i}", world.provider_b, f"Bea Holder{i}")[1] for i in range(b)]


@given("the auditor leads a device spot-check of provider A")
def leads(world, spot_check: dict[str, Any]) -> None:
    spot_check["audit"] = new_audit(world, world.provider_a, title="Quarter 4 spot-check")


def _draw(world, spot_check: dict[str, Any], **body: Any):
    return person_of(world, "auditor").post(f"/api/v1/audits/{spot_check['audit']}/sample", json=body)


@when(parsers.parse('the auditor draws the sample with the seed "{seed}"'))
def draws_with_seed(world, spot_check: dict[str, Any], seed: str) -> None:
    r = _draw(world, spot_check, seed=seed)
    assert r.status_code == 201, r.text
    spot_check["sample"] = r.json()


@given(parsers.parse("the auditor has drawn a sample of {size:d}"))
def has_drawn(world, spot_check: dict[str, Any], size: int) -> None:
    r = _draw(world, spot_check, size=size)
    assert r.status_code == 201, r.text
    spot_check["sample"] = r.json()


@then(parsers.parse("all {count:d} of provider A's laptops are in the sample, in the order the seed gives"))
def whole_register(spot_check: dict[str, Any], count: int) -> None:
    sample, ids = spot_check["sample"], [a["id"] for a in spot_check["A"]]
    assert sample["size"] == count == sampling.sample_size(count, 0.95, 0.05)
    assert [i["assignment_id"] for i in sample["items"]] == sampling.draw(ids, count, sample["seed"])


@then("the seed and what the sample was drawn from are in the access log")
def logged(world, spot_check: dict[str, Any]) -> None:
    [entry] = world.run(lambda: AccessLogEntry.select().where(
        AccessLogEntry.action == "spot_check.draw", AccessLogEntry.record_id == spot_check["audit"]).run())
    digest = sampling.population_digest(a["id"] for a in spot_check["A"])
    assert spot_check["sample"]["seed"] in entry["detail"] and digest in entry["detail"]


def _holders(world, who: str, spot_check: dict[str, Any]) -> list:
    r = person_of(world, who).get(f"/api/v1/audits/{spot_check['audit']}/sample")
    assert r.status_code == 200, r.text
    return [i["holder_name"] for i in r.json()["items"]]


@then("the auditor does not see who holds the sampled laptops yet")
@then("the auditor no longer sees who holds the sampled laptops")
def not_seen_holders(world, spot_check: dict[str, Any]) -> None:
    assert set(_holders(world, "auditor", spot_check)) == {None}


@when("the spot-check starts")
def starts(world, spot_check: dict[str, Any]) -> None:
    set_status(world, spot_check["audit"], "in_progress")


@when("the spot-check is reported")
def reported(world, spot_check: dict[str, Any]) -> None:
    set_status(world, spot_check["audit"], "reported")


@then("the auditor sees who holds each sampled laptop")
def sees_holders(world, spot_check: dict[str, Any]) -> None:
    names = _holders(world, "auditor", spot_check)
    assert all(n and n.startswith("Aroha Holder") for n in names), names


@then("the auditor does not see who holds provider B's laptops")
def not_b(world, spot_check: dict[str, Any]) -> None:
    for assignment in spot_check["B"]:
        r = person_of(world, "auditor").get(f"/api/v1/assignments/{assignment['id']}")
        assert r.status_code == 200 and r.json()["holder_name"] is None, r.text


def _item(spot_check: dict[str, Any], ordinal: str) -> dict[str, Any]:
    return spot_check["sample"]["items"][ORDINALS[ordinal]]


def _record(world, spot_check: dict[str, Any], ordinal: str, result: str, note: str = ""):
    r = person_of(world, "auditor").post(f"/api/v1/spot-check-items/{_item(spot_check, ordinal)['id']}",
                                         json={"result": result, "note": note})
    assert r.status_code == 200, r.text
    spot_check[f"recorded:{ordinal}"] = r.json()
    return r.json()


@when(parsers.parse("the auditor records the {ordinal} sampled laptop as seen"))
def records_seen(world, spot_check: dict[str, Any], ordinal: str) -> None:
    assert _record(world, spot_check, ordinal, "seen")["result"] == "seen"


@when(parsers.parse('the auditor records the {ordinal} sampled laptop as a discrepancy: "{note}"'))
def records_discrepancy(world, spot_check: dict[str, Any], ordinal: str, note: str) -> None:
    recorded = _record(world, spot_check, ordinal, "discrepancy", note)
    assert (recorded["result"], recorded["note"], recorded["incident_id"]) == ("discrepancy", note, None)


@when(parsers.parse("the auditor records the {ordinal} sampled laptop as not seen"))
def records_not_seen(world, spot_check: dict[str, Any], ordinal: str) -> None:
    _record(world, spot_check, ordinal, "not_seen")


@then(parsers.parse("the {ordinal} sampled laptop is reported lost, at the spot-check, by the auditor"))
def reported_lost(world, spot_check: dict[str, Any], ordinal: str) -> None:
    recorded = spot_check[f"recorded:{ordinal}"]
    incident = person_of(world, "system owner").get(f"/api/v1/incidents/{recorded['incident_id']}").json()
    assert incident["kind"] == "lost" and incident["device_id"] == recorded["device_id"]
    assert "spot-check" in incident["description"]
    assert incident["reported_by"] == person_of(world, "auditor").user["email"]
    device = person_of(world, "system owner").get(f"/api/v1/devices/{recorded['device_id']}").json()
    assert device["status"] == "lost"


@then("recording it as not seen again reports nothing more")
def once(world, spot_check: dict[str, Any]) -> None:
    again = _record(world, spot_check, "third", "not_seen")
    assert again["incident_id"] == spot_check["recorded:third"]["incident_id"]
    count = world.run(lambda: Incident.count().where(Incident.device == again["device_id"]).run())
    assert count == 1


@when("the auditor draws the sample again")
def draws_again(world, journey: Journey, spot_check: dict[str, Any]) -> None:
    journey.response = _draw(world, spot_check, seed="another-seed-please")


@then("they are told the sample is fixed")
def fixed(journey: Journey) -> None:
    assert "fixed" in problem(journey.response, 409, "sample")["detail"]


@when(parsers.parse("the {person} looks at the spot-check's sample"))
def looks(world, journey: Journey, spot_check: dict[str, Any], person: str) -> None:
    journey.response = person_of(world, person).get(f"/api/v1/audits/{spot_check['audit']}/sample")


@then(parsers.parse("they see {count:d} of their laptops and who holds them"))
def sees_own(journey: Journey, count: int) -> None:
    assert journey.response.status_code == 200, journey.response.text
    items = journey.response.json()["items"]
    assert len(items) == count
    assert all(i["asset_tag"].startswith("LT-A") and i["holder_name"].startswith("Aroha Holder") for i in items)
