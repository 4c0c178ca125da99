"""The providers registry's rules: valid NZBNs, unique NZBNs, contract dates, and status changes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from stdnum import ean

from partner_audit import db
from partner_audit.api import Paging
from partner_audit.errors import Conflict, Invalid
from partner_audit.providers.schemas import (
    AnniversaryDay,
    ProviderCreate,
    ProviderFilter,
    ProviderKind,
    ProviderSort,
    ProviderStatus,
    ProviderUpdate,
    Region,
)
from partner_audit.providers.tables import Provider
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller
from partner_audit.security.tenancy import page_of, require_row, scoped

# Which status may follow which. Exited is final: a returning organisation is registered afresh.
TRANSITIONS: dict[ProviderStatus, frozenset[ProviderStatus]] = {
    ProviderStatus.onboarding: frozenset({ProviderStatus.active, ProviderStatus.suspended, ProviderStatus.exited}),
    ProviderStatus.active: frozenset({ProviderStatus.suspended, ProviderStatus.exited}),
    ProviderStatus.suspended: frozenset({ProviderStatus.active, ProviderStatus.exited}),
    ProviderStatus.exited: frozenset(),
}


def normalise_nzbn(raw: str) -> str:
    """Spaces and dashes as people type them are dropped; then 13 digits with a valid GS1 check digit."""
    value = raw.replace(" ", "").replace("-", "")
    if not value.isdigit() or len(value) != 13:
        raise Invalid.field("nzbn", f"{raw!r} must be 13 digits")
    if not ean.is_valid(value):
        raise Invalid.field("nzbn", f"{raw!r} has a wrong check digit (the last digit should be "
                                    f"{ean.calc_check_digit(value[:12])})")
    return value


def _check_contract(start: date | None, end: date | None) -> None:
    if start and end and end < start:
        raise Invalid.field("contract_end", f"{end.isoformat()} is before contract_start {start.isoformat()}")


async def _nzbn_taken(nzbn: str, except_id: UUID | None = None) -> None:
    query = Provider.exists().where(Provider.nzbn == nzbn)
    if except_id:
        query = query.where(Provider.id != except_id)
    if await query.run():
        raise Conflict(f"A provider with NZBN {nzbn} is already registered.",
                       errors=[{"field": "nzbn", "message": "is already registered"}])


async def _save(run) -> Any:
    try:
        return await run()
    except Exception as exc:  # the unique index is the last word when two people register at once
        if db.is_unique_violation(exc):
            raise Conflict("A provider with that NZBN is already registered.",
                           errors=[{"field": "nzbn", "message": "is already registered"}]) from exc
        raise


async def _visible(caller: Caller, provider_id: UUID) -> dict[str, Any]:
    row = await scoped(Provider.select().where(Provider.id == provider_id), Provider.id, caller).first().run()
    return require_row(row, "provider", provider_id)


async def register(caller: Caller, data: ProviderCreate) -> dict[str, Any]:
    policies.REGISTER_PROVIDER.check(caller)
    nzbn = normalise_nzbn(data.nzbn)
    _check_contract(data.contract_start, data.contract_end)
    async with access_log.audited(caller, "provider.create", "provider") as audit:
        await _nzbn_taken(nzbn)
        provider = Provider(
            name=data.name.strip(), nzbn=nzbn, kind=data.kind.value, region=data.region.value,
            risk_tier=data.risk_tier, contract_reference=data.contract_reference,
            contract_start=data.contract_start, contract_end=data.contract_end,
            anniversary_day=data.anniversary_day.value if data.anniversary_day else None,
            status=ProviderStatus.onboarding.value,
        )
        await _save(provider.save().run)
        audit.record_id = audit.provider_id = provider.id
        return await _visible(caller, provider.id)


async def get(caller: Caller, provider_id: UUID) -> dict[str, Any]:
    policies.SEE_PROVIDERS.check(caller)
    async with access_log.audited(caller, "provider.read", "provider", provider_id, provider_id, writes=False):
        return await _visible(caller, provider_id)


async def update(caller: Caller, provider_id: UUID, data: ProviderUpdate) -> dict[str, Any]:
    policies.EDIT_PROVIDER.check(caller)
    changes = data.changes()
    async with access_log.audited(caller, "provider.update", "provider", provider_id, provider_id) as audit:
        current = await _visible(caller, provider_id)
        values: dict[Any, Any] = {}
        for field, value in changes.items():
            if field == "nzbn":
                value = normalise_nzbn(value)
                if value != current["nzbn"]:
                    await _nzbn_taken(value, except_id=provider_id)
            elif isinstance(value, (ProviderKind, Region, AnniversaryDay)):
                value = value.value
            elif field == "name":
                value = value.strip()
            values[Provider._meta.get_column_by_name(field)] = value
        _check_contract(changes.get("contract_start", current["contract_start"]),
                        changes.get("contract_end", current["contract_end"]))
        if values:
            audit.details.append("changed " + ", ".join(sorted(changes)))
            values[Provider.updated_at] = datetime.now(UTC)
            await _save(Provider.update(values).where(Provider.id == provider_id).run)
        return await _visible(caller, provider_id)


async def change_status(caller: Caller, provider_id: UUID, status: ProviderStatus, reason: str) -> dict[str, Any]:
    """Suspending or exiting a provider turns its people away on their next request (see security)."""
    policies.CHANGE_PROVIDER_STATUS.check(caller)
    async with access_log.audited(caller, "provider.status", "provider", provider_id, provider_id) as audit:
        current = await _visible(caller, provider_id)
        old = ProviderStatus(current["status"])
        if status == old:
            return current
        if status not in TRANSITIONS[old]:
            allowed = ", ".join(sorted(s.value for s in TRANSITIONS[old])) or "none: exited is final"
            raise Invalid.field("status", f"cannot go from {old.value} to {status.value} (allowed: {allowed})")
        await Provider.update({Provider.status: status.value, Provider.updated_at: datetime.now(UTC)}).where(
            Provider.id == provider_id
        ).run()
        audit.details.append(f"{old.value} -> {status.value}: {reason}")
        return await _visible(caller, provider_id)


_SORT_COLUMNS = {"name": Provider.name, "risk_tier": Provider.risk_tier, "region": Provider.region,
                 "status": Provider.status, "created_at": Provider.created_at}


async def search(caller: Caller, flt: ProviderFilter, sort: ProviderSort, paging: Paging
                 ) -> tuple[list[dict[str, Any]], int]:
    policies.SEE_PROVIDERS.check(caller)
    clauses = []
    if flt.risk_tier is not None:
        clauses.append(Provider.risk_tier == flt.risk_tier)
    if flt.region is not None:
        clauses.append(Provider.region == flt.region.value)
    if flt.kind is not None:
        clauses.append(Provider.kind == flt.kind.value)
    if flt.status is not None:
        clauses.append(Provider.status == flt.status.value)
    if flt.q:
        clauses.append(db.contains(Provider.name, flt.q))
    column = _SORT_COLUMNS[sort.value.lstrip("-")]
    return await page_of(caller, paging, Provider.select(), Provider.count(), action="provider.list",
                         record_type="provider", scope=Provider.id, where=clauses,
                         order_by=[(column, not sort.value.startswith("-")), Provider.id],
                         provider_id=caller.provider_id)
