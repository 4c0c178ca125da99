"""An upload to S3 that does not finish leaves no unfinished multipart upload in the bucket, however it ends:
cancelled (the client went away), S3 failing midway, or an abort that itself fails (then the reason the upload
ended is still the one reported). Against the real SeaweedFS server of the ``s3_server`` fixture."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import anyio
import pytest
from botocore.exceptions import EndpointConnectionError
from tests.support.s3 import S3Server
from tests.support.storage import BIG, MiB, ODD_CHUNK, chunks_of, payload, put, s3_backend

from partner_audit.storage import StoreUnavailable, TooLarge


def test_a_cancelled_upload_is_aborted_before_the_request_ends(tmp_path: Path, s3_server: S3Server) -> None:
    backend = s3_backend(tmp_path, s3_server)
    client = backend.store.client
    abort = client.abort_multipart_upload

    def slow_abort(**kwargs):  # a slow S3: an abort not waited for would still be on its way below
        time.sleep(0.5)
        return abort(**kwargs)

    client.abort_multipart_upload = slow_abort
    data = payload(BIG, seed=21)
    left: list[str] = []

    async def client_goes_away() -> None:
        async with anyio.create_task_group() as request:
            async def body():
                for start in range(0, len(data), ODD_CHUNK):
                    if start > 12 * MiB:  # one 8 MiB part is in the bucket by now
                        request.cancel_scope.cancel()
                        await anyio.sleep(30)
                    yield data[start:start + ODD_CHUNK]

            request.start_soon(backend.store.put, "c/cancelled.bin", body(), BIG)
        left.extend(backend.unfinished())  # as the request ends, before anything else runs

    anyio.run(client_goes_away)
    assert left == []
    assert backend.files() == []


def test_s3_failing_midway_aborts_the_upload(tmp_path: Path, s3_server: S3Server) -> None:
    backend = s3_backend(tmp_path, s3_server)
    client = backend.store.client
    upload_part = client.upload_part

    def connection_drops_on_part_two(**kwargs):
        if kwargs["PartNumber"] == 2:
            raise EndpointConnectionError(endpoint_url=s3_server.endpoint_url)
        return upload_part(**kwargs)

    client.upload_part = connection_drops_on_part_two
    with pytest.raises(StoreUnavailable, match="Could not connect"):
        put(backend.store, "f/dropped.bin", chunks_of(payload(BIG, seed=22), ODD_CHUNK), max_bytes=BIG)
    assert backend.unfinished() == []
    assert backend.files() == []


def test_an_abort_that_fails_does_not_hide_why_the_upload_ended(tmp_path: Path, s3_server: S3Server,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    backend = s3_backend(tmp_path, s3_server)
    client = backend.store.client
    abort = client.abort_multipart_upload

    def s3_gone(**kwargs):
        raise EndpointConnectionError(endpoint_url=s3_server.endpoint_url)

    client.abort_multipart_upload = s3_gone
    try:
        with caplog.at_level(logging.WARNING, logger="partner_audit.storage"), pytest.raises(TooLarge):
            put(backend.store, "t/too-big.bin", chunks_of(payload(BIG, seed=23), ODD_CHUNK), max_bytes=10 * MiB)
        [left] = s3_server.client().list_multipart_uploads(
            Bucket=s3_server.bucket, Prefix=f"{backend.store.prefix}/").get("Uploads", [])
        # The operator can find and abort it; the bucket's lifecycle rule would, a day later.
        assert left["UploadId"] in caplog.text and "could not abort" in caplog.text
    finally:
        for upload in s3_server.client().list_multipart_uploads(
                Bucket=s3_server.bucket, Prefix=f"{backend.store.prefix}/").get("Uploads", []):
            abort(Bucket=s3_server.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
