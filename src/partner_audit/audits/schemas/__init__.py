"""Request and response bodies for audits, by part: ``audits`` (audits, findings, corrective actions),
``planning`` (plans and auditors' availability), ``spot_checks`` and ``calendars``. The states and kinds every
part shares are here."""

from __future__ import annotations

from enum import Enum


class AuditKind(str, Enum):
    desktop_review = "desktop_review"
    site_visit = "site_visit"
    device_spot_check = "device_spot_check"
    follow_up = "follow_up"


class AuditStatus(str, Enum):
    proposed = "proposed"  # by a plan or a trigger: nobody has committed to it yet
    scheduled = "scheduled"
    in_progress = "in_progress"
    reported = "reported"
    closed = "closed"
    cancelled = "cancelled"


class AuditOrigin(str, Enum):
    """Why an audit exists."""

    manual = "manual"  # an auditor created it
    plan = "plan"  # proposed by a risk-based plan
    low_score = "low_score"  # an accepted self-assessment scored under the threshold
    lost_device = "lost_device"  # a device was lost or stolen
    critical_finding = "critical_finding"  # an earlier audit found something critical


class AuditorRole(str, Enum):
    lead = "lead"
    member = "member"


class Rating(str, Enum):
    effective = "effective"
    partly_effective = "partly_effective"
    ineffective = "ineffective"
    not_tested = "not_tested"


class Severity(str, Enum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class ActionStatus(str, Enum):
    open = "open"
    responded = "responded"
    verified = "verified"
    carried_forward = "carried_forward"  # explicitly left open past the audit's close, with a reason


class PlanStatus(str, Enum):
    proposed = "proposed"
    accepted = "accepted"  # every proposal in it accepted (some may have been declined)
    discarded = "discarded"


class ConflictKind(str, Enum):
    interest = "interest"  # a declared conflict of interest: never on an audit of that provider
    responsibility = "responsibility"  # was responsible for the provider's activity: may not lead for a while


class SpotCheckResult(str, Enum):
    seen = "seen"
    not_seen = "not_seen"
    discrepancy = "discrepancy"


class FeedOwner(str, Enum):
    auditor = "auditor"
    provider = "provider"
