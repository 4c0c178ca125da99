"""Evidence stores to test with, on disk and on the real S3 server, with a look behind each at what it holds.

Helpers only: ``from tests.support.storage import Backend, disk_backend, s3_backend, payload, put``.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from partner_audit.settings import Settings, load_settings
from partner_audit.storage import CHUNK, DiskStore, EvidenceStore, S3Store, Stored, evidence_store
from tests.support.s3 import S3Server

MiB = 1024 * 1024


def payload(size: int, seed: int = 7) -> bytes:
    """Deterministic, incompressible bytes."""
    return random.Random(seed).randbytes(size)


def store_settings(tmp_path: Path, **env: str) -> Settings:
    return load_settings({"PA_VAR_DIR": str(tmp_path / "var"), "PA_SECRET_KEY": "s" * 40, **env})


@dataclass
class Backend:
    """A store plus a look behind it: what it holds, finished or not."""

    name: str
    store: EvidenceStore
    files: Callable[[], list[str]]  # everything stored, including partial uploads
    in_flight: Callable[[], int]  # bytes already written by uploads not yet finished
    unfinished: Callable[[], list[str]]  # uploads begun and neither finished nor abandoned


def disk_backend(tmp_path: Path) -> Backend:
    store = evidence_store(store_settings(tmp_path))
    assert isinstance(store, DiskStore)
    root = store.root

    def files() -> list[str]:
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []

    def parts() -> list[Path]:
        return list(root.rglob("*.part")) if root.exists() else []

    return Backend("disk", store, files, lambda: sum(p.stat().st_size for p in parts()),
                   lambda: [str(p) for p in parts()])


def s3_backend(tmp_path: Path, server: S3Server) -> Backend:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    store = evidence_store(store_settings(tmp_path, **server.settings_env(prefix=prefix)))
    assert isinstance(store, S3Store)
    s3 = server.client()

    def files() -> list[str]:
        listing = s3.list_objects_v2(Bucket=server.bucket, Prefix=f"{prefix}/")
        return sorted(o["Key"].removeprefix(f"{prefix}/") for o in listing.get("Contents", []))

    def uploads() -> list[dict]:
        return s3.list_multipart_uploads(Bucket=server.bucket, Prefix=f"{prefix}/").get("Uploads", [])

    def in_flight() -> int:
        return sum(
            part["Size"]
            for upload in uploads()
            for part in s3.list_parts(Bucket=server.bucket, Key=upload["Key"],
                                      UploadId=upload["UploadId"]).get("Parts", [])
        )

    return Backend("s3", store, files, in_flight, lambda: [u["Key"] for u in uploads()])


async def chunks_of(data: bytes, size: int, after: Callable[[int], None] = lambda sent: None) -> AsyncIterator[bytes]:
    """``data`` in chunks of ``size``; ``after(bytes_sent_so_far)`` runs before each next chunk is given."""
    for start in range(0, len(data), size):
        if start:
            after(start)
        yield data[start:start + size]


def put(store: EvidenceStore, key: str, source: AsyncIterator[bytes], max_bytes: int) -> Stored:
    return asyncio.run(store.put(key, source, max_bytes))


def read(store: EvidenceStore, key: str) -> bytes:
    async def collect() -> bytes:
        return b"".join([chunk async for chunk in store.read(key)])

    return asyncio.run(collect())


# Larger than two S3 parts (8 MiB each) and not a whole number of them or of the chunks sent.
BIG = 20 * MiB + 12_345
ODD_CHUNK = CHUNK + 7
