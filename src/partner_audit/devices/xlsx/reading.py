"""Reading an uploaded register: the first sheet of an .xlsx, or a .csv, as rows of cell values, header first.

An .xlsx is checked by ``spreadsheets.check_xlsx`` within ``LIMITS`` and then read with python-calamine
(``spreadsheets.sheet_rows``; a formula cell gives its last computed value, a blank cell is ""). A .csv is decoded
as UTF-8, or as Windows-1252 when it reads plausibly as that, and no record (a row, with any line breaks inside
quotes) may pass ``MAX_RECORD_CHARS`` before it is split.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from partner_audit import spreadsheets
from partner_audit.errors import DomainError, Invalid, TooLarge

# 50,000 rows of a full register make an .xlsx of about 4 MB and a .csv of about 9 MB.
MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000
# Snipe-IT's export with a few custom fields has about 40 columns; the import reads 18 of them.
MAX_COLUMNS = 100
# A 200,000-row register of every column unpacks to about 200 MB of sheet XML; shared strings and styles get far
# less. calamine holds the first sheet whole: as a grid of 32 bytes a cell (so at most 128 MB for the rectangle
# its cells span, what 200,000 rows of 20 columns fill) and its text (a 200,000-row register written with inline
# text, as openpyxl writes, has about 30 million characters of it).
LIMITS = spreadsheets.Limits(
    max_rows=MAX_ROWS + 1, max_columns=MAX_COLUMNS, max_cells=(MAX_ROWS + 1) * 20, max_strings=1_000_000,
    max_sheet_bytes=300 * 2**20, max_strings_bytes=48 * 2**20, max_part_bytes=8 * 2**20, max_unpacked_bytes=400 * 2**20,
    max_area=(MAX_ROWS + 1) * 20, max_sheet_text=64 * 2**20)
# A CSV record (a row, with any line breaks inside quotes) longer than this is not a row of a register.
MAX_RECORD_CHARS = 256 * 1024


class NotASpreadsheet(DomainError):
    status_code = 415
    title = "Not an .xlsx or .csv file"


def problem(number: int, column: str | None, message: str) -> dict[str, Any]:
    """A problem as the import reports it: its row (the spreadsheet's own number, the header is row 1) and,
    when one is to blame, its column as the file names it."""
    where = f'row {number}, column "{column}"' if column else f"row {number}"
    return {"field": where, "row": number, "column": column, "message": message}


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


def _xlsx_rows(source: Source) -> Iterator[Any]:
    try:
        with zipfile.ZipFile(source.binary()) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" not in names:
                raise _not_a_spreadsheet("it is an OpenDocument (.ods) spreadsheet" if "content.xml" in names
                                         else "it is a zip file, not a workbook")
        # The register is the first sheet: the one a spreadsheet opens on.
        return spreadsheets.sheet_rows(source.binary(), LIMITS, _not_a_spreadsheet)
    except DomainError:
        raise
    except Exception as exc:  # a zip damaged past its header
        raise _not_a_spreadsheet("it could not be opened as a workbook; it may be damaged") from exc


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
                      errors=[problem(row, None, f"byte 0x{raw[bad]:02X} is not UTF-8 text")])
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
                  errors=[problem(row, None, "is not UTF-8 or Windows-1252 text")])


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
                           "a register is far shorter.", errors=[problem(self.row, None, "is too long")])
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
                               "read.", errors=[problem(lines.row, None, "has too many columns")])
            lines.record_read()
            yield tuple(record)
    except csv.Error as exc:
        raise _not_a_spreadsheet(f"it is not valid CSV ({exc})") from exc


def rows_of(source: Source) -> Iterator[Any]:
    """The first sheet's rows (or the CSV's records) as sequences of cell values, header first; a blank cell is
    None or "" (an .xlsx cell may be typed as text, a number, a date or datetime, a time, a duration or yes/no)."""
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
