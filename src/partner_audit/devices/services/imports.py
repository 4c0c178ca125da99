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

import os
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

import msgspec
from piccolo.columns import Date, Timestamptz
from piccolo.columns.defaults.base import Default
from piccolo.table import Table

from partner_audit import db, spreadsheets
from partner_audit.devices.schemas import CheckOut, DeviceStatus, DeviceUpdate, ReturnStatus
from partner_audit.devices.services.register import status_refusal
from partner_audit.devices.tables import Assignment, Device
from partner_audit.devices.xlsx import register as xlsx
from partner_audit.devices.xlsx.reading import Source
from partner_audit.devices.xlsx.register import CellError, Row, Sheet, header_of
from partner_audit.api import LINES, Input, text
from partner_audit.errors import Conflict, DomainError, Invalid
from partner_audit.providers.schemas import ENGAGED_STATUSES
from partner_audit.providers.tables import Provider
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller

MAX_ERRORS_SHOWN = 500
# Rows listed in ``changes``: a preview of a whole register is read on screen, and 200,000 rows of it would be
# tens of megabytes of JSON; the counts beside it are whole.
MAX_CHANGES_SHOWN = 10_000
CHUNK = 5000  # tags per lookup (``IN (...)``): under both databases' limits on parameters (32,766)
WRITE_CHUNK = 5000  # rows per bulk write, so progress moves on a large file
DEVICE_FIELDS = ("serial", "kind", "make", "model", "encrypted", "mdm_enrolled", "notes")
ASSIGNMENT_FIELDS = ("holder_name", "holder_email", "holder_phone", "provider", "holder_role", "purpose", "systems",
                     "starts_on", "expected_return_on")
# Filling any of these says who holds the device.
HOLDER_KEYS = ("holder_name", "holder_email", "holder_username", "provider")
# Statuses a device may come back to (a check-in's).
RETURN_STATUSES = frozenset(DeviceStatus(s.value) for s in ReturnStatus)


class Providers:
    """Providers found by NZBN (spaces and dashes ignored) or by name (case ignored)."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.by_id = {str(r["id"]): r for r in rows}
        self.by_nzbn = {r["nzbn"]: r for r in rows}
        self.by_name: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            self.by_name.setdefault(row["name"].strip().casefold(), []).append(row)
        self.found: dict[str, dict[str, Any]] = {}  # a register names a few providers many times

    def find(self, text: str) -> dict[str, Any]:
        """The provider a cell names; CellError when none or several are."""
        if text not in self.found:
            self.found[text] = self._find(text)
        return self.found[text]

    def _find(self, text: str) -> dict[str, Any]:
        digits = re.sub(r"[\s\-]", "", text)
        if digits.isdigit() and digits in self.by_nzbn:
            return self.by_nzbn[digits]
        named = self.by_name.get(text.casefold(), [])
        if len(named) == 1:
            return named[0]
        if named:
            raise CellError(f'"{text}" is the name of {len(named)} providers: use the NZBN')
        raise CellError(f'no provider is named "{text}" or has that NZBN')


# --- planning: what each row changes ---------------------------------------------------------------------------


@dataclass
class Planned:
    number: int
    asset_tag: str
    action: str  # create, update, unchanged
    changes: list[str]
    assignment: str  # none, keep, update, check_out, transfer, check_in
    device: dict[str, Any]  # the device row as it will be
    close: dict[str, Any] | None = None  # the open assignment, closed
    open: dict[str, Any] | None = None  # the open assignment as it will be (new or updated)
    default_purpose: bool = False  # the check-out's purpose is the import's default, the row having none


@dataclass
class Plan:
    rows: list[Planned] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)


def _validation_error(sheet: Sheet, number: int, exc: msgspec.ValidationError, names: dict[str, str]) -> None:
    """A schema's own check (a length, an email's form), named by the file's column."""
    message = str(exc)
    # msgspec names the field after the message; a struct's own check (text holding a control character) before.
    found = re.search(r" - at `\$\.([a-z_]+)", message) or re.match(r"field `([a-z_]+)` ", message)
    field_ = names.get(found.group(1), found.group(1)) if found else None
    said = re.sub(r"^field `[a-z_]+` ", "", message.split(" - at ")[0])
    longest = re.match(r"Expected `str` of length <= (\d+)", said)
    if longest:
        said = f"is longer than {longest.group(1)} characters"
    elif said.startswith("Expected `str` matching regex") and field_ == "holder_email":
        said = "is not an email address"
    sheet.error(number, field_, said)


