"""Follow-ups proposed by triggers, on SQLite and PostgreSQL: a low self-assessed score and a lost or stolen device
each propose one audit, with the reason, however often and in however many processes the job runs."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from partner_audit.audits import calendar
from partner_audit.audits.services import triggers
from partner_audit.audits.tables import Audit, AuditAuditor, AuditBooking
from partner_audit.security.tables import AccessLogEntry
from tests.audits.jobs import NZ_TODAY, SCORE_25, SCORE_50, accepted_with, observe, run_command, run_together
from tests.support.devices import checked_out

OCCURRED = datetime.now(UTC) - timedelta(hours=20)


def audits(run) -> list[dict]:
    rows = run(lambda: Audit.select().order_by(Audit.origin_key).run())
    return [{**r, "reasons": json.loads(r["reasons"]) if isinstance(r["reasons"], str) else r["reasons"]}
            for r in rows]


def report(api, device: dict, kind: str) -> dict:
    r = api.post("/api/v1/incidents", json={
        "device_id": device["id"], "kind": kind, "occurred_at": OCCURRED.isoformat(),
        "reported_by": "Hine Walker, privacy lead", "location": "Number 18 bus, Wellington",
        "information_at_risk": "Client names and case notes"})
    assert r.status_code == 201, r.text
    return r.json()


def propose(run, settings, today: date = NZ_TODAY) -> list[triggers.Proposal]:
    return run(lambda: triggers.propose_follow_ups(settings, today))


def test_a_low_score_proposes_one_follow_up_and_a_score_at_the_threshold_none(world, run, settings, template_id):
    low = accepted_with(world, template_id, SCORE_25, world.provider_a, world.provider_admin)
    accepted_with(world, template_id, SCORE_50, world.provider_b, world.b_admin)  # 50 is not under 50

    [proposal] = propose(run, settings)
    starts_on = calendar.add_working_days(NZ_TODAY, 20, calendar.AnniversaryDay.wellington)
    assert (proposal.provider_name, proposal.kind.value, proposal.origin.value, proposal.origin_key,
            proposal.starts_on) == ("Provider A Trust", "follow_up", "low_score", f"assessment:{low['id']}", starts_on)
    [audit] = audits(run)
    assert str(audit["id"]) == proposal.audit_id
    assert (audit["status"], audit["kind"], audit["starts_on"], audit["ends_on"], audit["lead_auditor"]) == (
        "proposed", "follow_up", starts_on, starts_on, None)
    # Its scope: the self-assessment it follows up, and that assessment's template version.
    assert (str(audit["assessment"]), str(audit["template_version"])) == (low["id"], template_id)
    decided = datetime.fromisoformat(low["decided_at"]).astimezone(ZoneInfo("Pacific/Auckland")).date()
    assert audit["reasons"]["provider"] == (
        f"the 2026-Q2 self-assessment, accepted on {decided.day} {decided:%B %Y}, scored 25.0, under the threshold "
        "of 50")
    assert "20th New Zealand working day" in audit["reasons"]["date"]
    assert "Wellington Anniversary Day" in audit["reasons"]["date"]
    assert run(lambda: AuditAuditor.count().run()) == 0 and run(lambda: AuditBooking.count().run()) == 0  # no team
    [logged] = run(lambda: AccessLogEntry.select().where(AccessLogEntry.action == "audit.propose").run())
    assert (logged["email"], logged["record_id"], logged["provider_id"]) == (
        "system:follow-ups", proposal.audit_id, str(world.provider_a["id"]))
    assert "scored 25.0" in logged["detail"]

    assert propose(run, settings) == []  # proposed once
    assert len(audits(run)) == 1


def test_the_proposal_starts_twenty_working_days_out_where_the_provider_works(world, run, settings, template_id):
    accepted_with(world, template_id, SCORE_25, world.provider_a, world.provider_admin)
    observe(run, world.provider_a, "none")  # a national body in Wellington: it keeps no anniversary day
    # Early January: the 20 working days take in Wellington Anniversary Day, which this provider works through.
    today = date(NZ_TODAY.year + 1, 1, 5)
    [proposal] = propose(run, settings, today)
    assert proposal.starts_on == calendar.add_working_days(today, 20, calendar.AnniversaryDay.none)
    assert proposal.starts_on != calendar.add_working_days(today, 20, calendar.AnniversaryDay.wellington)
    assert calendar.working_days_between(today, proposal.starts_on, "none") == 20
    assert "it observes no anniversary day" in proposal.reasons["date"]


def test_lost_and_stolen_devices_propose_once_without_naming_the_holder(world, run, settings):
    laptop, _ = checked_out(world, "LT-3001", world.provider_a, "Aroha Ngata")
    phone, _ = checked_out(world, "PH-3002", world.provider_a, "Tane Mahuta", kind="phone")
    cracked, _ = checked_out(world, "PH-3003", world.provider_a, "Mere Tawhiri", kind="phone")
    lost, stolen = report(world.provider_admin, laptop, "lost"), report(world.provider_admin, phone, "stolen")
    report(world.provider_admin, cracked, "damaged")  # damaged: no follow-up
    # Provider B holds twelve devices; after one is stolen, eleven: more than a handful, so a spot-check.
    b_devices = [checked_out(world, f"LT-31{i:02d}", world.provider_b, f"Holder {i}")[0] for i in range(12)]
    b_stolen = report(world.b_admin, b_devices[0], "stolen")

    proposed = propose(run, settings)
    by_key = {p.origin_key: p for p in proposed}
    assert set(by_key) == {f"incident:{lost['id']}", f"incident:{stolen['id']}", f"incident:{b_stolen['id']}"}
    assert {k: (p.kind.value, p.origin.value, p.provider_name) for k, p in by_key.items()} == {
        f"incident:{lost['id']}": ("follow_up", "lost_device", "Provider A Trust"),
        f"incident:{stolen['id']}": ("follow_up", "lost_device", "Provider A Trust"),
        f"incident:{b_stolen['id']}": ("device_spot_check", "lost_device", "Provider B Trust"),
    }
    day = OCCURRED.astimezone(ZoneInfo("Pacific/Auckland")).date()
    assert by_key[f"incident:{lost['id']}"].reasons["provider"] == (
        f"device LT-3001 was reported lost on {day.day} {day:%B %Y}")
    assert by_key[f"incident:{stolen['id']}"].reasons["provider"].startswith("device PH-3002 was reported stolen")
    assert "holds 11 agency devices" in by_key[f"incident:{b_stolen['id']}"].reasons["kind"]
    assert "holds 1 agency device(s)" in by_key[f"incident:{lost['id']}"].reasons["kind"]  # the damaged phone

    # Nothing about the holders in what was proposed or logged: the asset tag is the reference.
    stored = json.dumps([{k: str(v) for k, v in a.items()} for a in audits(run)])
    logged = json.dumps(run(lambda: AccessLogEntry.select(AccessLogEntry.detail).where(
        AccessLogEntry.action == "audit.propose").run()))
    for private in ("Aroha", "Ngata", "Tane", "Mahuta", "Holder 0", "holder.0", "provider.example"):
        assert private not in stored and private not in logged, private

    assert propose(run, settings) == []
    assert len(audits(run)) == 3


def test_concurrent_runs_propose_each_follow_up_once(world, run, settings, template_id):
    accepted_with(world, template_id, SCORE_25, world.provider_a, world.provider_admin)
    laptop, _ = checked_out(world, "LT-3201", world.provider_b, "Aroha Ngata")
    report(world.b_admin, laptop, "lost")

    async def at_once() -> list[list[triggers.Proposal]]:
        return await asyncio.gather(*[triggers.propose_follow_ups(settings, NZ_TODAY) for _ in range(5)])

    results = run(at_once)
    keys = [p.origin_key for result in results for p in result]
    assert len(keys) == 2 and len(set(keys)) == 2  # each proposed by exactly one of the five runs
    assert len(audits(run)) == 2
    assert run(lambda: AccessLogEntry.count().where(AccessLogEntry.action == "audit.propose").run()) == 2


def test_the_command_proposes_once_however_many_processes_run_it(world, run, database, tmp_path, template_id):
    low = accepted_with(world, template_id, SCORE_25, world.provider_a, world.provider_admin)
    laptop, _ = checked_out(world, "LT-3301", world.provider_b, "Aroha Ngata")
    lost = report(world.b_admin, laptop, "lost")

    today = NZ_TODAY.isoformat()
    outputs = [r.stdout for r in run_together(database, tmp_path, 2, "audits", "follow-ups", "--today", today)]
    said = "\n".join(outputs)
    assert said.count("proposed to start") == 2, outputs
    assert f"assessment:{low['id']}" in said and f"incident:{lost['id']}" in said
    assert "provider: the 2026-Q2 self-assessment" in said and "provider: device LT-3301 was reported lost" in said
    assert "Aroha" not in said
    assert sorted(a["origin_key"] for a in audits(run)) == sorted([f"assessment:{low['id']}", f"incident:{lost['id']}"])

    again = run_command(database, tmp_path, "audits", "follow-ups", "--today", today).stdout
    assert again.strip() == f"nothing new to follow up on {today}"
    assert len(audits(run)) == 2


def test_the_command_refuses_a_bad_date_in_one_line(database, tmp_path):
    import subprocess

    from tests.audits.jobs import command, command_env

    result = subprocess.run(command("audits", "follow-ups", "--today", "3/12/2026"),
                            env=command_env(database, tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "'3/12/2026' is not a date as YYYY-MM-DD" in result.stderr
