"""The access log: who read or changed what, when, and with what outcome, kept so that nobody with only the database
can remove, reorder or rewrite entries without it showing.

**Writing.** Services wrap each operation in ``audited(...)``. A change and its entry share one transaction, so a
change is never without its entry. A read (``writes=False``) runs in ``db.reading()`` (on SQLite: no write lock) and
then appends its entries, so no response leaves unless its entries landed. A refused operation is rolled back, then
logged on its own with its outcome. Appending is one INSERT and takes no lock beyond its own rows: the database
assigns ``seq``, and each entry carries ``mac``, an HMAC-SHA-256 of its content under a key derived from
``PA_SECRET_KEY``, which the database never holds. Entries an operation adds as it runs (holder details it showed)
are written with its own entry, in one INSERT.

**Sealing.** Every few seconds (``PA_ACCESS_LOG_SEAL_SECONDS``), in whichever process gets there first (an advisory
lock on PostgreSQL, the write lock on SQLite), ``seal()`` takes the entries not yet sealed in ``seq`` order, checks
each MAC and appends a seal: positions 1, 2, 3… with no gaps, each with ``chain`` = HMAC(previous chain, position,
seq, entry MAC). It then writes a signed checkpoint of the head (position and chain) outside the database:
``access-log/checkpoint.json`` in the evidence store (a folder, or an S3 bucket). Triggers refuse UPDATE and DELETE
on both tables.

**Verifying** walks the seals in order with their entries, compares the head with the checkpoint, and checks the
MACs of entries still waiting for a seal, which it counts apart from anything broken.

What it catches, without the key: an entry edited, forged or slipped in (its MAC); an entry deleted (its seal still
names it); seals deleted, swapped or renumbered, with or without recomputed values (the chain); the tail cut off,
entries and seals together (shorter than the checkpoint); a forged checkpoint (its signature).
What it does not: entries deleted in the seconds before they are sealed (``verify`` shows how many wait, and since
when); the tail cut off *and* the checkpoint put back to an older copy of itself (keep the checkpoint's folder or
bucket versioned or write-once, e.g. S3 Object Lock, and out of reach of the database's administrators); anyone who
holds ``PA_SECRET_KEY`` (the service's own servers) rewriting it all; an operation that never called the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from partner_audit import db
from partner_audit.errors import DomainError
from partner_audit.security.caller import Caller
from partner_audit.security.tables import AccessLogEntry, AccessLogSeal
from partner_audit.storage import EvidenceStore

GENESIS = "0" * 64
CHECKPOINT_KEY = "access-log/checkpoint.json"
_PG_SEALER_LOCK = 72_400_12  # arbitrary, constant: one sealer at a time across processes on PostgreSQL
# A transaction can commit an entry with a lower seq than entries already sealed (PostgreSQL hands out seq at
# INSERT, not at COMMIT). The sealer looks this far behind the last sealed seq for such late arrivals; at start-up
# it looks at everything.
_LATE_WINDOW = 10_000
_BATCH = 5_000

_OUTCOME_BY_STATUS = {401: "denied", 403: "denied", 404: "not_found", 409: "conflict", 429: "denied"}

logger = logging.getLogger(__name__)

_key: bytes | None = None
_checkpoints: EvidenceStore | None = None
_checkpoint_written = 0  # the highest position this process knows is in the checkpoint
_unsealable: set[int] = set()  # entries this process found failing their MAC, and has said so


def configure(secret_key: str, checkpoints: EvidenceStore) -> None:
    """Called once per process, by the lifespan (the app and every command), before anything is logged."""
    global _key, _checkpoints, _checkpoint_written
    # A key of its own, derived from the service's secret, so a log key can never be replayed as a token digest.
    _key = hmac.new(secret_key.encode(), b"partner-audit access log", hashlib.sha256).digest()
    _checkpoints, _checkpoint_written = checkpoints, 0


def _mac(*parts: Any) -> str:
    if _key is None:
        raise RuntimeError("security.access_log.configure() has not been called")
    return hmac.new(_key, "\x1f".join(str(p) for p in parts).encode(), hashlib.sha256).hexdigest()


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _instant(value: Any) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds") if isinstance(value, datetime) else str(value)


_CONTENT = ("uid", "at", "user_id", "email", "role", "action", "record_type", "record_id", "provider_id", "outcome",
            "request_id", "detail")


def entry_mac(row: dict[str, Any]) -> str:
    """The MAC of an entry's content: everything but ``seq`` (the database's) and the MAC itself."""
    content = {name: row[name] for name in _CONTENT}
    content["uid"], content["at"], content["detail"] = str(row["uid"]), _instant(row["at"]), row["detail"] or ""
    return _mac("entry", json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


def chain_value(previous: str, position: int, seq: int, mac: str) -> str:
    return _mac("seal", previous, position, seq, mac)


# --- writing ------------------------------------------------------------------------------------------------------

# The entries an ``audited`` operation has gathered so far; None outside one.
_gathering: ContextVar[list[AccessLogEntry] | None] = ContextVar("access_log_gathering", default=None)


def _entry(caller: Caller, action: str, record_type: str, record_id: Any, provider_id: Any, outcome: str,
           detail: str) -> AccessLogEntry:
    row: dict[str, Any] = {
        "uid": uuid.uuid4(),
        "at": datetime.now(UTC),
        "user_id": _text(caller.user_id),
        "email": caller.email,
        "role": caller.role.value if caller.role else None,
        "action": action,
        "record_type": record_type,
        "record_id": _text(record_id),
        "provider_id": _text(provider_id),
        "outcome": outcome,
        "request_id": caller.request_id,
        "detail": detail[:2000],
    }
    return AccessLogEntry(**row, mac=entry_mac(row))


# Rows a statement: an entry binds 13 values and PostgreSQL takes at most 32,767 in one statement (SQLite's limit
# depends on its build), so an operation logging thousands of records at once (a year's audit plan) writes its
# entries a thousand at a time.
_ROWS_A_STATEMENT = 1000


async def _insert(entries: list[AccessLogEntry]) -> None:
    for start in range(0, len(entries), _ROWS_A_STATEMENT):
        await AccessLogEntry.insert(*entries[start:start + _ROWS_A_STATEMENT]).run()


async def append(
    caller: Caller,
    *,
    action: str,
    record_type: str,
    record_id: Any = None,
    provider_id: Any = None,
    outcome: str = "success",
    detail: str = "",
) -> None:
    """Add one entry: inside ``audited`` it is written with the operation's own entry; elsewhere at once (inside
    ``db.transaction()`` it commits with the change it records)."""
    entry = _entry(caller, action, record_type, record_id, provider_id, outcome, detail)
    gathering = _gathering.get()
    if gathering is not None:
        gathering.append(entry)
    else:
        await _insert([entry])


@dataclass
class Audit:
    """What the operation learns as it runs: the record's id and the provider it belongs to."""

    caller: Caller
    action: str
    record_type: str
    record_id: Any = None
    provider_id: Any = None
    details: list[str] = field(default_factory=list)

    def entry(self) -> AccessLogEntry:
        return _entry(self.caller, self.action, self.record_type, self.record_id, self.provider_id, "success",
                      "; ".join(self.details))


