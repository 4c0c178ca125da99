"""The device register as a spreadsheet: which column holds which field, what a cell means, and the rows the
exports write. Formats only: whether a row may change the register is decided in ``services.imports``.

Headers are matched to fields by ``COLUMNS`` below: case, spaces, underscores and punctuation are ignored, and the
column names of common asset-register exports are accepted (Snipe-IT's "Asset Tag", "Serial", "Model",
"Manufacturer", "Category", "Status", "Checked Out To", "Email", "Expected Checkin", "Notes"). Snipe-IT's asset
export names the holder in four columns ("Checked Out To: First Name", "…: Last Name", "…: Email", "…: Username"),
their organisation in "Company" and the notes in "Asset Notes": ``_holder`` makes one holder of them (see there).
Columns the import does not use are ignored; the report counts them and names the first 20. Cells are parsed (dates, yes/no, device
kinds, statuses; the provider by name or NZBN through the caller's lookup) as the file streams, in a worker thread;
a cell that cannot be read is a problem naming its row and column:
``row 14, column "Expected Checkin": "31/02/2025" is not a date``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from openpyxl.utils.datetime import from_excel

from partner_audit import spreadsheets
from partner_audit.devices.schemas import DeviceKind, DeviceStatus
from partner_audit.devices.xlsx.reading import MAX_ROWS, Source, problem, rows_of
from partner_audit.errors import Invalid, TooLarge

# A header cell longer than this names no column the import knows; ignored columns are reported in short.
HEADER_TEXT_MAX = 200
IGNORED_SHOWN, IGNORED_NAME_MAX = 20, 60
SYSTEMS_SEPARATOR = ";"


# --- header mapping ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    field: str
    header: str  # the name exports write, and the first name imports accept
    aliases: tuple[str, ...] = ()


# The documented mapping (README: "Importing the device register"). Matching ignores case, spaces, underscores
# and punctuation, so "Asset Tag", "asset_tag" and "ASSET-TAG" are one column.
COLUMNS = (
    Column("asset_tag", "Asset Tag", ("asset", "tag", "asset number", "asset no")),
    Column("serial", "Serial Number", ("serial", "serial no", "sn")),
    Column("kind", "Device Type", ("kind", "type", "category", "device kind")),
    Column("make", "Make", ("manufacturer", "brand")),
    Column("model", "Model", ("model name",)),
    Column("encrypted", "Encrypted", ("encryption", "disk encrypted")),
    Column("mdm_enrolled", "MDM", ("mdm enrolled", "enrolled in mdm", "mdm enrollment", "mdm enrolment")),
    Column("status", "Status", ("status label", "device status")),
    Column("notes", "Notes", ("note", "comments", "asset notes")),
    Column("holder_name", "Holder Name", ("holder", "checked out to", "assigned to")),
    # Snipe-IT's export: the person a device is checked out to, in parts. ``_holder`` joins them.
    Column("holder_first_name", "Holder First Name", ("checked out to first name", "first name")),
    Column("holder_last_name", "Holder Last Name", ("checked out to last name", "last name", "surname")),
    Column("holder_username", "Holder Username", ("checked out to username", "username")),
    Column("holder_email", "Holder Email", ("email", "email address", "holder email address",
                                            "checked out to email")),
    Column("holder_phone", "Holder Phone", ("phone", "phone number", "holder mobile", "mobile")),
    Column("provider", "Provider", ("provider name", "provider nzbn", "nzbn", "organisation", "organization")),
    # Snipe-IT's "Company" is the asset's organisation: the holder's provider when the row names a holder, and
    # nothing the register keeps when it does not (an asset in stock may name the agency itself).
    Column("company", "Company", ("company name",)),
    # Snipe-IT checks an asset out to a user, a location or another asset; the register's holders are people.
    Column("checkout_type", "Checkout Type", ("checked out to type", "assigned type")),
    Column("checkout_location", "Checkout Location", ("checked out to location", "checkout to location")),
    Column("holder_role", "Role", ("holder role", "job title", "position", "title")),
    Column("purpose", "Purpose", ("reason",)),
    Column("systems", "Systems", ("systems accessed", "systems reached")),
    Column("starts_on", "Assigned On", ("starts on", "checkout date", "checked out on", "last checkout",
                                        "assigned date", "start date")),
    Column("expected_return_on", "Expected Return", ("expected return on", "expected checkin",
                                                     "expected checkin date", "return by", "due back")),
)


@functools.lru_cache(maxsize=4096)  # a column of kinds or statuses holds a few words many times
def header_key(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", unicodedata.normalize("NFKC", text).casefold())


_CHECKOUT_TYPE = next(c for c in COLUMNS if c.field == "checkout_type")
_BY_KEY = {header_key(name): c for c in COLUMNS for name in (c.header, c.field, *c.aliases)}
assert len(_BY_KEY) == sum(len({header_key(n) for n in (c.header, c.field, *c.aliases)}) for c in COLUMNS), \
    "two fields share a header name"

KIND_WORDS = {
    "laptop": DeviceKind.laptop, "laptops": DeviceKind.laptop, "notebook": DeviceKind.laptop,
    "notebooks": DeviceKind.laptop, "phone": DeviceKind.phone, "phones": DeviceKind.phone,
    "mobile": DeviceKind.phone, "mobiles": DeviceKind.phone, "mobilephone": DeviceKind.phone,
    "mobilephones": DeviceKind.phone, "smartphone": DeviceKind.phone, "smartphones": DeviceKind.phone,
    "cellphone": DeviceKind.phone, "cellphones": DeviceKind.phone, "tablet": DeviceKind.tablet,
    "tablets": DeviceKind.tablet, "ipad": DeviceKind.tablet, "ipads": DeviceKind.tablet, "other": DeviceKind.other,
}
# Snipe-IT's default status labels beside the register's own.
STATUS_WORDS = {
    **{header_key(s.value): s for s in DeviceStatus},
    "instock": DeviceStatus.in_stock, "readytodeploy": DeviceStatus.in_stock, "available": DeviceStatus.in_stock,
    "pending": DeviceStatus.in_stock, "deployed": DeviceStatus.assigned, "checkedout": DeviceStatus.assigned,
    "inrepair": DeviceStatus.in_repair, "outforrepair": DeviceStatus.in_repair, "repair": DeviceStatus.in_repair,
    "broken": DeviceStatus.in_repair, "archived": DeviceStatus.retired, "disposed": DeviceStatus.retired,
    "outfordiagnostics": DeviceStatus.in_repair, "brokennotfixable": DeviceStatus.retired,
}
# Snipe-IT's custom report writes a status as its label and, in brackets, what the label means ("Ready to Deploy
# (deployable)", "Laptop pool (deployed)"): a label of the agency's own is read by its meaning. "undeployable"
# covers repair, broken and lost alike, so it is no status here.
STATUS_MEANINGS = {"deployed": DeviceStatus.assigned, "deployable": DeviceStatus.in_stock,
                   "pending": DeviceStatus.in_stock, "archived": DeviceStatus.retired}
_LABEL_AND_MEANING = re.compile(r"^(.*?)\s*\(([^()]*)\)\s*$")
CHECKOUT_TYPES = {"user": "user", "person": "user", "location": "location", "asset": "asset"}
YES = {"yes", "y", "true", "1", "x"}
NO = {"no", "n", "false", "0"}

# --- cells ---------------------------------------------------------------------------------------------------


class CellError(Exception):
    """One cell's value is wrong; the message says why, and the caller adds its row and column."""


