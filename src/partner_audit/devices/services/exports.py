"""The register out as .xlsx or .csv: the devices the caller may see with their current holders, and every
device one person has held. Columns as the import reads them (``xlsx.register``), so an export edited and
imported again changes only what was edited. Holder details only for those who may see them, and logged as
every other read of them is (``visibility.present``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date

import msgspec

from partner_audit.api import Email
from partner_audit.devices.schemas import DeviceFilter
from partner_audit.devices.services.register import device_clauses
from partner_audit.devices.services.visibility import ASSIGNMENT_COLUMNS, present, visible_devices, with_holders
from partner_audit.devices.tables import Assignment, Device
from partner_audit.devices.xlsx import register as xlsx
from partner_audit.errors import Invalid
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller
from partner_audit.security.tenancy import scoped
from partner_audit.spreadsheets import ExportFormat, RowWriter

PAGE = 500  # devices read at a time


@dataclass(frozen=True)
class Export:
    content: bytes
    rows: int
    filename: str
    fmt: ExportFormat

    @property
    def media_type(self) -> str:
        return self.fmt.media_type


def _named(stem: str, fmt: ExportFormat) -> str:
    return f"{stem}-{date.today().isoformat()}.{fmt.value}"


async def export_register(caller: Caller, fmt: ExportFormat, flt: DeviceFilter | None = None) -> Export:
    """The devices the caller may see, each with its current holder."""
    policies.SEE_REGISTER.check(caller)
    flt = flt or DeviceFilter()
    # Holder columns: for those who may see holders at all (a provider admin sees only their own provider's).
    holders = policies.SEE_HOLDER_DETAILS.allows(caller)
    writer = RowWriter(fmt, "Devices", xlsx.register_headers(holders))
    count, last = 0, None
    async with access_log.audited(caller, "device.export", "device", provider_id=caller.provider_id,
                                  writes=False) as audit:
        clauses = device_clauses(caller, flt)
        while True:
            query = visible_devices(Device.select(), caller).order_by(Device.asset_tag).limit(PAGE)
            if clauses:
                query = query.where(*clauses)
            if last is not None:
                query = query.where(Device.asset_tag > last)
            devices = await query.run()
            if not devices:
                break
            last = devices[-1]["asset_tag"]
            for device in await with_holders(caller, devices, "device.export"):
                writer.append(xlsx.register_row(device, holders))
                count += 1
        audit.details.append(f"{fmt.value}: {count} devices" + ("" if holders else ", holder details left out"))
    return Export(await asyncio.to_thread(writer.finish), count, _named("device-register", fmt), fmt)


async def export_history(caller: Caller, holder_email: str, fmt: ExportFormat) -> Export:
    """Every device one person has held (by their email), newest first. Only for those who may see holders; a
    provider admin gets their own provider's part of it."""
    policies.SEE_HOLDER_DETAILS.check(caller)
    email = holder_email.strip().lower()
    try:
        msgspec.convert(email, Email)
    except msgspec.ValidationError:
        raise Invalid.field("holder_email", f'"{holder_email}" is not an email address') from None
    writer = RowWriter(fmt, "History", xlsx.HISTORY_HEADERS)
    async with access_log.audited(caller, "assignment.history_export", "assignment",
                                  provider_id=caller.provider_id, writes=False) as audit:
        query = Assignment.select(
            *ASSIGNMENT_COLUMNS, Assignment.device.kind.as_alias("kind"),
            Assignment.device.make.as_alias("make"), Assignment.device.model.as_alias("model"),
            Assignment.device.serial.as_alias("serial"),
        ).where(Assignment.holder_email == email)
        rows = await scoped(query, Assignment.provider, caller).order_by(
            Assignment.starts_on, ascending=False).order_by(Assignment.created_at, ascending=False).run()
        for row in await present(caller, rows, "assignment.history_export"):
            writer.append(xlsx.history_row(row))
        audit.details.append(f"{fmt.value}: {len(rows)} assignments of one holder")
    return Export(await asyncio.to_thread(writer.finish), len(rows), _named("device-history", fmt), fmt)
