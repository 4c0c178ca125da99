"""What the quarterly report stands on besides scores (``Facts``), read by ``services.quarterly``, one query a
table, or built by hand in tests; and the same frames with no rows (``empty_frames``), for an empty register.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from partner_audit.reports import scoring


@dataclass(frozen=True)
class Facts:
    """What the report stands on besides scores. Column lists are in the package's docstring and ``services``."""

    providers: pd.DataFrame  # provider_id, name, region, tier, kind, status
    standings: pd.DataFrame  # subject, provider_id, quarter, assessment_id, template_version, assessment_period, as_of
    scores: scoring.Scores
    library: scoring.Library
    assessments: pd.DataFrame  # rollout_id, rollout_name, period, due_on, status, submitted_on
    audits_closed: pd.DataFrame  # provider_id, closed_on
    actions: pd.DataFrame  # action_id, provider_id, audit_title, control_id, severity, description, due_on,
    #                        status, created_on, verified_on
    assignments: pd.DataFrame  # assignment_id, provider_id, starts_on, expected_return_on, returned_on, closed_on
    attestations: pd.DataFrame  # assignment_id, attested_on
    spot_checks: pd.DataFrame  # provider_id, result, recorded_on
    incidents: pd.DataFrame  # incident_id, provider_id, kind, occurred_on
    breaches: pd.DataFrame  # incident_id, status, due_at, serious_harm_likely, assessed_at, notification_due_at,
    #                         notified_at (both the Commissioner and the people told; NaT until then)



def empty_frames() -> dict[str, pd.DataFrame]:
    """Fact frames with their columns and no rows: what a report over an empty register stands on."""
    day, instant = "datetime64[ns]", "datetime64[ns, UTC]"
    return {
        "assessments": _frame({"rollout_id": object, "rollout_name": object, "period": object, "due_on": day,
                               "status": object, "submitted_on": day}),
        "audits_closed": _frame({"provider_id": object, "closed_on": day}),
        "actions": _frame({"action_id": object, "provider_id": object, "audit_title": object, "control_id": object,
                           "severity": object, "description": object, "due_on": day, "status": object,
                           "created_on": day, "verified_on": day}),
        "assignments": _frame({"assignment_id": object, "provider_id": object, "starts_on": day,
                               "expected_return_on": day, "returned_on": day, "closed_on": day}),
        "attestations": _frame({"assignment_id": object, "attested_on": day}),
        "spot_checks": _frame({"provider_id": object, "result": object, "recorded_on": day}),
        "incidents": _frame({"incident_id": object, "provider_id": object, "kind": object, "occurred_on": day}),
        "breaches": _frame({"incident_id": object, "status": object, "due_at": instant, "serious_harm_likely": object,
                            "assessed_at": instant, "notification_due_at": instant, "notified_at": instant}),
    }


def _frame(columns: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})