@contextlib.contextmanager
def _gather() -> Iterator[list[AccessLogEntry]]:
    gathered: list[AccessLogEntry] = []
    token = _gathering.set(gathered)
    try:
        yield gathered
    finally:
        _gathering.reset(token)


@asynccontextmanager
async def audited(
    caller: Caller, action: str, record_type: str, record_id: Any = None, provider_id: Any = None, *,
    writes: bool = True,
) -> AsyncIterator[Audit]:
    """The one way to run an operation on provider records or personal information. ``writes=False`` for an
    operation that only reads: it then takes no write lock while it reads, only to append its entries after."""
    audit = Audit(caller, action, record_type, record_id, provider_id)
    try:
        with _gather() as gathered:
            if writes:
                async with db.transaction():
                    yield audit
                    await _insert([*gathered, audit.entry()])
            else:
                async with db.reading():
                    yield audit
                    if not db.is_sqlite():  # PostgreSQL: in the same transaction, on the same connection
                        await _insert([*gathered, audit.entry()])
                if db.is_sqlite():  # SQLite: after, as a read transaction must not turn into a write one
                    await _insert([*gathered, audit.entry()])
    except DomainError as exc:
        await record_refusal(caller, action, record_type, audit.record_id, audit.provider_id, exc)
        raise


async def record_refusal(caller: Caller, action: str, record_type: str, record_id: Any, provider_id: Any,
                         exc: DomainError) -> None:
    """Log an operation that was refused, on its own (the operation's transaction was rolled back).
    A refused caller must not learn whose record it was, but the log may: ``provider_id`` is kept."""
    await append(caller, action=action, record_type=record_type, record_id=record_id, provider_id=provider_id,
                 outcome=_OUTCOME_BY_STATUS.get(exc.status_code, "rejected"), detail=exc.detail)


