"""The devices of the register: registering, editing and finding them, and their status by hand.

* A device's status follows its life: ``assigned`` is set by checking out, ``lost``/``stolen`` by an incident,
  ``retired`` is final; only the rest (in stock, in repair, retired) may be set by hand.
* An asset tag is unique: the service checks first for a clear message; a UNIQUE index settles a race the check
  lost (``save_unique``).
* Who sees which devices and holders is in ``visibility``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from partner_audit import db
from partner_audit.api import Paging
from partner_audit.devices.schemas import (
    DeviceCreate,
    DeviceFilter,
    DeviceKind,
    DeviceSort,
    DeviceStatus,
    DeviceUpdate,
)
from partner_audit.devices.services.visibility import (
    device_out,
    find_device,
    open_assignments,
    visible_devices,
    with_holders,
)
from partner_audit.devices.tables import Assignment, Device
from partner_audit.errors import Conflict, Invalid
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller
from partner_audit.security.tenancy import page_of

# Statuses a person may set by hand. The others follow events: assigned (check-out), lost and stolen (incidents).
MANUAL_STATUSES = frozenset({DeviceStatus.in_stock, DeviceStatus.in_repair, DeviceStatus.retired})
# Statuses a device cannot leave by hand: an assigned device is checked in first; retired is final.
FIXED_STATUSES = {
    DeviceStatus.assigned: "check it in first (POST /api/v1/devices/{id}/check-in)",
    DeviceStatus.retired: "retired is final",
}


async def save_unique(run: Any, conflict: Conflict) -> Any:
    """``run()``, with a unique index's refusal told as ``conflict``."""
    try:
        return await run()
    except Exception as exc:  # a unique index had the last word on a race the service's own check lost
        if db.is_unique_violation(exc):
            raise conflict from exc
        raise


def _asset_tag(raw: str) -> str:
    tag = raw.strip()
    if not tag:
        raise Invalid.field("asset_tag", "is blank")
    return tag


def _tag_conflict(tag: str) -> Conflict:
    return Conflict(f"A device with asset tag {tag} is already registered.",
                    errors=[{"field": "asset_tag", "message": "is already registered"}])


async def _tag_taken(tag: str, except_id: UUID | None = None) -> None:
    query = Device.exists().where(Device.asset_tag == tag)
    if except_id:
        query = query.where(Device.id != except_id)
    if await query.run():
        raise _tag_conflict(tag)


async def create_device(caller: Caller, data: DeviceCreate) -> dict[str, Any]:
    policies.REGISTER_DEVICE.check(caller)
    tag = _asset_tag(data.asset_tag)
    async with access_log.audited(caller, "device.create", "device") as audit:
        await _tag_taken(tag)
        device = Device(
            asset_tag=tag, serial=data.serial.strip(), kind=data.kind.value, make=data.make.strip(),
            model=data.model.strip(), encrypted=data.encrypted, mdm_enrolled=data.mdm_enrolled, notes=data.notes,
            status=DeviceStatus.in_stock.value,
        )
        await save_unique(device.save().run, _tag_conflict(tag))
        audit.record_id = device.id
        return await device_out(caller, device.id, "device.create")


async def get_device(caller: Caller, device_id: UUID) -> dict[str, Any]:
    policies.SEE_REGISTER.check(caller)
    async with access_log.audited(caller, "device.read", "device", device_id, writes=False):
        return await device_out(caller, device_id, "device.read")


async def update_device(caller: Caller, device_id: UUID, data: DeviceUpdate) -> dict[str, Any]:
    policies.EDIT_DEVICE.check(caller)
    changes = data.changes()
    async with access_log.audited(caller, "device.update", "device", device_id) as audit:
        current = await find_device(caller, device_id)
        values: dict[Any, Any] = {}
        for field, value in changes.items():
            if field == "asset_tag":
                value = _asset_tag(value)
                if value != current["asset_tag"]:
                    await _tag_taken(value, except_id=device_id)
            elif isinstance(value, DeviceKind):
                value = value.value
            elif isinstance(value, str) and field != "notes":
                value = value.strip()
            values[Device._meta.get_column_by_name(field)] = value
        if values:
            audit.details.append("changed " + ", ".join(sorted(changes)))
            values[Device.updated_at] = datetime.now(UTC)
            await save_unique(Device.update(values).where(Device.id == device_id).run,
                        _tag_conflict(changes.get("asset_tag", "")))
        return await device_out(caller, device_id, "device.update")


def status_refusal(old: DeviceStatus, new: DeviceStatus) -> str | None:
    """Why a device may not be set by hand from ``old`` to ``new``, or None when it may."""
    if new not in MANUAL_STATUSES:
        how = "checking the device out" if new == DeviceStatus.assigned else "reporting an incident"
        return f"{new.value} is set by {how}, not by hand"
    if old in FIXED_STATUSES:
        return f"the device is {old.value}: {FIXED_STATUSES[old]}"
    return None


async def change_status(caller: Caller, device_id: UUID, status: DeviceStatus, reason: str) -> dict[str, Any]:
    policies.CHANGE_DEVICE_STATUS.check(caller)
    async with access_log.audited(caller, "device.status", "device", device_id) as audit:
        current = await find_device(caller, device_id)
        old = DeviceStatus(current["status"])
        if status != old:
            refusal = status_refusal(old, status)
            if refusal:
                raise Invalid.field("status", f"cannot go from {old.value} to {status.value}: {refusal}")
            await Device.update({Device.status: status.value, Device.updated_at: datetime.now(UTC)}).where(
                Device.id == device_id).run()
            audit.details.append(f"{old.value} -> {status.value}: {reason}")
        return await device_out(caller, device_id, "device.status")


_DEVICE_SORT = {"asset_tag": Device.asset_tag, "kind": Device.kind, "status": Device.status, "model": Device.model,
                "created_at": Device.created_at, "updated_at": Device.updated_at}


def device_clauses(caller: Caller, flt: DeviceFilter) -> list[Any]:
    clauses: list[Any] = []
    if flt.status is not None:
        clauses.append(Device.status == flt.status.value)
    if flt.kind is not None:
        clauses.append(Device.kind == flt.kind.value)
    if flt.encrypted is not None:
        clauses.append(Device.encrypted == flt.encrypted)
    if flt.mdm_enrolled is not None:
        clauses.append(Device.mdm_enrolled == flt.mdm_enrolled)
    if flt.provider_id is not None:
        clauses.append(Device.id.is_in(open_assignments(caller).where(Assignment.provider == flt.provider_id)))
    if flt.q:
        text = flt.q.strip()
        match = db.contains(Device.asset_tag, text) | db.contains(Device.serial, text) | db.contains(Device.model, text)
        # Searching by name would tell someone who may not see holders who holds what: only for those who may.
        if policies.SEE_HOLDER_DETAILS.allows(caller):
            held = open_assignments(caller).where(db.contains(Assignment.holder_name, text))
            match = match | Device.id.is_in(held)
        clauses.append(match)
    return clauses


async def search_devices(caller: Caller, flt: DeviceFilter, sort: DeviceSort, paging: Paging
                         ) -> tuple[list[dict[str, Any]], int]:
    policies.SEE_REGISTER.check(caller)
    column = _DEVICE_SORT[sort.value.lstrip("-")]
    return await page_of(caller, paging, Device.select(), Device.count(), action="device.list", record_type="device",
                         scope=visible_devices, where=device_clauses(caller, flt),
                         order_by=[(column, not sort.value.startswith("-")), Device.id],
                         provider_id=caller.provider_id, present=lambda rows: with_holders(caller, rows, "device.list"))