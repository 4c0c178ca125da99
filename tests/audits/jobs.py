"""What the tests of the audits' scheduled work share: accepted self-assessments of a chosen score, audits and
corrective actions as rows (their services are another part's; these tests need only the rows the jobs read),
and the jobs run as processes."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from partner_audit.audits.tables import Audit, AuditAuditor, CorrectiveAction, Finding
from partner_audit.providers.tables import Provider
from tests.support.assessments import launch_for
from tests.support.databases import Database

NZ_TODAY = datetime.now(ZoneInfo("Pacific/Auckland")).date()

# Scores of the mini template's two scored questions (has-lead: yes 100, no 0; lead-maturity 1..5: 0..100).
SCORE_25 = [{"question_id": "has-lead", "value": "no"}, {"question_id": "lead-maturity", "value": "3"},
            {"question_id": "device-count", "value": 3}]
SCORE_50 = [{"question_id": "has-lead", "value": "no"}, {"question_id": "lead-maturity", "value": "5"},
            {"question_id": "device-count", "value": 3}]


def accepted_with(world, template_id: str, answers: list[dict[str, Any]], provider: dict[str, Any],
                  admin, period: str = "2026-Q2") -> dict[str, Any]:
    """``provider``'s self-assessment of the mini template for ``period``, answered, submitted and accepted."""
    _, assessment = launch_for(world, template_id, period, provider["id"])
    aid = assessment["id"]
    r = admin.put(f"/api/v1/assessments/{aid}/answers", json={"answers": [{**a, "version": 0} for a in answers]})
    assert r.status_code == 200, r.text
    r = admin.post(f"/api/v1/assessments/{aid}/submit")
    assert r.status_code == 200, r.text
    r = world.auditor.post(f"/api/v1/assessments/{aid}/accept", json={"note": "Accepted."})
    assert r.status_code == 200, r.text
    return world.admin.get(f"/api/v1/assessments/{aid}").json()


def observe(run, provider: dict[str, Any], anniversary: str | None) -> None:
    """Record the anniversary day a provider observes (the providers API gains it in another part)."""
    run(lambda: Provider.update({Provider.anniversary_day: anniversary}).where(Provider.id == provider["id"]).run())


def audit_row(run, provider: dict[str, Any], starts_on: date, auditors: list[Any] = (), *,
              status: str = "scheduled", kind: str = "site_visit", ends_on: date | None = None,
              title: str = "") -> str:
    """An audit with its team (the first auditor leads), as the audits service leaves it."""
    audit_id = uuid4()

    async def make() -> None:
        await Audit.insert(Audit(
            id=audit_id, provider=provider["id"], kind=kind, status=status, title=title, starts_on=starts_on,
            ends_on=ends_on or starts_on, lead_auditor=auditors[0].user["id"] if auditors else None)).run()
        for i, auditor in enumerate(auditors):
            await AuditAuditor.insert(AuditAuditor(
                audit=audit_id, auditor=auditor.user["id"], role="lead" if i == 0 else "member",
                audit_auditor=f"{audit_id}:{auditor.user['id']}")).run()

    run(make)
    return str(audit_id)


def action_row(run, audit_id: str, provider: dict[str, Any], due_on: date, *, status: str = "open",
               returned_reason: str = "", description: str = "Name a privacy lead and tell staff who it is.",
               control_id: str = "privacy-lead") -> str:
    """A corrective action from an ineffective finding of ``audit_id``; its owner is Hemi Walker."""
    finding_id, action_id = uuid4(), uuid4()

    async def make() -> None:
        await Finding.insert(Finding(
            id=finding_id, audit=audit_id, control_id=control_id, audit_control=f"{audit_id}:{control_id}",
            rating="ineffective", severity="high", observation="No named privacy lead.")).run()
        await CorrectiveAction.insert(CorrectiveAction(
            id=action_id, finding=finding_id, audit=audit_id, provider=provider["id"], description=description,
            owner_name="Hemi Walker", owner_email="hemi.walker@provider.example", due_on=due_on, status=status,
            returned_reason=returned_reason)).run()

    run(make)
    return str(action_id)


def command(*args: str) -> list[str]:
    """The ``partner-audit`` command line, as cron would run it (with command_env: on the test's database)."""
    return [sys.executable, "-m", "partner_audit.cli", *args]


def command_env(database: Database, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PA_VAR_DIR": str(tmp_path / "var"), "PA_DATABASE_URL": database.url,
            "PA_SECRET_KEY": "test-secret-key-" + "x" * 32, "PA_ACCESS_LOG_SEAL_SECONDS": "0"}


def run_command(database: Database, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command(*args), env=command_env(database, tmp_path),
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result


def run_together(database: Database, tmp_path: Path, copies: int, *args: str) -> list[subprocess.CompletedProcess[str]]:
    """``copies`` processes of one command started at once, as overlapping cron jobs on several hosts."""
    env = command_env(database, tmp_path)
    procs = [subprocess.Popen(command(*args), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(copies)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
        assert proc.returncode == 0, (out, err)
    return results