# --- sealing ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Head:
    position: int
    chain: str


@dataclass(frozen=True)
class Checkpoint:
    position: int
    chain: str
    at: str
    signature: str

    @staticmethod
    def signed(head: Head) -> Checkpoint:
        at = datetime.now(UTC).isoformat(timespec="seconds")
        return Checkpoint(head.position, head.chain, at, _mac("checkpoint", head.position, head.chain, at))

    @property
    def genuine(self) -> bool:
        return hmac.compare_digest(self.signature, _mac("checkpoint", self.position, self.chain, self.at))


class BadCheckpoint(Exception):
    """The checkpoint exists but is not one the sealer wrote."""


def _store() -> EvidenceStore:
    if _checkpoints is None:
        raise RuntimeError("security.access_log.configure() has not been called")
    return _checkpoints


async def read_checkpoint() -> Checkpoint | None:
    data = await _store().get(CHECKPOINT_KEY)
    if data is None:
        return None
    try:
        found = json.loads(data)
        checkpoint = Checkpoint(int(found["position"]), str(found["chain"]), str(found["at"]),
                                str(found["signature"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise BadCheckpoint(f"the checkpoint {CHECKPOINT_KEY} cannot be read: {exc}") from exc
    if not checkpoint.genuine:
        raise BadCheckpoint(f"the checkpoint {CHECKPOINT_KEY} is not signed with this service's key")
    return checkpoint


async def _write_checkpoint(head: Head) -> None:
    """Only ever forward: with several processes sealing, a slower one must not put back an older head."""
    global _checkpoint_written
    if head.position <= _checkpoint_written:
        return
    try:
        current = await read_checkpoint()
    except BadCheckpoint:
        current = None  # a good checkpoint replaces a damaged one; verify has reported the damage
    if current is None or current.position < head.position:
        body = json.dumps(Checkpoint.signed(head).__dict__).encode()
        await _store().put_bytes(CHECKPOINT_KEY, body)
    _checkpoint_written = max(head.position, current.position if current else 0)


async def _head() -> Head:
    row = await AccessLogSeal.select(AccessLogSeal.position, AccessLogSeal.chain).order_by(
        AccessLogSeal.position, ascending=False).first().run()
    return Head(row["position"], row["chain"]) if row else Head(0, GENESIS)


_WAITING = ("SELECT e.* FROM access_log_entry e WHERE e.seq > {} "
            "AND NOT EXISTS (SELECT 1 FROM access_log_seal s WHERE s.entry = e.seq) ORDER BY e.seq LIMIT {}")


async def _seal_batch(after: int | None) -> tuple[int, int | None]:
    """Seal up to one batch; returns how many were sealed and the last seq looked at (None: nothing waited)."""
    async with db.transaction():  # on SQLite IMMEDIATE: one sealer at a time
        if not db.is_sqlite():
            (lock,) = await AccessLogSeal.raw("SELECT pg_try_advisory_xact_lock({}) AS got", _PG_SEALER_LOCK).run()
            if not lock["got"]:
                return 0, None  # another process is sealing right now
        head = await _head()
        if after is None:
            last = await AccessLogSeal.select(AccessLogSeal.entry).order_by(
                AccessLogSeal.position, ascending=False).first().run()
            after = max(0, last["entry"] - _LATE_WINDOW) if last else 0
        waiting = await AccessLogEntry.raw(_WAITING, after, _BATCH).run()
        if not waiting:
            return 0, None
        seals, position, chain = [], head.position, head.chain
        now = datetime.now(UTC)
        for row in waiting:
            if not hmac.compare_digest(entry_mac(row), row["mac"]):
                if row["seq"] not in _unsealable:  # said once per process, not on every round
                    _unsealable.add(row["seq"])
                    logger.error("access log: entry %s fails its MAC (forged, edited, or written under another "
                                 "PA_SECRET_KEY) and is left unsealed; run access-log verify", row["seq"])
                continue
            position += 1
            chain = chain_value(chain, position, row["seq"], row["mac"])
            seals.append(AccessLogSeal(position=position, entry=row["seq"], chain=chain, sealed_at=now))
        if seals:
            await AccessLogSeal.insert(*seals).run()
        return len(seals), waiting[-1]["seq"]


async def seal(*, everything: bool = False) -> int:
    """Seal every entry waiting (``everything``: look back over the whole log, not only the recent window), then
    bring the checkpoint up to the head. Safe to run in any number of processes at once. Returns how many it sealed."""
    total, after = 0, (0 if everything else None)
    while True:
        sealed, last_seen = await _seal_batch(after)
        total += sealed
        if last_seen is None:
            break
        after = last_seen
    await _write_checkpoint(await _head())
    return total


async def keep_sealed(every_seconds: float, stop: asyncio.Event) -> None:
    """The sealer of a long-running process: everything once, then what arrives, until ``stop`` is set. It is
    stopped between rounds, never cancelled in one, so no connection is left mid-transaction."""
    everything = True
    while not stop.is_set():
        try:
            await seal(everything=everything)
            everything = False
        except Exception:  # a database or store outage: try again on the next round, never stop sealing
            logger.exception("access log: sealing failed; trying again in %s s", every_seconds)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_seconds)


# --- verifying ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    sealed: int  # entries verified in their place in the chain
    unsealed: int = 0  # entries written and not yet sealed (for a few seconds, normal)
    oldest_unsealed_at: datetime | None = None
    checkpoint_position: int | None = None
    checkpoint_at: str | None = None
    broken_position: int | None = None
    broken_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


_SEALED = ("SELECT s.position AS position, s.entry AS sealed_seq, s.chain AS chain, e.* FROM access_log_seal s "
           "LEFT JOIN access_log_entry e ON e.seq = s.entry WHERE s.position >= {} ORDER BY s.position LIMIT {}")


async def verify(batch: int = _BATCH) -> Verification:
    """Walk the chain in order and name the first entry or seal that is wrong; then the head against the
    checkpoint; then the MACs of entries not yet sealed."""
    try:
        checkpoint = await read_checkpoint()
    except BadCheckpoint as exc:
        return Verification(0, reason=str(exc))
    cp = {"checkpoint_position": checkpoint.position if checkpoint else None,
          "checkpoint_at": checkpoint.at if checkpoint else None}
    position, chain = 0, GENESIS
    async with db.reading():
        while rows := await AccessLogSeal.raw(_SEALED, position + 1, batch).run():
            for row in rows:
                expected = position + 1
                if row["position"] != expected:
                    return Verification(position, broken_position=expected, **cp, reason=(
                        f"seal {expected} is missing (the next is {row['position']}): entries were removed"))
                if row["seq"] is None:
                    return Verification(position, broken_position=expected, broken_seq=row["sealed_seq"], **cp,
                                        reason=f"entry {row['sealed_seq']}, sealed at position {expected}, "
                                               "was deleted")
                if not hmac.compare_digest(entry_mac(row), row["mac"]):
                    return Verification(position, broken_position=expected, broken_seq=row["seq"], **cp,
                                        reason=f"entry {row['seq']} was changed after it was written")
                chain = chain_value(chain, expected, row["seq"], row["mac"])
                if not hmac.compare_digest(chain, row["chain"]):
                    return Verification(position, broken_position=expected, broken_seq=row["seq"], **cp, reason=(
                        f"the chain breaks at position {expected}: seals were removed, reordered or rewritten"))
                if checkpoint and expected == checkpoint.position and chain != checkpoint.chain:
                    return Verification(position, broken_position=expected, **cp, reason=(
                        f"position {expected} is not what the checkpoint of {checkpoint.at} recorded: "
                        "the log was rewritten"))
                position = expected
        if checkpoint and position < checkpoint.position:
            return Verification(position, broken_position=position + 1, **cp, reason=(
                f"the log ends at position {position}, but the checkpoint of {checkpoint.at} says "
                f"{checkpoint.position} entries were sealed: the last {checkpoint.position - position} were removed"))
        if checkpoint is None and position > 0:
            return Verification(position, **cp, reason=(
                f"{position} entries are sealed but there is no checkpoint ({CHECKPOINT_KEY} in the evidence store): "
                "it was removed, or this is not the store the sealer writes to"))
        unsealed, oldest, after = 0, None, 0
        while rows := await AccessLogEntry.raw(_WAITING, after, batch).run():
            for row in rows:
                if not hmac.compare_digest(entry_mac(row), row["mac"]):
                    return Verification(position, broken_seq=row["seq"], **cp, reason=(
                        f"entry {row['seq']}, not yet sealed, does not match its MAC: it was edited or forged"))
                unsealed += 1
                oldest = row["at"] if oldest is None or row["at"] < oldest else oldest
            after = rows[-1]["seq"]
    return Verification(position, unsealed, oldest, **cp)
