"""Device import benchmark: how long importing a 50,000-row register takes next to its floor, reading the same
.xlsx with python-calamine and inserting the same rows in one transaction with the plainest code.

Writes a register of ``--rows`` rows (Snipe-IT style headers, half the devices checked out to people at three
providers) with openpyxl in write-only mode, then times, each in its own Python process so each peak RSS
(``resource.getrusage``) is that path's alone, and each database path into a fresh, migrated database holding
only the three providers:

  (a) reading with openpyxl: ``load_workbook(read_only=True)``, iterating every row's values (what the import
      read with before issue 9), for reference;
  (b) the floor on SQLite: python-calamine ``CalamineWorkbook.from_path`` and ``iter_rows``, each row made into a
      device (and, when held, an assignment) with no checks, and both inserted with sqlite3's ``executemany`` in
      one transaction;
  (c) importing on SQLite: ``devices.services.imports.import_devices`` (what ``partner-audit import devices``
      runs): the hostile-file checks, parse, validate every row, write in one transaction;
  (d) and (e): the floor and the import on PostgreSQL (the floor with asyncpg's ``copy_records_to_table``),
      when PA_TEST_POSTGRES_URL is set.

Prints seconds, the ratio import / floor on the same database (target: within 3x), the load average before
and after, and peak RSS. Asserts nothing. See bench/README.md.
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
import uuid
from datetime import UTC, date, datetime, timedelta
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


CATEGORY_KINDS = {"Laptops": "laptop", "Mobile Phones": "phone", "Tablets": "tablet"}


def floor_rows(file: Path, providers: dict[str, object]) -> tuple[list[tuple], list[tuple]]:
    """The register's devices and open assignments, read with calamine and laid out as the tables' columns,
    with nothing checked: the least any import of this file must do before inserting."""
    from python_calamine import CalamineWorkbook

    now = datetime.now(UTC)
    rows = CalamineWorkbook.from_path(str(file)).get_sheet_by_index(0).iter_rows()
    header = [str(h) for h in next(rows)]
    at = {name: header.index(name) for name in HEADERS}
    devices, assignments = [], []
    for cells in rows:
        device = uuid.uuid4()
        held = cells[at["Checked Out To"]] != ""
        devices.append((device, cells[at["Asset Tag"]], cells[at["Serial"]], CATEGORY_KINDS[cells[at["Category"]]],
                        cells[at["Manufacturer"]], cells[at["Model"]], False, False,
                        "assigned" if held else "in_stock", cells[at["Notes"]], now, now))
        if held:
            assignments.append((
                uuid.uuid4(), device, device, providers[cells[at["Provider"]]], cells[at["Checked Out To"]],
                cells[at["Email"]], "", "", cells[at["Purpose"]], cells[at["Systems"]].replace("; ", "\n"),
                cells[at["Checkout Date"]], cells[at["Expected Checkin"]], None, "", None, "", None, now, None,
                None))
    return devices, assignments


DEVICE_COLUMNS = ("id", "asset_tag", "serial", "kind", "make", "model", "encrypted", "mdm_enrolled", "status",
                  "notes", "created_at", "updated_at")
ASSIGNMENT_COLUMNS = ("id", "device", "open_device", "provider", "holder_name", "holder_email", "holder_phone",
                      "holder_role", "purpose", "systems", "starts_on", "expected_return_on", "returned_on",
                      "return_condition", "data_wiped", "wiped_by", "created_by", "created_at", "closed_at",
                      "redacted_at")


def floor_into(file: Path, url: str) -> dict:
    """Read with calamine and insert with the database's own client, in one transaction (the providers are
    read first, untimed, as the import reads them before the file)."""
    import sqlite3

    import asyncpg

    prepare(url, file.parent)
    if url.startswith("sqlite"):
        # Piccolo's adapters are not loaded here: values go in as sqlite3 takes them.
        sqlite3.register_adapter(uuid.UUID, str)
        connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        providers = dict(connection.execute("SELECT name, id FROM provider").fetchall())
        before = peak_rss_mib()
        started = time.perf_counter()
        devices, assignments = floor_rows(file, providers)
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(f"INSERT INTO device ({', '.join(DEVICE_COLUMNS)}) VALUES "
                               f"({', '.join('?' * len(DEVICE_COLUMNS))})", devices)
        connection.executemany(f"INSERT INTO assignment ({', '.join(ASSIGNMENT_COLUMNS)}) VALUES "
                               f"({', '.join('?' * len(ASSIGNMENT_COLUMNS))})", assignments)
        connection.execute("COMMIT")
        seconds = time.perf_counter() - started
        connection.close()
    else:
        async def work() -> tuple[float, list[tuple], list[tuple]]:
            connection = await asyncpg.connect(url)
            try:
                providers = {r["name"]: r["id"] for r in await connection.fetch("SELECT name, id FROM provider")}
                started = time.perf_counter()
                devices, assignments = floor_rows(file, providers)
                async with connection.transaction():
                    await connection.copy_records_to_table("device", records=devices, columns=DEVICE_COLUMNS)
                    await connection.copy_records_to_table("assignment", records=assignments,
                                                           columns=ASSIGNMENT_COLUMNS)
                return time.perf_counter() - started, devices, assignments
            finally:
                await connection.close()

        before = peak_rss_mib()
        seconds, devices, assignments = asyncio.run(work())
    return {"seconds": seconds, "rss_before_mib": before, "rows": len(devices), "created": len(devices),
            "check_out": len(assignments), "errors": 0}


def settings_for(url: str, var_dir: Path):
    from partner_audit.settings import load_settings

    return load_settings({**os.environ, "PA_DATABASE_URL": url, "PA_VAR_DIR": str(var_dir)})


def prepare(url: str, var_dir: Path) -> None:
    """Migrate the fresh database and register the three providers."""
    from partner_audit import db
    from partner_audit.app import lifespan
    from partner_audit.demo import demo_nzbn
    from partner_audit.providers import service as providers
    from partner_audit.providers.schemas import ProviderCreate, ProviderKind, Region
    from partner_audit.security.caller import Caller

    async def work() -> None:
        async with lifespan(settings_for(url, var_dir), need_schema=False):
            await db.migrate()
            for n, name in enumerate(PROVIDERS):
                await providers.register(Caller.system("bench"), ProviderCreate(
                    name=name, nzbn=demo_nzbn(700 + n), kind=ProviderKind.ngo, region=Region.wellington,
                    risk_tier=2))

    asyncio.run(work())


def import_into(file: Path, url: str) -> dict:
    """The import as the command line runs it, in the app's lifespan (keys, engine, pool)."""
    from partner_audit.app import lifespan
    from partner_audit.devices.services import imports
    from partner_audit.devices.xlsx.reading import Source
    from partner_audit.security.caller import Caller

    prepare(url, file.parent)

    async def work() -> dict:
        async with lifespan(settings_for(url, file.parent)):
            before = peak_rss_mib()
            started = time.perf_counter()
            report = await imports.import_devices(Caller.system("bench"), Source(file.name, path=file))
            seconds = time.perf_counter() - started
            return {"seconds": seconds, "rss_before_mib": before, "rows": report["rows"],
                    "created": report["created"], "check_out": report["assignments"]["check_out"],
                    "errors": report["error_count"]}

    return asyncio.run(work())


