"""Device import benchmark: how long importing a 50,000-row register takes next to merely reading the same .xlsx.

Writes a register of ``--rows`` rows (Snipe-IT style headers, half the devices checked out to people at three
providers) with openpyxl in write-only mode, then times, each in its own Python process so each peak RSS
(``resource.getrusage``) is that path's alone:

  (a) reading: openpyxl ``load_workbook(read_only=True)``, iterating every row's values, nothing else;
  (b) importing on SQLite: ``devices.services.imports.import_devices`` (what ``partner-audit import devices``
      runs) into a fresh, migrated SQLite database holding only the three providers: parse, validate every row,
      write in one transaction;
  (c) importing on PostgreSQL, the same, into a fresh database, when PA_TEST_POSTGRES_URL is set.

Prints seconds, the ratio import / read (target: within 3x), and peak RSS. Asserts nothing. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the PostgreSQL database maker lives with the tests (tests/support/)

HEADERS = ["Asset Tag", "Serial", "Model", "Manufacturer", "Category", "Status", "Checked Out To", "Email",
           "Provider", "Purpose", "Systems", "Checkout Date", "Expected Checkin", "Notes", "Purchase Cost"]
PROVIDERS = ("Te Awa Trust", "Harbour Health NGO", "Southern Contractors Ltd")
KINDS = (("Laptops", "Latitude 5440", "Dell"), ("Mobile Phones", "Galaxy A54", "Samsung"), ("Tablets", "iPad", "Apple"))


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def write_register(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Assets")
    sheet.append(HEADERS)
    start = date(2025, 1, 6)
    for n in range(rows):
        category, model, make = KINDS[n % 3]
        held = n % 2 == 0
        sheet.append([
            f"AT-{n:06}", f"SN{n * 7919:010}", model, make, category, "Deployed" if held else "Ready to Deploy",
            f"Holder {n}" if held else None, f"holder{n}@provider.example" if held else None,
            PROVIDERS[n % 3] if held else None, "Case work on home visits" if held else None,
            "Case management; Email" if held else None, start + timedelta(days=n % 60) if held else None,
            start + timedelta(days=365) if held else None, f"bench row {n}", 1499.0,
        ])
    book.save(path)


# --- one path, in a child process ----------------------------------------------------------------------


def read_only(file: Path) -> dict:
    from openpyxl import load_workbook

    before = peak_rss_mib()
    started = time.perf_counter()
    book = load_workbook(file, read_only=True, data_only=True)
    count = sum(1 for _ in book.worksheets[0].iter_rows(values_only=True))
    book.close()
    return {"seconds": time.perf_counter() - started, "rss_before_mib": before, "rows": count - 1}


def import_into(file: Path, url: str) -> dict:
    from partner_audit import db
    from partner_audit.demo import demo_nzbn
    from partner_audit.devices.services import imports
    from partner_audit.devices.xlsx.reading import Source
    from partner_audit.piccolo_app import TABLES
    from partner_audit.providers import service as providers
    from partner_audit.providers.schemas import ProviderCreate, ProviderKind, Region
    from partner_audit.security.caller import Caller

    async def work() -> dict:
        engine = db.engine_from_url(url)
        db.bind(engine, TABLES)
        await db.start(engine)
        try:
            await db.migrate()
            for n, name in enumerate(PROVIDERS):
                await providers.register(Caller.system("bench"), ProviderCreate(
                    name=name, nzbn=demo_nzbn(700 + n), kind=ProviderKind.ngo, region=Region.wellington,
                    risk_tier=2))
            before = peak_rss_mib()
            started = time.perf_counter()
            report = await imports.import_devices(Caller.system("bench"), Source(file.name, path=file))
            seconds = time.perf_counter() - started
            return {"seconds": seconds, "rss_before_mib": before, "rows": report["rows"],
                    "created": report["created"], "check_out": report["assignments"]["check_out"],
                    "errors": report["error_count"]}
        finally:
            await db.stop(engine)

    return asyncio.run(work())


def child(mode: str, file: Path, url: str | None) -> None:
    figures = read_only(file) if mode == "read" else import_into(file, url or "")
    figures["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(figures))


def run_child(mode: str, file: Path, url: str | None = None) -> dict:
    command = [sys.executable, __file__, "--child", mode, "--file", str(file)] + (["--url", url] if url else [])
    env = {**os.environ, "PICCOLO_CONF": "partner_audit.piccolo_conf"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--child", choices=["read", "import"], help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.file, args.url)
        return

    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "register.xlsx"
        started = time.perf_counter()
        write_register(file, args.rows)
        print(f"wrote {args.rows} rows to an .xlsx of {file.stat().st_size / 2**20:.1f} MiB in "
              f"{time.perf_counter() - started:.1f}s (openpyxl write-only)")
        results = [("(a) openpyxl read-only, iterate rows", run_child("read", file))]
        results.append(("(b) import, SQLite", run_child("import", file, f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")))
        if os.environ.get("PA_TEST_POSTGRES_URL"):
            from tests.support.databases import create_postgres_database

            url, drop = create_postgres_database("pa_bench")
            try:
                results.append(("(c) import, PostgreSQL", run_child("import", file, url)))
            finally:
                drop()
        else:
            print("(c) skipped: set PA_TEST_POSTGRES_URL to a server URL whose user may create databases")

    read_seconds = results[0][1]["seconds"]
    print(f"\n{'path':<40} {'seconds':>8} {'x read':>7} {'RSS before':>11} {'peak RSS':>9}  rows")
    for label, r in results:
        extra = (f"  created {r['created']}, checked out {r['check_out']}, problems {r['errors']}"
                 if "created" in r else "")
        print(f"{label:<40} {r['seconds']:>8.2f} {r['seconds'] / read_seconds:>6.2f}x {r['rss_before_mib']:>8.0f} MiB"
              f" {r['peak_rss_mib']:>5.0f} MiB  {r['rows']}{extra}")
    print("\ntarget: each import within 3x of (a)")


if __name__ == "__main__":
    main()