def _show(value: Any) -> str:
    return value.isoformat() if isinstance(value, (date, datetime)) else str(value)


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a serial or phone number the spreadsheet took for a number
    return spreadsheets.restore(value) if isinstance(value, str) else str(value)


_DAY_FIRST = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 1 <= value < 2_958_466:  # a date cell that lost its format holds its serial number (to 9999-12-31)
            return from_excel(value).date()
        raise CellError(f"{_show(value)!r} is not a date")
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10]) if re.match(r"^\d{4}-\d{2}-\d{2}([ T].*)?$", text) else _nz_date(text)
    except ValueError:
        raise CellError(f'"{text}" is not a date') from None


def _nz_date(text: str) -> date:
    """New Zealand writes the day first: 31/03/2025."""
    found = _DAY_FIRST.match(text)
    if not found:
        raise ValueError(text)
    day, month, year = (int(g) for g in found.groups())
    return date(year, month, day)


def _yes_no(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).strip().lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise CellError(f'"{_text(value)}" is not yes or no')


def _kind(value: Any) -> DeviceKind:
    found = KIND_WORDS.get(header_key(_text(value)))
    if found is None:
        raise CellError(f'"{_text(value)}" is not a device type: use laptop, phone, tablet or other')
    return found


def _status(value: Any) -> DeviceStatus:
    text = _text(value)
    found = STATUS_WORDS.get(header_key(text))
    if found is None and (parts := _LABEL_AND_MEANING.match(text)):
        found = STATUS_WORDS.get(header_key(parts.group(1))) or STATUS_MEANINGS.get(header_key(parts.group(2)))
    if found is None:
        if header_key(text.split("(")[0]) == "loststolen":
            raise CellError(f'"{text}": a lost or stolen device is recorded by reporting an incident, not by a file')
        raise CellError(f'"{text}" is not a status: use ' + ", ".join(s.value for s in DeviceStatus))
    return found