_CHECKOUT_NAMES = {"provider_id": "provider"}


def _random_ids() -> Iterator[uuid.UUID]:
    """Random (version 4) UUIDs, as uuid.uuid4 makes them but from one read of the system's randomness per
    4096: a read per id was a tenth of planning a large file."""
    while True:
        pool = os.urandom(16 * 4096)
        for start in range(0, len(pool), 16):
            yield uuid.UUID(bytes=pool[start:start + 16], version=4)


_ids, _ids_lock = _random_ids(), threading.Lock()  # plans are made in several threads


def _new_id() -> uuid.UUID:
    with _ids_lock:
        return next(_ids)


def _plan_row(sheet: Sheet, row: Row, current: dict[str, Any] | None, held: dict[str, Any] | None,
              today: date, default_purpose: str = "") -> Planned | None:
    """The device and assignment as this row leaves them, or None (with errors on the sheet) if it cannot."""
    v, number = row.values, row.number
    errors_before = len(sheet.errors)
    tag = v["asset_tag"]
    device = dict(current) if current else {
        "id": _new_id(), "asset_tag": tag, "serial": "", "kind": None, "make": "", "model": "", "encrypted": False,
        "mdm_enrolled": False, "status": DeviceStatus.in_stock.value, "notes": ""}
    for name in DEVICE_FIELDS:
        if name in v and not isinstance(v[name], set):
            device[name] = v[name].value if isinstance(v[name], Enum) else v[name]
    try:
        msgspec.convert({k: device[k] for k in ("asset_tag", *DEVICE_FIELDS) if device[k] is not None},
                        DeviceUpdate)
    except msgspec.ValidationError as exc:
        _validation_error(sheet, number, exc, {})
    if device["kind"] is None and "kind" not in v.get("_bad", ()):
        sheet.error(number, "kind" if "kind" in sheet.headers else None,
                    'a new device needs its type (laptop, phone, tablet or other)'
                    + ("" if "kind" in sheet.headers else ': add a "Device Type" column'))

    old = DeviceStatus(current["status"]) if current else None
    wanted: DeviceStatus | None = v.get("status")
    names_holder = any(k in v for k in HOLDER_KEYS) or any(k in v.get("_bad", ()) for k in HOLDER_KEYS)
    details = {k: v[k] for k in ASSIGNMENT_FIELDS if k in v and k != "provider"}
    action, close, opened, defaulted = "none", None, None, False
    if names_holder or (held and wanted in (None, DeviceStatus.assigned)):
        if wanted not in (None, DeviceStatus.assigned):
            sheet.error(number, "status", f'"{wanted.value}" does not fit a device someone holds: leave the holder '
                                          "columns blank to check it in, or the status blank")
        elif held is None and old not in (None, DeviceStatus.in_stock):
            sheet.error(number, "status" if "status" in sheet.headers else "holder_name",
                        f"the device is {old.value} and cannot be checked out: only a device in stock can")
        else:
            provider = v.get("provider")
            email = v.get("holder_email", "").lower() or (held["holder_email"] if held else "")
            provider_id = provider["id"] if provider else (held["provider"] if held else None)
            same = held is not None and email == held["holder_email"] and str(provider_id) == str(held["provider"])
            if held is not None and not names_holder:
                same = True
            if same:
                opened = {**held, **details, "holder_email": email}
                if "systems" in v:
                    opened["systems"] = "\n".join(v["systems"])
                changed = [k for k in ASSIGNMENT_FIELDS if k != "provider" and opened.get(k) != held.get(k)]
                action = "update" if changed else "keep"
            else:
                opened = {"id": _new_id(), "device": device["id"], "open_device": device["id"],
                          "provider": provider_id, "holder_name": "", "holder_phone": "", "holder_role": "",
                          "purpose": "", "systems": "", "starts_on": today, "expected_return_on": None,
                          **details, "holder_email": email}
                if "systems" in v:
                    opened["systems"] = "\n".join(v["systems"])
                if not opened["purpose"] and default_purpose and "purpose" not in v.get("_bad", ()):
                    opened["purpose"], defaulted = default_purpose, True
                action = "transfer" if held else "check_out"
                if provider is not None and provider["status"] not in ENGAGED_STATUSES:
                    sheet.error(number, "provider", f"{provider['name']} is {provider['status']} and cannot "
                                                    "receive devices")
                if held is not None:
                    if opened["starts_on"] < held["starts_on"]:
                        sheet.error(number, "starts_on", f"{opened['starts_on']} is before the current holder's "
                                                         f"assignment began on {held['starts_on']}")
                    close = {**held, "returned_on": opened["starts_on"]}
            clean = not v.get("_bad") and len(sheet.errors) == errors_before
            _check_assignment(sheet, number, opened, v, clean,
                              started_today=action in ("check_out", "transfer") and "starts_on" not in v,
                              dates_kept=held is not None and opened["starts_on"] == held["starts_on"]
                              and opened["expected_return_on"] == held["expected_return_on"])
            device["status"] = DeviceStatus.assigned.value
    else:
        if any(k in v for k in ASSIGNMENT_FIELDS):
            first = next(k for k in ASSIGNMENT_FIELDS if k in v)
            sheet.error(number, first, "the device is not checked out to anyone: fill Checked Out To, Email and "
                                       "Provider to check it out")
        if wanted == DeviceStatus.assigned and held is None:
            sheet.error(number, "status", "say who holds it: fill Checked Out To, Email and Provider")
        elif held is not None and wanted in RETURN_STATUSES:
            action, close = "check_in", {**held, "returned_on": today}
            device["status"] = wanted.value
        elif wanted is not None and wanted != (old or DeviceStatus.in_stock):
            refusal = status_refusal(old or DeviceStatus.in_stock, wanted)
            if refusal:
                sheet.error(number, "status", f"cannot be {wanted.value}: {refusal}")
            device["status"] = wanted.value
    if v.get("_bad") or len(sheet.errors) > errors_before:
        return None
    if current is None:
        change, changes = "create", []
    else:
        changes = [k for k in (*DEVICE_FIELDS, "status") if device[k] != current[k]]
        change = "update" if changes else "unchanged"
    return Planned(number, tag, change, changes, action, device, close, opened, defaulted)


