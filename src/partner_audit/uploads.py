"""File uploads: a multipart/form-data body streamed part by part, and a file's type told from its bytes and
checked through to its last byte.

Litestar's own form parsing reads a whole body into memory; evidence files can be hundreds of megabytes, so
uploads are parsed incrementally (the ``multipart`` package's push parser) straight from the request stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import filetype
from litestar import Request
from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

from partner_audit import plaintext
from partner_audit.errors import DomainError, Invalid, TooLarge, Unavailable
from partner_audit.filecheck import FileCheck, check_for
from partner_audit.storage import EvidenceStore, Stored, StoreUnavailable
from partner_audit.storage import TooLarge as StoreTooLarge

MAX_FIELD_BYTES = 10_000
SNIFF_BYTES = 8192

# What evidence may be: documents people actually keep as proof, never executables or archives.
ALLOWED_BINARY = {
    "application/pdf",
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/tiff", "image/heic",
    "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
}

# The extensions each type may be named with; a file named otherwise gets the first added (``named_for``).
EXTENSIONS = {
    "application/pdf": ("pdf",),
    "image/png": ("png",), "image/jpeg": ("jpg", "jpeg", "jpe", "jfif"), "image/gif": ("gif",),
    "image/webp": ("webp",), "image/tiff": ("tif", "tiff"), "image/heic": ("heic", "heif"),
    "application/msword": ("doc", "dot"), "application/vnd.ms-excel": ("xls", "xlt"),
    "application/vnd.ms-powerpoint": ("ppt", "pps", "pot"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("xlsx",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ("pptx",),
    "application/vnd.oasis.opendocument.text": ("odt",), "application/vnd.oasis.opendocument.spreadsheet": ("ods",),
    "application/vnd.oasis.opendocument.presentation": ("odp",),
    "text/plain": ("txt", "text", "log", "md"), "text/csv": ("csv",),
}


def named_for(filename: str, content_type: str) -> str:
    """The name to keep a file under: the person's own, unless its extension does not fit what the file is.
    Then the right one is added, so a downloaded copy opens as what it was checked to be: a text file named
    ``run.bat`` downloads as ``run.bat.txt``, never as something a double-click runs."""
    allowed = EXTENSIONS[content_type]
    stem, dot, extension = filename.rpartition(".")
    if dot and stem and extension.lower() in allowed:
        return filename
    return f"{filename[:250]}.{allowed[0]}"


class UnsupportedType(DomainError):
    status_code = 415
    title = "File type not allowed"


def sniff_type(head: bytes, filename: str) -> str:
    """The file's type from its first bytes; the name only tells CSV from plain text."""
    kind = filetype.guess(head)
    if kind is not None:
        if kind.mime in ALLOWED_BINARY:
            return kind.mime
        raise UnsupportedType(
            f"{filename}: {kind.mime} files cannot be evidence. Upload a PDF, an image, an Office document, "
            "text or CSV.", errors=[{"field": "file", "message": f"{kind.mime} is not allowed"}])
    if head and b"\x00" not in head:  # it claims to be text: ``filecheck.TextCheck`` holds it to that, or says why not
        return "text/csv" if filename.lower().endswith(".csv") else "text/plain"
    raise UnsupportedType(
        f"{filename}: the file's contents are not a PDF, image, Office document, text or CSV.",
        errors=[{"field": "file", "message": "unrecognised file type"}])


async def checked_chunks(chunks: AsyncIterator[bytes], filename: str, found: dict[str, Any]) -> AsyncIterator[bytes]:
    """Pass chunks through: the type is told from the first bytes before any byte goes on, then the whole file
    is checked to be of that type (``filecheck``) as it passes; a file that is not raises before its end is
    given, so the store never keeps it. The type found is put in ``found["content_type"]``.

    Close the generator (``contextlib.aclosing``) so a file abandoned midway releases its check's spool."""
    head = b""
    check: FileCheck | None = None
    try:
        async for chunk in chunks:
            if check is None:
                head += chunk
                if len(head) < SNIFF_BYTES:
                    continue
                check = check_for(sniff_type(head[:SNIFF_BYTES], filename), filename)
                chunk, head = head, b""
            await check.feed(chunk)
            yield chunk
        if check is None:
            check = check_for(sniff_type(head, filename), filename)
            await check.feed(head)
            if head:
                yield head
        await check.finish()
        found["content_type"] = check.content_type
    finally:
        if check is not None:
            check.close()


