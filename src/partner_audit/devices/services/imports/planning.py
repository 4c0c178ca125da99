"""Planning an import: each row checked against the register as it is, with the register's own rules, and
what it would change (see the package's notes). HTTP- and database-free: runs in a worker thread."""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from enum import Enum
from typing import Any

import msgspec

from partner_audit.devices.schemas import CheckOut, DeviceStatus, DeviceUpdate, ReturnStatus
from partner_audit.devices.services.register import status_refusal
from partner_audit.devices.xlsx.register import CellError, Row, Sheet, header_of
from partner_audit.providers.schemas import ENGAGED_STATUSES

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

