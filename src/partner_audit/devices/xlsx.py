"""The device register in and out of spreadsheets: bulk import of devices and their current assignments from .xlsx
and .csv, and exports of the register and of one person's history as .xlsx and .csv.

Import, in four steps:

1. **Headers** are matched to fields by ``COLUMNS`` below: case, spaces, underscores and punctuation are ignored,
   and the column names of common asset-register exports are accepted (Snipe-IT's "Asset Tag", "Serial", "Model",
   "Manufacturer", "Category", "Status", "Checked Out To", "Email", "Expected Checkin", "Notes"). Columns the import
   does not use are ignored; the report counts them and names the first 20.
2. **Cells** are parsed (dates, yes/no, device kinds, statuses, the provider by name or NZBN) in a worker thread,
   streaming the file (openpyxl read-only mode; a formula cell gives its last computed value).
3. **Rows** are checked all at once against the register as it is, with the register's own rules (``service``
   and ``schemas``: lengths, email form, which statuses may be set by hand, only a device in stock goes out, only
   an onboarding or active provider receives devices). Each problem names its row and column:
   ``row 14, column "Expected Checkin": "31/02/2025" is not a date``. Row numbers are the spreadsheet's own (the
   header is row 1).
4. **Apply**: everything or nothing, in one transaction, upserting on asset tag; many rows per statement. A dry
   run stops before writing and returns what would change, row by row.

Upsert rules. A blank cell leaves the device's or the open assignment's value as it is (a new device gets the
default). Filling the holder ("Checked Out To", "Email" or "Provider") checks the device out to that person: the
same email at the same provider keeps (or updates) the open assignment; another person is a transfer (the open
assignment closes on the new one's start date, its condition and wipe left for the register to record). A
status of in stock, in repair or retired on a device that is out checks it in on the import's day. Lost and
stolen come from incidents, never from a file.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import unicodedata
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import msgspec
from openpyxl import Workbook
from openpyxl.utils.datetime import from_excel

from partner_audit import db
from partner_audit.api import Email, Output
from partner_audit import spreadsheets
from partner_audit.assessments.xlsx import MEDIA_TYPE
from partner_audit.devices import service
from partner_audit.devices.schemas import (
    CheckOut,
    DeviceKind,
    DeviceStatus,
    DeviceUpdate,
    ReturnStatus,
)
from partner_audit.devices.tables import Assignment, Device
from partner_audit.errors import Conflict, DomainError, Invalid, TooLarge
from partner_audit.providers.schemas import ENGAGED_STATUSES
from partner_audit.providers.tables import Provider
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller
from partner_audit.security.tenancy import scoped

XLSX_MEDIA_TYPE = MEDIA_TYPE
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
# 50,000 rows of a full register make an .xlsx of about 4 MB and a .csv of about 9 MB.
MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000
# Snipe-IT's export with a few custom fields has about 40 columns; the import reads 18 of them.
MAX_COLUMNS = 100
# A 200,000-row register of every column unpacks to about 200 MB of sheet, which is streamed; shared strings and
# styles are read whole, so they get far less: a million distinct texts take openpyxl about 150 MB.
LIMITS = spreadsheets.Limits(
    max_rows=MAX_ROWS + 1, max_columns=MAX_COLUMNS, max_cells=(MAX_ROWS + 1) * 20, max_strings=1_000_000,
    max_sheet_bytes=300 * 2**20, max_strings_bytes=48 * 2**20, max_part_bytes=8 * 2**20, max_unpacked_bytes=400 * 2**20)
# A CSV record (a row, with any line breaks inside quotes) longer than this is not a row of a register.
MAX_RECORD_CHARS = 256 * 1024
# A header cell longer than this names no column the import knows; ignored columns are reported in short.
HEADER_TEXT_MAX = 200
IGNORED_SHOWN, IGNORED_NAME_MAX = 20, 60
MAX_ERRORS_SHOWN = 500
CHUNK = 500  # rows per INSERT: under both databases' limits on parameters (22 columns x 500)
SYSTEMS_SEPARATOR = ";"


class ExportFormat(str, Enum):
    xlsx = "xlsx"
    csv = "csv"


class NotASpreadsheet(DomainError):
    status_code = 415
    title = "Not an .xlsx or .csv file"


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
    Column("notes", "Notes", ("note", "comments")),
    Column("holder_name", "Holder Name", ("holder", "checked out to", "assigned to")),
    Column("holder_email", "Holder Email", ("email", "email address", "holder email address")),
    Column("holder_phone", "Holder Phone", ("phone", "phone number", "holder mobile", "mobile")),
    Column("provider", "Provider", ("provider name", "provider nzbn", "nzbn", "organisation", "organization")),
    Column("holder_role", "Role", ("holder role", "job title", "position")),
    Column("purpose", "Purpose", ("reason",)),
    Column("systems", "Systems", ("systems accessed", "systems reached")),
    Column("starts_on", "Assigned On", ("starts on", "checkout date", "checked out on", "last checkout",
                                        "assigned date", "start date")),
    Column("expected_return_on", "Expected Return", ("expected return on", "expected checkin",
                                                     "expected checkin date", "return by", "due back")),
)
DEVICE_FIELDS = ("serial", "kind", "make", "model", "encrypted", "mdm_enrolled", "notes")
ASSIGNMENT_FIELDS = ("holder_name", "holder_email", "holder_phone", "provider", "holder_role", "purpose", "systems",
                     "starts_on", "expected_return_on")
# Filling any of these says who holds the device.
HOLDER_KEYS = ("holder_name", "holder_email", "provider")
# Statuses a device may come back to (a check-in's).
RETURN_STATUSES = frozenset(DeviceStatus(s.value) for s in ReturnStatus)


def header_key(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", unicodedata.normalize("NFKC", text).casefold())


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
}
YES = {"yes", "y", "true", "1", "x"}
NO = {"no", "n", "false", "0"}


# --- reading a file ------------------------------------------------------------------------------------------


@dataclass
class Source:
    """An uploaded file's bytes, or a file on disk (the command line), and its name."""

    name: str
    content: bytes | None = None
    path: Path | None = None

    def head(self, size: int = 8) -> bytes:
        if self.content is not None:
            return self.content[:size]
        with open(self.path, "rb") as fh:  # type: ignore[arg-type]
            return fh.read(size)

    def size(self) -> int:
        return len(self.content) if self.content is not None else self.path.stat().st_size  # type: ignore[union-attr]

    def binary(self) -> Any:
        return io.BytesIO(self.content) if self.content is not None else self.path


