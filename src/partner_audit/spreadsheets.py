"""Spreadsheets in and out, safely: the one place an uploaded .xlsx is opened, and the one way a cell is written.

Reading. An .xlsx is a zip of XML, and both can claim far more than they hold: a 200 KB file can declare millions
of rows, hold one row of millions of cells, put two cells a million rows and a hundred columns apart (a reader
that keeps the sheet as a grid then holds every cell between them), or unpack to gigabytes. So before any reader
sees a sheet, ``check_xlsx`` checks the zip (members, each one's unpacked size and compression ratio, the total)
and scans every worksheet's XML keeping nothing but counters: rows, the highest row and column referenced, cells
in a row and in all, the rectangle the cells span, the longest cell text and the text in all. Past a caller's
``Limits`` the upload is refused (413 naming the limit and the sheet) before one cell is built. The scan is a few
byte patterns over the XML; a sheet they cannot vouch for (a cell or row without its reference, a comment or
CDATA, a very long text) is scanned again with expat, one element at a time.

Then one of two readers: ``sheet_rows`` reads a sheet's values with python-calamine (Rust; a few times faster
than openpyxl, and it holds the sheet whole, which the checks above bound), for imports that want values only;
``open_xlsx`` opens the workbook with openpyxl in read-only mode with the sheets' declared dimensions dropped, for
the assessment workbook, which tells a formula cell from a typed value (calamine gives only values).

Writing. ``cell`` is what every export puts in a cell: text a spreadsheet would run as a formula gets a leading
apostrophe (``restore`` takes it off on the way back in), and control characters that an .xlsx cannot hold
(openpyxl refuses them) become U+FFFD, so no stored text can make an export fail. ``export_value`` adds how
exports show yes/no, times and ids, and ``RowWriter`` writes rows of them as .xlsx or .csv.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import IO, Any, TypeVar
from xml.parsers import expat

from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.reader.excel import SHARED_STRINGS, ExcelReader
from openpyxl.utils.cell import column_index_from_string
from openpyxl.workbook.workbook import Workbook
from python_calamine import CalamineWorkbook, SheetTypeEnum

from partner_audit.errors import DomainError, TooLarge

# Text a spreadsheet (or a CSV made from one) would run as a formula: user text starting with one of these
# gets a leading apostrophe on export, which the reader takes off again so the round trip keeps the text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
REPLACEMENT = "\ufffd"
# Excel's own limit on the text of one cell.
CELL_TEXT_MAX = 32_767
_CHUNK = 64 * 1024
# openpyxl looks for a sheet's <dimension> before its rows; when a sheet has none it builds the whole sheet as an
# XML tree to find out (about 80 bytes a cell). Every spreadsheet program writes one; a sheet without it may
# hold this many cells, about 80 MB of that tree.
UNDIMENSIONED_CELLS = 1_000_000
# Uploads are parsed two at a time per process: each may take a good part of the memory budget, and the event
# loop's default worker threads stay free for everything else (password hashing, files) however many arrive.
_PARSERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="spreadsheet")
T = TypeVar("T")
_COORDINATE = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")


def neutralise(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def restore(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_TRIGGERS) else text


def cell(value: Any) -> Any:
    """A value as an export writes it: text neutralised and cleaned of what a workbook cannot hold; the rest as is."""
    if not isinstance(value, str):
        return value
    return neutralise(ILLEGAL_CHARACTERS_RE.sub(REPLACEMENT, value))


# --- reading ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """What one kind of upload may hold. Worksheets are streamed, so they may be large; openpyxl holds the shared
    strings all at once, and builds every other XML part (styles, the manifest) whole as a tree, so those get
    less."""

    max_rows: int  # the highest row number a sheet may reach, header included
    max_columns: int  # the highest column, and so the most cells in a row
    max_cells: int  # cells in all, over every sheet
    max_strings: int  # distinct texts (the shared strings), which openpyxl holds in memory all at once
    max_sheet_bytes: int  # one worksheet, unpacked
    max_strings_bytes: int  # the shared strings, unpacked
    max_part_bytes: int  # any other part, unpacked
    max_unpacked_bytes: int  # the whole archive, unpacked
    max_members: int = 200
    # Real workbooks compress their XML 5 to 30 times; deflate cannot pass about 1000.
    max_ratio: int = 250
    # For a sheet read whole (``sheet_rows``): the rectangle from its first to its last cell, which calamine
    # holds as a grid (32 bytes a cell, blank or not), and the characters of cell text in the sheet's XML, which
    # it holds too. None: not limited (openpyxl streams rows).
    max_area: int | None = None
    max_sheet_text: int | None = None


async def in_worker(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``, a blocking read of an upload, in one of the upload parsers' threads."""
    return await asyncio.get_running_loop().run_in_executor(_PARSERS, fn, *args)


