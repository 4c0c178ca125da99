"""Whether an uploaded file is, from its first byte to its last, what its first bytes say it is.

The type is told from the first bytes (``uploads.sniff_type``); a file can still carry something else after
them: a zip with a program in it appended to a PDF, a program after a page of shell script, a macro or an
``.exe`` inside an Office document. ``check_for(content_type)`` gives a check that is fed the file's chunks as
they stream to the store and refuses the file in ``finish()``, before the store keeps it.

Memory stays bounded whatever the size: text is decoded incrementally, PDFs and images keep only their last
64 KiB, and packages (zip and OLE files, whose directory is at the end) are spooled to an anonymous temporary
file, which the operating system removes when it is closed or the process dies.
"""

from __future__ import annotations

import asyncio
import codecs
import posixpath
import re
import struct
import tempfile
import zipfile
from typing import IO

from partner_audit.errors import Invalid

# Zip readers look for the archive's end record in the last 64 KiB + 22 bytes of a file: a zip appended to
# anything else opens as an archive if its end record is there.
ZIP_END = b"PK\x05\x06"
ZIP_TAIL = 65_536 + 22
# ISO 32000-1 7.2.2: NUL, tab, line feed, form feed, carriage return and space.
PDF_WHITESPACE = b"\x00\t\n\x0c\r "
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"

# Packages: far beyond any real document, well short of a zip bomb.
MAX_ENTRIES = 10_000
MAX_UNPACKED = 1024**3
MAX_RATIO = 200  # uncompressed : compressed, for entries over RATIO_FROM bytes
RATIO_FROM = 1024**2
MAX_PART_XML = 4 * 1024**2  # [Content_Types].xml and .rels parts are read whole, so bounded
SPOOL_WRITE = 1024**2

EXECUTABLE_EXTENSIONS = frozenset(
    "exe dll com scr pif cpl msi msp msc bat cmd ps1 psm1 vbs vbe js jse wsf wsh hta jar sh bash elf so "
    "dylib app lnk reg inf scf url py pl rb ocx sys drv".split())
# The first bytes of programs and of OLE compound files (macros, embedded objects, ActiveX are stored as those).
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
                    b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Printer settings are the one binary part Office writes on its own; macros (vbaProject.bin), embedded OLE
# objects (oleObject1.bin) and ActiveX controls (activeX1.bin) are the others.
HARMLESS_BIN = re.compile(r"(^|/)printerSettings\d*\.bin$", re.IGNORECASE)
# Content types of parts that run code: macro-enabled documents, VBA projects, ActiveX controls, OLE objects.
ACTIVE_CONTENT = re.compile(rb"macroenabled|vbaproject|activex|oleobject|vnd\.ms-office\.vba", re.IGNORECASE)
# A relationship that makes Word or Excel fetch something when the document opens (template injection).
RELATIONSHIP = re.compile(rb"<Relationship\b[^>]*>", re.IGNORECASE)
FETCHED_ON_OPEN = re.compile(rb'Type="[^"]*/(attachedTemplate|oleObject|frame|subDocument)"', re.IGNORECASE)
EXTERNAL = re.compile(rb'TargetMode="External"', re.IGNORECASE)
# OLE storages that hold macros or embedded objects in .doc, .xls and .ppt files.
OLE_ACTIVE = {"macros", "_vba_project_cur", "vba", "objectpool", "\x01ole10native"}
# Four non-ASCII bytes in a row: no Western text in Windows-1252 has them, every East Asian encoding does.
FOREIGN_RUN = 4
HIGH_BYTES = bytes(range(0x80, 0x100))
HIGH_AS_ONE = bytes(0 if b < 0x80 else 1 for b in range(256))  # for bytes.translate
# Text allows tab, line feed, form feed and carriage return; every other C0 control, and DEL, is not text; nor,
# in UTF-8, the C1 controls. NOT_CONTROL is what bytes.translate deletes to leave only the controls.
CONTROL_BYTES = frozenset([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F])
NOT_CONTROL = bytes(b for b in range(256) if b not in CONTROL_BYTES)
C1_UTF8_LEAD = b"\xc2"
C1_UTF8 = re.compile(rb"\xc2[\x80-\x9f]")
# The same, as characters, for names inside packages.
CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")