def _not_a_spreadsheet(why: str) -> NotASpreadsheet:
    return NotASpreadsheet(f"The file is not a register the import can read: {why}. Save it as .xlsx (Excel "
                           "Workbook) or .csv.", errors=[{"field": "file", "message": why}])


def _xlsx_rows(source: Source) -> Iterator[tuple[Any, ...]]:
    try:
        with zipfile.ZipFile(source.binary()) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" not in names:
                raise _not_a_spreadsheet("it is an OpenDocument (.ods) spreadsheet" if "content.xml" in names
                                         else "it is a zip file, not a workbook")
        book = spreadsheets.open_xlsx(source.binary(), LIMITS, _not_a_spreadsheet, data_only=True)
    except DomainError:
        raise
    except Exception as exc:  # a zip damaged past its header
        raise _not_a_spreadsheet("it could not be opened as a workbook; it may be damaged") from exc
    try:
        # The register is the first sheet: the one a spreadsheet opens on.
        yield from book.worksheets[0].iter_rows(values_only=True)
    except Exception as exc:  # as above: sheets are parsed lazily, while they are read
        raise _not_a_spreadsheet("its first sheet could not be read; it may be damaged") from exc
    finally:
        book.close()


# A UTF-8 sequence of two to four bytes: cp1252 text seldom holds one (it would read as "Ã©" and the like).
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
# What a register in Windows-1252 holds beyond ASCII: Western European letters and the punctuation Excel and Word
# put in (curly quotes, dashes, the euro). Bytes of another encoding (Shift-JIS, say) read as cp1252 come out as
# the rest of the code page (ƒ ‚ „ ˆ ˜ ‰ ‹ ›) or as long runs of accented letters and symbols.
_WESTERN = set("ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿŠšŽžŒœŸ"
               "‘’“”–—…•€£¢¥°·«»§©®™¡¿±µ¶\u00a0½¼¾´¨¸ªº²³¹")
