"""Bulk import of devices and their current assignments from an .xlsx or .csv register, in four steps:

1. **Headers** are matched to fields, and 2. **cells** parsed, by ``xlsx.register`` (in a worker thread,
   streaming the file, outside any transaction).
3. **Rows** are checked all at once against the register as it is, with the register's own rules (the services'
   and ``schemas``: lengths, email form, which statuses may be set by hand, only a device in stock goes out, only
   an onboarding or active provider receives devices). Each problem names its row and column:
   ``row 14, column "Expected Checkin": "31/02/2025" is not a date``. Row numbers are the spreadsheet's own (the
   header is row 1).
4. **Apply**: everything or nothing, in one transaction, upserting on asset tag: each kind of write is one
   statement run for many rows on the transaction's own connection (``_Bulk``: sqlite3's executemany, asyncpg's
   COPY for new rows), since Piccolo building an INSERT's text value by value took a quarter of a large import.
   A dry run stops before writing and returns what would change, row by row.

Upsert rules. A blank cell leaves the device's or the open assignment's value as it is (a new device gets the
default). Filling the holder ("Checked Out To", "Email" or "Provider"; in a Snipe-IT export the "Checked Out To:"
name, email and username columns, with "Company" as the provider) checks the device out to that person: the
same email at the same provider keeps (or updates) the open assignment; another person is a transfer (the open
assignment closes on the new one's start date, its condition and wipe left for the register to record). A
status of in stock, in repair or retired on a device that is out checks it in on the import's day. Lost and
stolen come from incidents, never from a file.

A row that names a holder is never dropped: if it cannot check the device out (no provider matches its Company,
no email, the device is lost or retired, no purpose and no ``default_purpose``) it is an error naming its row,
and nothing is imported. A row checked out to a place, not a person, is a warning naming its row. The report
lists, row by row, what the preview would change or what the import changed, and counts the rows whose check-out
took the default purpose.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import msgspec

from partner_audit import spreadsheets
from partner_audit.api import LINES, Input, text
from partner_audit.devices.services.imports.planning import Plan, Planned, Providers, plan
from partner_audit.devices.services.imports.writing import _apply, _chunks
from partner_audit.devices.tables import Assignment, Device
from partner_audit.devices.xlsx import register as xlsx
from partner_audit.devices.xlsx.reading import Source
from partner_audit.devices.xlsx.register import Sheet
from partner_audit.errors import DomainError, Invalid
from partner_audit.providers.tables import Provider
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller

__all__ = ["MAX_CHANGES_SHOWN", "MAX_ERRORS_SHOWN", "Plan", "Planned", "Providers", "import_devices", "plan"]

MAX_ERRORS_SHOWN = 500
# Rows listed in ``changes``: a preview of a whole register is read on screen, and 200,000 rows of it would be
# tens of megabytes of JSON; the counts beside it are whole.
MAX_CHANGES_SHOWN = 10_000

async def _current(tags: list[str]) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    devices: dict[str, dict[str, Any]] = {}
    for part in _chunks(tags):
        for row in await Device.select().where(Device.asset_tag.is_in(part)).run():
            devices[row["asset_tag"]] = row
    held: dict[str, dict[str, Any]] = {}
    for part in _chunks([d["id"] for d in devices.values()]):
        for row in await Assignment.select().where(Assignment.open_device.is_in(part)).run():
            held[str(row["device"])] = row
    return devices, held


async def _providers() -> Providers:
    return Providers(await Provider.select(Provider.id, Provider.name, Provider.nzbn, Provider.status).run())


def _use_providers(sheet: Sheet, providers: Providers) -> None:
    """Each row's provider as ``providers`` has it now (its status may have changed since the file was read)."""
    for row in sheet.rows:
        if "provider" in row.values:
            row.values["provider"] = providers.by_id.get(str(row.values["provider"]["id"]), row.values["provider"])


def _summary(source: Source, sheet: Sheet, result: Plan, dry_run: bool, applied: bool) -> dict[str, Any]:
    def count(attr: str, value: str) -> int:
        return sum(getattr(p, attr) == value for p in result.rows)

    return {
        "file": source.name, "dry_run": dry_run, "applied": applied, "columns": sheet.headers,
        "ignored_columns": sheet.ignored,
        "ignored_column_count": sheet.ignored_count, "rows": len(sheet.rows), "created": count("action", "create"),
        "updated": count("action", "update"), "unchanged": count("action", "unchanged"),
        "assignments": {a: count("assignment", a) for a in ("keep", "update", "check_out", "transfer", "check_in")},
        "errors": result.errors[:MAX_ERRORS_SHOWN], "error_count": len(result.errors),
        "warnings": result.warnings[:MAX_ERRORS_SHOWN], "warning_count": len(result.warnings),
        "default_purpose_rows": sum(p.default_purpose for p in result.rows),
        # Row by row, what the preview would do or the import did; rows it leaves as they were are left out
        # once applied (a re-import of a whole register changes a few rows of thousands).
        "changes": [{"row": p.number, "asset_tag": p.asset_tag, "action": p.action, "changes": p.changes,
                     "assignment": p.assignment, "default_purpose": p.default_purpose} for p in result.rows
                    if dry_run or p.action != "unchanged" or p.assignment not in ("none", "keep")][:MAX_CHANGES_SHOWN],
    }