OOXML = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
ODF = {
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
}
OLE = {"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"}


def refuse(filename: str, reason: str) -> Invalid:
    return Invalid(f"{filename}: {reason}; it was not saved.", errors=[{"field": "file", "message": reason}])


class FileCheck:
    """Fed every chunk of one file in order; ``finish()`` raises ``Invalid`` when the file is not what it
    claims. ``close()`` releases what the check holds, whether or not it finished."""

    def __init__(self, content_type: str, filename: str) -> None:
        self.content_type = content_type
        self.filename = filename
        self.size = 0

    async def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)

    async def finish(self) -> None: ...

    def close(self) -> None: ...

    def refuse(self, reason: str) -> Invalid:
        return refuse(self.filename, reason)


class TextCheck(FileCheck):
    """UTF-8 throughout, or Windows-1252 throughout (then nothing before the first non-ASCII byte was UTF-8, and
    it reads as Western text), with no control characters but tab, line feed, form feed and carriage return.

    Checked on the bytes with ``bytes.translate`` and ``find`` rather than regular expressions, which are
    twenty times slower: a 250 MB upload must not hold the event loop for seconds."""

    def __init__(self, content_type: str, filename: str) -> None:
        super().__init__(content_type, filename)
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.ascii_so_far = True
        self.encoding = "utf-8"
        self.before = b""  # the last bytes of the previous chunk, for what spans two chunks

    async def feed(self, chunk: bytes) -> None:
        self.read(chunk)

    async def finish(self) -> None:
        self.read(b"", final=True)

    def read(self, chunk: bytes, final: bool = False) -> None:
        """Check the next chunk; ``final`` when there is no more (a character cut short is then an error)."""
        offset, self.size = self.size, self.size + len(chunk)
        control = self._control(chunk)
        # Whatever comes first in the file is the problem named: text that is not UTF-8 before the control.
        self._decode(chunk if control is None else chunk[:max(control[0], 0)], offset, final)
        if control is not None:
            raise self.refuse(f"byte {offset + control[0] + 1} is a control character (U+{control[1]:04X}), so "
                              "the file is not text throughout")
        self.before = (self.before + chunk)[-(FOREIGN_RUN - 1):]

    def _control(self, chunk: bytes) -> tuple[int, int] | None:
        """The first control character's index in ``chunk`` (-1: it began in the last chunk) and code point: C0
        and DEL, and in UTF-8 the C1 controls (U+0080 to U+009F)."""
        found = [(chunk.find(byte), byte) for byte in set(chunk.translate(None, NOT_CONTROL))]
        last = self.before[-1:]
        if self.encoding == "utf-8" and C1_UTF8_LEAD in last + chunk:
            c1 = C1_UTF8.search(last + chunk)
            if c1:
                found.append((c1.start() - len(last), c1.group()[1]))
        return min(found, default=None)

    def _decode(self, chunk: bytes, offset: int, final: bool) -> None:
        before = self.before
        if self.encoding == "utf-8":
            pending = len(self.decoder.getstate()[0])
            try:
                text = self.decoder.decode(chunk, final)
            except UnicodeDecodeError as exc:
                if not (self.ascii_so_far and exc.object[:exc.start].isascii()):
                    raise self.refuse(f"byte {offset - pending + exc.start + 1} is not UTF-8 but text before it "
                                      "was, so it is neither UTF-8 nor Windows-1252 throughout") from exc
                self.encoding = "cp1252"  # nothing but ASCII so far, which reads the same in both
                # From the bytes held back for a character begun in the last chunk; all before them were ASCII.
                chunk, offset, before = exc.object, offset - pending, b""
            else:
                self.ascii_so_far = self.ascii_so_far and text.isascii()
                return
        try:
            chunk.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise self.refuse(f"byte {offset + exc.start + 1} is neither UTF-8 nor Windows-1252 text") from exc
        # Windows-1252 decodes almost any bytes; in real text its accented letters and punctuation stand among
        # ASCII letters, while Shift-JIS, GBK or EUC text is runs of high bytes.
        carried = len(before) - len(before.rstrip(HIGH_BYTES))
        run = (before[len(before) - carried:] + chunk).translate(HIGH_AS_ONE).find(b"\x01" * FOREIGN_RUN)
        if run >= 0:
            raise self.refuse(f"byte {offset - carried + run + 1} starts a run of characters that is neither "
                              "UTF-8 nor plausibly Windows-1252 text")


