"""Reminders through the outbox, on SQLite and PostgreSQL: each goes once, on the right New Zealand working day
where the provider works (across an anniversary day), not before, once overdue, and never for what is cancelled,
submitted or done; however often and in however many processes the job runs."""

from __future__ import annotations

import asyncio
import re
from datetime import date, timedelta

from partner_audit.assessments.tables import Assessment
from partner_audit.audits.services import reminders
from partner_audit.devices.tables import AttestationLink
from partner_audit.outbox.tables import OutboxMessage, Reminder
from partner_audit.security.caller import Role
from partner_audit.security.tables import AccessLogEntry, User
from tests.audits.jobs import NZ_TODAY, action_row, audit_row, observe, run_command, run_together
from tests.support.assessments import launch_for
from tests.support.devices import checked_out

# 2027: Wellington Anniversary Day is Monday 25 January, Auckland's Monday 1 February.
TUE_26_JAN = date(2027, 1, 26)
NOTHING = dict.fromkeys(reminders.KINDS, 0)


def send(run, settings, today: date) -> dict[str, int]:
    return run(lambda: reminders.send_due_reminders(settings, today))


def only(**counts: int) -> dict[str, int]:
    return {**NOTHING, **{k.replace("_", "-"): v for k, v in counts.items()}}


def messages(run) -> list[dict]:
    return run(lambda: OutboxMessage.select().order_by(OutboxMessage.to_address, OutboxMessage.subject).run())


def open_assessment(world, run, template_id: str, provider: dict, period: str, due_on: date,
                    status: str = "not_started") -> str:
    """``provider``'s assessment for ``period``, open since 4 January 2027 and due on ``due_on``."""
    _, assessment = launch_for(world, template_id, period, provider["id"])
    run(lambda: Assessment.update({Assessment.opens_on: date(2027, 1, 4), Assessment.due_on: due_on,
                                   Assessment.status: status}).where(Assessment.id == assessment["id"]).run())
    return assessment["id"]


def test_each_auditor_is_reminded_once_from_five_working_days_before_the_audit(world, run, settings):
    second = world.add_person("second_auditor", Role.auditor)
    third = world.add_person("third_auditor", Role.auditor)
    observe(run, world.provider_b, "auckland")
    # Both start on Tuesday 26 January 2027. Five working days before: in Wellington (Anniversary Day on the 25th)
    # that is Monday the 18th; provider B observes Auckland's, a week later, so for it Tuesday the 19th.
    a_visit = audit_row(run, world.provider_a, TUE_26_JAN, [world.auditor, second], ends_on=date(2027, 1, 27))
    b_visit = audit_row(run, world.provider_b, TUE_26_JAN, [third], kind="desktop_review", title="Records review")
    audit_row(run, world.provider_a, TUE_26_JAN, [world.auditor], status="cancelled")
    audit_row(run, world.provider_a, TUE_26_JAN, [world.auditor], status="proposed")
    gone = world.add_person("gone_auditor", Role.auditor)
    audit_row(run, world.provider_a, date(2027, 1, 20), [gone])
    run(lambda: User.update({User.active: False}).where(User.id == gone.user["id"]).run())

    assert send(run, settings, date(2027, 1, 15)) == NOTHING
    assert send(run, settings, date(2027, 1, 18)) == only(audit_soon=2)
    assert send(run, settings, date(2027, 1, 19)) == only(audit_soon=1)
    assert send(run, settings, date(2027, 1, 19)) == NOTHING
    assert send(run, settings, TUE_26_JAN) == NOTHING

    sent = messages(run)
    assert [(m["to_address"], m["subject"]) for m in sent] == [
        ("auditor@example.org", "The site visit of Provider A Trust starts Tuesday 26 January 2027"),
        ("second.auditor@example.org", "The site visit of Provider A Trust starts Tuesday 26 January 2027"),
        ("third.auditor@example.org", "The desktop review of Provider B Trust starts Tuesday 26 January 2027"),
    ]
    assert "from Tuesday 26 January 2027 to Wednesday 27 January 2027" in sent[0]["body"]
    assert f"{settings.public_url}/api/v1/audits/{a_visit}" in sent[0]["body"]
    assert "Records review, on Tuesday 26 January 2027" in sent[2]["body"]
    assert f"/api/v1/audits/{b_visit}" in sent[2]["body"]
    assert "Second" not in sent[0]["body"] and "second.auditor" not in sent[0]["body"]  # nobody else's details
    keys = run(lambda: Reminder.select(Reminder.key, Reminder.kind).order_by(Reminder.key).run())
    assert sorted(k["key"] for k in keys) == sorted([
        f"audit-soon:{a_visit}:{world.auditor.user['id']}", f"audit-soon:{a_visit}:{second.user['id']}",
        f"audit-soon:{b_visit}:{third.user['id']}"])
    logged = run(lambda: AccessLogEntry.select(AccessLogEntry.email, AccessLogEntry.record_id).where(
        AccessLogEntry.action == "reminder.queue").run())
    assert sorted(e["record_id"] for e in logged) == sorted([a_visit, a_visit, b_visit])
    assert {e["email"] for e in logged} == {"system:reminders"}