def _too_large(message: str, where: str = "file") -> TooLarge:
    return TooLarge(message, errors=[{"field": where, "message": message}])


def _check_archive(archive: zipfile.ZipFile, limits: Limits, sheets: set[str], strings: str | None) -> None:
    """Declared sizes are enough: zipfile stops reading a member at its declared size and checks its CRC.
    ``sheets`` and ``strings``: the parts that may be larger."""
    members = archive.infolist()
    if len(members) > limits.max_members:
        raise _too_large(f"the workbook holds {len(members)} parts; at most {limits.max_members} are accepted")
    total = 0
    for info in members:
        cap = (limits.max_sheet_bytes if info.filename in sheets else
               limits.max_strings_bytes if info.filename == strings else limits.max_part_bytes)
        if info.file_size > cap:
            raise _too_large(f"its part {info.filename} unpacks to {info.file_size / 2**20:.1f} MB; at most "
                             f"{cap / 2**20:.0f} MB is accepted")
        if info.file_size > 2**20 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise _too_large(f"its part {info.filename} is compressed more than {limits.max_ratio} to 1, as only "
                             "a zip bomb is")
        total += info.file_size
    if total > limits.max_unpacked_bytes:
        raise _too_large(f"the workbook unpacks to {total / 2**20:.0f} MB; at most "
                         f"{limits.max_unpacked_bytes / 2**20:.0f} MB is accepted")


class _SheetScan:
    """Counts one worksheet's rows and cells as expat streams it: no element is kept."""

    def __init__(self, title: str, limits: Limits, cells_before: int) -> None:
        self.title, self.limits = title, limits
        self.cells_before = self.cells = cells_before
        self.in_sheet = 0  # cells in this sheet
        self.dimensioned = False  # a <dimension> came before the rows
        self.rows_started = False
        self.row = 0  # the current row's number
        self.column = 0  # the current cell's column
        self.in_row = 0  # cells in the current row
        self.text = 0  # characters in the current cell's value
        self.sheet_text = 0  # characters of text in the sheet
        self.top, self.left, self.bottom, self.right = _FAR, _FAR, 0, 0  # the rectangle the cells span
        self.error_cells = 0  # cells holding a formula's error (#N/A, #DIV/0! …)

    def refuse(self, what: str) -> TooLarge:
        return _too_large(f'sheet "{self.title}" {what}', where=f"file: sheet {self.title}")

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = name.rpartition(" ")[2]
        if tag == "dimension" and not self.rows_started:
            self.dimensioned = True
        elif tag == "sheetData":
            self.rows_started = True
        elif tag == "row":
            number = attrs.get("r")
            self.row = int(number) if number and number.isdigit() else self.row + 1
            self.column = self.in_row = 0
            if self.row > self.limits.max_rows:
                raise self.refuse(f"reaches row {self.row}; at most {self.limits.max_rows} rows are accepted")
        elif tag == "c":
            row, self.column = self._place(attrs.get("r"))
            self.top, self.bottom = min(self.top, row), max(self.bottom, row)
            self.left, self.right = min(self.left, self.column), max(self.right, self.column)
            self.in_row += 1
            self.in_sheet += 1
            self.cells += 1
            self.error_cells += attrs.get("t") == "e"
            self.counted(self.column, self.in_row)
            self.text = 0

    def counted(self, column: int, in_row: int) -> None:
        """The limits on cells, once the cell at ``column`` (the ``in_row``-th of its row) is counted."""
        if not self.dimensioned and self.in_sheet > UNDIMENSIONED_CELLS:
            raise self.refuse(f"has more than {UNDIMENSIONED_CELLS} cells and does not say its size (it has no "
                              "dimension record); open it in a spreadsheet program and save it again")
        if column > self.limits.max_columns or in_row > self.limits.max_columns:
            raise self.refuse(f"has a cell in column {max(column, in_row)} of row {self.row}; at "
                              f"most {self.limits.max_columns} columns are accepted")
        if self.cells > self.limits.max_cells:
            raise _too_large(f"the workbook has more than {self.limits.max_cells} cells; at most "
                             f"{self.limits.max_cells} are accepted (found by sheet \"{self.title}\")",
                             where=f"file: sheet {self.title}")

    def _place(self, reference: str | None) -> tuple[int, int]:
        found = _COORDINATE.match(reference or "")
        if found is None:
            return self.row, self.column + 1  # openpyxl counts a cell without a reference as the next one
        row = int(found.group(2))
        if row > self.limits.max_rows:
            raise self.refuse(f"has a cell in row {row}; at most {self.limits.max_rows} rows are accepted")
        return row, column_index_from_string(found.group(1).upper())

    def characters(self, data: str) -> None:
        self.text += len(data)
        self.sheet_text += len(data)
        if self.text > CELL_TEXT_MAX:
            raise self.refuse(f"has a cell in row {self.row} longer than {CELL_TEXT_MAX} characters, the most "
                              "a spreadsheet cell holds")
        if self.limits.max_sheet_text is not None and self.sheet_text > self.limits.max_sheet_text:
            raise self.refuse(f"holds more than {self.limits.max_sheet_text} characters of text; at most "
                              f"{self.limits.max_sheet_text} are accepted")

    def finish(self) -> None:
        """The limits on the sheet as a whole, once all of it is counted."""
        area = (self.bottom - self.top + 1) * (self.right - self.left + 1) if self.bottom else 0
        if self.limits.max_area is not None and area > self.limits.max_area:
            raise self.refuse(f"has cells from row {self.top} column {self.left} to row {self.bottom} column "
                              f"{self.right}, a grid of {area} cells; at most {self.limits.max_area} are accepted")


