"""`partner-audit report quarterly`: the demo's last complete quarter made from the command line, as the
partnerships team would before a committee meeting: the workbook where it was asked for (or named for the
quarter), its JSON, the headline figures printed, the governance edition naming no provider, and a bad quarter
refused with the form to write it in."""

from __future__ import annotations

import io
import json
import subprocess
from datetime import date
from pathlib import Path

from openpyxl import load_workbook

from partner_audit.reports import xlsx
from partner_audit.reports.quarters import Quarter
from tests.support.reports import assert_workbook_matches
from tests.support.processes import PARTNER_AUDIT, base_env, cli, ok


def test_the_quarterly_report_command(tmp_path: Path):
    env = {**base_env(tmp_path), "PA_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    ok(cli(env, "migrate"))
    ok(cli(env, "demo"))
    quarter = str(Quarter.of(date.today()).previous())

    out, as_json = tmp_path / "committee.xlsx", tmp_path / "committee.json"
    done = cli(env, "report", "quarterly", quarter, "--out", str(out), "--json", str(as_json))
    lines = ok(done)
    assert lines[0].startswith(f"wrote the full edition of the quarterly report for {quarter} (") and \
        lines[0].endswith(f"to {out}"), lines
    assert lines[1] == f"wrote its JSON to {as_json}"
    report = json.loads(as_json.read_text())
    assert report["quarter"] == quarter and report["audience"] == "full"
    # Every headline printed under its heading, with last quarter's beside it.
    printed = "\n".join(lines[2:])
    for h in report["headlines"]:
        assert f"{h['heading']}:" in printed
        assert f"  {h['label']}: " in printed
    assert "last quarter" in printed
    assert "report: " in done.stderr, "progress is shown while the report is made"
    assert_workbook_matches(load_workbook(io.BytesIO(out.read_bytes())), report)

    # Governance: the default file name says which edition, and no provider is named in it.
    done = subprocess.run([PARTNER_AUDIT, "report", "quarterly", quarter, "--audience", "governance"], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    named = tmp_path / f"quarterly-report-{quarter}-governance.xlsx"
    assert f"to {named.name}" in done.stdout.splitlines()[0]
    book = load_workbook(io.BytesIO(named.read_bytes()))
    texts = {c.value for sheet in book for row in sheet.iter_rows() for c in row if isinstance(c.value, str)}
    assert report["providers"] and not {p["provider_name"] for p in report["providers"]} & texts
    edition = {r[0].value: r[1].value for r in book[xlsx.SUMMARY].iter_rows(max_col=2)}["Edition"]
    assert edition.startswith("Governance: aggregates only"), edition

    # The full edition, named for the quarter when no --out is given.
    done = subprocess.run([PARTNER_AUDIT, "report", "quarterly", quarter], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / f"quarterly-report-{quarter}.xlsx").is_file()

    bad = cli(env, "report", "quarterly", "2025-Q5")
    assert bad.returncode == 2
    assert '"2025-Q5" is not a quarter: write it as YYYY-QN, e.g. 2025-Q3' in bad.stderr
