"""The access log against someone with full control of the database but not the service's key: each way of
removing, reordering or rewriting entries is caught by ``verify``, with the checkpoint in a folder and in S3.

Every test runs on SQLite and PostgreSQL (the ``database`` fixture) and with each checkpoint store. The attacker
switches the append-only triggers off (``tamper``), knows the algorithm, and recomputes MACs and chains with a key
of their own: they cannot know the service's.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from partner_audit.providers import service as providers
from partner_audit.security import access_log
from partner_audit.security.caller import Caller, Role
from partner_audit.security.tables import AccessLogEntry, AccessLogSeal
from partner_audit.storage import DiskStore, S3Store
from tests.support.access_log import run_sql, tamper, unguarded
from tests.support.databases import SECRET_KEY, Database, make_settings
from tests.support.world import World

ATTACKERS_KEY = "a key of the attacker's own, as long as any real one"


@pytest.fixture(params=["file", "s3"])
def checkpoints(request: pytest.FixtureRequest, world: World, database: Database, tmp_path: Path) -> Iterator[Any]:
    """The checkpoint in a folder, or in a bucket of the real S3 server, under a prefix of this test's own."""
    if request.param == "s3":
        env = request.getfixturevalue("s3_server").settings_env(prefix=f"log-{uuid.uuid4().hex}")
        store: Any = S3Store(make_settings(database, tmp_path, **env))
    else:
        store = DiskStore(tmp_path / "checkpoints")
    access_log.configure(SECRET_KEY, store)
    yield store


def reads(world: World, count: int) -> None:
    auditor = Caller(world.auditor.user["id"], "auditor@example.org", Role.auditor, None)
    for _ in range(count):
        world.run(lambda: providers.get(auditor, world.provider_a["id"]))


def sealed_log(world: World, count: int) -> list[dict[str, Any]]:
    """``count`` more entries, everything sealed and checkpointed; the seals, in order."""
    reads(world, count)
    world.run(access_log.seal)
    return world.run(lambda: AccessLogSeal.select().order_by(AccessLogSeal.position).run())


def verify(world: World) -> access_log.Verification:
    return world.run(access_log.verify)


def with_attackers_key(world: World, store: Any, work: Any) -> Any:
    """``work()`` with MACs and chains computed under the attacker's key; the service's key back afterwards."""
    access_log.configure(ATTACKERS_KEY, store)
    try:
        return world.run(work)
    finally:
        access_log.configure(SECRET_KEY, store)


async def rechain_from(position: int) -> None:
    """Recompute every seal's chain from ``position`` on, over the entries as they now stand (under whatever key
    is configured), as an attacker covering their tracks would."""
    rows = await run_sql("SELECT s.position, s.entry, e.mac FROM access_log_seal s JOIN access_log_entry e "
                         "ON e.seq = s.entry ORDER BY s.position")
    previous = access_log.GENESIS
    for row in rows:
        chain = access_log.chain_value(previous, row["position"], row["entry"], row["mac"])
        if row["position"] >= position:
            await run_sql("UPDATE access_log_seal SET chain = {} WHERE position = {}", chain, row["position"])
        else:
            chain = (await run_sql("SELECT chain FROM access_log_seal WHERE position = {}", row["position"]))[0]["chain"]
        previous = chain


async def remac(seq: int) -> None:
    (row,) = await run_sql("SELECT * FROM access_log_entry WHERE seq = {}", seq)
    await run_sql("UPDATE access_log_entry SET mac = {} WHERE seq = {}", access_log.entry_mac(row), seq)


def as_attacker(world: World, store: Any, *steps: Any) -> None:
    """Run ``steps`` (coroutine functions) past the triggers, under the attacker's key."""
    async def work() -> None:
        async with unguarded():
            for step in steps:
                await step()

    with_attackers_key(world, store, work)


# --- an intact log --------------------------------------------------------------------------------------


def test_an_intact_log_verifies_and_counts_what_waits_for_its_seal(world: World, checkpoints: Any) -> None:
    seals = sealed_log(world, 10)
    result = verify(world)
    assert (result.ok, result.sealed, result.unsealed, result.checkpoint_position) == (
        True, len(seals), 0, len(seals))

    reads(world, 3)  # not sealed yet: normal for a few seconds, and not a fault
    result = verify(world)
    assert (result.ok, result.sealed, result.unsealed) == (True, len(seals), 3)
    assert result.oldest_unsealed_at is not None

    assert world.run(access_log.seal) == 3
    result = verify(world)
    assert (result.ok, result.sealed, result.unsealed, result.checkpoint_position) == (
        True, len(seals) + 3, 0, len(seals) + 3)