def _check_assignment(sheet: Sheet, number: int, opened: dict[str, Any], values: dict[str, Any], clean: bool,
                      started_today: bool = False, dates_kept: bool = False) -> None:
    """What a check-out needs, then the check-out's own schema as the API applies it (once the row's other cells
    are right, so each mistake gets one message)."""
    missing = False
    for key, label in (("holder_name", "the holder's name"), ("holder_email", "the holder's email"),
                       ("provider", "the holder's provider"), ("purpose", "what the device is for")):
        if not opened.get(key) and key not in values.get("_bad", ()):
            missing = True
            column = sheet.column_of(key)
            why = f' (add a "{header_of(key)}" column)' if column is None else ""
            if key == "holder_email" and values.get("holder_username"):
                why = f' (the username "{values["holder_username"]}" is not an email address)'
            elif key == "purpose":
                why = (" (add a \"Purpose\" column, or give the import a default purpose)" if column is None
                       else " (fill it, or give the import a default purpose)")
            sheet.error(number, key if column else None, f"{label} is needed to check the device out{why}")
    if missing or not clean:
        return
    try:
        msgspec.convert({
            "provider_id": str(opened["provider"]), "holder_name": opened["holder_name"],
            "holder_email": opened["holder_email"], "purpose": opened["purpose"],
            "starts_on": opened["starts_on"].isoformat(),
            "expected_return_on": opened["expected_return_on"].isoformat() if opened["expected_return_on"] else None,
            "holder_phone": opened["holder_phone"], "holder_role": opened["holder_role"],
            "systems": [s for s in opened["systems"].split("\n") if s]}, CheckOut)
    except msgspec.ValidationError as exc:
        _validation_error(sheet, number, exc, _CHECKOUT_NAMES)
        return
    if (opened["expected_return_on"] is not None and opened["expected_return_on"] < opened["starts_on"]
            and not dates_kept):  # dates the register already holds were taken once, and are not asked again
        if started_today:
            # The file says when the device is due back but not when it went out (Snipe-IT's export has no
            # checkout date): it went out before it was due, and is overdue now. The assignment starts on the
            # import's day, as the register first knows of it, and is listed as overdue for return.
            sheet.warn(number, "expected_return_on", f"{opened['expected_return_on']} has passed and the file has "
                                                     "no checkout date: the assignment starts today and is "
                                                     "overdue for return")
        else:
            sheet.error(number, "expected_return_on", f"{opened['expected_return_on']} is before the assignment "
                                                      f"starts on {opened['starts_on']}")


