"""The evidence store: one interface, two backends.

* ``DiskStore``: a folder (the default, ``./var/evidence``);
* ``S3Store``: a bucket and prefix through boto3 (production).

It also keeps the access log's signed checkpoint (``security.access_log``), outside the database.

Keys are made by the service (never from a file's name). Files stream in chunks, and the SHA-256 and size
are computed while streaming, so a large upload is never held in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlparse

import anyio

from partner_audit.settings import Settings

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024


class StoreUnavailable(Exception):
    """The store could not be reached or refused the operation."""


class TooLarge(Exception):
    """The file grew past the size limit while streaming; nothing of it is kept."""


@dataclass(frozen=True)
class Stored:
    key: str
    size: int
    sha256: str


class EvidenceStore:
    async def put(self, key: str, chunks: AsyncIterable[bytes], max_bytes: int) -> Stored: ...

    def read(self, key: str) -> AsyncIterator[bytes]: ...

    async def delete(self, key: str) -> None: ...

    async def get(self, key: str) -> bytes | None:
        """A small object whole, or None when there is none."""

    async def put_bytes(self, key: str, data: bytes) -> Stored:
        """A small object, replacing any under the same key, whole or not at all."""

        async def whole() -> AsyncIterator[bytes]:
            yield data

        return await self.put(key, whole(), max_bytes=len(data))

    async def check(self) -> None:
        """Raise ``StoreUnavailable`` with a reason when the store cannot be written."""

    def download_url(self, key: str, filename: str, content_type: str = "application/octet-stream",
                     seconds: int = 300) -> str | None:
        """A short-lived direct link where the backend has one (S3), serving the file as an attachment of
        ``content_type``; None means stream it through the app."""
        return None


class DiskStore(EvidenceStore):
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"key escapes the store: {key!r}")
        return path

    async def put(self, key: str, chunks: AsyncIterable[bytes], max_bytes: int) -> Stored:
        path = self._path(key)
        partial = path.with_name(path.name + f".{uuid.uuid4().hex}.part")
        digest, size = hashlib.sha256(), 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(partial, "wb") as fh:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(f"larger than {max_bytes} bytes")
                    digest.update(chunk)
                    await asyncio.to_thread(fh.write, chunk)
            os.replace(partial, path)  # appears whole or not at all
        except OSError as exc:
            raise StoreUnavailable(f"evidence folder {self.root}: {exc.strerror or exc}") from exc
        finally:
            with contextlib.suppress(OSError):  # the folder itself may be what failed
                partial.unlink(missing_ok=True)
        return Stored(key, size, digest.hexdigest())

    async def read(self, key: str) -> AsyncIterator[bytes]:
        with open(self._path(key), "rb") as fh:
            while chunk := await asyncio.to_thread(fh.read, CHUNK):
                yield chunk

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def get(self, key: str) -> bytes | None:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError:
            return None

    async def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".ready-{uuid.uuid4().hex}"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as exc:
            raise StoreUnavailable(f"evidence folder {self.root} is not writable: {exc.strerror or exc}") from exc


class S3Store(EvidenceStore):
    def __init__(self, settings: Settings) -> None:
        import boto3
        from botocore.config import Config

        parsed = urlparse(settings.evidence_store)
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        self.client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=settings.s3_secret_access_key,
            # SigV4 for presigned links too: boto3 otherwise presigns with legacy SigV2, which newer AWS regions
            # and SeaweedFS reject once response-content-disposition is in the link.
            config=Config(signature_version="s3v4", retries={"max_attempts": 3, "mode": "standard"},
                          connect_timeout=5, read_timeout=30),
        )

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    async def put(self, key: str, chunks: AsyncIterable[bytes], max_bytes: int) -> Stored:
        from botocore.exceptions import BotoCoreError, ClientError

        digest, size, parts = hashlib.sha256(), 0, []
        try:
            upload = await asyncio.to_thread(
                self.client.create_multipart_upload, Bucket=self.bucket, Key=self._key(key)
            )
            upload_id = upload["UploadId"]
            buffer = bytearray()
            try:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(f"larger than {max_bytes} bytes")
                    digest.update(chunk)
                    buffer.extend(chunk)
                    if len(buffer) >= 8 * CHUNK:  # S3 parts must be at least 5 MiB, bar the last
                        parts.append(await self._part(key, upload_id, len(parts) + 1, bytes(buffer)))
                        buffer.clear()
                if buffer or not parts:
                    parts.append(await self._part(key, upload_id, len(parts) + 1, bytes(buffer)))
                await asyncio.to_thread(
                    self.client.complete_multipart_upload, Bucket=self.bucket, Key=self._key(key),
                    UploadId=upload_id, MultipartUpload={"Parts": parts},
                )
            except BaseException:
                await self._abort(key, upload_id)
                raise
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailable(f"S3 bucket {self.bucket}: {exc}") from exc
        return Stored(key, size, digest.hexdigest())

    async def _abort(self, key: str, upload_id: str) -> None:
        """Abort an unfinished upload whatever ended it, so its parts are not kept (and billed) in the bucket.

        Shielded, because a cancelled request (a client going away) would otherwise cancel the abort too; and
        an abort that fails is logged, not raised, so the reason the upload ended is the one reported. When
        the process itself dies, the bucket's lifecycle rule (README) removes the parts a day later."""
        from botocore.exceptions import BotoCoreError, ClientError

        with anyio.CancelScope(shield=True):
            try:
                await asyncio.to_thread(
                    self.client.abort_multipart_upload, Bucket=self.bucket, Key=self._key(key), UploadId=upload_id
                )
            except (BotoCoreError, ClientError) as exc:
                log.warning("could not abort the unfinished upload %s of %s in S3 bucket %s: %s", upload_id,
                            self._key(key), self.bucket, exc)

    async def _part(self, key: str, upload_id: str, number: int, body: bytes) -> dict:
        response = await asyncio.to_thread(
            self.client.upload_part, Bucket=self.bucket, Key=self._key(key), UploadId=upload_id,
            PartNumber=number, Body=body,
        )
        return {"ETag": response["ETag"], "PartNumber": number}

    async def read(self, key: str) -> AsyncIterator[bytes]:
        response = await asyncio.to_thread(self.client.get_object, Bucket=self.bucket, Key=self._key(key))
        body = response["Body"]
        while chunk := await asyncio.to_thread(body.read, CHUNK):
            yield chunk

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=self._key(key))

    async def get(self, key: str) -> bytes | None:
        try:
            response = await asyncio.to_thread(self.client.get_object, Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.NoSuchKey:
            return None
        return await asyncio.to_thread(response["Body"].read)

    async def put_bytes(self, key: str, data: bytes) -> Stored:
        from botocore.exceptions import BotoCoreError, ClientError

        try:  # one request, where put's multipart upload takes three
            await asyncio.to_thread(self.client.put_object, Bucket=self.bucket, Key=self._key(key), Body=data)
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailable(f"S3 bucket {self.bucket}: {exc}") from exc
        return Stored(key, len(data), hashlib.sha256(data).hexdigest())

    async def check(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            await asyncio.to_thread(self.client.head_bucket, Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailable(f"S3 bucket {self.bucket} is not reachable: {exc}") from exc

    def download_url(self, key: str, filename: str, content_type: str = "application/octet-stream",
                     seconds: int = 300) -> str | None:
        # Named as Litestar's File response names a file: a name that is not plain ASCII (macrons, quotes,
        # spaces) goes in RFC 6266 ``filename*``, so it arrives intact and cannot break the header.
        quoted = quote(filename)
        disposition = (f'attachment; filename="{filename}"' if quoted == filename
                       else f"attachment; filename*=utf-8''{quoted}")
        return self.client.generate_presigned_url(
            "get_object",
            # The type checked on upload, not whatever S3 guesses; S3 cannot add nosniff or a CSP, but the
            # file comes from the bucket's origin, never the app's, and as an attachment.
            Params={"Bucket": self.bucket, "Key": self._key(key), "ResponseContentDisposition": disposition,
                    "ResponseContentType": content_type},
            ExpiresIn=seconds,
        )


def evidence_store(settings: Settings) -> EvidenceStore:
    if settings.is_s3:
        return S3Store(settings)
    return DiskStore(Path(settings.evidence_store))