# The rectangle before any cell is in it.
_FAR = 2**31


# The start of a shared string, ``<si>`` or ``<x:si …>``, in four bytes: counted without a parser, since a
# Python callback per element made a file of a million texts take seconds to refuse. A text cannot hold a raw
# "<", so only ":si>"-like text can be counted too, which errs towards refusing.
_STRING_START = re.compile(rb"[<:]si[\s/>]")


def _count_strings(stream: IO[bytes], limits: Limits) -> None:
    count, carry = 0, b""
    while chunk := stream.read(_CHUNK):
        data = carry + chunk
        count += len(_STRING_START.findall(data))
        carry = data[-3:]  # shorter than a match, so never counted twice
        if count > limits.max_strings:
            raise _too_large(f"the workbook holds more than {limits.max_strings} distinct texts; at most "
                             f"{limits.max_strings} are accepted")


def _forbidden(*_: Any) -> None:
    raise ValueError("a document type declaration or an entity")


def _scan(stream: IO[bytes], scan: _SheetScan) -> None:
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = scan.start
    parser.CharacterDataHandler = scan.characters
    # As defusedxml does: a worksheet has no business declaring entities, and expanding them is a bomb.
    parser.StartDoctypeDeclHandler = _forbidden
    parser.EntityDeclHandler = _forbidden
    while chunk := stream.read(_CHUNK):
        parser.Parse(chunk, False)
    parser.Parse(b"", True)
    scan.finish()


# The quick scan: the same counts from byte patterns, since a Python call per element (expat's callbacks) took
# three times as long as calamine takes to read the sheet. The patterns know rows and cells only as spreadsheet
# programs write them (``<row r="7"``, ``<c r="AB7"``: no namespace prefix, the reference first); anything else is
# left to expat.
_CELL = re.compile(rb'<c r="([A-Za-z]{1,3})([0-9]{1,7})"')
_ROW = re.compile(rb'<row r="([0-9]{1,7})"')
_CELL_TAGS = tuple(b"<c" + end for end in (b" ", b">", b"/", b"\t", b"\n", b"\r"))
_ROW_TAGS = tuple(b"<row" + end for end in (b" ", b">", b"/", b"\t", b"\n", b"\r"))
# A row or cell with a namespace prefix (or text that looks like one, which only costs the slower scan).
_PREFIXED = re.compile(rb":(?:c|row)[\s/>]")
_LONG_TEXT = re.compile(rb">[^<]{%d}" % (CELL_TEXT_MAX + 1))
_TEXT = re.compile(rb">[^<]+")
_QUICK_CHUNK = 2**20
# Longer than this and a carried piece is no tag or cell text of a sound sheet.
_CARRY_MAX = 4 * CELL_TEXT_MAX + 4096