_FOREIGN_RUN = re.compile(r"[^\x00-\x7f]{3,}")


def _row_at(text: str | bytes, index: int) -> int:
    return text.count("\n" if isinstance(text, str) else b"\n", 0, index) + 1


def _decode(raw: bytes) -> str:
    """UTF-8 (with or without a BOM); else Windows-1252, which Excel on Windows saves as "CSV (Comma delimited)",
    but only when the file reads plausibly as that. Anything else is refused naming the row, never guessed: a
    wrong guess would overwrite good names with mojibake."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = exc.start
    # Mostly UTF-8 (more well-formed sequences than bytes that fit none): a stray byte, not another encoding.
    if len(_UTF8_SEQUENCE.findall(raw)) > raw.decode("utf-8", "replace").count("\ufffd"):
        row = _row_at(raw, bad)
        raise Invalid(f"The file is UTF-8 text but row {row} holds a byte that is not (0x{raw[bad]:02X}), so "
                      "nothing was imported. Fix that row, or save the file again as CSV UTF-8.",
                      errors=[_problem(row, None, f"byte 0x{raw[bad]:02X} is not UTF-8 text")])
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError as exc:  # bytes cp1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D)
        bad, text = exc.start, ""
    else:
        odd = next((i for i, c in enumerate(text) if c > "\x7f" and c not in _WESTERN), None)
        run = _FOREIGN_RUN.search(text)
        if odd is None and run is None:
            return text
        bad = min(i for i in (odd, run.start() if run else None) if i is not None)
    row = _row_at(text or raw, bad)
    raise Invalid(f"The file is neither UTF-8 nor Windows-1252 text (row {row} is the first that is not), so "
                  "nothing was imported. Save it as CSV UTF-8 (Excel: File, Save As, CSV UTF-8).",
                  errors=[_problem(row, None, "is not UTF-8 or Windows-1252 text")])


_LINE = re.compile(r"[^\r\n]{0,%d}(?:\r\n|\r|\n)?" % (MAX_RECORD_CHARS + 1))
# csv's own cap on one field (128 KiB by default) would call a legitimate file with one long cell "not CSV";
# ``_Bounded`` already caps a whole record, so a field may use all of it. (The setting is the process's.)
csv.field_size_limit(max(csv.field_size_limit(), MAX_RECORD_CHARS + 2))


class _Bounded:
    """The CSV's lines to csv.reader, refusing a record (a row, line breaks in quotes and all) longer than
    ``MAX_RECORD_CHARS`` before csv.reader splits it into fields: one line of millions of commas would be
    millions of strings. ``record_read`` starts the count again."""

    def __init__(self, text: str) -> None:
        # Lines cut from the text as csv.reader asks for them, each at most one past the limit: no copy of the
        # whole file, and no line of millions of characters.
        self.lines = (m.group() for m in _LINE.finditer(text) if m.group())
        self.used = 0
        self.row = 1

    def __iter__(self) -> _Bounded:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.used += len(line)
        if self.used > MAX_RECORD_CHARS:
            raise TooLarge(f"Row {self.row} of the file is longer than {MAX_RECORD_CHARS // 1024} KiB; a row of "
                           "a register is far shorter.", errors=[_problem(self.row, None, "is too long")])
        return line

    def record_read(self) -> None:
        self.used = 0
        self.row += 1


def _csv_rows(source: Source) -> Iterator[tuple[Any, ...]]:
    raw = source.content if source.content is not None else source.path.read_bytes()  # type: ignore[union-attr]
    text = _decode(raw)
    # Only the separator is guessed (from the header: Excel uses ";" where "," is the decimal point); quoting is
    # Excel's, which a guess from one line without quotes would get wrong.
    try:
        delimiter = csv.Sniffer().sniff(text[:MAX_RECORD_CHARS].split("\n", 1)[0], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    lines = _Bounded(text)
    try:
        for record in csv.reader(lines, csv.excel, delimiter=delimiter):
            if len(record) > MAX_COLUMNS:
                raise TooLarge(f"Row {lines.row} of the file has {len(record)} columns; at most {MAX_COLUMNS} are "
                               "read.", errors=[_problem(lines.row, None, "has too many columns")])
            lines.record_read()
            yield tuple(record)
    except csv.Error as exc:
        raise _not_a_spreadsheet(f"it is not valid CSV ({exc})") from exc


def rows_of(source: Source) -> Iterator[tuple[Any, ...]]:
    """The first sheet's rows (or the CSV's records) as tuples of cell values, header first."""
    if source.size() > MAX_BYTES:
        raise TooLarge(f"The file is {source.size() / 2**20:.1f} MB; the largest accepted is {MAX_BYTES // 2**20} MB.",
                       errors=[{"field": "file", "message": "is too large"}])
    head = source.head()
    if head.startswith(b"PK\x03\x04"):
        return _xlsx_rows(source)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _not_a_spreadsheet("it is an old-style Excel 97-2003 (.xls) file; save it as .xlsx")
    if b"\x00" in source.head(4096):
        raise _not_a_spreadsheet("its contents are not a spreadsheet")
    return _csv_rows(source)


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
    found = STATUS_WORDS.get(header_key(_text(value)))
    if found is None:
        raise CellError(f'"{_text(value)}" is not a status: use ' + ", ".join(s.value for s in DeviceStatus))
    return found


def _systems(value: Any) -> list[str]:
    return [s.strip() for s in re.split(r"[;\n]", _text(value)) if s.strip()]


class Providers:
    """Providers found by NZBN (spaces and dashes ignored) or by name (case ignored)."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.by_id = {str(r["id"]): r for r in rows}
        self.by_nzbn = {r["nzbn"]: r for r in rows}
        self.by_name: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            self.by_name.setdefault(row["name"].strip().casefold(), []).append(row)

    def find(self, value: Any) -> dict[str, Any]:
        text = _text(value).strip()
        digits = re.sub(r"[\s\-]", "", text)
        if digits.isdigit() and digits in self.by_nzbn:
            return self.by_nzbn[digits]
        named = self.by_name.get(text.casefold(), [])
        if len(named) == 1:
            return named[0]
        if named:
            raise CellError(f'"{text}" is the name of {len(named)} providers: use the NZBN')
        raise CellError(f'no provider is named "{text}" or has that NZBN')