def test_a_self_assessment_reminds_its_admins_before_it_is_due_and_once_when_overdue(world, run, settings,
                                                                                     template_id):
    deputy = world.add_person("a_deputy", Role.provider_admin, world.provider_a["id"])
    left = world.add_person("a_left", Role.provider_admin, world.provider_a["id"])
    run(lambda: User.update({User.active: False}).where(User.id == left.user["id"]).run())
    world.provider_admin, world.provider_user  # noqa: B018  (staff, not admins: not reminded)
    aid = open_assessment(world, run, template_id, world.provider_a, "2027-Q1", TUE_26_JAN)
    # Provider B's are in, or done: no reminder.
    open_assessment(world, run, template_id, world.provider_b, "2027-Q1", TUE_26_JAN, status="submitted")
    open_assessment(world, run, template_id, world.provider_b, "2026-Q4", TUE_26_JAN, status="accepted")
    world.b_admin  # noqa: B018

    assert send(run, settings, date(2027, 1, 15)) == NOTHING
    # The run of Monday the 18th (the first day of the window) was missed: Tuesday's run still sends, once.
    assert send(run, settings, date(2027, 1, 19)) == only(assessment_due=2)
    assert send(run, settings, date(2027, 1, 20)) == NOTHING
    assert send(run, settings, TUE_26_JAN) == NOTHING  # due today: the reminder went already
    assert send(run, settings, date(2027, 1, 27)) == only(assessment_overdue=2)
    assert send(run, settings, date(2027, 1, 28)) == NOTHING

    sent = messages(run)
    assert sorted({m["to_address"] for m in sent}) == ["a.deputy@example.org", "provider.admin@example.org"]
    due = [m for m in sent if not m["subject"].startswith("Overdue")]
    assert {m["subject"] for m in due} == {"Provider A Trust's 2027-Q1 self-assessment is due Tuesday 26 January 2027"}
    assert f"{settings.public_url}/api/v1/assessments/{aid}" in due[0]["body"]
    assert "What to do: answer the remaining questions" in due[0]["body"]
    overdue = [m for m in sent if m["subject"].startswith("Overdue")]
    assert {m["subject"] for m in overdue} == {
        "Overdue: Provider A Trust's 2027-Q1 self-assessment was due Tuesday 26 January 2027"}
    assert "deputy" not in due[1]["body"].lower() and "provider.admin" not in due[0]["body"]
    keys = {r["key"] for r in run(lambda: Reminder.select(Reminder.key).run())}
    assert f"assessment-due:{aid}:a.deputy@example.org" in keys
    assert f"assessment-overdue:{aid}:provider.admin@example.org" in keys


def test_a_corrective_action_reminds_before_it_is_due_and_once_when_overdue(world, run, settings):
    visit = audit_row(run, world.provider_a, date(2026, 11, 3), [world.auditor], status="reported",
                      title="Site visit, November 2026")
    # Due Tuesday 2 February 2027: five Wellington working days before is Tuesday 26 January (the 25th is a
    # holiday there), so Monday's run sends nothing.
    action = action_row(run, visit, world.provider_a, date(2027, 2, 2),
                        returned_reason="The photo does not show who holds the register.")
    action_row(run, visit, world.provider_a, date(2027, 2, 2), status="verified", control_id="device-register")
    answered = audit_row(run, world.provider_a, date(2026, 11, 10), [world.auditor], status="reported")
    action_row(run, answered, world.provider_a, date(2027, 2, 2), status="responded")
    dropped = audit_row(run, world.provider_a, date(2026, 11, 17), [world.auditor], status="cancelled")
    action_row(run, dropped, world.provider_a, date(2027, 2, 2))
    finished = audit_row(run, world.provider_a, date(2026, 11, 24), [world.auditor], status="closed")
    action_row(run, finished, world.provider_a, date(2027, 2, 2))  # a closed audit's actions are frozen
    world.provider_admin, world.b_admin  # noqa: B018  (B's admin: never told of A's actions)

    assert send(run, settings, date(2027, 1, 25)) == NOTHING
    assert send(run, settings, TUE_26_JAN) == only(action_due=1)
    assert send(run, settings, date(2027, 2, 2)) == NOTHING
    assert send(run, settings, date(2027, 2, 3)) == only(action_overdue=1)
    assert send(run, settings, date(2027, 2, 4)) == NOTHING

    due, overdue = sorted(messages(run), key=lambda m: m["created_at"])
    assert (due["to_address"], due["subject"]) == (
        "provider.admin@example.org", "A corrective action for Provider A Trust is due Tuesday 2 February 2027")
    assert "Name a privacy lead and tell staff who it is." in due["body"]
    assert "The auditor returned the last response: The photo does not show who holds the register." in due["body"]
    assert "What to do: respond by Tuesday 2 February 2027" in due["body"]
    assert f"{settings.public_url}/api/v1/corrective-actions/{action}" in due["body"]
    assert overdue["subject"] == "Overdue: a corrective action for Provider A Trust was due Tuesday 2 February 2027"
    for body in (due["body"], overdue["body"]):  # the owner's details are not mailed about
        assert "Hemi" not in body and "hemi.walker" not in body