def plan(sheet: Sheet, current: dict[str, dict[str, Any]], held: dict[str, dict[str, Any]], today: date,
         default_purpose: str = "") -> Plan:
    """Every row checked, and the errors of all of them. ``current``: devices by asset tag; ``held``: their open
    assignments by device id; ``default_purpose``: the purpose of a check-out whose row gives none. ``sheet`` is
    left as parsed, so a plan can be made again."""
    sheet = replace(sheet, errors=list(sheet.errors), warnings=list(sheet.warnings))
    result = Plan()
    first_row: dict[str, int] = {}
    for row in sheet.rows:
        tag = row.values.get("asset_tag")
        if tag is None:
            sheet.error(row.number, "asset_tag" if "asset_tag" in sheet.headers else None,
                        "is blank: every row needs the device's asset tag")
            continue
        if tag in first_row:
            sheet.error(row.number, "asset_tag", f'"{tag}" is also on row {first_row[tag]}: list each device once')
            continue
        first_row[tag] = row.number
        device = current.get(tag)
        planned = _plan_row(sheet, row, device, held.get(str(device["id"])) if device else None, today,
                            default_purpose)
        if planned is not None:
            result.rows.append(planned)
    result.errors = sorted(sheet.errors, key=lambda e: e["row"])
    result.warnings = sorted(sheet.warnings, key=lambda e: e["row"])
    return result


# --- the import ---------------------------------------------------------------------------------------------


