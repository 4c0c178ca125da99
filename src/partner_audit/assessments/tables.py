"""Rollouts (the timetable), the assessments they create, and what providers answer and attach."""

from piccolo.columns import JSON, UUID, BigInt, Date, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from partner_audit.assessments.schemas import AssessmentStatus
from partner_audit.controls.tables import TemplateVersion
from partner_audit.providers.tables import Provider
from partner_audit.security.caller import Role
from partner_audit.security.tables import User


class Rollout(Table, tablename="rollout"):
    id = UUID(primary_key=True)
    name = Varchar(length=200)
    template_version = ForeignKey(TemplateVersion, null=False)
    period = Varchar(length=10, index=True)  # e.g. 2025-Q3
    opens_on = Date()
    due_on = Date()
    # Which providers: {"risk_tiers": [...], "regions": [...], "kinds": [...], "provider_ids": [...]}
    selection = JSON(default="{}")
    created_by = ForeignKey(User, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    launched_at = Timestamptz(null=True, default=None)


class Assessment(Table, tablename="assessment"):
    id = UUID(primary_key=True)
    rollout = ForeignKey(Rollout, null=False)
    provider = ForeignKey(Provider, null=False, index=True)
    template_version = ForeignKey(TemplateVersion, null=False)
    period = Varchar(length=10)
    # One assessment per provider, period and template, however often a rollout is launched.
    dedupe_key = Varchar(length=200, unique=True)
    status = Varchar(length=20, default="not_started", index=True, choices=AssessmentStatus)
    opens_on = Date()
    due_on = Date()
    submitted_at = Timestamptz(null=True, default=None)
    submitted_by = ForeignKey(User, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    decided_by = ForeignKey(User, null=True, default=None)
    decision_note = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Answer(Table, tablename="answer"):
    id = UUID(primary_key=True)
    assessment = ForeignKey(Assessment, null=False, index=True)
    question_id = Varchar(length=80)
    answer_key = Varchar(length=160, unique=True)  # "<assessment id>:<question id>"
    value = JSON(null=True, default=None)
    comment = Text(default="")
    answered_by = ForeignKey(User, null=True, default=None)
    answered_at = Timestamptz(default=TimestamptzNow())
    # Optimistic concurrency: every save names the version it edits; a stale one is refused.
    version = Integer(default=1)
    # Carried forward from the provider's last accepted assessment of the same template (``services.carry``):
    # the answer stands as theirs only once someone confirms it unchanged or saves it (``confirmed_at``).
    # Answers given in this assessment are confirmed by being given; ``confirmed_at`` stays empty for them.
    carried_from = ForeignKey(Assessment, null=True, default=None, on_delete=OnDelete.set_null)
    confirmed_at = Timestamptz(null=True, default=None)
    confirmed_by = ForeignKey(User, null=True, default=None, on_delete=OnDelete.set_null)


class ReviewComment(Table, tablename="review_comment"):
    """A comment in an assessment's thread on one question (or, with no question, on the whole assessment), by a
    reviewer or by one of the provider's people."""

    id = UUID(primary_key=True)
    assessment = ForeignKey(Assessment, null=False, index=True)
    question_id = Varchar(length=80, null=True, default=None)
    author = ForeignKey(User, null=True, default=None)
    # The role the author wrote as. Whether a comment raises a question (a reviewer's) or answers one (the
    # provider's people) must not change when the author's role later does.
    author_role = Varchar(length=20, null=True, default=None, choices=Role)
    # The comment this one answers: on the same assessment and question (checked by the service).
    reply_to = ForeignKey("self", null=True, default=None)
    body = Text()
    created_at = Timestamptz(default=TimestamptzNow())


class Evidence(Table, tablename="evidence"):
    """A file attached to an answer. ``storage_key`` is ours; ``filename`` is kept only to show and download.

    Several rows may name one stored file: evidence carried into a later period refers to the bytes already
    stored (same key, same sha256) rather than copying them, so the file is removed from the store only with
    the last row that names it."""

    id = UUID(primary_key=True)
    assessment = ForeignKey(Assessment, null=False, index=True)
    question_id = Varchar(length=80)
    filename = Varchar(length=255)
    content_type = Varchar(length=120)
    size = BigInt()
    sha256 = Varchar(length=64)
    storage_key = Varchar(length=200, index=True)
    uploaded_by = ForeignKey(User, null=True, default=None)
    uploaded_at = Timestamptz(default=TimestamptzNow())
    # The last day the file is good evidence ("policy reviewed annually"); after it, it no longer counts.
    expires_on = Date(null=True, default=None)
    carried_from = ForeignKey(Assessment, null=True, default=None, on_delete=OnDelete.set_null)
    # "<assessment id>:<id of the evidence row it was carried from>": a file is carried into an assessment once.
    carry_key = Varchar(length=80, null=True, default=None, unique=True)
