"""Who holds a device: checking it out to a provider's person, in again, and across to the next holder; the
assignments and their exceptions; a device's history.

One open assignment per device, enforced by the database: ``Assignment.open_device`` holds the device id while the
assignment is open and NULL once it closes, under a UNIQUE index. The service checks first for a clear message;
the index settles a race the check lost.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from partner_audit.api import Paging
from partner_audit.devices.schemas import AssignmentFilter, CheckIn, CheckOut, DeviceStatus, ReturnStatus, Transfer
from partner_audit.devices.services.incidents import incidents_out, select_incidents
from partner_audit.devices.services.register import save_unique
from partner_audit.devices.services.visibility import device_out, find_device, present, select_assignments
from partner_audit.devices.tables import Assignment, Device, Incident
from partner_audit.errors import Conflict, DomainError, Invalid
from partner_audit.providers.schemas import DISENGAGED_STATUSES, ENGAGED_STATUSES
from partner_audit.providers.tables import Provider
from partner_audit.security import access_log, policies
from partner_audit.security.access_log import Audit
from partner_audit.security.caller import Caller
from partner_audit.security.tenancy import page_of, require_row, scoped

# Nobody types a date more than a day ahead of UTC (New Zealand is at most 13 hours ahead).
DATE_SLACK = timedelta(days=1)


def _unavailable(device: dict[str, Any]) -> Conflict:
    status = device["status"]
    why = ("it is already checked out: check it in or transfer it" if status == DeviceStatus.assigned.value
           else "only a device in stock can be checked out")
    return Conflict(f"Device {device['asset_tag']} is {status} and cannot be checked out: {why}.",
                    errors=[{"field": "status", "message": f"is {status}"}])


async def _check_out(caller: Caller, device_id: UUID, data: CheckOut, audit: Audit) -> dict[str, Any]:
    device = await find_device(caller, device_id)
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
    await save_unique(assignment.save().run, _unavailable({**device, "status": DeviceStatus.assigned.value}))
    await Device.update({Device.status: DeviceStatus.assigned.value, Device.updated_at: datetime.now(UTC)}).where(
        Device.id == device_id).run()
    audit.record_id, audit.provider_id = assignment.id, data.provider_id
    audit.details.append(f"device {device['asset_tag']} checked out")
    return await select_assignments().where(Assignment.id == assignment.id).first().run()


async def _check_in(caller: Caller, device_id: UUID, data: CheckIn, audit: Audit) -> dict[str, Any]:
    if data.data_wiped and not data.wiped_by.strip():
        raise Invalid.field("wiped_by", "say who wiped the personal data from the device")
    device = await find_device(caller, device_id)
    current = await select_assignments().where(Assignment.open_device == device_id).first().run()
    if current is None:
        raise Conflict(f"Device {device['asset_tag']} is {device['status']}, not checked out: nothing to check in.",
                       errors=[{"field": "status", "message": f"is {device['status']}"}])
    if data.returned_on < current["starts_on"]:
        raise Invalid.field("returned_on", f"{data.returned_on} is before the assignment began on "
                                           f"{current['starts_on']}")
    if data.returned_on > datetime.now(UTC).date() + DATE_SLACK:
        raise Invalid.field("returned_on", f"{data.returned_on} is in the future")
    closed = await Assignment.update({
        Assignment.returned_on: data.returned_on, Assignment.return_condition: data.condition.strip(),
        Assignment.data_wiped: data.data_wiped, Assignment.wiped_by: data.wiped_by.strip(),
        Assignment.closed_at: datetime.now(UTC), Assignment.open_device: None,
    }).where(Assignment.id == current["id"], Assignment.open_device.is_not_null()).returning(Assignment.id).run()
    if not closed:
        raise Conflict(f"Device {device['asset_tag']} was checked in by someone else meanwhile.",
                       errors=[{"field": "status", "message": "was checked in meanwhile"}])
    await Device.update({Device.status: data.device_status.value, Device.updated_at: datetime.now(UTC)}).where(
        Device.id == device_id).run()
    audit.record_id, audit.provider_id = current["id"], current["provider"]
    audit.details.append(f"device {device['asset_tag']} checked in, data wiped: {'yes' if data.data_wiped else 'no'}")
    return await select_assignments().where(Assignment.id == current["id"]).first().run()


async def check_out(caller: Caller, device_id: UUID, data: CheckOut) -> dict[str, Any]:
    policies.CHECK_OUT_DEVICE.check(caller)
    async with access_log.audited(caller, "assignment.check_out", "assignment") as audit:
        row = await _check_out(caller, device_id, data, audit)
        (out,) = await present(caller, [row], "assignment.check_out")
        return out


async def check_in(caller: Caller, device_id: UUID, data: CheckIn) -> dict[str, Any]:
    policies.CHECK_IN_DEVICE.check(caller)
    async with access_log.audited(caller, "assignment.check_in", "assignment") as audit:
        row = await _check_in(caller, device_id, data, audit)
        (out,) = await present(caller, [row], "assignment.check_in")
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
        returned_out, assigned_out = await present(caller, [returned, assigned], "assignment.transfer")
        return {"returned": returned_out, "assignment": assigned_out}


# --- assignments: lists, exceptions, history -------------------------------------------------------


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
    return await page_of(caller, paging, select_assignments(), Assignment.count(), action="assignment.list",
                         record_type="assignment", scope=Assignment.provider, where=clauses,
                         order_by=[(Assignment.starts_on, False), Assignment.id], provider_id=caller.provider_id,
                         present=lambda rows: present(caller, rows, "assignment.list"))


async def get_assignment(caller: Caller, assignment_id: UUID) -> dict[str, Any]:
    policies.SEE_REGISTER.check(caller)
    async with access_log.audited(caller, "assignment.read", "assignment", assignment_id, writes=False) as audit:
        row = await scoped(select_assignments().where(Assignment.id == assignment_id), Assignment.provider,
                           caller).first().run()
        require_row(row, "assignment", assignment_id)
        audit.provider_id = row["provider"]
        (out,) = await present(caller, [row], "assignment.read")
        return out


async def list_exceptions(caller: Caller, paging: Paging) -> tuple[list[dict[str, Any]], int]:
    """Open assignments that need attention: the provider holding the device is suspended or has exited, or the
    expected return date has passed."""
    policies.SEE_REGISTER.check(caller)
    needs_attention = (Assignment.open_device.is_not_null(),
                       Assignment.provider.status.is_in(list(DISENGAGED_STATUSES))
                       | (Assignment.expected_return_on < datetime.now(UTC).date()))

    async def with_reasons(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows = await present(caller, found, "assignment.exceptions")
        for row in rows:
            row["reasons"] = ([f"provider_{row['provider_status']}"] if row["provider_status"] in DISENGAGED_STATUSES
                              else []) + (["return_overdue"] if row["return_overdue"] else [])
        return rows

    return await page_of(caller, paging, select_assignments(), Assignment.count(), action="assignment.exceptions",
                         record_type="assignment", scope=Assignment.provider, where=needs_attention,
                         order_by=[Assignment.starts_on, Assignment.id], provider_id=caller.provider_id,
                         present=with_reasons)


async def history(caller: Caller, device_id: UUID) -> dict[str, Any]:
    """Everyone who held the device and everything that happened to it; a provider's people see their own part."""
    policies.SEE_REGISTER.check(caller)
    async with access_log.audited(caller, "device.history", "device", device_id, writes=False):
        device = await device_out(caller, device_id, "device.history")
        rows = await scoped(select_assignments().where(Assignment.device == device_id), Assignment.provider,
                            caller).order_by(Assignment.starts_on, ascending=False).order_by(
            Assignment.created_at, ascending=False).run()
        incidents = await scoped(select_incidents().where(Incident.device == device_id), Incident.provider,
                                 caller).order_by(Incident.occurred_at, ascending=False).run()
        return {"device": device, "assignments": await present(caller, rows, "device.history"),
                "incidents": await incidents_out(incidents)}
