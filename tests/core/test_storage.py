"""The evidence store on both backends: a folder on disk and a real S3 server (SeaweedFS, see tests/support/s3.py).

Each shared behaviour runs on both through ``evidence_store(settings)``, the way the app builds its store. What a
backend holds is inspected directly (files under the folder; objects and unfinished multipart uploads in the
bucket), so "nothing left behind" is checked where it would be left.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from tests.support.problems import is_problem
from tests.support.databases import Database, make_settings
from tests.support.s3 import S3Server, WeedMissing, start_weed
from tests.support.storage import (
    BIG,
    ODD_CHUNK,
    Backend,
    MiB,
    chunks_of,
    disk_backend,
    payload,
    put,
    read,
    s3_backend,
    store_settings,
)
from litestar.testing import TestClient

from partner_audit.app import create_app
from partner_audit.storage import (
    CHUNK,
    DiskStore,
    S3Store,
    Stored,
    StoreUnavailable,
    TooLarge,
    evidence_store,
)


@pytest.fixture(params=["disk", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "disk":
        return disk_backend(tmp_path)
    return s3_backend(tmp_path, request.getfixturevalue("s3_server"))


# --- put, read, delete -------------------------------------------------------------------------------

def test_put_streams_and_reports_size_and_sha256(backend: Backend) -> None:
    data = payload(BIG)
    held_while_sending: list[tuple[int, int]] = []
    stored = put(backend.store, "evidence/big.bin",
                 chunks_of(data, ODD_CHUNK, lambda sent: held_while_sending.append((sent, backend.in_flight()))),
                 max_bytes=BIG)

    assert stored == Stored("evidence/big.bin", len(data), hashlib.sha256(data).hexdigest())
    assert backend.files() == ["evidence/big.bin"]
    assert backend.unfinished() == []
    # Streamed: before the last chunk was even given, all but at most one S3 part's worth (8 MiB) was already
    # written out, so the upload was never held whole in memory.
    sent, held = held_while_sending[-1]
    assert sent > 19 * MiB and held >= sent - 8 * MiB - ODD_CHUNK, held_while_sending


def test_put_on_s3_is_a_multipart_upload_under_the_prefix(tmp_path: Path, s3_server: S3Server) -> None:
    backend = s3_backend(tmp_path, s3_server)
    data = payload(BIG, seed=8)
    put(backend.store, "k/big.bin", chunks_of(data, ODD_CHUNK), max_bytes=BIG)

    assert isinstance(backend.store, S3Store)
    head = s3_server.client().head_object(Bucket=s3_server.bucket, Key=f"{backend.store.prefix}/k/big.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].strip('"').endswith("-3")  # 8 + 8 + 4 MiB parts


def test_read_returns_the_same_bytes(backend: Backend) -> None:
    data = payload(BIG, seed=9)
    put(backend.store, "r/file.bin", chunks_of(data, ODD_CHUNK), max_bytes=BIG)
    assert read(backend.store, "r/file.bin") == data


def test_an_empty_file_is_stored_and_read_back(backend: Backend) -> None:
    stored = put(backend.store, "empty.txt", chunks_of(b"", CHUNK), max_bytes=10)
    assert stored == Stored("empty.txt", 0, hashlib.sha256(b"").hexdigest())
    assert read(backend.store, "empty.txt") == b""


def test_delete_removes_the_file(backend: Backend) -> None:
    put(backend.store, "d/keep.txt", chunks_of(b"keep me", CHUNK), max_bytes=100)
    put(backend.store, "d/gone.txt", chunks_of(b"delete me", CHUNK), max_bytes=100)
    asyncio.run(backend.store.delete("d/gone.txt"))
    assert backend.files() == ["d/keep.txt"]
    assert read(backend.store, "d/keep.txt") == b"keep me"


# --- uploads that do not finish leave nothing behind -------------------------------------------------


def test_a_file_of_exactly_max_bytes_is_accepted(backend: Backend) -> None:
    data = payload(3 * MiB)
    assert put(backend.store, "exact.bin", chunks_of(data, ODD_CHUNK), max_bytes=len(data)).size == len(data)


def test_over_max_bytes_raises_too_large_and_leaves_nothing(backend: Backend) -> None:
    data = payload(BIG, seed=10)
    # Past 10 MiB: on S3 one 8 MiB part is already uploaded by then, so the upload must really be aborted.
    with pytest.raises(TooLarge):
        put(backend.store, "t/too-big.bin", chunks_of(data, ODD_CHUNK), max_bytes=10 * MiB)
    assert backend.files() == []
    assert backend.unfinished() == []


class SourceBroke(Exception):
    """The incoming stream failed (a client going away mid-upload)."""


def test_a_failing_source_mid_upload_leaves_nothing(backend: Backend) -> None:
    data = payload(BIG, seed=11)

    def break_after_twelve_mib(sent: int) -> None:
        if sent > 12 * MiB:
            raise SourceBroke("connection reset by peer")

    with pytest.raises(SourceBroke):
        put(backend.store, "f/half.bin", chunks_of(data, ODD_CHUNK, break_after_twelve_mib), max_bytes=BIG)
    assert backend.files() == []
    assert backend.unfinished() == []


# --- check --------------------------------------------------------------------------------------------


def test_check_passes_on_a_working_store(backend: Backend) -> None:
    asyncio.run(backend.store.check())
    assert backend.files() == []  # the probe leaves nothing behind


def test_check_names_a_bucket_that_does_not_exist(tmp_path: Path, s3_server: S3Server) -> None:
    bucket = f"missing-{uuid.uuid4().hex[:8]}"
    store = evidence_store(store_settings(tmp_path, **s3_server.settings_env(bucket=bucket)))
    with pytest.raises(StoreUnavailable, match=f"S3 bucket {bucket} is not reachable"):
        asyncio.run(store.check())


def test_check_names_the_bucket_when_its_server_stops(tmp_path: Path) -> None:
    try:  # a second, short-lived server, so the session's one keeps running
        server = start_weed(tmp_path / "short-lived", bucket="short-lived")
    except WeedMissing as exc:
        pytest.skip(str(exc))
    try:
        store = evidence_store(store_settings(tmp_path, **server.settings_env()))
        asyncio.run(store.check())
    finally:
        server.stop()
    with pytest.raises(StoreUnavailable, match="S3 bucket short-lived is not reachable") as raised:
        asyncio.run(store.check())
    assert server.endpoint_url in str(raised.value)  # the reason says where it tried


def test_check_names_the_wrong_credentials(tmp_path: Path, s3_server: S3Server) -> None:
    env = {**s3_server.settings_env(), "PA_S3_SECRET_ACCESS_KEY": "not-the-secret"}
    store = evidence_store(store_settings(tmp_path, **env))
    with pytest.raises(StoreUnavailable, match=f"S3 bucket {s3_server.bucket} is not reachable.*403"):
        asyncio.run(store.check())


# --- download links -----------------------------------------------------------------------------------


def test_disk_has_no_direct_download_link(tmp_path: Path) -> None:
    assert disk_backend(tmp_path).store.download_url("any", "report.pdf") is None


def test_s3_download_url_is_presigned_and_expires(tmp_path: Path, s3_server: S3Server) -> None:
    """SeaweedFS enforces both the signature and the expiry of presigned links, so both are asserted."""
    backend = s3_backend(tmp_path, s3_server)
    data = payload(MiB + 3, seed=12)
    put(backend.store, "dl/file.bin", chunks_of(data, CHUNK), max_bytes=len(data))

    url = backend.store.download_url("dl/file.bin", "privacy-policy.pdf", seconds=120)
    assert url is not None and "X-Amz-Signature=" in url
    response = httpx.get(url)
    assert response.status_code == 200, response.text
    assert response.content == data
    assert response.headers["content-disposition"] == 'attachment; filename="privacy-policy.pdf"'

    tampered = httpx.get(url.replace("dl/file.bin", "dl/other.bin"))
    assert tampered.status_code == 403

    # A separate one-second link for the expiry, so a slow machine cannot expire the link checked above.
    short = backend.store.download_url("dl/file.bin", "privacy-policy.pdf", seconds=1)
    time.sleep(2)
    expired = httpx.get(short)
    assert expired.status_code == 403
    assert "expired" in expired.text


def test_s3_download_url_keeps_a_name_with_macrons_and_quotes_intact(tmp_path: Path, s3_server: S3Server) -> None:
    backend = s3_backend(tmp_path, s3_server)
    put(backend.store, "dl/policy.pdf", chunks_of(b"%PDF-1.7", CHUNK), max_bytes=100)
    name = 'Tikanga Māori "draft" v2.pdf'
    url = backend.store.download_url("dl/policy.pdf", name)
    assert url is not None
    response = httpx.get(url)
    assert response.status_code == 200, response.text
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment; filename*=utf-8''")
    assert unquote(disposition.removeprefix("attachment; filename*=utf-8''")) == name


# --- the disk store stays inside its folder -----------------------------------------------------------


@pytest.mark.parametrize("key", ["../outside.txt", "a/../../outside.txt", "/tmp/outside.txt", "", "link/outside.txt"])
def test_disk_store_refuses_keys_that_escape_its_root(tmp_path: Path, key: str) -> None:
    root, outside = tmp_path / "evidence", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    (root / "link").symlink_to(outside)  # a symlink inside the root must not lead out of it
    victim = tmp_path / "outside.txt"
    victim.write_text("not the store's")
    store = DiskStore(root)

    with pytest.raises(ValueError, match="escapes the store"):
        put(store, key, chunks_of(b"x", CHUNK), max_bytes=10)
    with pytest.raises(ValueError, match="escapes the store"):
        read(store, key)
    with pytest.raises(ValueError, match="escapes the store"):
        asyncio.run(store.delete(key))
    assert victim.read_text() == "not the store's"
    assert list(outside.iterdir()) == []


# --- readiness with an S3 store -----------------------------------------------------------------------


@pytest.fixture
def s3_app(database: Database, tmp_path: Path, s3_server: S3Server) -> Iterator[Callable[..., TestClient]]:
    """``s3_app(bucket=...)``: a running app whose evidence store is on the weed server."""
    with ExitStack() as running:

        def start(bucket: str | None = None) -> TestClient:
            settings = make_settings(database, tmp_path, **s3_server.settings_env(bucket=bucket))
            return running.enter_context(TestClient(create_app(settings), raise_server_exceptions=False))

        yield start


def test_ready_with_an_s3_store(s3_app: Callable[..., TestClient]) -> None:
    response = s3_app().get("/health/ready")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "database": "ok", "evidence_store": "ok"}


def test_ready_names_a_missing_bucket(s3_app: Callable[..., TestClient]) -> None:
    bucket = f"no-such-{uuid.uuid4().hex[:8]}"
    client = s3_app(bucket=bucket)
    assert client.get("/health/live").status_code == 200
    response = client.get("/health/ready")
    assert response.status_code == 503, response.text
    assert is_problem(response)
    body = response.json()
    assert body["status"] == 503
    # Anyone may ask: the answer names the part, and the bucket and endpoint stay in the server's log.
    assert body["detail"] == "evidence store is not reachable"
    assert bucket not in response.text and "127.0.0.1" not in response.text
