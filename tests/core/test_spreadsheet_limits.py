"""Hostile workbooks, generated here and kept small, against both uploads that read .xlsx (the offline
assessment workbook and the device import), on SQLite and PostgreSQL: a sheet reaching millions of rows, one
row of a million cells, a cell far out at XFD1 or A1048576, a zip bomb part. Each is a prompt 413 naming the
limit and the sheet; legitimate files, even ones that declare a huge dimension, still go through."""

from __future__ import annotations

import io
import re
import time
import zipfile

from openpyxl import load_workbook

from tests.support.problems import problem
from tests.support.devices import devices, import_file, xlsx_file
from tests.support.workbooks import as_bytes, download, fill, saved, upload as upload_workbook

# Generous against a loaded CI machine; bench/hostile_uploads.py measures the real figures.
PROMPT = 5.0


def with_sheet(content: bytes, member: str, edit) -> bytes:
    """The workbook ``content`` with ``member``'s XML replaced by ``edit(xml)``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == member:
                data = edit(data)
            target.writestr(item.filename, data)
    return out.getvalue()


def with_member(content: bytes, name: str, size: int) -> bytes:
    """``content`` plus a part ``name`` of ``size`` zero bytes, written in chunks: the file stays tiny."""
    out = io.BytesIO(content)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as archive, archive.open(name, "w", force_zip64=True) as fh:
        chunk = bytes(2**20)
        for _ in range(size // len(chunk)):
            fh.write(chunk)
    return out.getvalue()


def before_sheet_end(extra: bytes):
    return lambda xml: xml.replace(b"</sheetData>", extra + b"</sheetData>")


def wide_row(row: int, cells: int) -> bytes:
    # Values that differ, so the part compresses like real data rather than like a bomb.
    return f'<row r="{row}">'.encode() + b"".join(b"<c><v>%d</v></c>" % (i * 7919) for i in range(cells)) + b"</row>"


def with_strings(content: bytes, count: int) -> bytes:
    """``content`` with a shared strings part of ``count`` distinct texts (openpyxl itself writes none)."""
    strings = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               + b"".join(b"<si><t>t%d</t></si>" % n for n in range(count)) + b"</sst>")
    override = (b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    content = with_sheet(content, "[Content_Types].xml", lambda xml: xml.replace(b"</Types>", override))
    out = io.BytesIO(content)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", strings)
    return out.getvalue()


def sheet_of(book_bytes: bytes, title: str) -> str:
    with zipfile.ZipFile(io.BytesIO(book_bytes)) as archive:
        workbook = archive.read("xl/workbook.xml").decode()
        rels = archive.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(rf'<sheet [^>]*name="{title}"[^>]*r:id="([^"]+)"', workbook) or \
        re.search(rf'<sheet [^>]*r:id="([^"]+)"[^>]*name="{title}"', workbook)
    target = re.search(rf'<Relationship [^>]*Id="{rid.group(1)}"[^>]*Target="([^"]+)"', rels) or \
        re.search(rf'<Relationship [^>]*Target="([^"]+)"[^>]*Id="{rid.group(1)}"', rels)
    return "xl/" + target.group(1).removeprefix("/xl/")


def refused_promptly(send, content: bytes, field: str) -> str:
    started = time.perf_counter()
    r = send(content)
    elapsed = time.perf_counter() - started
    body = problem(r, 413, field)
    assert elapsed < PROMPT, f"refused after {elapsed:.1f} s"
    return body["detail"]


# --- the offline assessment workbook ------------------------------------------------------------------


def test_hostile_assessment_workbooks_are_refused_promptly(world, mini):
    aid = mini["id"]
    book, r = download(world.provider_user, aid)
    legit = r.content
    about, questions = sheet_of(legit, "About"), sheet_of(legit, "Questions")

    def send(content: bytes):
        return upload_workbook(world.provider_user, aid, content)

    # The About sheet reaching row 6.9 million: openpyxl would yield every empty row before it.
    detail = refused_promptly(send, with_sheet(legit, about, before_sheet_end(b'<row r="6900000"/>')),
                              "file: sheet About")
    assert "row 6900000" in detail and "at most 2100 rows" in detail, detail
    # One row of half a million cells, in a file of a few MB.
    hostile = with_sheet(legit, questions, before_sheet_end(wide_row(900, 500_000)))
    assert len(hostile) < 5 * 2**20
    assert "at most 200 columns" in refused_promptly(send, hostile, "file: sheet Questions")
    # A single far cell: a sparse reference must not become 16,384 columns or a million rows.
    assert "column 16384" in refused_promptly(
        send, with_sheet(legit, questions, before_sheet_end(b'<row r="900"><c r="XFD900"><v>1</v></c></row>')),
        "file: sheet Questions")
    assert "row 1048576" in refused_promptly(
        send, with_sheet(legit, questions, before_sheet_end(b'<row r="900"><c r="D1048576"><v>1</v></c></row>')),
        "file: sheet Questions")
    # More distinct texts than openpyxl should hold in memory at once.
    assert "more than 100000 distinct texts" in refused_promptly(
        send, with_strings(legit, 100_001), "file")
    # Zip bombs: a part that unpacks past the limit, and one compressed as no real part is.
    assert "unpacks to 64.0 MB" in refused_promptly(send, with_member(legit, "xl/media/bomb.bin", 64 * 2**20),
                                                    "file")
    assert "compressed more than 250 to 1" in refused_promptly(
        send, with_member(legit, "xl/media/bomb.bin", 3 * 2**20), "file")
    assert saved(world.provider_user, aid) == {}


def test_a_workbook_declaring_a_huge_dimension_is_read_as_what_it_holds(world, mini):
    aid = mini["id"]
    book, r = download(world.provider_user, aid)
    question_id = book["Questions"]["A2"].value
    filled = as_bytes(fill(book, **{question_id: "Yes"}))
    for title in ("About", "Questions"):
        filled = with_sheet(filled, sheet_of(filled, title), lambda xml: re.sub(
            rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', xml))
    started = time.perf_counter()
    r = upload_workbook(world.provider_user, aid, filled)
    assert r.status_code == 200, r.text
    assert time.perf_counter() - started < PROMPT
    assert saved(world.provider_user, aid)[question_id]["value"] == "yes"


# --- the device import --------------------------------------------------------------------------------


def test_hostile_device_registers_are_refused_promptly(world):
    legit = xlsx_file(["Asset Tag", "Device Type"], [["LT-1", "laptop"]])
    sheet = sheet_of(legit, load_workbook(io.BytesIO(legit)).sheetnames[0])

    def send(content: bytes):
        return import_file(world.partnerships, content)

    assert "row 6900000" in refused_promptly(
        send, with_sheet(legit, sheet, before_sheet_end(b'<row r="6900000"/>')), "file: sheet Sheet")
    # A million cells in one row: 18 MB of XML in a file of a few MB, under every size limit.
    hostile = with_sheet(legit, sheet, before_sheet_end(wide_row(3, 1_000_000)))
    assert len(hostile) < 10 * 2**20
    assert "at most 100 columns" in refused_promptly(send, hostile, "file: sheet Sheet")
    assert "column 16384" in refused_promptly(
        send, with_sheet(legit, sheet, before_sheet_end(b'<row r="3"><c r="XFD3"><v>1</v></c></row>')),
        "file: sheet Sheet")
    assert "compressed more than 250 to 1" in refused_promptly(
        send, with_member(legit, "xl/media/bomb.bin", 8 * 2**20), "file")
    assert devices(world) == {}


def test_a_register_declaring_a_huge_dimension_imports_what_it_holds(world):
    legit = xlsx_file(["Asset Tag", "Device Type"], [["LT-1", "laptop"], ["PH-2", "phone"]])
    sheet = sheet_of(legit, load_workbook(io.BytesIO(legit)).sheetnames[0])
    claimed = with_sheet(legit, sheet, lambda xml: re.sub(
        rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:AN200001"/>', xml))
    started = time.perf_counter()
    r = import_file(world.partnerships, claimed)
    assert r.status_code == 200, r.text
    assert time.perf_counter() - started < PROMPT
    assert r.json()["created"] == 2 and sorted(devices(world)) == ["LT-1", "PH-2"]
