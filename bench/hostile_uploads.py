"""Hostile uploads against the running service: how fast each is refused and what it costs the server in memory,
beside a legitimate upload of the same kind.

Starts ``partner-audit serve`` (one process, SQLite, the disk evidence store) on a fresh database with the demo
data, then sends, as the demo's partnerships user and provider user:

  device import (POST /api/v1/devices/import): a legitimate 50,000-row register as .xlsx and as .csv, then
      workbooks reaching row 6.9 million, 6.9 million empty rows, one row of 6.6 million cells, a far cell at
      XFD1048576, a million distinct texts (the most accepted) and one more, a part unpacking to 1 GiB, and CSVs with one row of 16 million fields or a 49 MB header cell;
  offline assessment workbook (PUT /api/v1/assessments/{id}/workbook): the downloaded workbook with a comment in
      every row, then one whose About sheet reaches row 6.9 million, one with a row of 900,000 cells, and one with
      a part unpacking to 1 GiB.

Every file is generated here and is within the upload's size limit. For each it prints the HTTP status, the
seconds to the answer, and the server's memory: its resident size before, and how far its high-water mark
(VmHWM, reset through /proc/PID/clear_refs before each upload) rose above that. Target (issue 7, item 3): no
upload raises the peak by more than 256 MB, and each hostile file is refused in under 2 s.
"""

from __future__ import annotations

import io
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from openpyxl import Workbook, load_workbook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the hostile-file makers live with the tests that use them

from demo_service import demo_service, status_mib  # noqa: E402
from tests.core.test_spreadsheet_limits import (  # noqa: E402
    before_sheet_end,
    sheet_of,
    wide_row,
    with_member,
    with_sheet,
    with_strings,
)

MiB = 2**20