def _checkout_type(value: Any) -> str:
    found = CHECKOUT_TYPES.get(header_key(_text(value)))
    if found is None:
        raise CellError(f'"{_text(value)}" is not a checkout type: user, location or asset')
    return found


def _systems(value: Any) -> list[str]:
    return [s.strip() for s in re.split(r"[;\n]", _text(value)) if s.strip()]


PARSERS: dict[str, Callable[[Any], Any]] = {
    "encrypted": _yes_no, "mdm_enrolled": _yes_no, "kind": _kind, "status": _status, "systems": _systems,
    "starts_on": _date, "expected_return_on": _date, "checkout_type": _checkout_type,
}


# --- parsing a sheet -------------------------------------------------------------------------------------------


@dataclass
class Row:
    number: int
    values: dict[str, Any]  # field -> parsed value, for the cells that are not blank


@dataclass
class Sheet:
    headers: dict[str, str]  # field -> the header as written in the file
    ignored: list[str]  # the first few columns the import does not use, their names cut short
    rows: list[Row]
    errors: list[dict[str, Any]]
    ignored_count: int = 0
    # What the import did not take from a row but went on without, each naming its row (a device checked out to
    # a location, say): reported beside the result, never silently dropped.
    warnings: list[dict[str, Any]] = field(default_factory=list)
    # A field read from other columns: the holder's name from Snipe-IT's first and last names, the provider from
    # "Company". A problem with the field names the column it came from.
    stands_for: dict[str, str] = field(default_factory=dict)

    def column_of(self, field_: str) -> str | None:
        """The column a field was read from, as the file names it; None when the file has none."""
        return self.headers.get(field_) or self.stands_for.get(field_)

    def error(self, number: int, field_: str | None, message: str) -> None:
        self.errors.append(problem(number, self.column_of(field_ or "") or field_, message))

    def warn(self, number: int, field_: str | None, message: str) -> None:
        self.warnings.append(problem(number, self.column_of(field_ or "") or field_, message))


def header_of(field_: str) -> str:
    """The header an export writes for ``field_``."""
    return next(c.header for c in COLUMNS if c.field == field_)


