"""Evidence over periods: an expiry date set at upload or later, and a stored file shared by the rows that carry
it, removed from the store (a folder or a real S3 server) only with the last of them."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import httpx
import pytest

from partner_audit.assessments.tables import Evidence
from partner_audit.security.caller import Caller, Role
from tests.support.assessments import (
    MINI_V2,
    POLICY_PDF,
    accepted_assessment,
    attach,
    launch_for,
    load_template,
)
from tests.support.evidence import evidence_settings, stored_objects
from tests.support.problems import problem


@pytest.fixture(params=["disk", "s3"])
def settings(request, database, tmp_path):
    return evidence_settings(request, database, tmp_path, max_upload_mb=2)


def download(api, evidence_id) -> httpx.Response:
    r = api.get(f"/api/v1/evidence/{evidence_id}/download", follow_redirects=False)
    return httpx.get(r.headers["location"]) if r.status_code == 307 else r


def key_of(run, evidence_id) -> str:
    return run(lambda: Evidence.select(Evidence.storage_key).where(Evidence.id == evidence_id).first().run())[
        "storage_key"]


def is_stored(settings, key: str) -> bool:
    """Whether the store holds ``key`` (the S3 bucket is shared with other tests: look for this key only)."""
    return any(name.endswith(key) for name in stored_objects(settings))


def carried_pair(world, template_id, run) -> tuple[dict, dict, dict, dict]:
    """A's accepted 2025-Q3 assessment and its 2026-Q3 successor, each with its row for the privacy policy."""
    old = accepted_assessment(world, template_id)
    _, new = launch_for(world, load_template(run, MINI_V2), "2026-Q3", world.provider_a["id"])
    new = world.provider_user.get(f"/api/v1/assessments/{new['id']}").json()
    pick = lambda a: next(e for e in a["evidence"] if e["question_id"] == "has-lead")  # noqa: E731
    return old, new, pick(old), pick(new)


def test_removing_a_carried_file_keeps_the_bytes_until_the_last_row_goes(world, template_id, run, settings):
    old, new, old_policy, new_policy = carried_pair(world, template_id, run)
    key = key_of(run, old_policy["id"])
    assert key_of(run, new_policy["id"]) == key and is_stored(settings, key)
    before = stored_objects(settings)
    assert world.provider_user.delete(f"/api/v1/evidence/{new_policy['id']}").status_code == 204
    assert stored_objects(settings) == before
    r = download(world.auditor, old_policy["id"])
    assert r.status_code == 200 and r.content == POLICY_PDF
    # The earlier assessment reopened and its row removed too: now the file goes.
    assert world.auditor.post(f"/api/v1/assessments/{old['id']}/reopen", json={"reason": "Policy replaced."}
                              ).status_code == 200
    assert world.provider_user.delete(f"/api/v1/evidence/{old_policy['id']}").status_code == 204
    assert not is_stored(settings, key)
    training = next(e for e in old["evidence"] if e["question_id"] == "lead-maturity")
    assert is_stored(settings, key_of(run, training["id"]))


def test_concurrent_removals_of_rows_sharing_a_file_remove_it_once_both_are_gone(world, template_id, run,
                                                                                   settings, database):
    """Each removal sees the other's row until it commits; the last to commit must still remove the bytes. On
    PostgreSQL the other removal is held open in a transaction of its own while ours runs; SQLite has one writer
    at a time, so there the two simply queue."""
    import asyncpg

    from partner_audit.assessments.services import evidence
    from partner_audit.storage import evidence_store

    old, new, old_policy, new_policy = carried_pair(world, template_id, run)
    key = key_of(run, old_policy["id"])
    world.auditor.post(f"/api/v1/assessments/{old['id']}/reopen", json={"reason": "Policy replaced."})
    caller = Caller(world.provider_user.user["id"], world.provider_user.user["email"], Role.provider_user,
                    world.provider_a["id"])
    store = evidence_store(settings)

    async def interleaved() -> None:
        other = await asyncpg.connect(database.url)
        try:
            held = other.transaction()
            await held.start()
            await other.execute("DELETE FROM evidence WHERE id = $1", old_policy["id"])  # not yet committed
            ours = asyncio.create_task(evidence.remove_evidence(caller, store, new_policy["id"]))
            await asyncio.sleep(0.5)  # ours now waits for the other removal's row, or (unlocked) finishes wrongly
            await held.commit()
            await ours
        finally:
            await other.close()

    async def queued() -> None:
        await asyncio.gather(evidence.remove_evidence(caller, store, old_policy["id"]),
                             evidence.remove_evidence(caller, store, new_policy["id"]))

    run(interleaved if database.backend == "postgres" else queued)
    assert run(lambda: Evidence.count().where(Evidence.storage_key == key).run()) == 0
    assert not is_stored(settings, key)


