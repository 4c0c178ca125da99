"""Audits: the audits themselves and who is on them, the days they book, plans that propose them, auditors'
availability and conflicts, findings, corrective actions, device spot-check samples and calendar feeds.

Exactly-once rules live in unique columns, so they hold across processes: ``Audit.origin_key`` (a trigger or a
plan proposes an audit once), ``AuditBooking.auditor_day`` (an auditor is on one audit a day),
``AuditorConflict.auditor_provider_kind`` and ``SpotCheckItem.audit_assignment``.
"""

from piccolo.columns import JSON, UUID, BigInt, Boolean, Date, ForeignKey, Integer, OnDelete, Real, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from partner_audit.assessments.tables import Assessment
from partner_audit.audits.schemas import (
    ActionStatus,
    AuditKind,
    AuditOrigin,
    AuditorRole,
    AuditStatus,
    ConflictKind,
    FeedOwner,
    PlanStatus,
    Rating,
    Severity,
    SpotCheckResult,
)
from partner_audit.controls.tables import TemplateVersion
from partner_audit.devices.tables import Assignment, Device, Incident
from partner_audit.providers.tables import Provider
from partner_audit.security.tables import User


class AuditPlan(Table, tablename="audit_plan"):
    """A planning request's answer: the audits it proposed (``Audit.plan``) and, in words, what it skipped."""

    id = UUID(primary_key=True)
    starts_on = Date()
    ends_on = Date()
    status = Varchar(length=20, default="proposed", choices=PlanStatus)
    # [{"provider_id", "provider", "reason"}]: due providers the plan could not place, and why.
    skipped = JSON(default="[]")
    settings = JSON(default="{}")  # the intervals, capacity and rules it planned with
    created_by = ForeignKey(User, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    decided_at = Timestamptz(null=True, default=None)


class Audit(Table, tablename="audit"):
    id = UUID(primary_key=True)
    provider = ForeignKey(Provider, null=False, index=True)
    kind = Varchar(length=30, choices=AuditKind)
    status = Varchar(length=20, default="proposed", index=True, choices=AuditStatus)
    title = Varchar(length=200, default="")
    # Scope: the template version whose focus areas or controls it covers, and the self-assessment it reviews.
    template_version = ForeignKey(TemplateVersion, null=True, default=None)
    assessment = ForeignKey(Assessment, null=True, default=None, on_delete=OnDelete.set_null)
    scope_areas = JSON(default="[]")  # focus area keys; empty with empty scope_controls means the whole template
    scope_controls = JSON(default="[]")  # control keys
    starts_on = Date(index=True)
    ends_on = Date()
    lead_auditor = ForeignKey(User, null=True, default=None)
    origin = Varchar(length=30, default="manual", choices=AuditOrigin)
    # "plan:<provider>:<due period>", "incident:<id>", "assessment:<id>", "finding:<id>": what proposed it, once.
    origin_key = Varchar(length=120, null=True, default=None, unique=True)
    plan = ForeignKey(AuditPlan, null=True, default=None, on_delete=OnDelete.set_null)
    follows = ForeignKey("self", null=True, default=None)  # the audit a follow-up follows up
    # Why, in words: {"provider": "...", "date": "...", "auditor": "..."} for a planned audit; the trigger's reason.
    reasons = JSON(default="{}")
    due_on = Date(null=True, default=None)  # when the provider falls due for review by its tier's interval
    cancelled_reason = Text(default="")
    summary = Text(default="")  # the auditor's report summary
    sequence = Integer(default=0)  # iCalendar SEQUENCE: raised on every change a calendar shows
    # A device spot-check's sample: the seed it was drawn with, the settings and the frozen population's digest.
    sample_seed = Varchar(length=64, null=True, default=None)
    sample_confidence = Real(null=True, default=None)
    sample_tolerable_rate = Real(null=True, default=None)
    population_size = Integer(null=True, default=None)
    population_sha256 = Varchar(length=64, null=True, default=None)
    created_by = ForeignKey(User, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    reported_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)


class AuditAuditor(Table, tablename="audit_auditor"):
    """Who is on an audit: its lead (also ``Audit.lead_auditor``) and the other auditors."""

    id = UUID(primary_key=True)
    audit = ForeignKey(Audit, null=False, index=True, on_delete=OnDelete.cascade)
    auditor = ForeignKey(User, null=False, index=True)
    role = Varchar(length=20, default="member", choices=AuditorRole)
    audit_auditor = Varchar(length=80, unique=True)  # "<audit>:<auditor>": once each


class AuditBooking(Table, tablename="audit_booking"):
    """One row per auditor per working day of an audit not cancelled: the unique key means nothing is
    double-booked, whichever process books."""

    id = UUID(primary_key=True)
    audit = ForeignKey(Audit, null=False, index=True, on_delete=OnDelete.cascade)
    auditor = ForeignKey(User, null=False, index=True)
    day = Date(index=True)
    auditor_day = Varchar(length=60, unique=True)  # "<auditor>:<day>"


class AuditorProfile(Table, tablename="auditor_profile"):
    """An auditor's capacity. An auditor with no profile plans at the default capacity (settings)."""

    id = UUID(primary_key=True)
    auditor = ForeignKey(User, null=False, unique=True)
    audits_per_week = Integer(default=2)
    active = Boolean(default=True)
    updated_at = Timestamptz(default=TimestamptzNow())


class AuditorLeave(Table, tablename="auditor_leave"):
    id = UUID(primary_key=True)
    auditor = ForeignKey(User, null=False, index=True)
    starts_on = Date()
    ends_on = Date()
    note = Varchar(length=200, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class AuditorConflict(Table, tablename="auditor_conflict"):
    """Independence: a declared conflict of interest keeps an auditor off every audit of the provider; having been
    responsible for the provider's activity (until ``ends_on``) keeps them from leading one for a while after."""

    id = UUID(primary_key=True)
    auditor = ForeignKey(User, null=False, index=True)
    provider = ForeignKey(Provider, null=False, index=True)
    kind = Varchar(length=20, default="interest", choices=ConflictKind)
    reason = Text(default="")
    ends_on = Date(null=True, default=None)  # responsibility: the last day they were responsible
    auditor_provider_kind = Varchar(length=120, unique=True)
    declared_by = ForeignKey(User, null=True, default=None)
    declared_at = Timestamptz(default=TimestamptzNow())
    withdrawn_at = Timestamptz(null=True, default=None)


class Finding(Table, tablename="finding"):
    id = UUID(primary_key=True)
    audit = ForeignKey(Audit, null=False, index=True)
    control_id = Varchar(length=80)
    audit_control = Varchar(length=130, unique=True)  # "<audit>:<control>": one finding per control per audit
    rating = Varchar(length=20, null=True, default=None, choices=Rating)  # None until rated
    severity = Varchar(length=20, default="low", choices=Severity)
    observation = Text(default="")
    recommendation = Text(default="")
    recorded_by = ForeignKey(User, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class CorrectiveAction(Table, tablename="corrective_action"):
    id = UUID(primary_key=True)
    finding = ForeignKey(Finding, null=False, index=True)
    audit = ForeignKey(Audit, null=False, index=True)
    provider = ForeignKey(Provider, null=False, index=True)  # the finding's audit's provider: tenant scoping
    description = Text()
    owner_name = Varchar(length=120)  # the person at the provider who owns the fix
    owner_email = Varchar(length=254, default="")
    due_on = Date(index=True)
    status = Varchar(length=20, default="open", index=True, choices=ActionStatus)
    response = Text(default="")
    responded_by = ForeignKey(User, null=True, default=None)
    responded_at = Timestamptz(null=True, default=None)
    verification_note = Text(default="")
    verified_by = ForeignKey(User, null=True, default=None)
    verified_at = Timestamptz(null=True, default=None)
    returned_reason = Text(default="")  # why the auditor sent the response back (the last time)
    carried_forward_reason = Text(default="")
    created_by = ForeignKey(User, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class AuditEvidence(Table, tablename="audit_evidence"):
    """A file in the evidence store attached to a finding (the auditor's) or to a corrective action (the
    provider's response)."""

    id = UUID(primary_key=True)
    audit = ForeignKey(Audit, null=False, index=True)
    finding = ForeignKey(Finding, null=True, default=None, index=True)
    action = ForeignKey(CorrectiveAction, null=True, default=None, index=True)
    filename = Varchar(length=255)
    content_type = Varchar(length=120)
    size = BigInt()
    sha256 = Varchar(length=64)
    storage_key = Varchar(length=200, unique=True)
    uploaded_by = ForeignKey(User, null=True, default=None)
    uploaded_at = Timestamptz(default=TimestamptzNow())


class SpotCheckItem(Table, tablename="spot_check_item"):
    """One sampled assignment of a device spot-check, and what the auditor found."""

    id = UUID(primary_key=True)
    audit = ForeignKey(Audit, null=False, index=True)
    assignment = ForeignKey(Assignment, null=False, index=True)
    device = ForeignKey(Device, null=False)
    position = Integer()  # its place in the draw
    audit_assignment = Varchar(length=80, unique=True)  # "<audit>:<assignment>"
    result = Varchar(length=20, null=True, default=None, choices=SpotCheckResult)
    note = Text(default="")  # what the discrepancy was
    incident = ForeignKey(Incident, null=True, default=None)  # opened when the device was not seen
    recorded_by = ForeignKey(User, null=True, default=None)
    recorded_at = Timestamptz(null=True, default=None)


class CalendarFeed(Table, tablename="calendar_feed"):
    """A secret feed URL a calendar client subscribes to without a session. Only a keyed hash of its token is
    kept; revoking it ends every subscription that uses it."""

    id = UUID(primary_key=True)
    owner = Varchar(length=20, choices=FeedOwner)
    auditor = ForeignKey(User, null=True, default=None, index=True)
    provider = ForeignKey(Provider, null=True, default=None, index=True)
    token_hash = Varchar(length=64, unique=True)
    label = Varchar(length=120, default="")
    created_by = ForeignKey(User, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