def _header(cells: tuple[Any, ...], sheet: Sheet) -> list[tuple[int, Column]]:
    used: list[tuple[int, Column]] = []
    seen: dict[str, str] = {}
    for index, cell in enumerate(cells):
        text = _text(cell).strip() if cell is not None else ""
        if not text:
            continue
        column = _BY_KEY.get(header_key(text)) if len(text) <= HEADER_TEXT_MAX else None
        if column is not None and header_key(text) == "type" and used and used[-1][1].field == "holder_name" \
                and used[-1][0] == index - 1:
            # Snipe-IT's custom report writes "Checked Out To" and then "Type": user, location or asset.
            column = _CHECKOUT_TYPE
        if column is None:
            sheet.ignored_count += 1
            if len(sheet.ignored) < IGNORED_SHOWN:
                sheet.ignored.append(text if len(text) <= IGNORED_NAME_MAX else text[:IGNORED_NAME_MAX - 1] + "…")
        elif column.field in seen:
            sheet.errors.append(problem(1, text, f'is another name for "{seen[column.field]}" '
                                                  f"({column.header}): keep one of the two columns"))
        else:
            seen[column.field] = text
            used.append((index, column))
    sheet.headers = seen
    for target, parts in (("holder_name", ("holder_first_name", "holder_last_name")), ("provider", ("company",))):
        found = next((seen[p] for p in parts if p in seen), None)
        if target not in seen and found:
            sheet.stands_for[target] = found
    if "asset_tag" not in seen:
        sheet.errors.append(problem(1, None, 'no asset tag column: the register is matched on it (name it '
                                              '"Asset Tag")'))
    return used


def parse(source: Source, find_provider: Callable[[str], Any],
          progress: Callable[..., Iterable[Any]] | None = None) -> Sheet:
    """Read and parse every row; cell errors are collected, never raised. ``find_provider``: the provider a cell
    names (by NZBN or name), or CellError. Blocking: run it in a worker thread."""
    sheet = Sheet({}, [], [], [])
    records = rows_of(source)
    header = next(records, None)
    if header is None:
        raise Invalid.field("file", "is empty: the first row names the columns")
    used = _header(header, sheet)
    parts = bool(HOLDER_PARTS & set(sheet.headers))
    numbered: Iterable[tuple[int, tuple[Any, ...]]] = enumerate(records, start=2)
    if progress is not None:
        numbered = progress(numbered, "reading rows")
    for number, cells in numbered:
        if number > MAX_ROWS + 1:
            raise TooLarge(f"The file has more than {MAX_ROWS} rows; import it in parts.",
                           errors=[{"field": "file", "message": "has too many rows"}])
        values: dict[str, Any] = {}
        for index, column in used:
            raw = cells[index] if index < len(cells) else None
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            parse_cell = PARSERS.get(column.field)
            try:
                if column.field == "provider":
                    values["provider"] = find_provider(_text(raw).strip())
                elif parse_cell is not None:
                    values[column.field] = parse_cell(raw)
                elif column.field == "notes":
                    values["notes"] = _text(raw)  # kept as typed, as the register keeps notes
                else:
                    values[column.field] = _text(raw).strip()
            except CellError as exc:
                sheet.errors.append(problem(number, sheet.headers[column.field], str(exc)))
                values.setdefault("_bad", set()).add(column.field)
        if parts and values:
            _holder(sheet, number, values, find_provider)
        if values:
            sheet.rows.append(Row(number, values))
    return sheet


# Columns of a Snipe-IT export that ``_holder`` reads together; a register without them skips it.
HOLDER_PARTS = frozenset({"holder_first_name", "holder_last_name", "holder_username", "company", "checkout_type",
                          "checkout_location"})