def _chunks(items: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


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


@dataclass(frozen=True)
class _Bulk:
    """One write of many rows to ``table``: an INSERT of every column, or with ``update`` an upsert on the id
    that sets those columns. Rows are the table's rows as dicts; a column a row leaves out takes its default.
    Run on the connection of the transaction in progress, with the values as Piccolo's own queries pass them
    (on SQLite through the adapters Piccolo registers with sqlite3)."""

    table: type[Table]
    update: tuple[Any, ...] = ()

    def columns(self) -> list[Any]:
        return list(self.table._meta.columns)

    def sql(self, postgres: bool) -> str:
        names = ", ".join(f'"{c._meta.db_column_name}"' for c in self.columns())
        marks = ", ".join(f"${n}" if postgres else "?" for n in range(1, len(self.columns()) + 1))
        sql = f'INSERT INTO "{self.table._meta.tablename}" ({names}) VALUES ({marks})'
        if self.update:
            sets = ", ".join(f'"{c._meta.db_column_name}" = EXCLUDED."{c._meta.db_column_name}"'
                             for c in self.update)
            sql += f' ON CONFLICT ("{self.table._meta.primary_key._meta.db_column_name}") DO UPDATE SET {sets}'
        return sql

    def records(self, rows: list[dict[str, Any]], sqlite: bool) -> list[tuple[Any, ...]]:
        """The rows as tuples in ``columns()`` order. Every row has its id; other defaults are taken once per
        write (one "now" for every row). On SQLite, dates and times are adapted once per distinct value, as
        Piccolo's adapter adapts them (a call per value was most of the time sqlite3 spent)."""
        by_column = []
        for column in self.columns():
            name = column._meta.name
            if column is self.table._meta.primary_key:
                values = [row[name] for row in rows]
            else:
                default = column.get_default_value()
                default = default.python() if isinstance(default, Default) else default
                values = [row.get(name, default) for row in rows]
                if sqlite and isinstance(column, (Date, Timestamptz)):
                    adapted: dict[Any, Any] = {None: None}
                    values = [adapted[v] if v in adapted else adapted.setdefault(v, sqlite3.adapt(v))
                              for v in values]
            by_column.append(values)
        return list(zip(*by_column))

    async def run(self, rows: list[dict[str, Any]]) -> None:
        connection = db.engine().current_transaction.get().connection
        sqlite = db.is_sqlite()
        records = self.records(rows, sqlite)
        if sqlite:
            await connection.executemany(self.sql(postgres=False), records)
        elif self.update:
            await connection.executemany(self.sql(postgres=True), records)
        else:
            await connection.copy_records_to_table(self.table._meta.tablename, records=records,
                                                   columns=[c._meta.db_column_name for c in self.columns()])


async def _write(bulk: _Bulk, rows: list[dict[str, Any]], label: str,
                 progress: Callable[..., Iterable[Any]] | None) -> None:
    parts: Iterable[list[dict[str, Any]]] = list(_chunks(rows, WRITE_CHUNK))
    if progress is not None and rows:
        parts = progress(parts, label)
    for part in parts:
        await bulk.run(part)


async def _apply(caller: Caller, result: Plan, progress: Callable[..., Iterable[Any]] | None) -> None:
    now = datetime.now(UTC)
    device_columns = (Device.serial, Device.kind, Device.make, Device.model, Device.encrypted, Device.mdm_enrolled,
                      Device.status, Device.notes, Device.updated_at)
    new = [p.device for p in result.rows if p.action == "create"]
    changed = [{**p.device, "updated_at": now} for p in result.rows if p.action == "update"]
    closing = [{**p.close, "closed_at": now, "open_device": None,
                "return_condition": "not recorded: closed by an import"} for p in result.rows if p.close]
    opening = [{**p.open, "created_by": caller.user_id} for p in result.rows
               if p.assignment in ("check_out", "transfer")]
    updating = [p.open for p in result.rows if p.assignment == "update"]
    try:
        await _write(_Bulk(Device), new, "adding devices", progress)
        await _write(_Bulk(Device, device_columns), changed, "updating devices", progress)
        await _write(_Bulk(Assignment, (Assignment.returned_on, Assignment.return_condition, Assignment.closed_at,
                                        Assignment.open_device)), closing, "closing assignments", progress)
        await _write(_Bulk(Assignment, (Assignment.holder_name, Assignment.holder_email, Assignment.holder_phone,
                                        Assignment.holder_role, Assignment.purpose, Assignment.systems,
                                        Assignment.starts_on, Assignment.expected_return_on)),
                     updating, "updating assignments", progress)
        await _write(_Bulk(Assignment), opening, "checking out", progress)
    except Exception as exc:  # a unique index had the last word: someone changed the register meanwhile
        if db.is_unique_violation(exc):
            raise Conflict("The register changed while the file was being imported (a device was registered or "
                           "checked out meanwhile), so nothing was imported. Import the file again.") from exc
        raise