def _quick_scan(stream: IO[bytes], scan: _SheetScan, measure_text: bool) -> bool:
    """Count the sheet as ``_scan`` does, from byte patterns: True with ``scan`` filled in (or TooLarge), or False
    when the patterns cannot vouch for the sheet and expat must read it (a row or cell written otherwise, a
    comment, CDATA or a declaration, a cell's long text, more text than ``max_sheet_text`` counted loosely).
    ``measure_text``: count the text, which a sheet no larger than ``max_sheet_text`` cannot pass."""
    carry, begun = b"", False
    limits = scan.limits
    while chunk := stream.read(_QUICK_CHUNK):
        data = carry + chunk
        cut = data.rfind(b">")
        if cut < 0:
            if len(data) > _CARRY_MAX:
                return False
            carry = data
            continue
        # Keep the last ">" with what follows it, so the text after it is looked at with the next chunk.
        part, carry = data[:cut + 1], data[cut:]
        if b"<!" in part or _PREFIXED.search(part) or _LONG_TEXT.search(part):
            return False
        if not begun:
            dimension, rows_start = part.find(b"<dimension"), part.find(b"<sheetData")
            if rows_start >= 0:
                begun, scan.dimensioned = True, 0 <= dimension < rows_start
        cells, rows = _CELL.findall(part), _ROW.findall(part)
        if len(cells) != sum(map(part.count, _CELL_TAGS)) or len(rows) != sum(map(part.count, _ROW_TAGS)):
            return False
        if rows and (last := max(map(int, set(rows)))) > limits.max_rows:
            raise scan.refuse(f"reaches row {last}; at most {limits.max_rows} rows are accepted")
        if cells:
            cell_rows = [int(r) for r in {r for _, r in cells}]
            if max(cell_rows) > limits.max_rows:
                raise scan.refuse(f"has a cell in row {max(cell_rows)}; at most {limits.max_rows} rows are "
                                  "accepted")
            by_letters = {c: column_index_from_string(c.decode().upper()) for c in {c for c, _ in cells}}
            scan.top, scan.bottom = min(scan.top, *cell_rows), max(scan.bottom, *cell_rows)
            scan.left = min(scan.left, *by_letters.values())
            scan.right = max(scan.right, *by_letters.values())
            widest = max(by_letters, key=by_letters.__getitem__)
            scan.in_sheet += len(cells)
            scan.cells += len(cells)
            scan.row = int(next(r for c, r in cells if c == widest))
            scan.counted(by_letters[widest], 0)
            scan.error_cells += part.count(b' t="e"') + part.count(b" t='e'")
        if measure_text:
            scan.sheet_text += sum(map(len, _TEXT.findall(part)))
            if limits.max_sheet_text is not None and scan.sheet_text > limits.max_sheet_text:
                return False
    if b"<" in carry:
        return False  # the sheet ends inside a tag: let expat say what is wrong
    scan.finish()
    return True


def _scan_sheet(archive: zipfile.ZipFile, part: str, scan: _SheetScan) -> None:
    text_cap = scan.limits.max_sheet_text
    with archive.open(part) as stream:
        if _quick_scan(stream, scan, text_cap is not None and archive.getinfo(part).file_size > text_cap):
            return
    scan.__init__(scan.title, scan.limits, scan.cells_before)  # type: ignore[misc]
    with archive.open(part) as stream:
        _scan(stream, scan)


