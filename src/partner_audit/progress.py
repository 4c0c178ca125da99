"""Progress on the command line for long work (imports, reports, demo data)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")


def progress(items: Iterable[T], label: str, total: int | None = None, out: TextIO = sys.stderr) -> Iterator[T]:
    """Yield items while printing "label: done/total" (at most ~10 times a second) and a final line."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    shown, count, start = 0.0, 0, time.monotonic()
    interactive = out.isatty()
    for count, item in enumerate(items, start=1):
        yield item
        now = time.monotonic()
        if interactive and now - shown > 0.1:
            of = f"/{total}" if total else ""
            out.write(f"\r{label}: {count}{of}")
            out.flush()
            shown = now
    of = f"/{total}" if total else ""
    out.write(f"\r{label}: {count}{of} done in {time.monotonic() - start:.1f}s\n")
    out.flush()
