"""What a caller sees of the register, shared by every part of it.

* A provider's people see the devices their provider holds now, and only their provider's assignments and
  incidents (``scoped``).
* Holder details (name, email, phone) are personal information: shown to partnerships, admin and the holder's
  own provider admins only (``policies.SEE_HOLDER_DETAILS``), and each response that shows them is in the access
  log with the assignment and its provider, so a Privacy Act request can list every disclosure. Everyone else
  gets them as null.
* One exception, for the audits of issue 11: an auditor on a device spot-check's team sees the holder details of
  the assignments in that audit's sample while the audit is in progress, and of no other (``sample_grants``);
  wherever the register shows such an assignment, and in the sample itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from piccolo.query import Select

from partner_audit.devices.tables import Assignment, Device
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller
from partner_audit.security.tenancy import can_see_provider, require_row, scoped

HOLDER_FIELDS = ("holder_name", "holder_email", "holder_phone")


def sees_holder(caller: Caller, provider_id: UUID | str) -> bool:
    """Whether the caller sees the details of a holder at ``provider_id``: the policy's roles, and a provider's
    people only for their own provider."""
    return policies.SEE_HOLDER_DETAILS.allows(caller) and can_see_provider(caller, provider_id)


async def sample_grants(caller: Caller, assignment_ids: list[Any]) -> dict[str, str]:
    """Of ``assignment_ids``, those the caller sees the holder of only because they are in the sample of a device
    spot-check in progress that the caller is on (its lead or another of its auditors): assignment id -> audit id.
    Those who already see holders (``sees_holder``) and those who may not check a sample get nothing here."""
    if (caller.user_id is None or not assignment_ids or policies.SEE_HOLDER_DETAILS.allows(caller)
            or not policies.RECORD_SPOT_CHECK.allows(caller)):
        return {}
    # The register reads the audits' tables here and nowhere else: the one rule of theirs it must apply. Imported
    # late, as audits come after devices (audits.tables imports devices.tables).
    from partner_audit.audits.schemas import AuditStatus
    from partner_audit.audits.tables import AuditAuditor, SpotCheckItem

    on_team = AuditAuditor.select(AuditAuditor.audit).where(AuditAuditor.auditor == caller.user_id)
    rows = await SpotCheckItem.select(SpotCheckItem.assignment, SpotCheckItem.audit).where(
        SpotCheckItem.assignment.is_in([str(i) for i in assignment_ids]),
        SpotCheckItem.audit.status == AuditStatus.in_progress.value,
        (SpotCheckItem.audit.lead_auditor == caller.user_id) | SpotCheckItem.audit.is_in(on_team),
    ).run()
    return {str(r["assignment"]): str(r["audit"]) for r in rows}


# --- assignments as they leave the service ---------------------------------------------------------

ASSIGNMENT_COLUMNS = (
    *Assignment.all_columns(),
    Assignment.device.asset_tag.as_alias("asset_tag"),
    Assignment.provider.name.as_alias("provider_name"),
    Assignment.provider.status.as_alias("provider_status"),
)


def select_assignments() -> Select:
    return Assignment.select(*ASSIGNMENT_COLUMNS)


def open_assignments(caller: Caller) -> Select:
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
        "return_overdue": is_open and expected is not None and expected < datetime.now(UTC).date(),
    }


async def present(caller: Caller, rows: list[dict[str, Any]], via: str) -> list[dict[str, Any]]:
    """Assignments as this caller may see them. Holder details shown are logged, one entry per assignment with
    its provider, so a Privacy Act request can list every disclosure; for others they are null."""
    out = []
    sampled = await sample_grants(caller, [row["id"] for row in rows])
    for row in rows:
        item = _assignment_out(row)
        audit_id = sampled.get(str(item["id"]))
        item["holder_visible"] = sees_holder(caller, item["provider_id"]) or audit_id is not None
        if item["holder_visible"]:
            detail = via if audit_id is None else f"{via}; in the spot-check sample of audit {audit_id}"
            await access_log.append(caller, action="assignment.holder_read", record_type="assignment",
                                    record_id=item["id"], provider_id=item["provider_id"], detail=detail)
        else:
            item.update(dict.fromkeys(HOLDER_FIELDS))
        out.append(item)
    return out


# --- devices as they leave the service -------------------------------------------------------------


def visible_devices(query: Select, caller: Caller) -> Select:
    """A provider's people see only the devices their provider holds now."""
    if caller.is_provider_role:
        return query.where(Device.id.is_in(open_assignments(caller)))
    return query


async def find_device(caller: Caller, device_id: UUID) -> dict[str, Any]:
    row = await visible_devices(Device.select().where(Device.id == device_id), caller).first().run()
    return require_row(row, "device", device_id)


async def with_holders(caller: Caller, devices: list[dict[str, Any]], via: str) -> list[dict[str, Any]]:
    """Each device with its open assignment (``current_assignment``) as the caller may see it."""
    ids = [d["id"] for d in devices]
    current: dict[str, dict[str, Any]] = {}
    if ids:
        rows = await scoped(select_assignments().where(Assignment.open_device.is_in(ids)), Assignment.provider,
                            caller).order_by(Assignment.id).run()
        current = {str(a["device_id"]): a for a in await present(caller, rows, via)}
    return [{**d, "current_assignment": current.get(str(d["id"]))} for d in devices]


async def device_out(caller: Caller, device_id: UUID, via: str) -> dict[str, Any]:
    (device,) = await with_holders(caller, [await find_device(caller, device_id)], via)
    return device