def _everything_due_on_26_january(world, run, template_id) -> None:
    second = world.add_person("second_auditor", Role.auditor)
    audit_row(run, world.provider_a, date(2027, 1, 27), [world.auditor, second])
    open_assessment(world, run, template_id, world.provider_a, "2027-Q1", date(2027, 1, 27))
    visit = audit_row(run, world.provider_a, date(2026, 11, 3), [world.auditor], status="reported")
    action_row(run, visit, world.provider_a, date(2027, 1, 27))
    world.provider_admin  # noqa: B018


def test_concurrent_runs_send_each_reminder_once(world, run, settings, template_id):
    _everything_due_on_26_january(world, run, template_id)

    async def at_once() -> list[dict[str, int]]:
        return await asyncio.gather(*[reminders.send_due_reminders(settings, TUE_26_JAN) for _ in range(5)])

    results = run(at_once)
    totals = {kind: sum(r[kind] for r in results) for kind in reminders.KINDS}
    assert totals == only(audit_soon=2, assessment_due=1, action_due=1)
    # Every message that went has its reminder; none left over from a run that lost the race.
    assert run(lambda: Reminder.count().run()) == 4
    assert run(lambda: OutboxMessage.count().run()) == 4
    assert send(run, settings, TUE_26_JAN) == NOTHING


def test_the_reminders_command_sends_once_however_many_processes_run_it(world, run, database, tmp_path,
                                                                          template_id):
    _everything_due_on_26_january(world, run, template_id)

    results = run_together(database, tmp_path, 2, "reminders", "--today", "2027-01-26")
    totals: dict[str, int] = {}
    for result in results:
        for kind, count in re.findall(r"^  ([a-z-]+) +(\d+)$", result.stdout, re.M):
            totals[kind] = totals.get(kind, 0) + int(count)
        assert "queueing reminders:" in result.stderr  # progress, on stderr
    assert totals == only(audit_soon=2, assessment_due=1, action_due=1)
    assert sum(int(r.stdout.splitlines()[-1].split()[0]) for r in results) == 4
    assert run(lambda: OutboxMessage.count().run()) == 4

    again = run_command(database, tmp_path, "reminders", "--today", "2027-01-26").stdout.splitlines()
    assert again[-1].startswith("0 reminder(s) queued in the outbox for 2027-01-26")
    assert [line.split() for line in again[:-1]] == [[kind, "0"] for kind in reminders.KINDS]


def test_a_holder_whose_attestation_falls_due_gets_the_attestation_jobs_link_once(world, run, settings):
    starts = (NZ_TODAY - timedelta(days=settings.attestation_days + 3)).isoformat()
    _, due = checked_out(world, "LT-4001", world.provider_a, "Aroha Ngata", starts_on=starts,
                         expected_return_on=(NZ_TODAY + timedelta(days=60)).isoformat())
    checked_out(world, "LT-4002", world.provider_a, "Tane Mahuta", starts_on=NZ_TODAY.isoformat(),
                expected_return_on=(NZ_TODAY + timedelta(days=60)).isoformat())

    assert send(run, settings, NZ_TODAY) == only(attestation_due=1)
    assert send(run, settings, NZ_TODAY) == NOTHING  # the link it mailed is still live
    [message] = messages(run)
    assert message["to_address"] == due["holder_email"]
    assert message["subject"] == "Please confirm you still hold agency device LT-4001"
    assert run(lambda: AttestationLink.count().run()) == 1
    assert run(lambda: AccessLogEntry.count().where(
        (AccessLogEntry.action == "attestation.link_issued") & (AccessLogEntry.email == "system:reminders")).run()) == 1