def test_expiry_at_upload_and_later(world, template_id, run):
    _, new = launch_for(world, template_id, "2025-Q3", world.provider_a["id"])
    aid = new["id"]
    in_a_year = (date.today() + timedelta(days=365)).isoformat()
    r = attach(world.provider_user, aid, "has-lead", "policy.pdf", POLICY_PDF, expires_on=in_a_year)
    assert r.status_code == 201, r.text
    file = r.json()
    assert file["expires_on"] == in_a_year and file["expired"] is False and file["carried_from"] is None
    # Refused before any byte is stored: not a date, or a date already past.
    for bad, says in (("30/06/2026", "is not a date"), ((date.today() - timedelta(days=1)).isoformat(), "passed")):
        body = problem(attach(world.provider_user, aid, "has-lead", "p.pdf", POLICY_PDF, expires_on=bad), 422,
                       "expires_on")
        assert says in body["errors"][0]["message"]
    assert len(world.provider_user.get(f"/api/v1/assessments/{aid}").json()["evidence"]) == 1
    url = f"/api/v1/evidence/{file['id']}"
    r = world.provider_admin.patch(url, json={"expires_on": date.today().isoformat()})
    assert r.status_code == 200 and r.json()["expires_on"] == date.today().isoformat() and not r.json()["expired"]
    r = world.provider_user.patch(url, json={"expires_on": None})
    assert r.status_code == 200 and r.json()["expires_on"] is None
    problem(world.provider_user.patch(url, json={"expires_on": "2001-01-01"}), 422, "expires_on")
    problem(world.provider_user.patch(url, json={"expires_on": "soon"}), 400, "expires_on")
    problem(world.provider_user.patch(url, json={}), 400, "expires_on")
    problem(world.provider_user.patch(url, json={"expires_on": in_a_year, "filename": "x.exe"}), 400, "filename")
    problem(world.provider_user.patch(url, content=f"expires_on={in_a_year}",
                                      headers={"content-type": "application/x-www-form-urlencoded"}), 415)
    problem(world.provider_user.patch("/api/v1/evidence/00000000-0000-0000-0000-000000000000",
                                      json={"expires_on": None}), 404)
    for api in (world.b_user, world.b_admin):
        problem(api.patch(url, json={"expires_on": in_a_year}), 404)
    for api in (world.auditor, world.partnerships, world.governance):
        problem(api.patch(url, json={"expires_on": in_a_year}), 403)
    assert world.provider_user.get(f"/api/v1/assessments/{aid}").json()["evidence"][0]["expires_on"] is None


def test_a_carried_files_expiry_is_its_own(world, template_id, run):
    old, new, old_policy, new_policy = carried_pair(world, template_id, run)
    later = (date.today() + timedelta(days=30)).isoformat()
    r = world.provider_user.patch(f"/api/v1/evidence/{new_policy['id']}", json={"expires_on": later})
    assert r.status_code == 200, r.text
    again = world.auditor.get(f"/api/v1/assessments/{old['id']}").json()
    assert next(e for e in again["evidence"] if e["id"] == old_policy["id"])["expires_on"] == date.today().isoformat()
    # The accepted assessment's files are locked.
    problem(world.provider_user.patch(f"/api/v1/evidence/{old_policy['id']}", json={"expires_on": later}), 409)
