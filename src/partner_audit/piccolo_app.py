"""Every table of every domain, registered once for Piccolo's migrations and for ``db.bind()``."""

from piccolo.conf.apps import AppConfig

from partner_audit.audits.tables import (
    Audit,
    AuditAuditor,
    AuditBooking,
    AuditEvidence,
    AuditorConflict,
    AuditorLeave,
    AuditorProfile,
    AuditPlan,
    CalendarFeed,
    CorrectiveAction,
    Finding,
    SpotCheckItem,
)
from partner_audit.assessments.tables import Answer, Assessment, Evidence, ReviewComment, Rollout
from partner_audit.controls.tables import TemplateVersion
from partner_audit.db import APP_NAME, MIGRATIONS_DIR
from partner_audit.devices.tables import (
    Assignment,
    Attestation,
    AttestationLink,
    BreachAssessment,
    Device,
    Incident,
)
from partner_audit.outbox.tables import OutboxMessage, Reminder
from partner_audit.providers.tables import Provider
from partner_audit.security.tables import AccessLogEntry, AccessLogSeal, AccessToken, LoginThrottle, User

TABLES = [
    Provider, User, AccessToken, LoginThrottle, AccessLogEntry, AccessLogSeal, TemplateVersion,
    Rollout, Assessment, Answer, ReviewComment, Evidence,
    Device, Assignment, Attestation, AttestationLink, Incident, BreachAssessment, OutboxMessage, Reminder,
    AuditPlan, Audit, AuditAuditor, AuditBooking, AuditorProfile, AuditorLeave, AuditorConflict, Finding,
    CorrectiveAction, AuditEvidence, SpotCheckItem, CalendarFeed,
]

APP_CONFIG = AppConfig(
    app_name=APP_NAME,
    migrations_folder_path=str(MIGRATIONS_DIR),
    table_classes=TABLES,
)