def _parts(source: Path | IO[bytes]) -> tuple[str | None, list[tuple[str, str]]]:
    """The shared strings' part, and each worksheet's title and part, found as openpyxl finds them (the
    manifest and the workbook's relationships decide where they live), without reading any of them."""
    reader = ExcelReader(source, read_only=True, keep_links=False)
    try:
        reader.read_manifest()
        reader.read_workbook()
        strings = reader.package.find(SHARED_STRINGS)
        return strings.PartName[1:] if strings is not None else None, [
            (sheet.name, rel.target) for sheet, rel in reader.parser.find_sheets()
            if rel.target in reader.valid_files and "chartsheet" not in rel.Type]
    finally:
        reader.archive.close()


@dataclass(frozen=True)
class Checked:
    """A worksheet as ``check_xlsx`` found it."""

    title: str
    error_cells: int  # cells holding a formula's error, such as #N/A


def check_xlsx(source: Path | IO[bytes], limits: Limits, damaged: Callable[[str], DomainError]) -> list[Checked]:
    """Refuse the workbook unless the archive and every worksheet are within ``limits`` (TooLarge), or when it
    is not a sound workbook (``damaged(why)``); nothing of it is materialised. The worksheets, in the workbook's
    order. Blocking: run it in a worker thread."""
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile:
        raise damaged("it could not be opened as a workbook; it may be damaged") from None
    with archive:
        # Where the parts usually are, before openpyxl reads the manifest to say where they are; then again.
        _check_archive(archive, limits, {n for n in archive.namelist() if n.startswith("xl/worksheets/")},
                       "xl/sharedStrings.xml")
        try:
            strings, sheets = _parts(source)
            _check_archive(archive, limits, {part for _, part in sheets}, strings)
            if strings is not None and strings in archive.namelist():
                with archive.open(strings) as stream:
                    _count_strings(stream, limits)
            cells, checked = 0, []
            for title, part in sheets:
                scan = _SheetScan(title, limits, cells)
                _scan_sheet(archive, part, scan)
                cells = scan.cells
                checked.append(Checked(title, scan.error_cells))
        except DomainError:
            raise
        except Exception as exc:  # openpyxl's or expat's errors on a damaged or hostile file, a DTD, a lost part
            raise damaged("it could not be opened as a workbook; it may be damaged") from exc
    return checked


def open_xlsx(source: Path | IO[bytes], limits: Limits, damaged: Callable[[str], DomainError], *,
              data_only: bool) -> Workbook:
    """The workbook in read-only mode (openpyxl), once ``check_xlsx`` passes it. ``data_only``: a formula cell
    gives its last computed value rather than the formula. Blocking: run it in a worker thread. The caller
    closes the workbook."""
    check_xlsx(source, limits, damaged)
    return _openpyxl(source, damaged, data_only=data_only)


def _openpyxl(source: Path | IO[bytes], damaged: Callable[[str], DomainError], *, data_only: bool) -> Workbook:
    try:
        book = load_workbook(source, read_only=True, data_only=data_only, keep_links=False)
    except Exception as exc:  # as in check_xlsx
        raise damaged("it could not be opened as a workbook; it may be damaged") from exc
    for sheet in book.worksheets:
        # Rows stream up to the last one present, never padded to a dimension the file declares.
        sheet.reset_dimensions()
    return book