def child(mode: str, file: Path, url: str | None) -> None:
    figures = (read_only(file) if mode == "read" else floor_into(file, url or "") if mode == "floor"
               else import_into(file, url or ""))
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
    parser.add_argument("--child", choices=["read", "floor", "import"], help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.file, args.url)
        return

    load_before = Path("/proc/loadavg").read_text().split()[:3]
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "register.xlsx"
        started = time.perf_counter()
        write_register(file, args.rows)
        print(f"wrote {args.rows} rows to an .xlsx of {file.stat().st_size / 2**20:.1f} MiB in "
              f"{time.perf_counter() - started:.1f}s (openpyxl write-only)")
        results = [("(a) openpyxl read-only, iterate rows", run_child("read", file))]
        databases = [("SQLite", "b", "c", lambda: (f"sqlite:///{Path(tmp) / 'floor.sqlite3'}", lambda: None),
                      lambda: (f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", lambda: None))]
        if os.environ.get("PA_TEST_POSTGRES_URL"):
            from tests.support.databases import create_postgres_database

            databases.append(("PostgreSQL", "d", "e", lambda: create_postgres_database("pa_bench_floor"),
                              lambda: create_postgres_database("pa_bench")))
        else:
            print("(d), (e) skipped: set PA_TEST_POSTGRES_URL to a server URL whose user may create databases")
        for name, floor_letter, import_letter, floor_db, import_db in databases:
            for letter, mode, make in ((floor_letter, "floor", floor_db), (import_letter, "import", import_db)):
                url, drop = make()
                try:
                    label = (f"({letter}) floor, {name}: calamine + bare insert" if mode == "floor"
                             else f"({letter}) import, {name}")
                    results.append((label, run_child(mode, file, url)))
                finally:
                    drop()
    load_after = Path("/proc/loadavg").read_text().split()[:3]

    print(f"\n{os.cpu_count()} CPUs, python {sys.version.split()[0]}, load average before {' '.join(load_before)}, "
          f"after {' '.join(load_after)}")
    print(f"{'path':<44} {'seconds':>8} {'x floor':>8} {'RSS before':>11} {'peak RSS':>9}  rows")
    floor = None
    for label, r in results:
        floor = r["seconds"] if "floor" in label else floor
        ratio = f"{r['seconds'] / floor:>7.2f}x" if "import" in label and floor else " " * 8
        extra = (f"  created {r['created']}, checked out {r['check_out']}, problems {r['errors']}"
                 if "created" in r else "")
        print(f"{label:<44} {r['seconds']:>8.2f} {ratio} {r['rss_before_mib']:>8.0f} MiB"
              f" {r['peak_rss_mib']:>5.0f} MiB  {r['rows']}{extra}")
    print("\ntarget: each import within 3x of the floor on its database")


if __name__ == "__main__":
    main()
