"""The access log: every read and change of provider records and people, who did it, and proof nobody edited it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.support.problems import is_problem
from tests.support.world import PASSWORD, register_provider, World
from partner_audit import db
from partner_audit.demo import demo_nzbn
from partner_audit.errors import Conflict, NotFound
from partner_audit.providers import service as providers
from partner_audit.providers.schemas import ProviderCreate, ProviderKind, Region
from partner_audit.providers.tables import Provider
from partner_audit.security import access_log
from partner_audit.security import service as security
from partner_audit.security.caller import Caller, Role
from partner_audit.security.tables import AccessLogEntry, AccessLogSeal
from tests.support.access_log import tamper

# These tests sign in by email or count the accounts: every person of the world exists from the start.
pytestmark = pytest.mark.usefixtures("everyone")



def rid() -> str:
    return f"req-{uuid.uuid4().hex[:12]}"


def logged(run, request_id: str) -> list[dict[str, Any]]:
    return run(lambda: AccessLogEntry.select().where(AccessLogEntry.request_id == request_id)
               .order_by(AccessLogEntry.seq).run())


def only_entry(run, request_id: str) -> dict[str, Any]:
    entries = logged(run, request_id)
    assert len(entries) == 1, entries
    return entries[0]


def assert_entry(entry: dict[str, Any], who, *, action: str, record_type: str, record_id: Any,
                 provider_id: Any, outcome: str = "success") -> None:
    assert entry["user_id"] == str(who.user["id"])
    assert entry["email"] == who.user["email"]
    assert entry["role"] == who.user["role"]
    assert (entry["action"], entry["record_type"], entry["outcome"]) == (action, record_type, outcome)
    assert entry["record_id"] == (None if record_id is None else str(record_id))
    assert entry["provider_id"] == (None if provider_id is None else str(provider_id))


def new_provider(name: str, index: int) -> dict[str, Any]:
    return {"name": name, "nzbn": demo_nzbn(index), "kind": "ngo", "region": "Otago", "risk_tier": 2}


def provider_rows(run, nzbn: str) -> int:
    return run(lambda: Provider.count().where(Provider.nzbn == nzbn).run())


# --- what lands in the log ------------------------------------------------------------------------------


def test_every_change_and_read_of_a_provider_is_logged(world: World) -> None:
    run, admin = world.run, world.admin

    request = rid()
    created = admin.post("/api/v1/providers", json=new_provider("Logged Trust", 501), headers={"X-Request-ID": request})
    assert created.status_code == 201, created.text
    assert created.headers["X-Request-ID"] == request
    pid = created.json()["id"]
    assert_entry(only_entry(run, request), admin, action="provider.create", record_type="provider",
                 record_id=pid, provider_id=pid)

    request = rid()
    assert admin.get(f"/api/v1/providers/{pid}", headers={"X-Request-ID": request}).status_code == 200
    assert_entry(only_entry(run, request), admin, action="provider.read", record_type="provider",
                 record_id=pid, provider_id=pid)

    request = rid()
    r = world.partnerships.patch(f"/api/v1/providers/{pid}", json={"risk_tier": 1}, headers={"X-Request-ID": request})
    assert r.status_code == 200, r.text
    entry = only_entry(run, request)
    assert_entry(entry, world.partnerships, action="provider.update", record_type="provider",
                 record_id=pid, provider_id=pid)
    assert "risk_tier" in entry["detail"]

    request = rid()
    r = admin.post(f"/api/v1/providers/{pid}/status", json={"status": "active", "reason": "contract signed"},
                   headers={"X-Request-ID": request})
    assert r.status_code == 200, r.text
    entry = only_entry(run, request)
    assert_entry(entry, admin, action="provider.status", record_type="provider", record_id=pid, provider_id=pid)
    assert "onboarding -> active: contract signed" in entry["detail"]

    request = rid()
    assert world.auditor.get("/api/v1/providers", headers={"X-Request-ID": request}).status_code == 200
    assert_entry(only_entry(run, request), world.auditor, action="provider.list", record_type="provider",
                 record_id=None, provider_id=None)

    # A provider's own person reading their organisation: logged against that provider.
    a = world.provider_a["id"]
    request = rid()
    assert world.provider_user.get(f"/api/v1/providers/{a}", headers={"X-Request-ID": request}).status_code == 200
    assert_entry(only_entry(run, request), world.provider_user, action="provider.read", record_type="provider",
                 record_id=a, provider_id=a)


def test_every_change_and_read_of_a_person_is_logged(world: World) -> None:
    run, a = world.run, world.provider_a["id"]

    request = rid()
    r = world.provider_admin.post("/api/v1/users", headers={"X-Request-ID": request}, json={
        "email": "New.Colleague@example.org", "full_name": "New Colleague", "role": "provider_user",
        "password": PASSWORD})
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    entry = only_entry(run, request)
    assert_entry(entry, world.provider_admin, action="user.create", record_type="user", record_id=uid, provider_id=a)
    assert entry["detail"] == "role=provider_user"

    request = rid()
    assert world.partnerships.get(f"/api/v1/users/{uid}", headers={"X-Request-ID": request}).status_code == 200
    assert_entry(only_entry(run, request), world.partnerships, action="user.read", record_type="user",
                 record_id=uid, provider_id=a)

    request = rid()
    r = world.provider_admin.patch(f"/api/v1/users/{uid}", json={"active": False}, headers={"X-Request-ID": request})
    assert r.status_code == 200, r.text
    entry = only_entry(run, request)
    assert_entry(entry, world.provider_admin, action="user.update", record_type="user", record_id=uid, provider_id=a)
    assert entry["detail"] == "deactivated; sessions and API tokens ended"

    request = rid()
    r = world.admin.get("/api/v1/users", params={"provider_id": a}, headers={"X-Request-ID": request})
    assert r.status_code == 200, r.text
    assert_entry(only_entry(run, request), world.admin, action="user.list", record_type="user",
                 record_id=None, provider_id=a)

    # Signing in is logged with the person, even though they were anonymous when they asked.
    request = rid()
    r = world.client.post("/api/v1/auth/login", json={"email": "provider.user@example.org", "password": PASSWORD},
                          headers={"X-Request-ID": request})
    assert r.status_code == 200, r.text
    assert_entry(only_entry(run, request), world.provider_user, action="auth.login", record_type="user",
                 record_id=world.provider_user.user["id"], provider_id=a)


def test_a_refused_read_is_logged_as_not_found(world: World) -> None:
    run, b = world.run, world.provider_b["id"]
    request = rid()
    r = world.provider_user.get(f"/api/v1/providers/{b}", headers={"X-Request-ID": request})
    assert r.status_code == 404, r.text
    assert is_problem(r)
    # The caller learns nothing; the log still records whose record was asked for.
    assert_entry(only_entry(run, request), world.provider_user, action="provider.read", record_type="provider",
                 record_id=b, provider_id=b, outcome="not_found")


def test_a_refused_change_is_logged_and_leaves_nothing_behind(world: World) -> None:
    run = world.run
    b_user = world.b_user.user
    before = run(lambda: security.get_user(Caller.system(), b_user["id"]))

    request = rid()
    r = world.provider_admin.patch(f"/api/v1/users/{b_user['id']}", json={"full_name": "Renamed Across Providers",
                                   "active": False}, headers={"X-Request-ID": request})
    assert r.status_code == 404, r.text
    entry = only_entry(run, request)
    assert_entry(entry, world.provider_admin, action="user.update", record_type="user", record_id=b_user["id"],
                 provider_id=None, outcome="not_found")
    assert run(lambda: security.get_user(Caller.system(), b_user["id"])) == before
    assert world.b_user.get("/api/v1/me").status_code == 200  # still active, sessions untouched

    request = rid()
    pid = world.provider_b["id"]
    r = world.admin.post(f"/api/v1/providers/{pid}/status", json={"status": "exited", "reason": "ended"})
    assert r.status_code == 200, r.text
    r = world.admin.post(f"/api/v1/providers/{pid}/status", json={"status": "active", "reason": "try again"},
                         headers={"X-Request-ID": request})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "status"
    assert_entry(only_entry(run, request), world.admin, action="provider.status", record_type="provider",
                 record_id=pid, provider_id=pid, outcome="rejected")
    assert world.admin.get(f"/api/v1/providers/{pid}").json()["status"] == "exited"


def test_a_duplicate_nzbn_leaves_no_row_and_no_success_entry(world: World) -> None:
    run, admin = world.run, world.admin
    body = new_provider("First Trust", 502)
    assert admin.post("/api/v1/providers", json=body).status_code == 201

    request = rid()
    r = admin.post("/api/v1/providers", json={**body, "name": "Second Trust"}, headers={"X-Request-ID": request})
    assert r.status_code == 409, r.text
    assert is_problem(r)
    assert r.json()["errors"][0]["field"] == "nzbn"
    assert_entry(only_entry(run, request), admin, action="provider.create", record_type="provider",
                 record_id=None, provider_id=None, outcome="conflict")
    assert provider_rows(run, body["nzbn"]) == 1
    assert run(lambda: Provider.count().where(Provider.name == "Second Trust").run()) == 0


def test_two_people_registering_the_same_nzbn_at_once(world: World) -> None:
    """Both may pass the service's own check; the unique index decides, and the loser leaves no trace."""
    run = world.run
    nzbn = demo_nzbn(503)
    callers = [Caller(world.admin.user["id"], "admin@example.org", Role.admin, None, request_id=rid()),
               Caller(world.partnerships.user["id"], "partnerships@example.org", Role.partnerships, None,
                      request_id=rid())]

    async def both() -> list[Any]:
        return await asyncio.gather(*[
            providers.register(c, ProviderCreate(name=f"Race {i}", nzbn=nzbn, kind=ProviderKind.ngo,
                                                 region=Region.auckland, risk_tier=1))
            for i, c in enumerate(callers)
        ], return_exceptions=True)

    results = run(both)
    won = [r for r in results if isinstance(r, dict)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1 and len(lost) == 1, results
    assert isinstance(lost[0], Conflict)
    assert provider_rows(run, nzbn) == 1
    outcomes = sorted(only_entry(run, c.request_id)["outcome"] for c in callers)
    assert outcomes == ["conflict", "success"]
    assert run(access_log.verify).ok


@pytest.fixture
def refusing_log(world: World):
    """A database trigger that refuses to write log entries for new providers, as a full disk or a broken
    log table would: the change they record must then not happen either."""
    sqlite = world.run(db.is_sqlite)
    if sqlite:
        create = ["CREATE TRIGGER refuse_log BEFORE INSERT ON access_log_entry WHEN NEW.action = 'provider.create' "
                  "BEGIN SELECT RAISE(ABORT, 'the log refused'); END"]
        drop = ["DROP TRIGGER refuse_log"]
    else:
        create = ["CREATE FUNCTION refuse_log() RETURNS trigger AS $$ BEGIN "
                  "RAISE EXCEPTION 'the log refused'; END $$ LANGUAGE plpgsql",
                  "CREATE TRIGGER refuse_log BEFORE INSERT ON access_log_entry FOR EACH ROW "
                  "WHEN (NEW.action = 'provider.create') EXECUTE FUNCTION refuse_log()"]
        drop = ["DROP TRIGGER refuse_log ON access_log_entry", "DROP FUNCTION refuse_log()"]
    for sql in create:
        world.run(lambda: AccessLogEntry.raw(sql).run())
    yield
    for sql in drop:
        world.run(lambda: AccessLogEntry.raw(sql).run())


def test_a_change_is_never_without_its_log_entry(world: World, refusing_log: None) -> None:
    body = new_provider("Unlogged Trust", 504)
    r = world.admin.post("/api/v1/providers", json=body)
    assert r.status_code == 500, r.text
    assert is_problem(r)
    assert "nothing was saved" in r.json()["detail"]
    assert provider_rows(world.run, body["nzbn"]) == 0


# --- a busy log stays a chain ---------------------------------------------------------------------------


def count_entries(run) -> int:
    return run(lambda: AccessLogEntry.count().run())


def test_a_busy_log_verifies_and_shows_any_tampering(world: World) -> None:
    run = world.run
    a, b = world.provider_a["id"], world.provider_b["id"]
    partnerships = Caller(world.partnerships.user["id"], "partnerships@example.org", Role.partnerships, None)
    provider_user = Caller(world.provider_user.user["id"], "provider.user@example.org", Role.provider_user, a)
    before = count_entries(run)

    # Sequential first, then many at once: reads, refused reads and new registrations interleaved, with sealers
    # running among them as other processes' would.
    for i in range(100):
        run(lambda: providers.get(partnerships, a if i % 2 else b))

    async def refused(caller: Caller, pid: Any) -> None:
        with pytest.raises(NotFound):
            await providers.get(caller, pid)

    async def burst() -> None:
        calls = []
        for i in range(240):
            if i % 4 == 0:
                calls.append(providers.register(partnerships, ProviderCreate(
                    name=f"Burst {i}", nzbn=demo_nzbn(600 + i), kind=ProviderKind.contractor,
                    region=Region.canterbury, risk_tier=3)))
            elif i % 4 == 1:
                calls.append(refused(provider_user, b))
            else:
                calls.append(providers.get(provider_user, a))
            if i % 60 == 0:
                calls.append(access_log.seal())
        await asyncio.gather(*calls)

    run(burst)
    run(access_log.seal)
    total = count_entries(run)
    assert total == before + 100 + 240
    result = run(access_log.verify)
    assert (result.ok, result.sealed, result.unsealed, result.checkpoint_position) == (True, total, 0, total)
    # Every entry sealed once, in positions with no gaps.
    seals = run(lambda: AccessLogSeal.select().order_by(AccessLogSeal.position).run())
    assert [s["position"] for s in seals] == list(range(1, total + 1))
    assert len({s["entry"] for s in seals}) == total
    assert run(lambda: AccessLogEntry.count().where(AccessLogEntry.outcome == "not_found").run()) == 60

    # Someone with full control of the database quietly turns a refusal into a success.
    target = seals[before + 150]
    original = run(lambda: AccessLogEntry.select(AccessLogEntry.outcome).where(
        AccessLogEntry.seq == target["entry"]).first().run())
    tamper(run, "UPDATE access_log_entry SET outcome = {} WHERE seq = {}", "tampered", target["entry"])
    result = run(access_log.verify)
    assert (result.ok, result.broken_position, result.broken_seq, result.sealed) == (
        False, target["position"], target["entry"], target["position"] - 1)
    assert result.reason == f"entry {target['entry']} was changed after it was written"

    # Putting it back restores it: the MAC covers content, not the act of writing.
    tamper(run, "UPDATE access_log_entry SET outcome = {} WHERE seq = {}", original["outcome"], target["entry"])
    assert run(access_log.verify).ok


# --- the admin API ---------------------------------------------------------------------------------------


def search(world: World, **params: Any) -> dict[str, Any]:
    r = world.admin.get("/api/v1/access-log", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_the_admin_filters_the_log(world: World) -> None:
    a, b = world.provider_a["id"], world.provider_b["id"]
    assert world.provider_user.get(f"/api/v1/providers/{a}").status_code == 200
    assert world.provider_user.get(f"/api/v1/providers/{b}").status_code == 404
    start = datetime.now(UTC)
    assert world.b_user.get(f"/api/v1/providers/{b}").status_code == 200
    assert world.b_user.get(f"/api/v1/providers/{a}").status_code == 404
    end = datetime.now(UTC)
    assert world.auditor.get(f"/api/v1/providers/{a}").status_code == 200

    page = search(world, action="provider.read")
    assert page["total"] == 5 and len(page["items"]) == 5
    assert {e["action"] for e in page["items"]} == {"provider.read"}

    page = search(world, outcome="not_found")
    assert page["total"] == 2
    assert {e["email"] for e in page["items"]} == {"provider.user@example.org", "b.user@example.org"}

    page = search(world, provider_id=b, action="provider.read")
    assert sorted(e["email"] for e in page["items"]) == ["b.user@example.org", "provider.user@example.org"]

    page = search(world, email="B.User@Example.org")  # emails are kept lower-cased
    assert page["total"] == 3 and {e["email"] for e in page["items"]} == {"b.user@example.org"}
    assert sorted(e["action"] for e in page["items"]) == ["provider.read", "provider.read", "token.create"]

    page = search(world, record_type="access_token")
    assert page["total"] == 8  # one API token per person in the world
    assert {e["action"] for e in page["items"]} == {"token.create"}

    page = search(world, since=start.isoformat(), until=end.isoformat())
    assert [(e["email"], e["outcome"]) for e in page["items"]] == [
        ("b.user@example.org", "not_found"), ("b.user@example.org", "success")]

    page = search(world, since=end.isoformat(), action="provider.read")
    assert [e["email"] for e in page["items"]] == ["auditor@example.org"]


def test_the_log_pages_newest_first(world: World) -> None:
    # Token creations, one per person in the world: a set that reading the log does not grow.
    pages = [search(world, record_type="access_token", page=n, page_size=3) for n in (1, 2, 3, 4)]
    assert [p["total"] for p in pages] == [8, 8, 8, 8]
    assert [len(p["items"]) for p in pages] == [3, 3, 2, 0]
    seqs = [e["seq"] for p in pages for e in p["items"]]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 8

    # The whole log grows by one with every search: each search is itself an entry, newest first.
    first, second = search(world, page_size=1), search(world, page_size=1)
    assert second["total"] == first["total"] + 1
    assert second["items"][0]["action"] == "access_log.search"
    assert second["items"][0]["seq"] == first["items"][0]["seq"] + 1

    r = world.admin.get("/api/v1/access-log", params={"page_size": 201})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "page_size"


def test_reading_the_log_is_itself_logged(world: World) -> None:
    request = rid()
    assert world.admin.get("/api/v1/access-log", headers={"X-Request-ID": request}).status_code == 200
    assert_entry(only_entry(world.run, request), world.admin, action="access_log.search",
                 record_type="access_log", record_id=None, provider_id=None)


@pytest.mark.parametrize("who", ["partnerships", "auditor", "governance", "provider_admin", "provider_user"])
def test_only_admins_see_the_log(world: World, who: str) -> None:
    for path in ("/api/v1/access-log", "/api/v1/access-log/verify"):
        r = world.people[who].get(path)
        assert r.status_code == 403, r.text
        assert is_problem(r)
        assert "admin" in r.json()["detail"]


def test_the_log_needs_a_signed_in_caller(client) -> None:
    r = client.get("/api/v1/access-log")
    assert r.status_code == 401 and is_problem(r)


def test_the_admin_verifies_the_chain(world: World) -> None:
    world.run(access_log.seal)
    r = world.admin.get("/api/v1/access-log/verify")
    assert r.status_code == 200, r.text
    body = r.json()
    # Every entry before this check, sealed; the check's own entry is written after it.
    sealed = count_entries(world.run) - 1
    assert body == {"ok": True, "sealed": sealed, "unsealed": 0, "oldest_unsealed_at": None,
                    "checkpoint_position": sealed, "checkpoint_at": body["checkpoint_at"], "broken_position": None,
                    "broken_seq": None, "reason": None}
    assert body["checkpoint_at"].startswith(str(datetime.now(UTC).year))

    # The check's own entry waits for the sealer, counted apart from anything broken.
    body = world.admin.get("/api/v1/access-log/verify").json()
    assert (body["ok"], body["sealed"], body["unsealed"]) == (True, sealed, 1)

    third = world.run(lambda: AccessLogSeal.select().where(AccessLogSeal.position == 3).first().run())
    tamper(world.run, "UPDATE access_log_entry SET detail = {} WHERE seq = {}", "edited", third["entry"])
    body = world.admin.get("/api/v1/access-log/verify").json()
    assert body["ok"] is False and body["broken_position"] == 3 and body["sealed"] == 2
    assert f"entry {third['entry']}" in body["reason"]


def test_set_up_work_is_logged_as_a_named_system_caller(world: World) -> None:
    """Command-line and test set-up act as the system: logged under a named system caller, not a person."""
    p = register_provider(world.run, "System Made", 7)
    entries = world.run(lambda: AccessLogEntry.select().where(
        AccessLogEntry.record_id == str(p["id"]), AccessLogEntry.action == "provider.create").run())
    assert len(entries) == 1
    assert entries[0]["email"] == "system:test" and entries[0]["user_id"] is None and entries[0]["role"] == "admin"
