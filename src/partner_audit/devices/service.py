"""The device register's rules: devices, who holds them (assignments), incidents and breach assessments.

* One open assignment per device, enforced by the database: ``Assignment.open_device`` holds the device id while
  the assignment is open and NULL once it closes, under a UNIQUE index. The service checks first for a clear
  message; the index settles a race the check lost.
* A device's status follows its life: ``assigned`` is set by checking out, ``lost``/``stolen`` by an incident,
  ``retired`` is final; only the rest (in stock, in repair, retired) may be set by hand.
* Holder details (name, email, phone) are personal information: shown to partnerships, admin and the holder's
  own provider admins only, and each response that shows them is in the access log with the assignment and its
  provider. Everyone else gets them as null.
* A provider's people see the devices their provider holds now, and only their provider's assignments and
  incidents (``scoped``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from piccolo.query import Select

from partner_audit import db
from partner_audit.api import Paging
from partner_audit.devices.schemas import (
    BreachAssessmentUpdate,
    BreachStatus,
    CheckIn,
    CheckOut,
    DeviceCreate,
    DeviceKind,
    DeviceSort,
    DeviceStatus,
    DeviceUpdate,
    IncidentCreate,
    IncidentKind,
    ReturnStatus,
    Transfer,
)
from partner_audit.devices.tables import Assignment, BreachAssessment, Device, Incident
from partner_audit.errors import Conflict, DomainError, Invalid
from partner_audit.providers.schemas import DISENGAGED_STATUSES, ENGAGED_STATUSES
from partner_audit.providers.tables import Provider
from partner_audit.security import access_log, policies
from partner_audit.security.access_log import Audit
from partner_audit.security.caller import Caller
from partner_audit.security.tenancy import can_see_provider, page_of, require_row, scoped

# How long the agency gives itself to decide whether a breach is likely to cause serious harm. The Privacy Act
# 2020 (s 114) asks for notification of a notifiable breach "as soon as practicable" and names no number of days;
# this is the outer limit the register holds assessments to, after which an open one is flagged overdue.
BREACH_ASSESSMENT_DAYS = 30

# Statuses a person may set by hand. The others follow events: assigned (check-out), lost and stolen (incidents).
MANUAL_STATUSES = frozenset({DeviceStatus.in_stock, DeviceStatus.in_repair, DeviceStatus.retired})
# Statuses a device cannot leave by hand: an assigned device is checked in first; retired is final.
FIXED_STATUSES = {
    DeviceStatus.assigned: "check it in first (POST /api/v1/devices/{id}/check-in)",
    DeviceStatus.retired: "retired is final",
}
LOSSES = frozenset({IncidentKind.lost, IncidentKind.stolen})
HOLDER_FIELDS = ("holder_name", "holder_email", "holder_phone")
# Nobody types a date more than a day ahead of UTC (New Zealand is at most 13 hours ahead).
DATE_SLACK = timedelta(days=1)
CLOCK_SKEW = timedelta(minutes=5)


def _now() -> datetime:
    return datetime.now(UTC)


def _today() -> date:
    return _now().date()


def sees_holder(caller: Caller, provider_id: UUID | str) -> bool:
    """Whether the caller sees the details of a holder at ``provider_id``: the policy's roles, and a provider's
    people only for their own provider."""
    return policies.SEE_HOLDER_DETAILS.allows(caller) and can_see_provider(caller, provider_id)


async def _save(run: Any, conflict: Conflict) -> Any:
    try:
        return await run()
    except Exception as exc:  # a unique index had the last word on a race the service's own check lost
        if db.is_unique_violation(exc):
            raise conflict from exc
        raise


# --- assignments as they leave the service ---------------------------------------------------------

_ASSIGNMENT_COLUMNS = (
    *Assignment.all_columns(),
    Assignment.device.asset_tag.as_alias("asset_tag"),
    Assignment.provider.name.as_alias("provider_name"),
    Assignment.provider.status.as_alias("provider_status"),
)


def _assignments() -> Select:
    return Assignment.select(*_ASSIGNMENT_COLUMNS)


def _open_assignments(caller: Caller) -> Select:
    """Device ids with an open assignment the caller may see (for a provider's people: to their provider)."""
    return scoped(Assignment.select(Assignment.device).where(Assignment.open_device.is_not_null()),
                  Assignment.provider, caller)


def _assignment_out(row: dict[str, Any]) -> dict[str, Any]:
    is_open = row["open_device"] is not None
    expected = row["expected_return_on"]
    return {
        **row,
        "device_id": row["device"],
        "provider_id": row["provider"],
        "systems": [s for s in row["systems"].split("\n") if s],
        "open": is_open,
        "return_overdue": is_open and expected is not None and expected < _today(),
    }


async def _present(caller: Caller, rows: list[dict[str, Any]], via: str) -> list[dict[str, Any]]:
    """Assignments as this caller may see them. Holder details shown are logged, one entry per assignment with
    its provider, so a Privacy Act request can list every disclosure; for others they are null."""
    out = []
    for row in rows:
        item = _assignment_out(row)
        item["holder_visible"] = sees_holder(caller, item["provider_id"])
        if item["holder_visible"]:
            await access_log.append(caller, action="assignment.holder_read", record_type="assignment",
                                    record_id=item["id"], provider_id=item["provider_id"], detail=via)
        else:
            item.update(dict.fromkeys(HOLDER_FIELDS))
        out.append(item)
    return out


# --- devices ---------------------------------------------------------------------------------------


def _devices_for(query: Select, caller: Caller) -> Select:
    """A provider's people see only the devices their provider holds now."""
    if caller.is_provider_role:
        return query.where(Device.id.is_in(_open_assignments(caller)))
    return query


async def _device(caller: Caller, device_id: UUID) -> dict[str, Any]:
    row = await _devices_for(Device.select().where(Device.id == device_id), caller).first().run()
    return require_row(row, "device", device_id)


async def _with_holders(caller: Caller, devices: list[dict[str, Any]], via: str) -> list[dict[str, Any]]:
    ids = [d["id"] for d in devices]
    current: dict[str, dict[str, Any]] = {}
    if ids:
        rows = await scoped(_assignments().where(Assignment.open_device.is_in(ids)), Assignment.provider,
                            caller).order_by(Assignment.id).run()
        current = {str(a["device_id"]): a for a in await _present(caller, rows, via)}
    return [{**d, "current_assignment": current.get(str(d["id"]))} for d in devices]


async def _device_out(caller: Caller, device_id: UUID, via: str) -> dict[str, Any]:
    (device,) = await _with_holders(caller, [await _device(caller, device_id)], via)
    return device


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
        await _save(device.save().run, _tag_conflict(tag))
        audit.record_id = device.id
        return await _device_out(caller, device.id, "device.create")


async def get_device(caller: Caller, device_id: UUID) -> dict[str, Any]:
    policies.SEE_REGISTER.check(caller)
    async with access_log.audited(caller, "device.read", "device", device_id):
        return await _device_out(caller, device_id, "device.read")


async def update_device(caller: Caller, device_id: UUID, data: DeviceUpdate) -> dict[str, Any]:
    policies.EDIT_DEVICE.check(caller)
    changes = data.changes()
    async with access_log.audited(caller, "device.update", "device", device_id) as audit:
        current = await _device(caller, device_id)
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
            values[Device.updated_at] = _now()
            await _save(Device.update(values).where(Device.id == device_id).run,
                        _tag_conflict(changes.get("asset_tag", "")))
        return await _device_out(caller, device_id, "device.update")


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
        current = await _device(caller, device_id)
        old = DeviceStatus(current["status"])
        if status != old:
            refusal = status_refusal(old, status)
            if refusal:
                raise Invalid.field("status", f"cannot go from {old.value} to {status.value}: {refusal}")
            await Device.update({Device.status: status.value, Device.updated_at: _now()}).where(
                Device.id == device_id).run()
            audit.details.append(f"{old.value} -> {status.value}: {reason}")
        return await _device_out(caller, device_id, "device.status")


@dataclass(frozen=True)
class DeviceFilter:
    status: DeviceStatus | None = None
    kind: DeviceKind | None = None
    provider_id: UUID | None = None  # the provider holding it now
    encrypted: bool | None = None
    mdm_enrolled: bool | None = None
    q: str | None = None  # asset tag, serial, model; and the holder's name for those who may see holders


_DEVICE_SORT = {"asset_tag": Device.asset_tag, "kind": Device.kind, "status": Device.status, "model": Device.model,
                "created_at": Device.created_at, "updated_at": Device.updated_at}


def _device_clauses(caller: Caller, flt: DeviceFilter) -> list[Any]:
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
        clauses.append(Device.id.is_in(_open_assignments(caller).where(Assignment.provider == flt.provider_id)))
    if flt.q:
        text = flt.q.strip()
        match = db.contains(Device.asset_tag, text) | db.contains(Device.serial, text) | db.contains(Device.model, text)
        # Searching by name would tell someone who may not see holders who holds what: only for those who may.
        if policies.SEE_HOLDER_DETAILS.allows(caller):
            held = _open_assignments(caller).where(db.contains(Assignment.holder_name, text))
            match = match | Device.id.is_in(held)
        clauses.append(match)
    return clauses


async def search_devices(caller: Caller, flt: DeviceFilter, sort: DeviceSort, paging: Paging
                         ) -> tuple[list[dict[str, Any]], int]:
    policies.SEE_REGISTER.check(caller)
    column = _DEVICE_SORT[sort.value.lstrip("-")]
    return await page_of(caller, paging, Device.select(), Device.count(), action="device.list", record_type="device",
                         scope=_devices_for, where=_device_clauses(caller, flt),
                         order_by=[(column, not sort.value.startswith("-")), Device.id],
                         provider_id=caller.provider_id, present=lambda rows: _with_holders(caller, rows, "device.list"))


# --- check out, check in, transfer -----------------------------------------------------------------


def _unavailable(device: dict[str, Any]) -> Conflict:
    status = device["status"]
    why = ("it is already checked out: check it in or transfer it" if status == DeviceStatus.assigned.value
           else "only a device in stock can be checked out")
    return Conflict(f"Device {device['asset_tag']} is {status} and cannot be checked out: {why}.",
                    errors=[{"field": "status", "message": f"is {status}"}])


async def _check_out(caller: Caller, device_id: UUID, data: CheckOut, audit: Audit) -> dict[str, Any]:
    device = await _device(caller, device_id)
    if device["status"] != DeviceStatus.in_stock.value:
        raise _unavailable(device)
    if data.expected_return_on is not None and data.expected_return_on < data.starts_on:
        raise Invalid.field("expected_return_on", f"{data.expected_return_on} is before starts_on {data.starts_on}")
    provider = await Provider.select(Provider.name, Provider.status).where(
        Provider.id == data.provider_id).first().run()
    if provider is None:
        raise Invalid.field("provider_id", f"no provider with id {data.provider_id}")
    if provider["status"] not in ENGAGED_STATUSES:
        raise Invalid.field("provider_id", f"{provider['name']} is {provider['status']} and cannot receive devices")
    assignment = Assignment(
        device=device_id, open_device=device_id, provider=data.provider_id, holder_name=data.holder_name.strip(),
        holder_email=data.holder_email.strip().lower(), holder_phone=data.holder_phone.strip(),
        holder_role=data.holder_role.strip(), purpose=data.purpose.strip(),
        systems="\n".join(s.strip() for s in data.systems if s.strip()), starts_on=data.starts_on,
        expected_return_on=data.expected_return_on, created_by=caller.user_id,
    )
    await _save(assignment.save().run, _unavailable({**device, "status": DeviceStatus.assigned.value}))
    await Device.update({Device.status: DeviceStatus.assigned.value, Device.updated_at: _now()}).where(
        Device.id == device_id).run()
    audit.record_id, audit.provider_id = assignment.id, data.provider_id
    audit.details.append(f"device {device['asset_tag']} checked out")
    return await _assignments().where(Assignment.id == assignment.id).first().run()


async def _check_in(caller: Caller, device_id: UUID, data: CheckIn, audit: Audit) -> dict[str, Any]:
    if data.data_wiped and not data.wiped_by.strip():
        raise Invalid.field("wiped_by", "say who wiped the personal data from the device")
    device = await _device(caller, device_id)
    current = await _assignments().where(Assignment.open_device == device_id).first().run()
    if current is None:
        raise Conflict(f"Device {device['asset_tag']} is {device['status']}, not checked out: nothing to check in.",
                       errors=[{"field": "status", "message": f"is {device['status']}"}])
    if data.returned_on < current["starts_on"]:
        raise Invalid.field("returned_on", f"{data.returned_on} is before the assignment began on "
                                           f"{current['starts_on']}")
    if data.returned_on > _today() + DATE_SLACK:
        raise Invalid.field("returned_on", f"{data.returned_on} is in the future")
    closed = await Assignment.update({
        Assignment.returned_on: data.returned_on, Assignment.return_condition: data.condition.strip(),
        Assignment.data_wiped: data.data_wiped, Assignment.wiped_by: data.wiped_by.strip(),
        Assignment.closed_at: _now(), Assignment.open_device: None,
    }).where(Assignment.id == current["id"], Assignment.open_device.is_not_null()).returning(Assignment.id).run()
    if not closed:
        raise Conflict(f"Device {device['asset_tag']} was checked in by someone else meanwhile.",
                       errors=[{"field": "status", "message": "was checked in meanwhile"}])
    await Device.update({Device.status: data.device_status.value, Device.updated_at: _now()}).where(
        Device.id == device_id).run()
    audit.record_id, audit.provider_id = current["id"], current["provider"]
    audit.details.append(f"device {device['asset_tag']} checked in, data wiped: {'yes' if data.data_wiped else 'no'}")
    return await _assignments().where(Assignment.id == current["id"]).first().run()


async def check_out(caller: Caller, device_id: UUID, data: CheckOut) -> dict[str, Any]:
    policies.CHECK_OUT_DEVICE.check(caller)
    async with access_log.audited(caller, "assignment.check_out", "assignment") as audit:
        row = await _check_out(caller, device_id, data, audit)
        (out,) = await _present(caller, [row], "assignment.check_out")
        return out


async def check_in(caller: Caller, device_id: UUID, data: CheckIn) -> dict[str, Any]:
    policies.CHECK_IN_DEVICE.check(caller)
    async with access_log.audited(caller, "assignment.check_in", "assignment") as audit:
        row = await _check_in(caller, device_id, data, audit)
        (out,) = await _present(caller, [row], "assignment.check_in")
        return out


def _within(part: str, exc: DomainError) -> DomainError:
    """Name fields as they are in a transfer's body (check_in.returned_on, check_out.provider_id)."""
    if isinstance(exc, Invalid):
        exc.errors = [{**e, "field": f"{part}.{e['field']}"} for e in exc.errors]
    return exc


async def transfer(caller: Caller, device_id: UUID, data: Transfer) -> dict[str, Any]:
    """Check in from one holder and out to the next in one transaction: a refused check-out undoes the check-in."""
    policies.TRANSFER_DEVICE.check(caller)
    if data.check_in.device_status != ReturnStatus.in_stock:
        raise Invalid.field("check_in.device_status", "a transferred device goes straight to its next holder: "
                                                      "leave it in_stock, or check it in on its own")
    if data.check_out.starts_on < data.check_in.returned_on:
        raise Invalid.field("check_out.starts_on", f"{data.check_out.starts_on} is before the device came back "
                                                   f"on {data.check_in.returned_on}")
    async with access_log.audited(caller, "assignment.transfer", "assignment") as audit:
        try:
            returned = await _check_in(caller, device_id, data.check_in, audit)
        except DomainError as exc:
            raise _within("check_in", exc) from None
        try:
            assigned = await _check_out(caller, device_id, data.check_out, audit)
        except DomainError as exc:
            raise _within("check_out", exc) from None
        returned_out, assigned_out = await _present(caller, [returned, assigned], "assignment.transfer")
        return {"returned": returned_out, "assignment": assigned_out}


# --- assignments: lists, exceptions, history -------------------------------------------------------


@dataclass(frozen=True)
class AssignmentFilter:
    device_id: UUID | None = None
    provider_id: UUID | None = None
    open: bool | None = None


async def list_assignments(caller: Caller, flt: AssignmentFilter, paging: Paging
                           ) -> tuple[list[dict[str, Any]], int]:
    policies.SEE_REGISTER.check(caller)
    clauses = []
    if flt.device_id:
        clauses.append(Assignment.device == flt.device_id)
    if flt.provider_id:
        clauses.append(Assignment.provider == flt.provider_id)
    if flt.open is not None:
        clauses.append(Assignment.open_device.is_not_null() if flt.open else Assignment.open_device.is_null())
    return await page_of(caller, paging, _assignments(), Assignment.count(), action="assignment.list",
                         record_type="assignment", scope=Assignment.provider, where=clauses,
                         order_by=[(Assignment.starts_on, False), Assignment.id], provider_id=caller.provider_id,
                         present=lambda rows: _present(caller, rows, "assignment.list"))


async def get_assignment(caller: Caller, assignment_id: UUID) -> dict[str, Any]:
    policies.SEE_REGISTER.check(caller)
    async with access_log.audited(caller, "assignment.read", "assignment", assignment_id) as audit:
        row = await scoped(_assignments().where(Assignment.id == assignment_id), Assignment.provider,
                           caller).first().run()
        require_row(row, "assignment", assignment_id)
        audit.provider_id = row["provider"]
        (out,) = await _present(caller, [row], "assignment.read")
        return out


async def list_exceptions(caller: Caller, paging: Paging) -> tuple[list[dict[str, Any]], int]:
    """Open assignments that need attention: the provider holding the device is suspended or has exited, or the
    expected return date has passed."""
    policies.SEE_REGISTER.check(caller)
    needs_attention = (Assignment.open_device.is_not_null(),
                       Assignment.provider.status.is_in(list(DISENGAGED_STATUSES))
                       | (Assignment.expected_return_on < _today()))

    async def present(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows = await _present(caller, found, "assignment.exceptions")
        for row in rows:
            row["reasons"] = ([f"provider_{row['provider_status']}"] if row["provider_status"] in DISENGAGED_STATUSES
                              else []) + (["return_overdue"] if row["return_overdue"] else [])
        return rows

    return await page_of(caller, paging, _assignments(), Assignment.count(), action="assignment.exceptions",
                         record_type="assignment", scope=Assignment.provider, where=needs_attention,
                         order_by=[Assignment.starts_on, Assignment.id], provider_id=caller.provider_id,
                         present=present)


async def history(caller: Caller, device_id: UUID) -> dict[str, Any]:
    """Everyone who held the device and everything that happened to it; a provider's people see their own part."""
    policies.SEE_REGISTER.check(caller)
    async with access_log.audited(caller, "device.history", "device", device_id):
        device = await _device_out(caller, device_id, "device.history")
        rows = await scoped(_assignments().where(Assignment.device == device_id), Assignment.provider,
                            caller).order_by(Assignment.starts_on, ascending=False).order_by(
            Assignment.created_at, ascending=False).run()
        incidents = await scoped(_incidents().where(Incident.device == device_id), Incident.provider,
                                 caller).order_by(Incident.occurred_at, ascending=False).run()
        return {"device": device, "assignments": await _present(caller, rows, "device.history"),
                "incidents": await _incidents_out(incidents)}


# --- incidents and breach assessments --------------------------------------------------------------

_ASSESSMENT_COLUMNS = (
    *BreachAssessment.all_columns(),
    BreachAssessment.incident.kind.as_alias("incident_kind"),
    BreachAssessment.incident.device.asset_tag.as_alias("asset_tag"),
    BreachAssessment.incident.provider.as_alias("provider_id"),
    BreachAssessment.incident.occurred_at.as_alias("occurred_at"),
    BreachAssessment.incident.reported_at.as_alias("reported_at"),
)


def _incidents() -> Select:
    return Incident.select(*Incident.all_columns(), Incident.device.asset_tag.as_alias("asset_tag"))


def _hours_since(moment: datetime) -> float:
    return round((_now() - moment).total_seconds() / 3600, 1)


def _assessment_out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "incident_id": row["incident"], "hours_since_incident": _hours_since(row["occurred_at"]),
            "overdue": row["status"] == BreachStatus.open.value and row["due_at"] < _now()}


async def _incidents_out(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    assessments: dict[str, dict[str, Any]] = {}
    if rows:
        found = await BreachAssessment.select(*_ASSESSMENT_COLUMNS).where(
            BreachAssessment.incident.is_in([r["id"] for r in rows])).run()
        assessments = {str(a["incident"]): _assessment_out(a) for a in found}
    return [{**r, "device_id": r["device"], "assignment_id": r["assignment"], "provider_id": r["provider"],
             "hours_since_incident": _hours_since(r["occurred_at"]), "assessment": assessments[str(r["id"])]}
            for r in rows]


async def _incident(caller: Caller, incident_id: UUID) -> dict[str, Any]:
    row = await scoped(_incidents().where(Incident.id == incident_id), Incident.provider, caller).first().run()
    (out,) = await _incidents_out([require_row(row, "incident", incident_id)])
    return out


async def report_incident(caller: Caller, data: IncidentCreate) -> dict[str, Any]:
    """Lost or stolen closes the open assignment (the device did not come back: no return date) and marks the
    device. Every incident, a near miss too, starts a breach assessment with its clock."""
    policies.REPORT_INCIDENT.check(caller)
    now = _now()
    if data.occurred_at > now + CLOCK_SKEW:
        raise Invalid.field("occurred_at", f"{data.occurred_at.isoformat()} is in the future")
    async with access_log.audited(caller, "incident.report", "incident") as audit:
        device = await _device(caller, data.device_id)  # for a provider's people: held by their provider now
        current = await scoped(Assignment.select(Assignment.id, Assignment.provider).where(
            Assignment.open_device == data.device_id), Assignment.provider, caller).first().run()
        incident = Incident(
            device=data.device_id, assignment=current["id"] if current else None,
            provider=current["provider"] if current else None, kind=data.kind.value, occurred_at=data.occurred_at,
            reported_at=now, reported_by=data.reported_by.strip(), location=data.location.strip(),
            information_at_risk=data.information_at_risk.strip(), description=data.description,
            created_by=caller.user_id,
        )
        await incident.save().run()
        audit.record_id, audit.provider_id = incident.id, incident.provider
        audit.details.append(f"{data.kind.value}: device {device['asset_tag']}")
        if data.kind in LOSSES:
            if current:
                await Assignment.update({Assignment.closed_at: now, Assignment.open_device: None}).where(
                    Assignment.id == current["id"]).run()
                audit.details.append(f"assignment {current['id']} closed")
            # Retired is final: a retired device that goes missing keeps its status, the incident records the loss.
            if device["status"] != DeviceStatus.retired.value:
                await Device.update({Device.status: data.kind.value, Device.updated_at: now}).where(
                    Device.id == data.device_id).run()
        await BreachAssessment(incident=incident.id, due_at=now + timedelta(days=BREACH_ASSESSMENT_DAYS)).save().run()
        return await _incident(caller, incident.id)


async def get_incident(caller: Caller, incident_id: UUID) -> dict[str, Any]:
    policies.SEE_REGISTER.check(caller)
    async with access_log.audited(caller, "incident.read", "incident", incident_id) as audit:
        incident = await _incident(caller, incident_id)
        audit.provider_id = incident["provider_id"]
        return incident


@dataclass(frozen=True)
class IncidentFilter:
    kind: IncidentKind | None = None
    device_id: UUID | None = None
    provider_id: UUID | None = None
    since: date | None = None  # occurred on or after
    until: date | None = None  # occurred before


def _incident_clauses(flt: IncidentFilter) -> list[Any]:
    clauses = []
    if flt.kind:
        clauses.append(Incident.kind == flt.kind.value)
    if flt.device_id:
        clauses.append(Incident.device == flt.device_id)
    if flt.provider_id:
        clauses.append(Incident.provider == flt.provider_id)
    if flt.since:
        clauses.append(Incident.occurred_at >= datetime.combine(flt.since, datetime.min.time(), UTC))
    if flt.until:
        clauses.append(Incident.occurred_at < datetime.combine(flt.until, datetime.min.time(), UTC))
    return clauses


async def list_incidents(caller: Caller, flt: IncidentFilter, paging: Paging
                         ) -> tuple[list[dict[str, Any]], int]:
    policies.SEE_REGISTER.check(caller)
    return await page_of(caller, paging, _incidents(), Incident.count(), action="incident.list",
                         record_type="incident", scope=Incident.provider, where=_incident_clauses(flt),
                         order_by=[(Incident.reported_at, False), Incident.id], provider_id=caller.provider_id,
                         present=_incidents_out)


async def incident_summary(caller: Caller, flt: IncidentFilter) -> dict[str, Any]:
    """Counts for reporting: near misses apart from incidents; open, overdue and serious-harm assessments."""
    policies.SEE_REGISTER.check(caller)
    clauses = _incident_clauses(IncidentFilter(provider_id=flt.provider_id, since=flt.since, until=flt.until))
    async with access_log.audited(caller, "incident.summary", "incident", provider_id=caller.provider_id):
        query = scoped(Incident.select(Incident.kind), Incident.provider, caller)
        kinds = await (query.where(*clauses) if clauses else query).run()
        by_kind = {k.value: 0 for k in IncidentKind}
        for row in kinds:
            by_kind[row["kind"]] += 1
        assessments = scoped(BreachAssessment.select(BreachAssessment.status, BreachAssessment.due_at,
                                                     BreachAssessment.serious_harm_likely),
                             BreachAssessment.incident.provider, caller)
        incident_ids = scoped(Incident.select(Incident.id), Incident.provider, caller)
        if clauses:
            assessments = assessments.where(BreachAssessment.incident.is_in(incident_ids.where(*clauses)))
        found = await assessments.run()
        now = _now()
        return {
            "incidents": len(kinds) - by_kind[IncidentKind.near_miss.value],
            "near_misses": by_kind[IncidentKind.near_miss.value],
            "by_kind": by_kind,
            "open_assessments": sum(a["status"] == BreachStatus.open.value for a in found),
            "overdue_assessments": sum(a["status"] == BreachStatus.open.value and a["due_at"] < now for a in found),
            "serious_harm": sum(a["serious_harm_likely"] is True for a in found),
        }


# --- breach assessments ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AssessmentFilter:
    status: BreachStatus | None = None
    overdue: bool | None = None
    serious_harm_likely: bool | None = None


async def list_assessments(caller: Caller, flt: AssessmentFilter, paging: Paging
                           ) -> tuple[list[dict[str, Any]], int]:
    policies.SEE_BREACH_ASSESSMENTS.check(caller)
    now = _now()
    clauses = []
    if flt.status:
        clauses.append(BreachAssessment.status == flt.status.value)
    if flt.overdue is True:
        clauses.append((BreachAssessment.status == BreachStatus.open.value) & (BreachAssessment.due_at < now))
    elif flt.overdue is False:
        clauses.append((BreachAssessment.status != BreachStatus.open.value) | (BreachAssessment.due_at >= now))
    if flt.serious_harm_likely is not None:
        clauses.append(BreachAssessment.serious_harm_likely == flt.serious_harm_likely)
    return await page_of(caller, paging, BreachAssessment.select(*_ASSESSMENT_COLUMNS), BreachAssessment.count(),
                         action="breach_assessment.list", record_type="breach_assessment",
                         scope=BreachAssessment.incident.provider, where=clauses,
                         order_by=[BreachAssessment.due_at, BreachAssessment.id], provider_id=caller.provider_id,
                         present=lambda rows: [_assessment_out(r) for r in rows])


async def _assessment(caller: Caller, assessment_id: UUID) -> dict[str, Any]:
    row = await scoped(BreachAssessment.select(*_ASSESSMENT_COLUMNS).where(BreachAssessment.id == assessment_id),
                       BreachAssessment.incident.provider, caller).first().run()
    return _assessment_out(require_row(row, "breach assessment", assessment_id))


async def get_assessment(caller: Caller, assessment_id: UUID) -> dict[str, Any]:
    policies.SEE_BREACH_ASSESSMENTS.check(caller)
    async with access_log.audited(caller, "breach_assessment.read", "breach_assessment", assessment_id) as audit:
        row = await _assessment(caller, assessment_id)
        audit.provider_id = row["provider_id"]
        return row


def _check_notified(field: str, when: datetime | None, occurred_at: datetime) -> None:
    if when is None:
        return
    if when > _now() + CLOCK_SKEW:
        raise Invalid.field(field, f"{when.isoformat()} is in the future")
    if when < occurred_at:
        raise Invalid.field(field, f"{when.isoformat()} is before the incident ({occurred_at.isoformat()})")


async def update_assessment(caller: Caller, assessment_id: UUID, data: BreachAssessmentUpdate) -> dict[str, Any]:
    policies.UPDATE_BREACH_ASSESSMENT.check(caller)
    changes = data.changes()
    async with access_log.audited(caller, "breach_assessment.update", "breach_assessment", assessment_id) as audit:
        current = await _assessment(caller, assessment_id)
        audit.provider_id = current["provider_id"]
        if current["status"] != BreachStatus.open.value:
            raise Conflict("This breach assessment is closed and cannot be changed.",
                           errors=[{"field": "status", "message": "is closed"}])
        for field in ("commissioner_notified_at", "individuals_notified_at"):
            _check_notified(field, changes.get(field), current["occurred_at"])
        values: dict[Any, Any] = {BreachAssessment._meta.get_column_by_name(f): v for f, v in changes.items()}
        if "serious_harm_likely" in changes:
            values[BreachAssessment.assessed_at] = _now()
            values[BreachAssessment.assessed_by] = caller.user_id
        if values:
            audit.details.append("changed " + ", ".join(sorted(changes)))
            await BreachAssessment.update(values).where(BreachAssessment.id == assessment_id).run()
        return await _assessment(caller, assessment_id)


def closing_errors(assessment: dict[str, Any]) -> list[dict[str, str]]:
    """What an assessment lacks before it may close: the decision, and for serious harm both notifications."""
    if assessment["serious_harm_likely"] is None:
        return [{"field": "serious_harm_likely", "message": "decide whether serious harm is likely first"}]
    if not assessment["serious_harm_likely"]:
        return []
    return [{"field": field, "message": f"serious harm is likely: record when {who} were notified"}
            for field, who in (("commissioner_notified_at", "the Privacy Commissioner"),
                               ("individuals_notified_at", "the affected people"))
            if assessment[field] is None]


async def close_assessment(caller: Caller, assessment_id: UUID) -> dict[str, Any]:
    policies.CLOSE_BREACH_ASSESSMENT.check(caller)
    async with access_log.audited(caller, "breach_assessment.close", "breach_assessment", assessment_id) as audit:
        current = await _assessment(caller, assessment_id)
        audit.provider_id = current["provider_id"]
        if current["status"] != BreachStatus.open.value:
            raise Conflict("This breach assessment is already closed.",
                           errors=[{"field": "status", "message": "is closed"}])
        errors = closing_errors(current)
        if errors:
            raise Invalid("The breach assessment cannot close yet: " + "; ".join(
                f"{e['field']}: {e['message']}" for e in errors), errors=errors)
        await BreachAssessment.update({BreachAssessment.status: "closed"}).where(
            BreachAssessment.id == assessment_id).run()
        audit.details.append("serious harm likely" if current["serious_harm_likely"] else "no serious harm")
        return await _assessment(caller, assessment_id)
