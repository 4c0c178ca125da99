"""The access log: who read or changed what, when, and with what outcome.

Services wrap each operation in ``audited(...)``: the operation and its log entry share one transaction,
so a change is never without its entry. A refused operation (not found, forbidden, invalid) is rolled
back and then logged on its own with its outcome.

Entries form a hash chain: each stores the SHA-256 of its own content and of the entry before, so
``verify()`` finds the first entry that was edited, inserted or deleted behind the service's back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from partner_audit import db
from partner_audit.errors import DomainError
from partner_audit.security.caller import Caller
from partner_audit.security.tables import AccessLogEntry

GENESIS = "0" * 64
_PG_LOCK_KEY = 72_400_11  # arbitrary, constant: serialises appends across processes on PostgreSQL

_OUTCOME_BY_STATUS = {401: "denied", 403: "denied", 404: "not_found", 409: "conflict", 429: "denied"}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _canonical(row: dict[str, Any]) -> bytes:
    at = row["at"]
    if isinstance(at, datetime):
        at = at.astimezone(UTC).isoformat(timespec="microseconds")
    content = {
        "seq": row["seq"],
        "at": at,
        "user_id": row["user_id"],
        "email": row["email"],
        "role": row["role"],
        "action": row["action"],
        "record_type": row["record_type"],
        "record_id": row["record_id"],
        "provider_id": row["provider_id"],
        "outcome": row["outcome"],
        "request_id": row["request_id"],
        "detail": row["detail"] or "",
        "prev_hash": row["prev_hash"],
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(row: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(row)).hexdigest()


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
    """Add one entry. Call inside ``db.transaction()`` so it commits with the change it records."""
    if not db.is_sqlite():
        # One appender at a time across every process; on SQLite the IMMEDIATE transaction already is.
        await AccessLogEntry.raw(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})").run()
    last = await AccessLogEntry.select(AccessLogEntry.seq, AccessLogEntry.hash).order_by(
        AccessLogEntry.seq, ascending=False
    ).first().run()
    row: dict[str, Any] = {
        "seq": (last["seq"] + 1) if last else 1,
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
        "prev_hash": last["hash"] if last else GENESIS,
    }
    row["hash"] = entry_hash(row)
    await AccessLogEntry.insert(AccessLogEntry(**row)).run()


@dataclass
class Audit:
    """What the operation learns as it runs: the record's id and the provider it belongs to."""

    caller: Caller
    action: str
    record_type: str
    record_id: Any = None
    provider_id: Any = None
    details: list[str] = field(default_factory=list)


@asynccontextmanager
async def audited(
    caller: Caller, action: str, record_type: str, record_id: Any = None, provider_id: Any = None
) -> AsyncIterator[Audit]:
    """The one way to run an operation on provider records or personal information."""
    audit = Audit(caller, action, record_type, record_id, provider_id)
    try:
        async with db.transaction():
            yield audit
            await append(
                caller,
                action=action,
                record_type=record_type,
                record_id=audit.record_id,
                provider_id=audit.provider_id,
                detail="; ".join(audit.details),
            )
    except DomainError as exc:
        await record_refusal(caller, action, record_type, audit.record_id, audit.provider_id, exc)
        raise


async def record_refusal(caller: Caller, action: str, record_type: str, record_id: Any, provider_id: Any,
                         exc: DomainError) -> None:
    """Log an operation that was refused, in a transaction of its own (the operation's was rolled back)."""
    async with db.transaction():
        await append(
            caller,
            action=action,
            record_type=record_type,
            record_id=record_id,
            # A refused caller must not learn whose record it was, but the log may.
            provider_id=provider_id,
            outcome=_OUTCOME_BY_STATUS.get(exc.status_code, "rejected"),
            detail=exc.detail,
        )


@dataclass(frozen=True)
class Verification:
    entries: int
    broken_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


async def verify(batch: int = 5000) -> Verification:
    """Walk the chain in order; name the first entry whose content, link or position is wrong."""
    prev_hash, expected_seq, count = GENESIS, 1, 0
    while True:
        rows = (
            await AccessLogEntry.select()
            .where(AccessLogEntry.seq >= expected_seq)
            .order_by(AccessLogEntry.seq)
            .limit(batch)
            .run()
        )
        if not rows:
            return Verification(entries=count)
        for row in rows:
            if row["seq"] != expected_seq:
                return Verification(
                    count, expected_seq, f"entry {expected_seq} is missing (next present is {row['seq']})"
                )
            if row["prev_hash"] != prev_hash:
                return Verification(
                    count, row["seq"], f"entry {row['seq']} does not link to entry {row['seq'] - 1}"
                )
            if entry_hash(row) != row["hash"]:
                return Verification(
                    count, row["seq"], f"entry {row['seq']} was changed after it was written"
                )
            prev_hash, expected_seq, count = row["hash"], expected_seq + 1, count + 1