def test_the_database_refuses_to_change_or_delete_entries_and_seals(world: World, checkpoints: Any) -> None:
    seals = sealed_log(world, 2)
    for statement in ("UPDATE access_log_entry SET outcome = 'edited'", "DELETE FROM access_log_entry",
                      "UPDATE access_log_seal SET chain = 'x'", "DELETE FROM access_log_seal"):
        with pytest.raises(Exception, match="append-only"):
            world.run(lambda: run_sql(statement))
    assert world.run(lambda: AccessLogSeal.count().run()) == len(seals)
    assert verify(world).ok


# --- removing entries -----------------------------------------------------------------------------------


def test_deleting_the_last_entry_with_its_seal_falls_short_of_the_checkpoint(world: World, checkpoints: Any) -> None:
    seals = sealed_log(world, 10)
    last = seals[-1]
    tamper(world.run, "DELETE FROM access_log_seal WHERE position = {}", last["position"])
    tamper(world.run, "DELETE FROM access_log_entry WHERE seq = {}", last["entry"])
    result = verify(world)
    assert (result.ok, result.sealed, result.broken_position) == (False, len(seals) - 1, len(seals))
    assert f"says {len(seals)} entries were sealed: the last 1 were removed" in result.reason


def test_deleting_the_last_entry_alone_is_named(world: World, checkpoints: Any) -> None:
    seals = sealed_log(world, 10)
    last = seals[-1]
    tamper(world.run, "DELETE FROM access_log_entry WHERE seq = {}", last["entry"])
    result = verify(world)
    assert (result.ok, result.broken_position, result.broken_seq) == (False, last["position"], last["entry"])
    assert result.reason == f"entry {last['entry']}, sealed at position {last['position']}, was deleted"


def test_truncating_the_last_hundred_is_caught(world: World, checkpoints: Any) -> None:
    seals = sealed_log(world, 120)
    cut = seals[-100]
    tamper(world.run, "DELETE FROM access_log_seal WHERE position >= {}", cut["position"])
    tamper(world.run, "DELETE FROM access_log_entry WHERE seq >= {}", cut["entry"])
    result = verify(world)
    assert (result.ok, result.sealed) == (False, len(seals) - 100)
    assert "the last 100 were removed" in result.reason


def test_deleting_one_and_renumbering_the_rest_is_caught(world: World, checkpoints: Any) -> None:
    seals = sealed_log(world, 12)
    gone = seals[5]

    async def delete() -> None:
        await run_sql("DELETE FROM access_log_seal WHERE position = {}", gone["position"])
        await run_sql("DELETE FROM access_log_entry WHERE seq = {}", gone["entry"])

    async def renumber() -> None:
        for seal in seals[6:]:
            await run_sql("UPDATE access_log_seal SET position = {} WHERE position = {}",
                          seal["position"] - 1, seal["position"])

    as_attacker(world, checkpoints, delete, renumber, lambda: rechain_from(gone["position"]))
    result = verify(world)
    assert (result.ok, result.broken_position) == (False, gone["position"])
    assert "the chain breaks" in result.reason


# --- rewriting entries ----------------------------------------------------------------------------------


def test_an_edit_with_its_mac_and_every_later_chain_recomputed_is_caught(world: World, checkpoints: Any) -> None:
    seals = sealed_log(world, 10)
    target = seals[4]

    async def edit() -> None:
        await run_sql("UPDATE access_log_entry SET email = {} WHERE seq = {}", "someone.else@example.org",
                      target["entry"])
        await remac(target["entry"])

    as_attacker(world, checkpoints, edit, lambda: rechain_from(target["position"]))
    result = verify(world)
    assert (result.ok, result.broken_position, result.broken_seq) == (False, target["position"], target["entry"])
    assert result.reason == f"entry {target['entry']} was changed after it was written"


def test_swapping_two_entries_and_rechaining_is_caught(world: World, checkpoints: Any) -> None:
    seals = sealed_log(world, 10)
    first, second = seals[3], seals[4]

    async def swap() -> None:
        await run_sql("UPDATE access_log_seal SET entry = {} WHERE position = {}", -1, first["position"])
        await run_sql("UPDATE access_log_seal SET entry = {} WHERE position = {}", first["entry"], second["position"])
        await run_sql("UPDATE access_log_seal SET entry = {} WHERE position = {}", second["entry"], first["position"])

    as_attacker(world, checkpoints, swap, lambda: rechain_from(first["position"]))
    result = verify(world)
    assert (result.ok, result.broken_position) == (False, first["position"])
    assert "the chain breaks" in result.reason


