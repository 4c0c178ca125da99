"""Step bindings for features/access_log_integrity.feature: sealing, checking, and tampering as someone who controls
the database (but not the service's key) would."""

from __future__ import annotations

import hashlib

from pytest_bdd import given, parsers, scenarios, then, when

from partner_audit.security import access_log
from partner_audit.security.tables import AccessLogEntry, AccessLogSeal
from tests.support.access_log import tamper
from tests.support.bdd import Journey, person_of

scenarios("access_log_integrity.feature")


@given("the staff member at provider A and the auditor have read provider A's record")
def both_read(world) -> None:
    a = world.provider_a["id"]
    for person in ("staff member at provider A", "auditor"):
        response = person_of(world, person).get(f"/api/v1/providers/{a}")
        assert response.status_code == 200, response.text


@when("the auditor reads provider A's record again")
def auditor_reads_again(world) -> None:
    response = person_of(world, "auditor").get(f"/api/v1/providers/{world.provider_a['id']}")
    assert response.status_code == 200, response.text


@given("the service has sealed the access log")
def sealed(world) -> None:
    assert world.run(access_log.seal) > 0


@when("the system owner checks the access log")
def owner_checks(world, journey: Journey) -> None:
    journey.response = person_of(world, "system owner").get("/api/v1/access-log/verify")
    assert journey.response.status_code == 200, journey.response.text


@then("it is intact, every entry before the check sealed")
def intact_all_sealed(world, journey: Journey) -> None:
    body = journey.response.json()
    everything_before_the_check = world.run(lambda: AccessLogEntry.count().run()) - 1
    assert (body["ok"], body["sealed"], body["unsealed"]) == (True, everything_before_the_check, 0), body
    assert body["checkpoint_position"] == body["sealed"]


@then(parsers.parse("it is intact, with {count:d} entries not yet sealed"))
def intact_some_waiting(journey: Journey, count: int) -> None:
    body = journey.response.json()
    # The earlier check and the auditor's read: written after the last seal.
    assert (body["ok"], body["unsealed"]) == (True, count), body
    assert body["oldest_unsealed_at"] is not None


@when(parsers.parse("someone with control of the database deletes the last {count:d} entries and their seals"))
def delete_tail(world, count: int) -> None:
    seals = world.run(lambda: AccessLogSeal.select().order_by(AccessLogSeal.position, ascending=False)
                      .limit(count).run())
    for seal in seals:
        tamper(world.run, "DELETE FROM access_log_seal WHERE position = {}", seal["position"])
        tamper(world.run, "DELETE FROM access_log_entry WHERE seq = {}", seal["entry"])


@when("someone with control of the database changes who read provider A's record, recomputing its checksum")
def rewrite_reader(world) -> None:
    row = world.run(lambda: AccessLogEntry.select().where(
        AccessLogEntry.action == "provider.read", AccessLogEntry.email == "auditor@example.org").first().run())
    # Their best guess at a checksum: without the service's key, any hash they choose is the wrong one.
    guess = hashlib.sha256(f"{row['uid']}|someone.else@example.org".encode()).hexdigest()
    tamper(world.run, "UPDATE access_log_entry SET email = {}, mac = {} WHERE seq = {}",
           "someone.else@example.org", guess, row["seq"])


@then(parsers.parse('the check fails saying "{words}"'))
def check_fails(journey: Journey, words: str) -> None:
    body = journey.response.json()
    assert body["ok"] is False and words in body["reason"], body
