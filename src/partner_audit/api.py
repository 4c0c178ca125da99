"""What every JSON API shares: strict input structs, constrained strings, pages of results and attachments, and
what a route says about itself that Litestar cannot read from its signature (files it hands out, bodies it reads
itself) so that the API document (``openapi``) tells the truth about it."""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import quote

import msgspec
from litestar import Response
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter
from litestar.response import Redirect, Stream

from partner_audit import plaintext
from partner_audit.plaintext import LINE, LINES, Characters
from partner_audit.storage import EvidenceStore

T = TypeVar("T")


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies: an unknown field is an error naming it, never silently dropped; text holding a control
    character is an error naming the field (see ``plaintext``), at any depth: each nested struct is an Input too."""

    def __post_init__(self) -> None:
        for name, characters in _characters_of(type(self)).items():
            found = plaintext.problem_in(getattr(self, name), characters, name)
            if found:
                # msgspec adds where this struct is (" - at `$.answers[0]`"); errors.py names the field from both.
                raise ValueError(f"field `{found[0]}` {found[1]}")

    def changes(self) -> dict[str, Any]:
        """What a PATCH body sets: the fields it gives. A field left out (UNSET) is not changed."""
        return {k: v for k, v in msgspec.structs.asdict(self).items() if v is not msgspec.UNSET}


class Output(msgspec.Struct, kw_only=True):
    """Response bodies."""


_CHARACTERS: dict[type, dict[str, Characters]] = {}


def _characters_of(struct: type[Input]) -> dict[str, Characters]:
    """Field name to the characters its text may hold: what its ``text()`` says, LINES for an ``Any`` (a free-text
    answer may run over lines), LINE otherwise."""
    if struct not in _CHARACTERS:
        hints = typing.get_type_hints(struct, include_extras=True)
        _CHARACTERS[struct] = {name: _characters_in(hints[name]) for name in struct.__struct_fields__}
    return _CHARACTERS[struct]


def _characters_in(hint: Any) -> Characters:
    if hint is Any:
        return LINES
    for arg in typing.get_args(hint):
        if isinstance(arg, msgspec.Meta):
            if arg.extra and "characters" in arg.extra:
                return arg.extra["characters"]
        elif (found := _characters_in(arg)) != LINE:
            return found
    return LINE


def text(max_length: int, min_length: int = 1, characters: Characters = LINE) -> type[str]:
    """A string of bounded length; ``characters=LINES`` for free text that may hold tabs and new lines."""
    meta = msgspec.Meta(min_length=min_length, max_length=max_length, extra={"characters": characters})
    return Annotated[str, meta]  # type: ignore[return-value]


# Hashed and never shown: any text at all (see plaintext.ANY).
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024, extra={"characters": plaintext.ANY})]


Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


def to(struct: type[T], row: dict[str, Any]) -> T:
    """A database row (or a service's dict) as a response struct: the one converter every route uses. Lenient
    (``strict=False``), as rows from SQLite carry booleans as integers and dates as text."""
    return msgspec.convert(row, struct, from_attributes=False, strict=False)


class Paging(msgspec.Struct, frozen=True):
    """Which page of a list a request asks for: the app-level ``paging`` dependency, from ``page`` and
    ``page_size``."""

    page: int = 1
    page_size: int = 50

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    @property
    def limit(self) -> int:
        return self.page_size


PageNumber = Annotated[int, QueryParameter(ge=1, le=1_000_000, description="Page number, from 1")]
PageSize = Annotated[int, QueryParameter(ge=1, le=200, description="Rows per page, at most 200")]


def paging(page: PageNumber = 1, page_size: PageSize = 50) -> Paging:
    """Every list route takes the same two query parameters, with the same bounds and default (50 rows)."""
    return Paging(page, page_size)


class Page(Output, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int

    @classmethod
    def of(cls, rows: Iterable[dict[str, Any]], total: int, paging: Paging,
           item: type[T] | Callable[[dict[str, Any]], T]) -> Page[T]:
        """One page of rows as response structs: ``item`` is the struct (converted with ``to``) or a function
        making one from a row."""
        make = (lambda row: to(item, row)) if isinstance(item, type) and issubclass(item, msgspec.Struct) else item
        return cls(items=[make(r) for r in rows], total=total, page=paging.page, page_size=paging.page_size)


def query_text(max_length: int, description: str | None = None) -> Any:
    """An optional free-text query parameter with a length limit."""
    return Annotated[str | None, QueryParameter(max_length=max_length, description=description)]


def attachment_headers(filename: str) -> dict[str, str]:
    """Headers for a file handed out for download: saved, never shown in the page or sniffed into something
    else, and inert if a browser renders it anyway (no scripts, no loads, a sandboxed origin)."""
    # A plain name as is; any other (macrons, quotes, spaces) in RFC 6266 ``filename*``, so it cannot break the header.
    quoted = quote(filename)
    return {
        "Content-Disposition": f'attachment; filename="{filename}"' if quoted == filename
        else f"attachment; filename*=utf-8''{quoted}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }


def file_download(content: bytes, filename: str, media_type: str) -> Response:
    """A file made for this request, handed out as an attachment (``attachment_headers``)."""
    return Response(content, media_type=media_type, headers=attachment_headers(filename))


def stored_download(store: EvidenceStore, key: str, filename: str, content_type: str, size: int) -> Response:
    """A file from the store, as an attachment: on S3, a redirect to a link valid for a few minutes, so the bytes
    do not pass through this process; otherwise the file itself, streamed."""
    headers = attachment_headers(filename)
    url = store.download_url(key, filename, content_type)
    if url:
        return Redirect(url, status_code=307, headers=headers)
    return Stream(store.read(key), media_type=content_type, headers={**headers, "Content-Length": str(size)})


# --- what the API document cannot read from a route's signature (``openapi.complete`` uses these) -------------


@dataclass
class Download(ResponseSpec):
    """A file a route hands out (``responses={200: download(...)}``): its media types, each documented as binary
    content, with the attachment's Content-Disposition."""

    media_types: tuple[str, ...] = field(default=())


def download(*media_types: str, description: str) -> Download:
    return Download(data_container=bytes, generate_examples=False, description=description,
                    media_type=media_types[0], media_types=media_types)


def stored_download_responses(media_types: Iterable[str]) -> dict[int, ResponseSpec]:
    """The responses of a route answering with ``stored_download``: the file, or on S3 a redirect to it."""
    return {
        200: download(*media_types, description="The file itself, as stored (its type was checked from its "
                                                "bytes when it was uploaded)."),
        307: ResponseSpec(None, description="With evidence on S3: a redirect (`Location`) to a link to the file "
                                            "valid for five minutes, so the bytes do not pass through the service."),
    }


# A file field in a form a route reads itself (``reads``): binary, so Swagger UI offers a file picker.
FILE = Annotated[str, msgspec.Meta(extra_json_schema={"format": "binary", "contentMediaType": "application/octet-stream"},
                                   description="The file")]

READS = "reads"


@dataclass(frozen=True)
class Reads:
    """The body a route reads itself from the raw request (a streamed upload, or a file sent either as a form or
    as raw bytes): media type to a struct describing the form's fields, or None for the raw file."""

    content: Mapping[str, type[msgspec.Struct] | None]
    description: str


def reads(content: Mapping[str, type[msgspec.Struct] | None], description: str) -> dict[str, Reads]:
    """``opt=reads({...}, "...")`` on a route that takes ``request: Request`` and parses the body itself."""
    return {READS: Reads(content, description)}