def test_swapping_what_two_entries_say_is_caught(world: World, checkpoints: Any) -> None:
    seals = sealed_log(world, 6)
    first, second = seals[2], seals[3]
    tamper(world.run, "UPDATE access_log_entry SET action = {} WHERE seq = {}", "user.read", first["entry"])

    async def remacs() -> None:
        await remac(first["entry"])
        await remac(second["entry"])

    as_attacker(world, checkpoints, remacs, lambda: rechain_from(first["position"]))
    result = verify(world)
    assert (result.ok, result.broken_position) == (False, first["position"])
    assert "was changed after it was written" in result.reason


def test_a_forged_entry_is_never_sealed_and_is_named(world: World, checkpoints: Any) -> None:
    seals = sealed_log(world, 4)

    async def forge() -> None:
        (row,) = await run_sql("SELECT * FROM access_log_entry WHERE seq = {}", seals[-1]["entry"])
        forged = {**row, "uid": uuid.uuid4(), "action": "provider.update", "detail": "risk_tier: 3 -> 1"}
        forged.pop("seq")
        await AccessLogEntry.insert(AccessLogEntry(**{**forged, "mac": access_log.entry_mac(forged)})).run()

    with_attackers_key(world, checkpoints, forge)
    assert world.run(access_log.seal) == 0  # the sealer checks each MAC and leaves the forgery out
    result = verify(world)
    assert (result.ok, result.sealed, result.broken_position) == (False, len(seals), None)
    assert "not yet sealed, does not match its MAC" in result.reason


def test_an_entry_committed_late_is_sealed_in_its_turn(world: World, checkpoints: Any) -> None:
    """On PostgreSQL a transaction may commit an entry with a lower seq than entries already sealed."""
    seals = sealed_log(world, 3)
    caller = Caller.system("late")

    async def write(seq: int) -> None:
        entry = access_log._entry(caller, "provider.read", "provider", None, None, "success", f"seq {seq}")
        entry.seq = seq
        await AccessLogEntry.insert(entry).run()

    top = seals[-1]["entry"]
    world.run(lambda: write(top + 20))
    assert world.run(access_log.seal) == 1
    world.run(lambda: write(top + 10))  # the late one
    assert world.run(access_log.seal) == 1
    result = verify(world)
    assert (result.ok, result.sealed, result.unsealed) == (True, len(seals) + 2, 0)


def test_sealers_in_several_processes_at_once_seal_each_entry_once(world: World, checkpoints: Any) -> None:
    reads(world, 30)

    async def many() -> list[int]:
        return await asyncio.gather(*[access_log.seal() for _ in range(5)])

    assert sum(world.run(many)) == world.run(lambda: AccessLogEntry.count().run())
    result = verify(world)
    assert (result.ok, result.unsealed) == (True, 0)


# --- the checkpoint -------------------------------------------------------------------------------------


def test_a_forged_checkpoint_is_refused(world: World, checkpoints: Any) -> None:
    sealed_log(world, 3)
    body = b'{"position": 1, "chain": "00", "at": "2026-01-01T00:00:00+00:00", "signature": "00"}'
    world.run(lambda: checkpoints.put_bytes(access_log.CHECKPOINT_KEY, body))
    result = verify(world)
    assert not result.ok and "not signed with this service's key" in result.reason


def test_a_missing_checkpoint_is_reported(world: World, checkpoints: Any) -> None:
    sealed_log(world, 3)
    world.run(lambda: checkpoints.delete(access_log.CHECKPOINT_KEY))
    result = verify(world)
    assert not result.ok and "there is no checkpoint" in result.reason


def test_what_it_cannot_catch_is_a_rewrite_by_someone_holding_the_key(world: World, checkpoints: Any) -> None:
    """The limit, stated as a test: with the service's own key (its servers hold it) an edit with a recomputed
    chain is caught only by the checkpoint, and passes once the checkpoint is re-signed too. Everything above is
    caught because the attacker's key is not the service's."""
    seals = sealed_log(world, 5)
    target = seals[2]

    async def edit() -> None:
        async with unguarded():
            await run_sql("UPDATE access_log_entry SET email = {} WHERE seq = {}", "x@example.org", target["entry"])
            await remac(target["entry"])
            await rechain_from(target["position"])

    world.run(edit)
    result = verify(world)
    assert not result.ok and "is not what the checkpoint" in result.reason

    async def resign() -> None:
        (head,) = await run_sql("SELECT position, chain FROM access_log_seal ORDER BY position DESC LIMIT 1")
        checkpoint = access_log.Checkpoint.signed(access_log.Head(head["position"], head["chain"]))
        await checkpoints.put_bytes(access_log.CHECKPOINT_KEY, json.dumps(checkpoint.__dict__).encode())

    world.run(resign)
    assert verify(world).ok
