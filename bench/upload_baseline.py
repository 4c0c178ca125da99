"""Upload baseline: how much speed and memory the evidence store's streaming put costs next to plain boto3.

Starts a throwaway SeaweedFS S3 server (the same starter the tests use, tests/support/s3.py), writes a large
file, and uploads it

  (a) directly with boto3's ``upload_file`` (its transfer manager: 8 MiB parts, up to 10 threads);
  (b) through ``S3Store.put``, streaming the file in 1 MiB chunks as the upload endpoint does;
  (c) through the running service: ``partner-audit serve`` on SQLite with the S3 store, a provider user posting
      the file as multipart/form-data to POST /api/v1/assessments/{id}/evidence; the server's peak memory is its
      process's high-water mark (VmHWM), read before and after.

Each path runs in its own Python process, so each peak RSS (``resource.getrusage``) belongs to that path alone.
It prints figures and asserts nothing. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the weed starter lives with the tests (tests/support/s3.py), not in the app

MiB = 1024 * 1024


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def write_file(path: Path, size_mib: int) -> str:
    """``size_mib`` MiB of incompressible bytes framed as a PDF, from its header to its closing ``%%EOF`` (the
    service checks the whole file against its type); returns their SHA-256."""
    rng, digest = random.Random(2024), hashlib.sha256()
    with open(path, "wb") as fh:
        for number in range(size_mib):
            block = rng.randbytes(MiB)
            if number == 0:
                block = b"%PDF-1.7\n" + block[9:]
            if number == size_mib - 1:
                block = block[:-7] + b"\n%%EOF\n"
            digest.update(block)
            fh.write(block)
    return digest.hexdigest()


# --- one path, in a child process ----------------------------------------------------------------------


def upload_with_boto3(env: dict[str, str], file: Path, key: str) -> dict:
    import boto3

    bucket = env["PA_EVIDENCE_STORE"].removeprefix("s3://").split("/", 1)[0]
    client = boto3.client("s3", endpoint_url=env["PA_S3_ENDPOINT_URL"], region_name=env["PA_S3_REGION"],
                          aws_access_key_id=env["PA_S3_ACCESS_KEY_ID"],
                          aws_secret_access_key=env["PA_S3_SECRET_ACCESS_KEY"])
    before = peak_rss_mib()
    started = time.perf_counter()
    client.upload_file(str(file), bucket, key)
    return {"seconds": time.perf_counter() - started, "rss_before_mib": before}


def upload_with_store(env: dict[str, str], file: Path, key: str) -> dict:
    from partner_audit.settings import load_settings
    from partner_audit.storage import CHUNK, S3Store

    with tempfile.TemporaryDirectory() as var_dir:
        store = S3Store(load_settings({**env, "PA_VAR_DIR": var_dir, "PA_SECRET_KEY": os.urandom(24).hex()}))

    async def chunks():
        with open(file, "rb") as fh:
            while chunk := await asyncio.to_thread(fh.read, CHUNK):
                yield chunk

    before = peak_rss_mib()
    started = time.perf_counter()
    stored = asyncio.run(store.put(key, chunks(), max_bytes=file.stat().st_size))
    return {"seconds": time.perf_counter() - started, "rss_before_mib": before, "sha256": stored.sha256}


PATHS = {"boto3": upload_with_boto3, "store": upload_with_store}


def child(path: str, file: Path, key: str) -> None:
    env = json.loads(os.environ["BENCH_S3_ENV"])
    result = PATHS[path](env, file, key)
    print(json.dumps({**result, "peak_rss_mib": peak_rss_mib()}))


# --- (c) through the service ------------------------------------------------------------------------------


def upload_through_service(env: dict[str, str], file: Path, work: Path) -> dict:
    """Set up a provider with an open assessment on a fresh SQLite database, then upload as its staff would."""
    from demo_service import demo_service, status_mib

    service_env = {**os.environ, **env, "PA_VAR_DIR": str(work / "var"),
                   "PA_MAX_UPLOAD_MB": str(file.stat().st_size // MiB + 10)}
    with demo_service(service_env) as service:
        partnerships = service.session("partnerships@demo.partner-audit.nz")
        staff = service.session("provider.user@demo.partner-audit.nz")
        assessment = service.open_assessment(partnerships, staff)
        template = partnerships.get("/api/v1/templates").json()[0]
        question = template_question(staff, template["id"])
        before = status_mib(service.pid, "VmHWM")
        started = time.perf_counter()
        with open(file, "rb") as fh:
            response = staff.post(f"/api/v1/assessments/{assessment['id']}/evidence",
                                  data={"question_id": question}, files={"file": ("bench.pdf", fh, "application/pdf")})
        seconds = time.perf_counter() - started
        response.raise_for_status()
        return {"seconds": seconds, "rss_before_mib": before, "peak_rss_mib": status_mib(service.pid, "VmHWM"),
                "sha256": response.json()["sha256"]}


def template_question(client, template_id: str) -> str:
    detail = client.get(f"/api/v1/templates/{template_id}").json()
    return detail["template"]["areas"][0]["controls"][0]["questions"][0]["id"]


# --- the driver ------------------------------------------------------------------------------------------


def run_path(path: str, file: Path, key: str, env: dict[str, str]) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", path, "--file", str(file), "--key", key],
        env={**os.environ, "BENCH_S3_ENV": json.dumps(env)}, capture_output=True, text=True, check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"{path} upload failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=200, help="file size in MiB (default 200)")
    parser.add_argument("--runs", type=int, default=1, help="times to upload through each path, alternating")
    parser.add_argument("--child", choices=PATHS, help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.file, args.key)
        return

    from tests.support.s3 import start_weed

    with tempfile.TemporaryDirectory(prefix="pa-bench-") as tmp:
        work = Path(tmp)
        print(f"writing a {args.size_mib} MiB file ...", flush=True)
        file = work / "upload.bin"
        expected_sha = write_file(file, args.size_mib)
        print("starting weed ...", flush=True)
        server = start_weed(work / "weed", bucket="bench")
        try:
            env = server.settings_env(prefix="bench")
            client = server.client()
            results: dict[str, list[dict]] = {name: [] for name in [*PATHS, "service"]}
            for run in range(1, args.runs + 1):
                result = upload_through_service(env, file, work / f"service-{run}")
                result["sha256_match"] = result.pop("sha256") == expected_sha
                results["service"].append(result)
                for name in PATHS:
                    key = f"{name}-{run}.bin"
                    result = run_path(name, file, key, env)
                    stored_key = key if name == "boto3" else f"bench/{key}"
                    head = client.head_object(Bucket=server.bucket, Key=stored_key)
                    result["stored_bytes_match"] = head["ContentLength"] == file.stat().st_size
                    if "sha256" in result:
                        result["sha256_match"] = result.pop("sha256") == expected_sha
                    client.delete_object(Bucket=server.bucket, Key=stored_key)
                    results[name].append(result)
        finally:
            server.stop()

    print(f"\nupload of {args.size_mib} MiB to SeaweedFS S3 on loopback ({os.cpu_count()} CPUs, "
          f"python {sys.version.split()[0]})")
    print(f"{'path':<34}{'run':>4}{'seconds':>9}{'MiB/s':>9}{'RSS before':>12}{'peak RSS':>10}  checks")
    labels = {"boto3": "(a) boto3 upload_file", "store": "(b) S3Store.put, 1 MiB chunks",
              "service": "(c) HTTP upload to the service"}
    for name, runs in results.items():
        for number, r in enumerate(runs, 1):
            checks = ", ".join(f"{k}={v}" for k, v in r.items() if k.endswith("_match"))
            print(f"{labels[name]:<34}{number:>4}{r['seconds']:>9.2f}{args.size_mib / r['seconds']:>9.1f}"
                  f"{r['rss_before_mib']:>10.0f}Mi{r['peak_rss_mib']:>8.0f}Mi  {checks}")
    best = {name: min(r["seconds"] for r in runs) for name, runs in results.items()}
    print(f"\nratio of throughput, best run each: S3Store.put / boto3 = {best['boto3'] / best['store']:.2f}, "
          f"service / boto3 = {best['boto3'] / best['service']:.2f}")
    print("peak RSS for (c) is the server process's; for (a) and (b) the uploading process's")


if __name__ == "__main__":
    main()
