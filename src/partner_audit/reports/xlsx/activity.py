"""The sheets of what happened in the quarter: "Rollouts", "Corrective actions", "Devices" and "Incidents" (by
kind, with a bar chart, and the breach assessments against their clocks)."""

from __future__ import annotations

from partner_audit.reports.schemas import Audience, QuarterlyReport
from partner_audit.reports.xlsx import charts
from partner_audit.reports.xlsx.sheet import (
    ACTIONS,
    DEVICES,
    GOVERNANCE_LEFT_OUT,
    INCIDENTS,
    ROLLOUTS,
    Column,
    Sheet,
    percent,
)
from partner_audit.reports.xlsx.styles import COUNT, COUNT_CHANGE, DATE, PERCENT

DEVICE_COUNTS = [("devices_held", "Devices held"), ("overdue_returns", "Overdue returns"),
                 ("overdue_attestations", "Overdue attestations"),
                 ("spot_check_discrepancies", "Spot-check discrepancies"), ("lost_or_stolen", "Lost or stolen")]


def rollouts(sheet: Sheet, report: QuarterlyReport) -> None:
    sheet.ws.title = ROLLOUTS
    columns = [Column("Rollout"), Column("Period"), Column("Due", DATE), Column("Assessments", COUNT),
               Column("Accepted", COUNT), Column("Submitted", COUNT), Column("In progress", COUNT),
               Column("Not started", COUNT), Column("Late", COUNT), Column("Completion", PERCENT)]
    rows = [[r.name, r.period, r.due_on, r.assessments, r.accepted, r.submitted, r.in_progress, r.not_started,
             r.late, percent(r.completion)] for r in report.rollouts]
    sheet.table(columns, rows, freeze_column=True)


def corrective_actions(sheet: Sheet, report: QuarterlyReport) -> None:
    sheet.ws.title = ACTIONS
    actions = report.corrective_actions
    sheet.title("Corrective actions from audit findings")
    sheet.skip()
    sheet.pairs([("Open", actions.open, COUNT), ("Overdue", actions.overdue, COUNT),
                 ("Verified in the quarter", actions.verified_in_quarter, COUNT)])
    sheet.skip()
    sheet.table([Column("Severity of the finding"), Column("Open", COUNT)],
                [[severity, n] for severity, n in actions.by_severity.items()], filter=False)
    sheet.skip()
    sheet.heading("Overdue: past the due date and not yet verified")
    if report.audience is Audience.governance:
        sheet.note(GOVERNANCE_LEFT_OUT.format(what="the overdue actions one by one"))
        return
    columns = [Column("Provider"), Column("Audit"), Column("Control"), Column("Severity"), Column("Action"),
               Column("Due", DATE), Column("Days overdue", COUNT), Column("Status")]
    rows = [[a.provider_name, a.audit_title, a.control_id, a.severity, a.title, a.due_on, a.days_overdue, a.status]
            for a in sorted(actions.overdue_actions, key=lambda a: (-a.days_overdue, a.provider_name.casefold()))]
    sheet.table(columns, rows, freeze_column=True)


def devices(sheet: Sheet, report: QuarterlyReport) -> None:
    sheet.ws.title = DEVICES
    exceptions = report.device_exceptions
    sheet.title("Agency devices held by providers' people: exceptions")
    sheet.note("Overdue returns and attestations as at the quarter's end; spot-check discrepancies and devices "
               "lost or stolen in the quarter.")
    sheet.skip()
    sheet.pairs([(label, getattr(exceptions, key), COUNT) for key, label in DEVICE_COUNTS])
    sheet.skip()
    if report.audience is Audience.governance:
        sheet.note(GOVERNANCE_LEFT_OUT.format(what="the exceptions provider by provider"))
        return
    known = [key for key, _ in DEVICE_COUNTS]
    extra = sorted({k for row in exceptions.by_provider for k in row} - {"provider_name", *known})
    columns = ([Column("Provider")] + [Column(label, COUNT) for _, label in DEVICE_COUNTS]
               + [Column(k.replace("_", " ").capitalize()) for k in extra])
    rows = [[row.get("provider_name"), *(row.get(k) for k in known), *(row.get(k) for k in extra)]
            for row in exceptions.by_provider]
    sheet.table(columns, rows, freeze_column=True)


def incidents(sheet: Sheet, report: QuarterlyReport) -> None:
    sheet.ws.title = INCIDENTS
    columns = [Column("Kind"), Column("This quarter", COUNT), Column("Last quarter", COUNT),
               Column("Change", COUNT_CHANGE)]
    rows = [[i.kind.replace("_", " ").capitalize(), i.quarter, i.previous, i.quarter - i.previous]
            for i in report.incidents]
    first, last = sheet.table(columns, rows, filter=False)
    if rows:
        sheet.ws.add_chart(charts.incidents(sheet.ws, report, first, last), "G2")
    sheet.skip()
    b = report.breaches
    sheet.heading("Breach assessments of the quarter's incidents, against their clocks")
    sheet.pairs([("Breach assessments", b.assessments, COUNT), ("Decided", b.decided, COUNT),
                 ("Decided on time", b.decided_on_time, COUNT),
                 ("Undecided and past the clock", b.undecided_overdue, COUNT),
                 ("Notifiable", b.notifiable, COUNT), ("Notified on time", b.notified_on_time, COUNT),
                 ("Notification overdue", b.notification_overdue, COUNT)])