async def store_checked(store: EvidenceStore, key: str, filename: str, chunks: AsyncIterator[bytes],
                        max_bytes: int) -> tuple[Stored, str]:
    """Stream an uploaded file into the store under ``key``, its type checked from its bytes as it passes
    (``checked_chunks``) and hashed by the store: what was stored, and the file's type. Too large is a 413, a
    store that cannot be reached a 503, a file that is not what it claims a 415; in each case nothing is kept."""
    found: dict[str, Any] = {}
    try:
        async with aclosing(checked_chunks(chunks, filename, found)) as checked:
            stored = await store.put(key, checked, max_bytes)
    except StoreTooLarge as exc:
        raise TooLarge(f"{filename} is larger than the {max_bytes // (1024 * 1024)} MB limit.",
                       errors=[{"field": "file", "message": "is too large"}]) from exc
    except StoreUnavailable as exc:
        raise Unavailable(f"The evidence store is not available, so {filename} was not saved. Try again "
                          "shortly.") from exc
    return stored, found["content_type"]


class FormUpload:
    """A multipart form with small text fields first and then one file, read as it arrives.

    ``await form.open()`` reads up to the file part and returns the text fields before it; ``form.chunks()``
    then yields the file's bytes.
    """

    def __init__(self, request: Request, file_field: str = "file") -> None:
        content_type, options = parse_options_header(request.headers.get("content-type", ""))
        if content_type != "multipart/form-data" or not options.get("boundary"):
            raise Invalid("Send the file as multipart/form-data.",
                          errors=[{"field": "body", "message": "must be multipart/form-data"}])
        self.request = request
        self.file_field = file_field
        self.filename = ""
        self._parser = PushMultipartParser(options["boundary"], max_segment_count=20, strict=True)
        self._events = self._parse()

    async def _parse(self) -> AsyncIterator[MultipartSegment | bytes | None]:
        try:
            async for chunk in self.request.stream():
                for event in self._parser.parse(chunk):
                    yield event
            for event in self._parser.parse(b""):
                yield event
        except MultipartError as exc:
            raise Invalid(f"The upload is not a valid multipart form: {exc}",
                          errors=[{"field": "body", "message": str(exc)}]) from exc

    async def open(self) -> dict[str, str]:
        fields: dict[str, str] = {}
        current: MultipartSegment | None = None
        value = bytearray()
        async for event in self._events:
            if isinstance(event, MultipartSegment):
                if event.name == self.file_field and event.filename is not None:
                    plaintext.check("filename", event.filename)
                    self.filename = event.filename.replace("\\", "/").rsplit("/", 1)[-1][:255] or "upload"
                    return fields
                current, value = event, bytearray()
            elif isinstance(event, (bytes, bytearray)):
                value.extend(event)
                if len(value) > MAX_FIELD_BYTES:
                    raise Invalid.field(current.name if current else "body", "is too long")
            elif current is not None:
                fields[current.name or ""] = plaintext.check(current.name or "body",
                                                             value.decode("utf-8", errors="replace"))
                current = None
        raise Invalid.field(self.file_field, "is missing: send the file in a form field named 'file', after "
                                             "the other fields")

    async def chunks(self) -> AsyncIterator[bytes]:
        async for event in self._events:
            if event is None or isinstance(event, MultipartSegment):
                break
            yield bytes(event)
        async for _ in self._events:  # read the rest so the connection stays usable
            pass


async def whole_file(request: Request, filename: str | None) -> tuple[str, bytes]:
    """A file sent either way: as multipart/form-data with the file in a field named ``file`` (a browser's form),
    or as the raw body with its name in ``filename`` (a script's). Returns its name and its bytes, read whole:
    for a file that is parsed at once and whose size the route bounds (``request_max_body_size``)."""
    if request.headers.get("content-type", "").startswith("multipart/"):
        form = FormUpload(request)
        await form.open()
        return form.filename, b"".join([chunk async for chunk in form.chunks()])
    return filename or "upload", await request.body()
async def form_fields_first(request: Request, *required: str) -> tuple[FormUpload, dict[str, str]]:
    """A form whose text fields come before its file, as a streamed upload needs them: the form, ready to stream
    the file, and its fields. Each of ``required`` must be given, not blank, before the file (stripped here)."""
    form = FormUpload(request)
    fields = await form.open()
    for name in required:
        fields[name] = fields.get(name, "").strip()
        if not fields[name]:
            raise Invalid.field(name, "is required, before the file in the form")
    return form, fields
