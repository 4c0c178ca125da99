"""Evidence: streamed to the store (a folder or a real S3 server), typed from its bytes, all or nothing."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from tests.support.databases import make_settings
from tests.support.evidence import evidence_settings, stored_objects
from tests.support.problems import is_problem

PDF = (b"%PDF-1.4\n%" + b"0" * 20_000 + b"\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n"
       b"%%EOF\n")
CSV = "name,completed\nHine,2025-03-01\nWiremu,2025-03-04\n".encode()


@pytest.fixture(params=["disk", "s3"])
def settings(request, database, tmp_path):
    return evidence_settings(request, database, tmp_path, max_upload_mb=2)


def upload(api, aid, content: bytes, filename: str = "policy.pdf", question_id: str = "has-lead"):
    return api.post(f"/api/v1/assessments/{aid}/evidence",
                    data={"question_id": question_id}, files={"file": (filename, content, "application/pdf")})


def download(api, evidence_id) -> bytes:
    r = api.get(f"/api/v1/evidence/{evidence_id}/download", follow_redirects=False)
    if r.status_code == 307:  # S3: a short-lived presigned link, fetched as a browser would
        return httpx.get(r.headers["location"]).content
    assert r.status_code == 200, r.text
    assert "attachment" in r.headers["content-disposition"]
    return r.content


def test_upload_download_and_delete(world, aid, settings):
    before = stored_objects(settings)
    r = upload(world.provider_user, aid, PDF, filename="Privacy lead appointment.pdf")
    assert r.status_code == 201, r.text
    evidence = r.json()
    assert evidence["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert evidence["size"] == len(PDF) and evidence["content_type"] == "application/pdf"
    assert evidence["filename"] == "Privacy lead appointment.pdf"
    added = set(stored_objects(settings)) - set(before)
    assert len(added) == 1 and "Privacy" not in added.pop()  # the person's file name is never the key
    assert download(world.auditor, evidence["id"]) == PDF
    detail = world.provider_user.get(f"/api/v1/assessments/{aid}").json()
    assert [e["id"] for e in detail["evidence"]] == [evidence["id"]]
    r = upload(world.provider_user, aid, CSV, filename="training.csv", question_id="lead-maturity")
    assert r.status_code == 201 and r.json()["content_type"] == "text/csv"
    assert world.provider_user.delete(f"/api/v1/evidence/{evidence['id']}").status_code == 204
    assert world.provider_user.get(f"/api/v1/evidence/{evidence['id']}/download").status_code == 404
    assert len(stored_objects(settings)) == len(before) + 1


@pytest.mark.parametrize("content, filename", [
    (b"MZ\x90\x00\x03" + b"\x00" * 200, "policy.pdf"),  # a Windows program named as a PDF
    (b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 100, "evidence.docx"),  # a bare zip archive
    (b"\x00\x01\x02\x03" * 100, "notes.txt"),
])
def test_type_is_checked_from_the_bytes(world, aid, settings, content, filename):
    before = stored_objects(settings)
    r = upload(world.provider_user, aid, content, filename=filename)
    assert r.status_code == 415, r.text
    assert is_problem(r)
    assert r.json()["errors"][0]["field"] == "file"
    assert stored_objects(settings) == before
    assert world.provider_user.get(f"/api/v1/assessments/{aid}").json()["evidence"] == []


def test_too_large_leaves_nothing(world, aid, settings):
    before = stored_objects(settings)
    r = upload(world.provider_user, aid, PDF + b"x" * (3 * 1024 * 1024))
    assert r.status_code == 413, r.text
    assert stored_objects(settings) == before
    assert world.provider_user.get(f"/api/v1/assessments/{aid}").json()["evidence"] == []


def test_bad_requests(world, aid):
    r = world.provider_user.post(f"/api/v1/assessments/{aid}/evidence", files={"file": ("a.pdf", PDF)})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "question_id"
    r = upload(world.provider_user, aid, PDF, question_id="no-such-question")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "question_id"
    r = world.provider_user.post(f"/api/v1/assessments/{aid}/evidence", json={"question_id": "has-lead"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body"
    assert upload(world.auditor, aid, PDF).status_code == 403


def test_evidence_required_to_submit_and_locked_after(world, aid):
    put = lambda answers: world.provider_user.put(f"/api/v1/assessments/{aid}/answers", json={"answers": answers})
    assert put([{"question_id": "has-lead", "value": "yes"}, {"question_id": "lead-name", "value": "Hine"},
                {"question_id": "lead-maturity", "value": "4"}, {"question_id": "device-count", "value": 2}]
               ).status_code == 200
    r = world.provider_admin.post(f"/api/v1/assessments/{aid}/submit")
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "answers.has-lead", "message": "evidence is required for this answer"}]
    evidence = upload(world.provider_user, aid, PDF).json()
    assert world.provider_admin.post(f"/api/v1/assessments/{aid}/submit").status_code == 200
    assert upload(world.provider_user, aid, PDF).status_code == 409
    assert world.provider_user.delete(f"/api/v1/evidence/{evidence['id']}").status_code == 409


def test_other_provider_never_sees_evidence(world, aid):
    evidence = upload(world.provider_user, aid, PDF).json()
    for api in (world.b_user, world.b_admin):
        assert api.get(f"/api/v1/evidence/{evidence['id']}/download").status_code == 404
        assert api.delete(f"/api/v1/evidence/{evidence['id']}").status_code == 404
        assert upload(api, aid, PDF).status_code == 404


def test_store_failure_is_503_and_records_nothing(world, aid, settings, database, tmp_path, request):
    from litestar.testing import TestClient

    from partner_audit.app import create_app

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the evidence folder should be")
    if settings.is_s3:
        request_s3 = request.getfixturevalue("s3_server")
        # SeaweedFS creates a missing bucket on first write, so the failure here is the store refusing us.
        env = {**request_s3.settings_env(), "PA_S3_SECRET_ACCESS_KEY": "not-the-secret"}
        broken = make_settings(database, tmp_path, **env)
    else:
        broken = make_settings(database, tmp_path, PA_EVIDENCE_STORE=str(blocker / "evidence"))
    with TestClient(create_app(broken), raise_server_exceptions=False) as other:
        api = type(world.provider_user)(other, world.provider_user.token, world.provider_user.user)
        r = upload(api, aid, PDF)
        assert r.status_code == 503, r.text
        assert is_problem(r)
    assert world.provider_user.get(f"/api/v1/assessments/{aid}").json()["evidence"] == []