def sheet_rows(source: Path | IO[bytes], limits: Limits, damaged: Callable[[str], DomainError],
               index: int = 0) -> Iterator[Sequence[Any]]:
    """The values of the ``index``-th worksheet (chart sheets not counted), row by row from row 1, once
    ``check_xlsx`` passes the workbook. A formula cell gives its last computed value; a blank cell is "" or
    None; numbers are floats or ints; a date cell a date, or a datetime when it has a time. Blocking: run it in
    a worker thread, and read the rows there too.

    Read with python-calamine, which holds the sheet whole (the limits' ``max_area`` and ``max_sheet_text``
    bound it), and whose rows start at the sheet's first used column. It reads a cell holding a formula's error
    (#N/A) as blank, where openpyxl gives the error's text, which imports have always read as the cell's value
    (an error in a date column is "not a date", not a blank that keeps the old date); so a sheet holding one is
    streamed with openpyxl instead."""
    checked = check_xlsx(source, limits, damaged)
    if not isinstance(source, Path):
        source.seek(0)  # the checks read it
    if index < len(checked) and checked[index].error_cells:
        return _openpyxl_rows(_openpyxl(source, damaged, data_only=True), index, damaged)
    try:
        book = (CalamineWorkbook.from_path(str(source)) if isinstance(source, Path)
                else CalamineWorkbook.from_filelike(source))
        with book:
            names = [m.name for m in book.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
            sheet = book.get_sheet_by_name(names[index])
    except Exception as exc:  # calamine's errors on a file the checks passed but it cannot read
        raise damaged("it could not be read as a workbook; it may be damaged") from exc
    if sheet.start is None:
        return iter(())  # an empty sheet (calamine cannot iterate one)
    return iter(sheet.iter_rows())


def _openpyxl_rows(book: Workbook, index: int, damaged: Callable[[str], DomainError]) -> Iterator[Sequence[Any]]:
    try:
        yield from book.worksheets[index].iter_rows(values_only=True)
    except Exception as exc:  # sheets are parsed lazily, while they are read
        raise damaged("its first sheet could not be read; it may be damaged") from exc
    finally:
        book.close()


# --- rows out: exports as .xlsx or .csv --------------------------------------------------------------

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Litestar adds "; charset=utf-8" to every text/ type it sends; given here too, the header said it twice.
CSV_MEDIA_TYPE = "text/csv"


class ExportFormat(str, Enum):
    xlsx = "xlsx"
    csv = "csv"

    @property
    def media_type(self) -> str:
        return XLSX_MEDIA_TYPE if self is ExportFormat.xlsx else CSV_MEDIA_TYPE


def export_value(value: Any) -> Any:
    """A stored value as an export shows it: yes/no, times in UTC without a zone (Excel has none), ids as text,
    and text as ``cell`` writes it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, uuid.UUID):
        return str(value)
    return cell(value)


def workbook_bytes(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


class RowWriter:
    """Rows out as .xlsx (openpyxl write-only: rows go straight to the file) or .csv (UTF-8 with a BOM, so Excel
    reads the accents). Every value goes through ``export_value``: no stored text is run as a formula or makes
    the export fail."""

    def __init__(self, fmt: ExportFormat, title: str, headers: Iterable[str]) -> None:
        self.fmt = fmt
        if fmt is ExportFormat.xlsx:
            self.book = Workbook(write_only=True)
            self.sheet = self.book.create_sheet(title)
        else:
            self.text = io.StringIO()
            self.csv = csv.writer(self.text)
        self.append(headers)

    def append(self, row: Iterable[Any]) -> None:
        cells = [export_value(c) for c in row]
        if self.fmt is ExportFormat.xlsx:
            self.sheet.append(cells)
        else:
            self.csv.writerow(["" if c is None else c.isoformat() if isinstance(c, date) else c for c in cells])

    def finish(self) -> bytes:
        """The file. Blocking for a large export: run it in a thread."""
        if self.fmt is ExportFormat.csv:
            return self.text.getvalue().encode("utf-8-sig")
        return workbook_bytes(self.book)
# --- cells and files, as every format module reads and writes them ---------------------------------------


def put(sheet: Any, ref: str, value: Any) -> Any:
    """Write ``value`` into the cell at ``ref`` as ``cell`` says, and return the cell (to style it)."""
    target = sheet[ref]
    target.value = cell(value)
    return target


def value_of(target: Any) -> Any:
    """A read cell's value, None when it is blank or only spaces."""
    value = getattr(target, "value", None)
    if isinstance(value, str) and not value.strip():
        return None
    return value


def number_text(number: float) -> str:
    """A number as a person writes it: 3, not 3.0."""
    return str(int(number)) if float(number).is_integer() else str(number)


def typed_text(value: Any) -> str:
    """A cell the spreadsheet typed as a number or a date, read as the text the person typed."""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return number_text(value)
    return str(value)


def kind_of(content: bytes) -> str:
    """What an upload is, from its bytes: "xlsx", "xls" (Excel 97-2003), "ods" (OpenDocument), "zip" (another
    zip), "text" (UTF-8 text at first sight, such as CSV) or "binary". Lets a format module tell a person what
    they sent instead of a workbook."""
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        try:
            content[:4096].decode("utf-8")
        except UnicodeDecodeError:
            return "binary"
        return "text"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return "ods" if "mimetype" in names and "content.xml" in names else "zip"
