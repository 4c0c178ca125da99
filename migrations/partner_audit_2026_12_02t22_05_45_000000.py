"""Existing breach assessments on the Privacy Act 2020's clocks (the columns came in the migration before).

Each assessment was due 30 days after its incident was reported, a figure from another country's scheme. Now:

- the decision on serious harm is due 48 hours after the report (the default of PA_BREACH_ASSESSMENT_HOURS; the
  Act says "as soon as practicable"), so an old open assessment still undecided shows as overdue, as it is;
- one already judged likely to cause serious harm became notifiable when it was judged (``assessed_at``, or the
  report if that was not recorded), and notifying is due 72 hours after (PA_BREACH_NOTIFICATION_HOURS' default).

The s 113 matters and who notifies (s 11) were never recorded: they stay blank and unknown, and an open
assessment asks for them before it closes. Closed assessments stay closed.
"""

from datetime import timedelta

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import UUID, Boolean, ForeignKey, Timestamptz
from piccolo.engine.finder import engine_finder
from piccolo.table import Table

ID = "2026-12-02T22:05:45:000000"
VERSION = "1.38.0"
DESCRIPTION = "Existing breach assessments on the Privacy Act clocks: decision due 48 h after the report, notifying 72 h after judging serious harm likely"

ASSESSMENT_HOURS, NOTIFICATION_HOURS = 48, 72


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="partner_audit", description=DESCRIPTION)

    async def set_clocks() -> None:
        engine = engine_finder()

        # The tables as this migration knows them, not as the code may later have them.
        class Incident(Table, tablename="incident", db=engine):
            id = UUID(primary_key=True)
            reported_at = Timestamptz()

        class BreachAssessment(Table, tablename="breach_assessment", db=engine):
            id = UUID(primary_key=True)
            incident = ForeignKey(Incident)
            due_at = Timestamptz()
            serious_harm_likely = Boolean(null=True)
            assessed_at = Timestamptz(null=True)
            notifiable_at = Timestamptz(null=True)
            notification_due_at = Timestamptz(null=True)

        rows = await BreachAssessment.select(
            BreachAssessment.id, BreachAssessment.serious_harm_likely, BreachAssessment.assessed_at,
            BreachAssessment.incident.reported_at.as_alias("reported_at")).run()
        for row in rows:
            values = {BreachAssessment.due_at: row["reported_at"] + timedelta(hours=ASSESSMENT_HOURS)}
            if row["serious_harm_likely"]:
                notifiable = row["assessed_at"] or row["reported_at"]
                values[BreachAssessment.notifiable_at] = notifiable
                values[BreachAssessment.notification_due_at] = notifiable + timedelta(hours=NOTIFICATION_HOURS)
            await BreachAssessment.update(values).where(BreachAssessment.id == row["id"]).run()

    manager.add_raw(set_clocks)
    return manager