def _refusal(source: Source, sheet: Sheet, result: Plan) -> Invalid:
    shown = "; ".join(f"{e['field']}: {e['message']}" for e in result.errors[:10])
    more = f"; and {len(result.errors) - 10} more" if len(result.errors) > 10 else ""
    return Invalid(f"{source.name}: {len(result.errors)} problem(s), so nothing was imported: {shown}{more}",
                   errors=result.errors[:MAX_ERRORS_SHOWN], error_count=len(result.errors),
                   warnings=result.warnings[:MAX_ERRORS_SHOWN], warning_count=len(result.warnings),
                   ignored_columns=sheet.ignored, ignored_column_count=sheet.ignored_count)


def _default_purpose(value: str | None) -> str:
    """The purpose a check-out takes when its row has none (a Snipe-IT export has no such column), held to the
    check-out's own rule for a purpose."""
    if value is None or not value.strip():
        return ""
    try:
        return msgspec.convert({"purpose": value.strip()}, _Purpose).purpose
    except msgspec.ValidationError as exc:
        said = str(exc).split(" - at ")[0]
        longest = re.match(r"Expected `str` of length <= (\d+)", said)
        raise Invalid.field("default_purpose", f"is longer than {longest.group(1)} characters" if longest
                            else said.removeprefix("field `purpose` ")) from None


class _Purpose(Input):
    purpose: text(2000, characters=LINES)


async def import_devices(caller: Caller, source: Source, *, dry_run: bool = False,
                         progress: Callable[..., Iterable[Any]] | None = None,
                         default_purpose: str | None = None) -> dict[str, Any]:
    """Check every row, then apply all of them or none (see the module's notes). ``progress``: the command
    line's ``partner_audit.progress.progress``, to show reading and writing as they go. ``default_purpose``:
    what a device checked out by a row without a purpose is for; the report counts the rows that used it."""
    policies.IMPORT_DEVICES.check(caller)
    action = "device.import_preview" if dry_run else "device.import"
    today = datetime.now(UTC).date()
    # Read, parse and plan against the register as it is, outside any transaction: a large file takes seconds
    # and a transaction would hold every other writer (on SQLite, everyone signing in) for all of them.
    try:
        purpose = _default_purpose(default_purpose)
        providers = await _providers()
        sheet = await spreadsheets.in_worker(xlsx.parse, source, providers.find, progress)
        tags = list({r.values["asset_tag"] for r in sheet.rows if "asset_tag" in r.values})
        current, held = await _current(tags)
        result = await spreadsheets.in_worker(plan, sheet, current, held, today, purpose)
    except DomainError as exc:
        await access_log.record_refusal(caller, action, "device", None, None, exc)
        raise
    async with access_log.audited(caller, action, "device") as audit:
        if not dry_run:
            # The writes rest on the plan: read again, in the transaction, what it was made from, and plan again
            # only if someone changed the register or a provider meanwhile.
            providers_now = await _providers()
            current_now, held_now = await _current(tags)
            if (current_now, held_now, providers_now.by_id) != (current, held, providers.by_id):
                _use_providers(sheet, providers_now)
                result = await spreadsheets.in_worker(plan, sheet, current_now, held_now, today, purpose)
        audit.details.append(f"{source.name}: {len(sheet.rows)} rows, {len(result.errors)} problem(s)")
        if result.errors and not dry_run:
            raise _refusal(source, sheet, result)
        if not dry_run:
            await _apply(caller, result, progress)
        summary = _summary(source, sheet, result, dry_run, applied=not dry_run)
        audit.details.append(", ".join(f"{k} {summary[k]}" for k in ("created", "updated", "unchanged")) + "; "
                             + ", ".join(f"{k} {n}" for k, n in summary["assignments"].items() if n)
                             + (f"; default purpose on {summary['default_purpose_rows']} row(s)"
                                if summary["default_purpose_rows"] else "")
                             + (f"; {summary['warning_count']} warning(s)" if summary["warning_count"] else ""))
        return summary