PERSON_FIELDS = ("holder_name", "holder_email", "holder_username")
PLACE_DETAILS = ("holder_phone", "holder_role", "purpose", "systems", "starts_on", "expected_return_on")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _holder(sheet: Sheet, number: int, values: dict[str, Any], find_provider: Callable[[str], Any]) -> None:
    """One holder from a Snipe-IT export's columns. The name is the first and last names joined (a "Checked Out
    To" or "Holder Name" column, if the file also has one and it is filled, wins). A username that is an email
    address stands in for a blank email, as many sites sign in with it. "Company" is the holder's provider, looked
    up only when the row names a person: an asset in stock may name the agency itself. A row checked out to a
    location or another asset names no person: it checks nothing out, and a warning says so."""
    first, last = values.pop("holder_first_name", ""), values.pop("holder_last_name", "")
    if "holder_name" not in values and (first or last):
        values["holder_name"] = f"{first} {last}".strip()
    username = values.get("holder_username")
    if username and "holder_email" not in values and _EMAIL.match(username):
        values["holder_email"] = username
    company = values.pop("company", None)
    kind, place = values.pop("checkout_type", None), values.pop("checkout_location", None)
    place_column = "checkout_location" if place else "checkout_type"
    if kind in ("location", "asset") and not (first or last or "holder_email" in values or username) \
            and not place and "holder_name" in values:
        # Snipe-IT's custom report names the place in "Checked Out To", as it names a person.
        place, place_column = values.pop("holder_name"), "holder_name"
    bad = values.get("_bad", ())
    if not any(k in values or k in bad for k in PERSON_FIELDS) and not {"holder_first_name", "holder_last_name"} & set(bad):
        if kind in ("location", "asset") or place:
            where = f'a location ("{place}")' if place else f"a{'n' if kind == 'asset' else ''} {kind or 'location'}"
            sheet.warn(number, place_column,
                       f"is checked out to {where}, not to a person: the register keeps the devices people hold, "
                       "so this row checks nothing out")
            if values.get("status") == DeviceStatus.assigned:
                del values["status"]  # "deployed" to a place, not to anyone the register could name
            for detail in PLACE_DETAILS:  # the dates and the like of that checkout, not of anyone's assignment
                values.pop(detail, None)
        elif kind == "user":
            sheet.warn(number, "checkout_type", "says the device is checked out to a user but names no one: it is "
                                                "not checked out")
        return
    if company is not None and "provider" not in values and "provider" not in bad:
        try:
            values["provider"] = find_provider(company.strip())
        except CellError as exc:
            sheet.errors.append(problem(number, sheet.headers["company"], str(exc)))
            values.setdefault("_bad", set()).add("provider")


# --- exports ---------------------------------------------------------------------------------------------------


REGISTER_HEADERS = ("Asset Tag", "Serial Number", "Device Type", "Make", "Model", "Encrypted", "MDM", "Status",
                    "Notes")
HOLDER_HEADERS = ("Holder Name", "Holder Email", "Holder Phone")
ASSIGNMENT_HEADERS = ("Provider", "Role", "Purpose", "Systems", "Assigned On", "Expected Return")
HISTORY_HEADERS = ("Asset Tag", "Device Type", "Make", "Model", "Serial Number", "Provider", *HOLDER_HEADERS, "Role",
                   "Purpose", "Systems", "Assigned On", "Expected Return", "Returned On", "Condition",
                   "Data Wiped", "Wiped By")


def register_headers(holders: bool) -> tuple[str, ...]:
    """The register export's columns, as the import reads them; the holder's only for those who may see them."""
    return (*REGISTER_HEADERS, *(HOLDER_HEADERS if holders else ()), *ASSIGNMENT_HEADERS)


def _systems_text(systems: list[str] | str) -> str:
    items = systems if isinstance(systems, list) else [s for s in systems.split("\n") if s]
    return f"{SYSTEMS_SEPARATOR} ".join(items)


def register_row(device: dict[str, Any], holders: bool) -> tuple[Any, ...]:
    """A device with its current holder (``current_assignment``), in ``register_headers(holders)``."""
    held = device["current_assignment"] or {}
    return (
        device["asset_tag"], device["serial"], device["kind"], device["make"], device["model"],
        device["encrypted"], device["mdm_enrolled"], device["status"], device["notes"],
        *((held.get("holder_name"), held.get("holder_email"), held.get("holder_phone")) if holders
          else ()),
        held.get("provider_name"), held.get("holder_role"), held.get("purpose"),
        _systems_text(held["systems"]) if held else None, held.get("starts_on"),
        held.get("expected_return_on"))


def history_row(row: dict[str, Any]) -> tuple[Any, ...]:
    """An assignment with its device, in ``HISTORY_HEADERS``."""
    return (
        row["asset_tag"], row["kind"], row["make"], row["model"], row["serial"], row["provider_name"],
        row["holder_name"], row["holder_email"], row["holder_phone"], row["holder_role"], row["purpose"],
        _systems_text(row["systems"]), row["starts_on"], row["expected_return_on"], row["returned_on"],
        row["return_condition"], row["data_wiped"], row["wiped_by"])
