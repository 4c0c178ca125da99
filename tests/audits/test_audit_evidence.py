"""Audit evidence keeps to the upload budget: a file over ``PA_MAX_UPLOAD_MB`` or of a type evidence may not be is
refused, and nothing of it is stored or recorded."""

from __future__ import annotations

import pytest

from tests.support import audit_records as ar
from tests.support.databases import make_settings
from tests.support.evidence import stored_objects
from tests.support.problems import problem


@pytest.fixture
def settings(database, tmp_path):
    return make_settings(database, tmp_path, PA_MAX_UPLOAD_MB="1")


def test_too_large_or_the_wrong_type_leaves_nothing(world, settings):
    audit = ar.in_progress(world, world.provider_a)
    finding = ar.finding(world, audit["id"])
    action = ar.action(world, finding["id"])
    before = stored_objects(settings)
    big = ar.PDF + b"%" + b"0" * (2 * 1024 * 1024)
    problem(world.auditor.post(f"/api/v1/findings/{finding['id']}/evidence", **ar.upload("big.pdf", big)), 413,
            "file")
    problem(world.provider_admin.post(f"/api/v1/corrective-actions/{action['id']}/evidence",
                                      **ar.upload("big.pdf", big)), 413, "file")
    problem(world.provider_admin.post(f"/api/v1/corrective-actions/{action['id']}/evidence",
                                      **ar.upload("notes.txt", b"\x00\x01\x02\x03" * 100)), 415, "file")
    assert stored_objects(settings) == before
    assert world.auditor.get(f"/api/v1/findings/{finding['id']}").json()["evidence"] == []
    assert world.auditor.get(f"/api/v1/corrective-actions/{action['id']}").json()["evidence"] == []
    r = world.provider_admin.post(f"/api/v1/corrective-actions/{action['id']}/evidence", **ar.upload("fix.pdf"))
    assert r.status_code == 201, r.text
    assert len(stored_objects(settings)) == len(before) + 1