PARSERS: dict[str, Callable[[Any], Any]] = {
    "encrypted": _yes_no, "mdm_enrolled": _yes_no, "kind": _kind, "status": _status, "systems": _systems,
    "starts_on": _date, "expected_return_on": _date,
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

    def error(self, number: int, field_: str | None, message: str) -> None:
        self.errors.append(_problem(number, self.headers.get(field_ or "", field_), message))


def _problem(number: int, column: str | None, message: str) -> dict[str, Any]:
    where = f'row {number}, column "{column}"' if column else f"row {number}"
    return {"field": where, "row": number, "column": column, "message": message}


def _header(cells: tuple[Any, ...], sheet: Sheet) -> list[tuple[int, Column]]:
    used: list[tuple[int, Column]] = []
    seen: dict[str, str] = {}
    for index, cell in enumerate(cells):
        text = _text(cell).strip() if cell is not None else ""
        if not text:
            continue
        column = _BY_KEY.get(header_key(text)) if len(text) <= HEADER_TEXT_MAX else None
        if column is None:
            sheet.ignored_count += 1
            if len(sheet.ignored) < IGNORED_SHOWN:
                sheet.ignored.append(text if len(text) <= IGNORED_NAME_MAX else text[:IGNORED_NAME_MAX - 1] + "…")
        elif column.field in seen:
            sheet.errors.append(_problem(1, text, f'is another name for "{seen[column.field]}" '
                                                  f"({column.header}): keep one of the two columns"))
        else:
            seen[column.field] = text
            used.append((index, column))
    sheet.headers = seen
    if "asset_tag" not in seen:
        sheet.errors.append(_problem(1, None, 'no asset tag column: the register is matched on it (name it '
                                              '"Asset Tag")'))
    return used


def parse(source: Source, providers: Providers, progress: Callable[..., Iterable[Any]] | None = None) -> Sheet:
    """Read and parse every row; cell errors are collected, never raised. Blocking: run it in a worker thread."""
    sheet = Sheet({}, [], [], [])
    records = rows_of(source)
    header = next(records, None)
    if header is None:
        raise Invalid.field("file", "is empty: the first row names the columns")
    used = _header(header, sheet)
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
                    values["provider"] = providers.find(raw)
                elif parse_cell is not None:
                    values[column.field] = parse_cell(raw)
                elif column.field == "notes":
                    values["notes"] = _text(raw)  # kept as typed, as the register keeps notes
                else:
                    values[column.field] = _text(raw).strip()
            except CellError as exc:
                sheet.errors.append(_problem(number, sheet.headers[column.field], str(exc)))
                values.setdefault("_bad", set()).add(column.field)
        if values:
            sheet.rows.append(Row(number, values))
    return sheet


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


@dataclass
class Plan:
    rows: list[Planned] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


def _validation_error(sheet: Sheet, number: int, exc: msgspec.ValidationError, names: dict[str, str]) -> None:
    """A schema's own check (a length, an email's form), named by the file's column."""
    message = str(exc)
    found = re.search(r" - at `\$\.([a-z_]+)", message)
    field_ = names.get(found.group(1), found.group(1)) if found else None
    said = message.split(" - at ")[0]
    longest = re.match(r"Expected `str` of length <= (\d+)", said)
    if longest:
        said = f"is longer than {longest.group(1)} characters"
    elif said.startswith("Expected `str` matching regex") and field_ == "holder_email":
        said = "is not an email address"
    sheet.error(number, field_, said)


_CHECKOUT_NAMES = {"provider_id": "provider"}


def _plan_row(sheet: Sheet, row: Row, current: dict[str, Any] | None, held: dict[str, Any] | None,
              today: date) -> Planned | None:
    """The device and assignment as this row leaves them, or None (with errors on the sheet) if it cannot."""
    v, number = row.values, row.number
    errors_before = len(sheet.errors)
    tag = v["asset_tag"]
    device = dict(current) if current else {
        "id": uuid.uuid4(), "asset_tag": tag, "serial": "", "kind": None, "make": "", "model": "", "encrypted": False,
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
    action, close, opened = "none", None, None
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
                opened = {"id": uuid.uuid4(), "device": device["id"], "open_device": device["id"],
                          "provider": provider_id, "holder_name": "", "holder_phone": "", "holder_role": "",
                          "purpose": "", "systems": "", "starts_on": today, "expected_return_on": None,
                          **details, "holder_email": email}
                if "systems" in v:
                    opened["systems"] = "\n".join(v["systems"])
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
            _check_assignment(sheet, number, opened, v, clean)
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
            refusal = service.status_refusal(old or DeviceStatus.in_stock, wanted)
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
    return Planned(number, tag, change, changes, action, device, close, opened)


def _check_assignment(sheet: Sheet, number: int, opened: dict[str, Any], values: dict[str, Any], clean: bool
                      ) -> None:
    """What a check-out needs, then the check-out's own schema as the API applies it (once the row's other cells
    are right, so each mistake gets one message)."""
    missing = False
    for key, label in (("holder_name", "the holder's name"), ("holder_email", "the holder's email"),
                       ("provider", "the holder's provider"), ("purpose", "what the device is for")):
        if not opened.get(key) and key not in values.get("_bad", ()):
            missing = True
            sheet.error(number, key if key in sheet.headers else None,
                        f"{label} is needed to check the device out" + (
                            "" if key in sheet.headers else f' (add a "{_header_of(key)}" column)'))
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
    if opened["expected_return_on"] is not None and opened["expected_return_on"] < opened["starts_on"]:
        sheet.error(number, "expected_return_on", f"{opened['expected_return_on']} is before the assignment "
                                                  f"starts on {opened['starts_on']}")


def _header_of(field_: str) -> str:
    return next(c.header for c in COLUMNS if c.field == field_)


def plan(sheet: Sheet, current: dict[str, dict[str, Any]], held: dict[str, dict[str, Any]], today: date) -> Plan:
    """Every row checked, and the errors of all of them. ``current``: devices by asset tag; ``held``: their open
    assignments by device id. ``sheet`` is left as parsed, so a plan can be made again."""
    sheet = replace(sheet, errors=list(sheet.errors))
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
        planned = _plan_row(sheet, row, device, held.get(str(device["id"])) if device else None, today)
        if planned is not None:
            result.rows.append(planned)
    result.errors = sorted(sheet.errors, key=lambda e: e["row"])
    return result


# --- the import ---------------------------------------------------------------------------------------------


class RowChange(Output):
    row: int
    asset_tag: str
    action: str  # create, update, unchanged
    changes: list[str]  # the device fields an update changes (status included)
    assignment: str  # none, keep, update, check_out, transfer, check_in


class ImportProblem(Output):
    field: str  # 'row 14, column "Expected Checkin"'
    row: int
    column: str | None
    message: str


class ImportReport(Output):
    file: str
    dry_run: bool
    applied: bool
    columns: dict[str, str]  # field -> the header it was read from
    ignored_columns: list[str]  # the first 20, each name cut to 60 characters
    ignored_column_count: int
    rows: int
    created: int
    updated: int
    unchanged: int
    assignments: dict[str, int]  # keep, update, check_out, transfer, check_in
    errors: list[ImportProblem]
    error_count: int
    changes: list[RowChange]  # row by row (a dry run; empty once applied)


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
        "changes": [{"row": p.number, "asset_tag": p.asset_tag, "action": p.action, "changes": p.changes,
                     "assignment": p.assignment} for p in result.rows] if dry_run else [],
    }


def _refusal(source: Source, sheet: Sheet, result: Plan) -> Invalid:
    shown = "; ".join(f"{e['field']}: {e['message']}" for e in result.errors[:10])
    more = f"; and {len(result.errors) - 10} more" if len(result.errors) > 10 else ""
    return Invalid(f"{source.name}: {len(result.errors)} problem(s), so nothing was imported: {shown}{more}",
                   errors=result.errors[:MAX_ERRORS_SHOWN], error_count=len(result.errors),
                   ignored_columns=sheet.ignored, ignored_column_count=sheet.ignored_count)


async def import_devices(caller: Caller, source: Source, *, dry_run: bool = False,
                         progress: Callable[..., Iterable[Any]] | None = None) -> dict[str, Any]:
    """Check every row, then apply all of them or none (see the module's notes). ``progress``: the command
    line's ``partner_audit.progress.progress``, to show reading and writing as they go."""
    policies.IMPORT_DEVICES.check(caller)
    action = "device.import_preview" if dry_run else "device.import"
    today = datetime.now(UTC).date()
    # Read, parse and plan against the register as it is, outside any transaction: a large file takes seconds
    # and a transaction would hold every other writer (on SQLite, everyone signing in) for all of them.
    try:
        providers = await _providers()
        sheet = await spreadsheets.in_worker(parse, source, providers, progress)
        tags = list({r.values["asset_tag"] for r in sheet.rows if "asset_tag" in r.values})
        current, held = await _current(tags)
        result = await spreadsheets.in_worker(plan, sheet, current, held, today)
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
                result = await spreadsheets.in_worker(plan, sheet, current_now, held_now, today)
        audit.details.append(f"{source.name}: {len(sheet.rows)} rows, {len(result.errors)} problem(s)")
        if result.errors and not dry_run:
            raise _refusal(source, sheet, result)
        if not dry_run:
            await _apply(caller, result, progress)
        summary = _summary(source, sheet, result, dry_run, applied=not dry_run)
        audit.details.append(", ".join(f"{k} {summary[k]}" for k in ("created", "updated", "unchanged")) + "; "
                             + ", ".join(f"{k} {n}" for k, n in summary["assignments"].items() if n))
        return summary


async def _write(table: Any, rows: list[dict[str, Any]], update: tuple[Any, ...] | None, label: str,
                 progress: Callable[..., Iterable[Any]] | None) -> None:
    """Many rows per statement. ``update``: these rows exist (by id) and these columns take the new values."""
    parts: Iterable[list[dict[str, Any]]] = list(_chunks(rows))
    if progress is not None and rows:
        parts = progress(parts, label)
    for part in parts:
        query = table.insert(*(table(_ignore_missing=True, **r) for r in part))
        if update:
            query = query.on_conflict(target=table.id, action="DO UPDATE", values=list(update))
        await query.run()


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
        await _write(Device, new, None, "adding devices", progress)
        await _write(Device, changed, device_columns, "updating devices", progress)
        await _write(Assignment, closing, (Assignment.returned_on, Assignment.return_condition, Assignment.closed_at,
                                           Assignment.open_device), "closing assignments", progress)
        await _write(Assignment, updating, (Assignment.holder_name, Assignment.holder_email, Assignment.holder_phone,
                                            Assignment.holder_role, Assignment.purpose, Assignment.systems,
                                            Assignment.starts_on, Assignment.expected_return_on),
                     "updating assignments", progress)
        await _write(Assignment, opening, None, "checking out", progress)
    except Exception as exc:  # a unique index had the last word: someone changed the register meanwhile
        if db.is_unique_violation(exc):
            raise Conflict("The register changed while the file was being imported (a device was registered or "
                           "checked out meanwhile), so nothing was imported. Import the file again.") from exc
        raise


# --- exports -------------------------------------------------------------------------------------------------


REGISTER_HEADERS = ("Asset Tag", "Serial Number", "Device Type", "Make", "Model", "Encrypted", "MDM", "Status",
                    "Notes")
HOLDER_HEADERS = ("Holder Name", "Holder Email", "Holder Phone")
ASSIGNMENT_HEADERS = ("Provider", "Role", "Purpose", "Systems", "Assigned On", "Expected Return")
HISTORY_HEADERS = ("Asset Tag", "Device Type", "Make", "Model", "Serial Number", "Provider", *HOLDER_HEADERS, "Role",
                   "Purpose", "Systems", "Assigned On", "Expected Return", "Returned On", "Condition",
                   "Data Wiped", "Wiped By")


class _Writer:
    """Rows out as .xlsx (openpyxl write-only: rows go straight to the file) or .csv (UTF-8 with a BOM, so Excel
    reads the accents). Every cell goes through ``spreadsheets.cell``: no stored text is run as a formula or makes
    the export fail."""

    def __init__(self, fmt: ExportFormat, title: str, headers: tuple[str, ...]) -> None:
        self.fmt = fmt
        if fmt is ExportFormat.xlsx:
            self.book = Workbook(write_only=True)
            self.sheet = self.book.create_sheet(title)
        else:
            self.text = io.StringIO()
            self.csv = csv.writer(self.text)
        self.append(headers)

    def append(self, row: Iterable[Any]) -> None:
        cells = [("yes" if c else "no") if isinstance(c, bool) else spreadsheets.cell(c) for c in row]
        if self.fmt is ExportFormat.xlsx:
            self.sheet.append(cells)
        else:
            self.csv.writerow(["" if c is None else c.isoformat() if isinstance(c, date) else c for c in cells])

    def finish(self) -> bytes:
        if self.fmt is ExportFormat.csv:
            return self.text.getvalue().encode("utf-8-sig")
        out = io.BytesIO()
        self.book.save(out)
        return out.getvalue()


def media_type(fmt: ExportFormat) -> str:
    return XLSX_MEDIA_TYPE if fmt is ExportFormat.xlsx else CSV_MEDIA_TYPE


def _systems_text(systems: list[str] | str) -> str:
    items = systems if isinstance(systems, list) else [s for s in systems.split("\n") if s]
    return f"{SYSTEMS_SEPARATOR} ".join(items)


async def export_register(caller: Caller, fmt: ExportFormat, flt: service.DeviceFilter | None = None
                          ) -> tuple[bytes, int]:
    """The devices the caller may see, each with its current holder (columns as the import reads them, so an
    export edited and imported again changes only what was edited). Returns the file and its row count."""
    policies.SEE_REGISTER.check(caller)
    flt = flt or service.DeviceFilter()
    # Holder columns: for those who may see holders at all (a provider admin sees only their own provider's).
    holders = policies.SEE_HOLDER_DETAILS.allows(caller)
    writer = _Writer(fmt, "Devices", (*REGISTER_HEADERS, *(HOLDER_HEADERS if holders else ()), *ASSIGNMENT_HEADERS))
    count, last = 0, None
    async with access_log.audited(caller, "device.export", "device", provider_id=caller.provider_id) as audit:
        clauses = service._device_clauses(caller, flt)
        while True:
            query = service._devices_for(Device.select(), caller).order_by(Device.asset_tag).limit(CHUNK)
            if clauses:
                query = query.where(*clauses)
            if last is not None:
                query = query.where(Device.asset_tag > last)
            devices = await query.run()
            if not devices:
                break
            last = devices[-1]["asset_tag"]
            for device in await service._with_holders(caller, devices, "device.export"):
                held = device["current_assignment"] or {}
                writer.append((
                    device["asset_tag"], device["serial"], device["kind"], device["make"], device["model"],
                    device["encrypted"], device["mdm_enrolled"], device["status"], device["notes"],
                    *((held.get("holder_name"), held.get("holder_email"), held.get("holder_phone")) if holders
                      else ()),
                    held.get("provider_name"), held.get("holder_role"), held.get("purpose"),
                    _systems_text(held["systems"]) if held else None, held.get("starts_on"),
                    held.get("expected_return_on")))
                count += 1
        audit.details.append(f"{fmt.value}: {count} devices" + ("" if holders else ", holder details left out"))
    return await asyncio.to_thread(writer.finish), count


async def export_history(caller: Caller, holder_email: str, fmt: ExportFormat) -> tuple[bytes, int]:
    """Every device one person has held (by their email), newest first. Only for those who may see holders; a
    provider admin gets their own provider's part of it."""
    policies.SEE_HOLDER_DETAILS.check(caller)
    email = holder_email.strip().lower()
    try:
        msgspec.convert(email, Email)
    except msgspec.ValidationError:
        raise Invalid.field("holder_email", f'"{holder_email}" is not an email address') from None
    writer = _Writer(fmt, "History", HISTORY_HEADERS)
    async with access_log.audited(caller, "assignment.history_export", "assignment",
                                  provider_id=caller.provider_id) as audit:
        query = Assignment.select(
            *service._ASSIGNMENT_COLUMNS, Assignment.device.kind.as_alias("kind"),
            Assignment.device.make.as_alias("make"), Assignment.device.model.as_alias("model"),
            Assignment.device.serial.as_alias("serial"),
        ).where(Assignment.holder_email == email)
        rows = await scoped(query, Assignment.provider, caller).order_by(
            Assignment.starts_on, ascending=False).order_by(Assignment.created_at, ascending=False).run()
        for row in await service._present(caller, rows, "assignment.history_export"):
            writer.append((
                row["asset_tag"], row["kind"], row["make"], row["model"], row["serial"], row["provider_name"],
                row["holder_name"], row["holder_email"], row["holder_phone"], row["holder_role"], row["purpose"],
                _systems_text(row["systems"]), row["starts_on"], row["expected_return_on"], row["returned_on"],
                row["return_condition"], row["data_wiped"], row["wiped_by"]))
        audit.details.append(f"{fmt.value}: {len(rows)} assignments of one holder")
    return await asyncio.to_thread(writer.finish), len(rows)
