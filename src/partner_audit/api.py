"""What every JSON API shares: strict input structs, constrained strings, pages of results and attachments."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import quote

import msgspec
from litestar.params import QueryParameter

T = TypeVar("T")


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies: an unknown field is an error naming it, never silently dropped."""


class Output(msgspec.Struct, kw_only=True):
    """Response bodies."""


def text(max_length: int, min_length: int = 1) -> type[str]:
    return Annotated[str, msgspec.Meta(min_length=min_length, max_length=max_length)]  # type: ignore[return-value]


Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class Page(Output, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int


PageNumber = Annotated[int, QueryParameter(ge=1, le=1_000_000, description="Page number, from 1")]
PageSize = Annotated[int, QueryParameter(ge=1, le=200, description="Rows per page, at most 200")]


def window(page: int, page_size: int) -> tuple[int, int]:
    """(offset, limit) for a page number and size."""
    return (page - 1) * page_size, page_size


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