def register_xlsx(rows: int) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Devices")
    sheet.append(["Asset Tag", "Serial Number", "Device Type", "Make", "Model", "Encrypted", "MDM", "Status",
                  "Notes"])
    rng = random.Random(7)
    for n in range(rows):
        sheet.append([f"LT-{n:06d}", f"SN{rng.getrandbits(40):010X}", "laptop", "Lenovo", f"T14 Gen {n % 5}",
                      "yes", "no", "in stock", f"Bench device {n} of Ngā Puhi region"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def register_csv(content: bytes) -> bytes:
    rows = load_workbook(io.BytesIO(content), read_only=True).worksheets[0].values
    lines = [",".join("" if c is None else str(c).replace("LT-", "CSV-") for c in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def filled_workbook(content: bytes) -> bytes:
    book = load_workbook(io.BytesIO(content))
    sheet = book["Questions"]
    for row in range(2, sheet.max_row + 1):
        sheet[f"E{row}"] = f"Comment on row {row}: reviewed by the privacy lead, Tūhoe office"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def main() -> None:
    results: list[tuple[str, str, int, int, float, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="pa-hostile-") as tmp, demo_service(
            {**os.environ, "PA_VAR_DIR": str(Path(tmp) / "var"), "PA_SECRET_KEY": os.urandom(24).hex()}) as service:
        partnerships = service.session("partnerships@demo.partner-audit.nz")
        staff = service.session("provider.user@demo.partner-audit.nz")
        assessment = service.open_assessment(partnerships, staff)
        workbook_url = f"/api/v1/assessments/{assessment['id']}/workbook"

        def measure(kind: str, label: str, content: bytes, send: Callable[[bytes], httpx.Response]) -> None:
            Path(f"/proc/{service.pid}/clear_refs").write_text("5")  # the high-water mark starts again here
            before = status_mib(service.pid, "VmRSS")
            started = time.perf_counter()
            response = send(content)
            seconds = time.perf_counter() - started
            peak = status_mib(service.pid, "VmHWM")
            results.append((kind, label, len(content), response.status_code, seconds, before, peak - before))
            print(f"  {label}: {response.status_code} in {seconds:.2f} s", flush=True)

        def device_import(name: str) -> Callable[[bytes], httpx.Response]:
            return lambda content: partnerships.post("/api/v1/devices/import",
                                                     files={"file": (name, content, "application/octet-stream")})

        def workbook_upload(content: bytes) -> httpx.Response:
            return staff.put(workbook_url, files={"file": ("filled.xlsx", content, "application/octet-stream")})

        print("device import ...", flush=True)
        legit = register_xlsx(50_000)
        tiny = register_xlsx(1)
        first = sheet_of(tiny, "Devices")
        measure("device import", "legit: 50,000-row register (.xlsx)", legit, device_import("register.xlsx"))
        measure("device import", "legit: 50,000-row register (.csv)", register_csv(legit),
                device_import("register.csv"))
        measure("device import", "sheet reaching row 6,900,000",
                with_sheet(tiny, first, before_sheet_end(b'<row r="6900000"/>')), device_import("a.xlsx"))
        measure("device import", "6,900,000 empty <row/> elements",
                with_sheet(tiny, first, before_sheet_end(b"<row/>" * 6_900_000)), device_import("b.xlsx"))
        measure("device import", "one row of 6,600,000 cells",
                with_sheet(tiny, first, before_sheet_end(wide_row(3, 6_600_000))), device_import("c.xlsx"))
        measure("device import", "one cell at XFD1048576",
                with_sheet(tiny, first, before_sheet_end(b'<row r="1048576"><c r="XFD1048576"><v>1</v></c>'
                                                         b"</row>")), device_import("d.xlsx"))
        measure("device import", "within limits: 1,000,000 distinct texts",
                with_strings(tiny, 1_000_000), device_import("s.xlsx"))
        measure("device import", "1,000,001 distinct texts",
                with_strings(tiny, 1_000_001), device_import("t.xlsx"))
        measure("device import", "a part unpacking to 1 GiB", with_member(tiny, "xl/media/bomb.bin", 1024 * MiB),
                device_import("e.xlsx"))
        measure("device import", "CSV: one row of 16,000,000 fields",
                b"Asset Tag,Device Type\r\n" + b"ab," * 16_000_000 + b"\r\n", device_import("f.csv"))
        measure("device import", "CSV: a 49 MB header cell",
                b"Asset Tag,Device Type," + b"y" * (49 * MiB) + b"\r\nLT-1,laptop\r\n", device_import("g.csv"))

        print("assessment workbook ...", flush=True)
        downloaded = staff.get(workbook_url)
        downloaded.raise_for_status()
        about, questions = sheet_of(downloaded.content, "About"), sheet_of(downloaded.content, "Questions")
        measure("assessment workbook", "legit: a comment in every row", filled_workbook(downloaded.content),
                workbook_upload)
        measure("assessment workbook", "About sheet reaching row 6,900,000",
                with_sheet(downloaded.content, about, before_sheet_end(b'<row r="6900000"/>')), workbook_upload)
        measure("assessment workbook", "one row of 900,000 cells",
                with_sheet(downloaded.content, questions, before_sheet_end(wide_row(900, 900_000))),
                workbook_upload)
        measure("assessment workbook", "a part unpacking to 1 GiB",
                with_member(downloaded.content, "xl/media/bomb.bin", 1024 * MiB), workbook_upload)

    print(f"\nhostile uploads ({os.cpu_count()} CPUs, python {sys.version.split()[0]}, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())})")
    print(f"{'upload':<22}{'file':<40}{'size':>9}{'status':>7}{'seconds':>9}{'RSS before':>12}{'peak rise':>11}")
    for kind, label, size, status, seconds, before, rise in results:
        print(f"{kind:<22}{label:<40}{size / MiB:>7.1f}Mi{status:>7}{seconds:>9.2f}{before:>10.0f}Mi"
              f"{rise:>9.0f}Mi")
    hostile = [r for r in results if not r[1].startswith(("legit", "within limits"))]
    print(f"\nslowest refusal {max(r[4] for r in hostile):.2f} s (target < 2 s); "
          f"largest peak rise {max(r[6] for r in results):.0f} MiB (target <= 256 MB); "
          f"every hostile file refused with 4xx: {all(400 <= r[3] < 500 for r in hostile)}")


if __name__ == "__main__":
    main()
