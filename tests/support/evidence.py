"""Evidence to test with: an assessment to attach it to, a store on disk or on the real S3 server, and a look
behind the store at what it holds.

``aid`` is a fixture, loaded with the other support fixtures; ``evidence_settings`` and ``stored_objects`` are
helpers: ``from tests.support.evidence import evidence_settings, stored_objects``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from partner_audit.settings import Settings
from tests.support.assessments import assessment_of, launched
from tests.support.databases import Database, make_settings


@pytest.fixture
def aid(world, template_id) -> str:
    """Provider A's assessment of the mini template, launched."""
    launched(world, template_id)
    return assessment_of(world.provider_admin, world.provider_a["id"])["id"]


def evidence_settings(request: pytest.FixtureRequest, database: Database, tmp_path: Path,
                      max_upload_mb: int) -> Settings:
    """For a ``settings`` fixture with ``params=["disk", "s3"]``: evidence in a folder or on the real S3 server."""
    env = request.getfixturevalue("s3_server").settings_env() if request.param == "s3" else {}
    return make_settings(database, tmp_path, PA_MAX_UPLOAD_MB=str(max_upload_mb), **env)


def stored_objects(settings: Settings) -> list[str]:
    if settings.is_s3:
        from partner_audit.storage import S3Store

        store = S3Store(settings)
        listing = store.client.list_objects_v2(Bucket=store.bucket, Prefix=store.prefix)
        return [o["Key"] for o in listing.get("Contents", [])]
    root = Path(settings.evidence_store)
    return [str(p) for p in root.rglob("*") if p.is_file()] if root.exists() else []
