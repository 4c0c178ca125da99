"""What the web server writes about each request: the path and query without secrets or personal information.

uvicorn logs every request's full target. Some targets carry a secret (the single-use attestation link
``/attest/<token>``) or personal information (``?holder_email=``, a name in ``?q=``), and the server's log is kept
and shipped with far less care than the database. So the log keeps the route and the paging and sorting
parameters, and replaces every other value.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any
from urllib.parse import parse_qsl, quote

from uvicorn.config import LOGGING_CONFIG

REDACTED = "REDACTED"
# Query parameters that name no one and carry no secret: kept, as they help read the log.
KEPT_PARAMETERS = frozenset({"page", "page_size", "sort", "format", "dry_run", "status", "kind", "risk_tier",
                             "region", "outcome", "action", "record_type"})
_SECRET_IN_PATH = re.compile(r"^(/attest/)[^/?]+")


def redact_target(target: str) -> str:
    path, question_mark, query = target.partition("?")
    path = _SECRET_IN_PATH.sub(rf"\g<1>{REDACTED}", path)
    if not question_mark:
        return path
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = "&".join(f"{quote(name)}={quote(value) if name in KEPT_PARAMETERS else REDACTED}" for name, value in pairs)
    return f"{path}?{kept}"


class RedactTargets(logging.Filter):
    """On uvicorn's access logger: its records carry (client, method, target, http version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, target, version, status = record.args
            record.args = (client, method, redact_target(str(target)), version, status)
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging set-up with the access lines redacted; every worker process applies it."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_targets"] = {"()": f"{__name__}.RedactTargets"}
    config["handlers"]["access"]["filters"] = ["redact_targets"]
    return config