class TailCheck(FileCheck):
    """Keeps the last bytes: PDFs and images end in a known way, and no zip may be appended to them."""

    def __init__(self, content_type: str, filename: str) -> None:
        super().__init__(content_type, filename)
        self.head = b""
        self.tail = bytearray()

    async def feed(self, chunk: bytes) -> None:
        await super().feed(chunk)
        if len(self.head) < 16:
            self.head = (self.head + chunk)[:16]
        self.tail += chunk
        if len(self.tail) > 2 * ZIP_TAIL:  # trimmed now and then, so many small chunks cost no more than few
            del self.tail[:-ZIP_TAIL]

    async def finish(self) -> None:
        self.tail = self.tail[-ZIP_TAIL:]
        if self.content_type == "application/pdf":
            if not self.head.startswith(b"%PDF-"):
                raise self.refuse("a PDF must start with %PDF-")
            if not self.tail.rstrip(PDF_WHITESPACE).endswith(b"%%EOF"):
                raise self.refuse("a PDF must end with %%EOF; this one has something else after its end")
        elif self.content_type == "image/png" and not self.tail.endswith(PNG_END):
            raise self.refuse("a PNG image must end with its IEND chunk; this one has something after its end")
        elif self.content_type == "image/gif" and not self.tail.endswith(b";"):
            raise self.refuse("a GIF image must end with its trailer byte; this one has something after its end")
        elif self.content_type == "image/webp" and struct.unpack("<I", self.head[4:8])[0] + 8 != self.size:
            raise self.refuse("a WebP image's size must match its header; this one has something after its end")
        # JPEG, TIFF and HEIC carry no cheap end marker (phones append video to JPEG photos): for them, and as a
        # backstop for the others, a zip that archive tools would open is refused.
        if ZIP_END in self.tail:
            raise self.refuse("a zip archive is appended to it")


