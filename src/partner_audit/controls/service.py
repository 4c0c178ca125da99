"""The control library: checked templates loaded as immutable versions, and those versions read back.

Checking a template file is ``yaml``'s; what its answers mean is ``answers``'s.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec

from partner_audit import db
from partner_audit.api import Paging
from partner_audit.controls import yaml
from partner_audit.controls.schemas import Template
from partner_audit.controls.tables import TemplateVersion
from partner_audit.errors import Conflict
from partner_audit.security import policies
from partner_audit.security.caller import Caller
from partner_audit.security.tenancy import require_row

TEMPLATES_DIR = Path(__file__).resolve().parents[3] / "audit_templates"


def canonical_json(template: Template) -> str:
    """The one text a template's content hashes to: key order and spacing never make a new version. An optional
    field left unset is left out, so adding one never changes the hash of a template already loaded."""
    content = msgspec.to_builtins(template)
    if content.get("rating_scores") is None:
        content.pop("rating_scores", None)
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(template: Template) -> str:
    return hashlib.sha256(canonical_json(template).encode()).hexdigest()


# --- loading and reading versions ---------------------------------------------------------------------


async def _by_hash(digest: str) -> dict[str, Any] | None:
    return await TemplateVersion.select().where(TemplateVersion.content_hash == digest).first().run()


def _same_label_conflict(template: Template) -> Conflict:
    return Conflict(
        f"{template.key} version {template.version} is already loaded with different content. A loaded version "
        "never changes: give the edited file a new version label and load it again.",
        errors=[{"field": "version", "message": f"{template.version} is already loaded with different content"}],
    )


async def load_file(path: Path) -> tuple[dict[str, Any], bool]:
    """Load the template in ``path`` unless the same content is loaded already; returns (row, created)."""
    template = yaml.parse(yaml.read_file(path))
    body = canonical_json(template)
    digest = hashlib.sha256(body.encode()).hexdigest()
    key_version = f"{template.key}@{template.version}"
    try:
        async with db.transaction():
            existing = await _by_hash(digest)
            if existing:
                return existing, False
            if await TemplateVersion.exists().where(TemplateVersion.key_version == key_version).run():
                raise _same_label_conflict(template)
            await TemplateVersion(key=template.key, title=template.title, version=template.version,
                                  key_version=key_version, content_hash=digest, content=body).save().run()
    except Exception as exc:
        if not db.is_unique_violation(exc):
            raise
        # Someone loaded a version at the same moment: if it is this content, theirs is the version.
        existing = await _by_hash(digest)
        if existing:
            return existing, False
        raise _same_label_conflict(template) from exc
    return await _by_hash(digest), True  # type: ignore[return-value]


def counts(template: Template) -> dict[str, int]:
    """How many focus areas, controls and questions a template has."""
    return {"areas": len(template.areas), "controls": sum(len(a.controls) for a in template.areas),
            "questions": len(template.questions())}


def summary(row: dict[str, Any], template: Template) -> dict[str, Any]:
    """A loaded version as the library lists it: the row, and its ``counts``."""
    return {
        "id": row["id"], "key": row["key"], "title": row["title"], "version": row["version"],
        "content_hash": row["content_hash"], "loaded_at": row["loaded_at"], **counts(template),
    }


def template_of(row: dict[str, Any]) -> Template:
    content = row["content"]
    return msgspec.json.decode(content if isinstance(content, (str, bytes)) else json.dumps(content), type=Template)


async def list_versions(caller: Caller) -> list[dict[str, Any]]:
    """Every loaded version, newest first."""
    policies.READ_CONTROL_LIBRARY.check(caller)
    return await TemplateVersion.select().order_by(TemplateVersion.loaded_at, ascending=False).order_by(
        TemplateVersion.key_version).run()


async def versions_page(caller: Caller, paging: Paging) -> tuple[list[dict[str, Any]], int]:
    """One page of ``list_versions``, and how many there are. Not logged: templates are no one's data."""
    policies.READ_CONTROL_LIBRARY.check(caller)
    rows = await TemplateVersion.select().order_by(TemplateVersion.loaded_at, ascending=False).order_by(
        TemplateVersion.key_version).order_by(TemplateVersion.id).offset(paging.offset).limit(paging.limit).run()
    return rows, await TemplateVersion.count().run()


async def read_version(caller: Caller, version_id: UUID) -> tuple[dict[str, Any], Template]:
    """``get_version``, for a person reading the control library."""
    policies.READ_CONTROL_LIBRARY.check(caller)
    return await get_version(version_id)


async def get_version(version_id: UUID) -> tuple[dict[str, Any], Template]:
    row = await TemplateVersion.select().where(TemplateVersion.id == version_id).first().run()
    row = require_row(row, "template version", version_id)
    return row, template_of(row)