class PackageCheck(FileCheck):
    """Office documents, which are zip packages (OOXML, OpenDocument) or OLE compound files (.doc, .xls, .ppt):
    spooled to a temporary file, then their directory is read."""

    def __init__(self, content_type: str, filename: str) -> None:
        super().__init__(content_type, filename)
        self.spool: IO[bytes] = tempfile.TemporaryFile()
        self.pending = bytearray()  # written out a megabyte at a time, not a thread hop per small chunk

    async def feed(self, chunk: bytes) -> None:
        await super().feed(chunk)
        self.pending += chunk
        if len(self.pending) >= SPOOL_WRITE:
            await self._write()

    async def _write(self) -> None:
        await asyncio.to_thread(self.spool.write, self.pending)
        self.pending = bytearray()

    async def finish(self) -> None:
        await self._write()
        check = self._ole if self.content_type in OLE else self._zip
        await asyncio.to_thread(check)

    def close(self) -> None:
        self.spool.close()

    def _ole(self) -> None:
        import olefile

        self.spool.seek(max(0, self.size - ZIP_TAIL))
        if ZIP_END in self.spool.read():
            raise self.refuse("a zip archive is appended to it")
        self.spool.seek(0)
        try:
            with olefile.OleFileIO(self.spool) as ole:
                paths = ole.listdir(streams=True, storages=True)
        except Exception as exc:  # olefile raises OSError, IndexError, struct.error ... on a broken file
            raise self.refuse(f"it is not a readable Office document ({exc})") from exc
        for path in paths:
            if OLE_ACTIVE & {part.lower() for part in path}:
                raise self.refuse(f"it contains macros or an embedded object ({'/'.join(path)})")

    def _zip(self) -> None:
        self.spool.seek(0)
        try:
            with zipfile.ZipFile(self.spool) as package:
                self._layout(package)
                entries = package.infolist()
                self._entries(entries)
                for entry in entries:
                    self._entry(package, entry)
                if self.content_type in OOXML:
                    self._ooxml(package)
        except Invalid:
            raise
        except Exception as exc:  # zipfile raises BadZipFile, zlib.error, EOFError ... on a broken file
            raise self.refuse(f"it is not a readable Office document ({exc})") from exc

    def _layout(self, package: zipfile.ZipFile) -> None:
        """Nothing before the first entry and nothing after the end record: no program or second archive
        hidden in front of or behind the document."""
        first = min((e.header_offset for e in package.infolist()), default=None)
        self.spool.seek(0)
        if first != 0 or self.spool.read(4) != b"PK\x03\x04":
            raise self.refuse("something comes before the document's first part")
        end = self.size - 22 - len(package.comment)
        self.spool.seek(end)
        if end < 0 or self.spool.read(4) != ZIP_END:
            raise self.refuse("something comes after the end of the document")

    def _entries(self, entries: list[zipfile.ZipInfo]) -> None:
        if len(entries) > MAX_ENTRIES:
            raise self.refuse(f"it has {len(entries)} parts, more than the {MAX_ENTRIES} a document may have")
        unpacked = sum(e.file_size for e in entries)
        if unpacked > MAX_UNPACKED:
            raise self.refuse(f"it would unpack to {unpacked} bytes, more than the {MAX_UNPACKED} allowed")
        names = [e.filename for e in entries]
        if len(set(names)) != len(names):
            raise self.refuse("it has two parts with the same name")

    def _entry(self, package: zipfile.ZipFile, entry: zipfile.ZipInfo) -> None:
        name = entry.filename
        parts = name.split("/")
        if (len(name) > 255 or CONTROL.search(name) or "\\" in name or name.startswith("/") or ".." in parts
                or re.match(r"[A-Za-z]:", name)):
            raise self.refuse(f"it has a part with an unsafe name ({name[:80]!r})")
        if entry.flag_bits & 0x1:
            raise self.refuse(f"its part {name} is encrypted")
        if entry.file_size > RATIO_FROM and entry.file_size > MAX_RATIO * max(entry.compress_size, 1):
            raise self.refuse(f"its part {name} unpacks to more than {MAX_RATIO} times its size (a zip bomb)")
        extension = posixpath.splitext(name)[1].lower().lstrip(".")
        if extension in EXECUTABLE_EXTENSIONS:
            raise self.refuse(f"it contains a program ({name})")
        if extension == "bin" and not HARMLESS_BIN.search(name):
            raise self.refuse(f"it contains macros, an embedded object or an ActiveX control ({name})")
        if self.content_type in ODF and parts[0] in ("Basic", "Scripts"):
            raise self.refuse(f"it contains macros ({name})")
        if entry.is_dir():
            return
        with package.open(entry) as part:
            start = part.read(8)
        if start.startswith(EXECUTABLE_MAGIC):
            raise self.refuse(f"it contains a program ({name})")
        if start.startswith(OLE_MAGIC):
            raise self.refuse(f"it contains an embedded OLE object ({name})")

    def _ooxml(self, package: zipfile.ZipFile) -> None:
        try:
            types = package.getinfo("[Content_Types].xml")
        except KeyError:
            raise self.refuse("it is not an Office document: it has no [Content_Types].xml") from None
        if ACTIVE_CONTENT.search(self._read(package, types)):
            raise self.refuse("it declares macros, ActiveX controls or embedded objects")
        for entry in package.infolist():
            if entry.filename.endswith(".rels"):
                for relationship in RELATIONSHIP.findall(self._read(package, entry)):
                    if EXTERNAL.search(relationship) and FETCHED_ON_OPEN.search(relationship):
                        raise self.refuse(f"it fetches a template or object from elsewhere when opened "
                                          f"({entry.filename})")

    def _read(self, package: zipfile.ZipFile, entry: zipfile.ZipInfo) -> bytes:
        if entry.file_size > MAX_PART_XML:
            raise self.refuse(f"its part {entry.filename} is larger than {MAX_PART_XML} bytes")
        with package.open(entry) as part:
            return part.read(MAX_PART_XML)


def check_for(content_type: str, filename: str) -> FileCheck:
    if content_type.startswith("text/"):
        return TextCheck(content_type, filename)
    if content_type in OOXML | ODF | OLE:
        return PackageCheck(content_type, filename)
    return TailCheck(content_type, filename)
