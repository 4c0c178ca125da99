"""Figures of what was done in the quarter: rollouts (completion and lateness), corrective actions open and
overdue, device exceptions (overdue returns and attestations, spot-check discrepancies, devices lost or stolen),
incidents and near misses by kind, and breach assessments against their clocks.

As-at rules. Counts of things open (corrective actions, devices) are taken as at ``as_of``: the quarter's end, or
today while the quarter is still running, rebuilt from their dates (an action verified after the quarter's end was
still open at it). Lateness of a round, and breach clocks, are judged now: a round due in the quarter and still
not submitted is late whenever the report is made.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from partner_audit.audits.schemas import Severity
from partner_audit.devices.schemas import IncidentKind
from partner_audit.reports.aggregation.edition import Edition, _day, _num, _uuid
from partner_audit.reports.aggregation.facts import Facts
from partner_audit.reports.quarters import Quarter
from partner_audit.reports.schemas import (
    BreachFigures,
    CorrectiveActions,
    DeviceExceptions,
    IncidentCount,
    OverdueAction,
    RolloutProgress,
)

SUBMITTED = ("submitted", "accepted")
DEVICE_EXCEPTION_RESULTS = ("discrepancy", "not_seen")  # a sampled device not as the register says


# --- rollouts ------------------------------------------------------------------------------------------------------


def rollouts(assessments: pd.DataFrame, quarter: Quarter, today: date, edition: Edition) -> list[RolloutProgress]:
    """Rounds due in the quarter: how far along their assessments are now, and how many were late: submitted
    after the due date, or still not submitted with the due date passed. Governance: a round of fewer
    assessments than the minimum is left out (it would show a few providers' progress)."""
    due = assessments[(assessments["due_on"] >= _day(quarter.starts_on))
                      & (assessments["due_on"] <= _day(quarter.ends_on))]
    status = due["status"]
    submitted = due["submitted_on"]
    flags = pd.DataFrame({
        "rollout_id": due["rollout_id"],
        "accepted": status == "accepted",
        "submitted": status == "submitted",
        "in_progress": status.isin(["in_progress", "returned"]),
        "not_started": status == "not_started",
        "late": (submitted > due["due_on"]) | (submitted.isna() & ~status.isin(SUBMITTED)
                                                & (due["due_on"] < _day(today))),
    })
    counts = flags.groupby("rollout_id").agg(
        assessments=("accepted", "size"), accepted=("accepted", "sum"), submitted=("submitted", "sum"),
        in_progress=("in_progress", "sum"), not_started=("not_started", "sum"), late=("late", "sum"))
    about = due.drop_duplicates("rollout_id").set_index("rollout_id")[["rollout_name", "period", "due_on"]]
    counts = counts.join(about)
    counts = counts[~edition.too_small(counts["assessments"])]
    counts["completion"] = (counts["accepted"] + counts["submitted"]) / counts["assessments"] * 100
    counts = counts.sort_values(["due_on", "rollout_name"])
    return [RolloutProgress(
        rollout_id=_uuid(rollout), name=str(row["rollout_name"]), period=str(row["period"]),
        due_on=row["due_on"].date(), assessments=int(row["assessments"]), accepted=int(row["accepted"]),
        submitted=int(row["submitted"]), in_progress=int(row["in_progress"]), not_started=int(row["not_started"]),
        late=int(row["late"]), completion=_num(row["completion"]) or 0.0,
    ) for rollout, row in zip(counts.index, counts.to_dict("records"), strict=True)]


# --- corrective actions --------------------------------------------------------------------------------------------


def _open_actions(actions: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Actions open at the end of ``as_of``: raised by then and not verified by then. Open, responded (waiting
    for the auditor) and carried forward are all still to be put right: only the auditor's verification ends an
    action, and its date says whether it had ended by ``as_of``."""
    verified = actions["verified_on"]
    return actions[(actions["created_on"] <= as_of) & (verified.isna() | (verified > as_of))]


def corrective_actions(actions: pd.DataFrame, providers_frame: pd.DataFrame, quarter: Quarter, as_of: date,
                       edition: Edition) -> CorrectiveActions:
    """Open, overdue (open past its due date) and by severity as at ``as_of``; verified within the quarter."""
    day = _day(as_of)
    still = _open_actions(actions, day)
    overdue = still[still["due_on"] < day]
    severity = still.groupby("severity").size().reindex([s.value for s in Severity], fill_value=0)
    verified = actions["verified_on"]
    in_quarter = (verified >= _day(quarter.starts_on)) & (verified <= _day(quarter.ends_on))
    listed: list[OverdueAction] = []
    if not edition.governance:
        named = overdue.merge(providers_frame[["provider_id", "name"]], on="provider_id", how="left")
        named = named.assign(days_overdue=(day - named["due_on"]).dt.days).sort_values(
            ["days_overdue", "name"], ascending=[False, True], kind="stable")
        listed = [OverdueAction(
            action_id=_uuid(row["action_id"]), provider_name=str(row["name"]), audit_title=str(row["audit_title"]),
            control_id=None if pd.isna(row["control_id"]) else str(row["control_id"]), severity=str(row["severity"]),
            title=str(row["description"]), due_on=row["due_on"].date(), days_overdue=int(row["days_overdue"]),
            status=str(row["status"]),
        ) for row in named.to_dict("records")]
    return CorrectiveActions(open=len(still), overdue=len(overdue), verified_in_quarter=int(in_quarter.sum()),
                             by_severity={k: int(v) for k, v in severity.items()}, overdue_actions=listed)


# --- devices -------------------------------------------------------------------------------------------------------


_DEVICE_COUNTS = ("devices_held", "overdue_returns", "overdue_attestations", "spot_check_discrepancies",
                  "lost_or_stolen")


def device_exceptions(facts: Facts, quarter: Quarter, as_of: date, attestation_days: int,
                      edition: Edition) -> DeviceExceptions:
    """Devices out with providers' people at ``as_of``: past their expected return, or with an attestation owed
    more than ``attestation_days`` after the last one (or the start); spot-check items recorded in the quarter
    that found the device not as the register says; devices lost or stolen in the quarter."""
    day = _day(as_of)
    assignments = facts.assignments
    # Out until returned, or until closed without a return (a device lost or stolen closes its assignment).
    held = assignments[(assignments["starts_on"] <= day)
                       & (assignments["returned_on"].isna() | (assignments["returned_on"] > day))
                       & (assignments["closed_on"].isna() | (assignments["closed_on"] > day))]
    attested = facts.attestations[facts.attestations["attested_on"] <= day]
    last = attested.groupby("assignment_id")["attested_on"].max().rename("last_attested_on")
    held = held.merge(last, left_on="assignment_id", right_index=True, how="left")
    since = held["last_attested_on"].fillna(held["starts_on"])
    held = held.assign(
        overdue_returns=held["expected_return_on"].notna() & (held["expected_return_on"] < day),
        overdue_attestations=since + pd.Timedelta(days=attestation_days) < day,
        devices_held=True,
    )
    start, end = _day(quarter.starts_on), _day(quarter.ends_on)
    checks = facts.spot_checks
    found = checks[checks["result"].isin(DEVICE_EXCEPTION_RESULTS)
                   & (checks["recorded_on"] >= start) & (checks["recorded_on"] <= end)]
    incidents = facts.incidents
    gone = incidents[incidents["kind"].isin(["lost", "stolen"])
                     & (incidents["occurred_on"] >= start) & (incidents["occurred_on"] <= end)]

    per_provider = pd.concat([
        held.groupby("provider_id")[["devices_held", "overdue_returns", "overdue_attestations"]].sum(),
        found.groupby("provider_id").size().rename("spot_check_discrepancies"),
        gone.groupby("provider_id").size().rename("lost_or_stolen"),
    ], axis=1).reindex(columns=list(_DEVICE_COUNTS)).fillna(0).astype(int)
    listed: list[dict[str, str | int]] = []
    if not edition.governance:
        exceptions = per_provider[per_provider[list(_DEVICE_COUNTS[1:])].sum(axis=1) > 0]
        named = exceptions.join(facts.providers.set_index("provider_id")["name"], how="left")
        named = named.sort_values(["overdue_returns", "overdue_attestations", "name"], ascending=[False, False, True])
        listed = [{"provider_name": str(row["name"]), **{c: int(row[c]) for c in _DEVICE_COUNTS}}
                  for row in named.to_dict("records")]
    return DeviceExceptions(
        devices_held=len(held), overdue_returns=int(held["overdue_returns"].sum()),
        overdue_attestations=int(held["overdue_attestations"].sum()), spot_check_discrepancies=len(found),
        lost_or_stolen=len(gone), by_provider=listed)


# --- incidents and breaches ----------------------------------------------------------------------------------------


def _in(frame: pd.DataFrame, column: str, quarter: Quarter) -> pd.DataFrame:
    return frame[(frame[column] >= _day(quarter.starts_on)) & (frame[column] <= _day(quarter.ends_on))]


def incidents(frame: pd.DataFrame, quarter: Quarter) -> list[IncidentCount]:
    """Incidents and near misses by kind, this quarter and the one before, every kind listed."""
    kinds = [k.value for k in IncidentKind]
    now = _in(frame, "occurred_on", quarter).groupby("kind").size().reindex(kinds, fill_value=0)
    before = _in(frame, "occurred_on", quarter.previous()).groupby("kind").size().reindex(kinds, fill_value=0)
    return [IncidentCount(kind=k, quarter=int(now[k]), previous=int(before[k])) for k in kinds]


def breaches(incidents_frame: pd.DataFrame, breaches_frame: pd.DataFrame, quarter: Quarter,
             now: datetime) -> BreachFigures:
    """Breach assessments of the quarter's incidents against their two clocks (devices.services.breaches):
    deciding by ``due_at``; notifying (the Commissioner and the people both told) by ``notification_due_at``.
    Overdue: still open, the clock passed and not done, as at ``now``."""
    ids = _in(incidents_frame, "occurred_on", quarter)["incident_id"]
    rows = breaches_frame[breaches_frame["incident_id"].isin(ids)]
    instant = pd.Timestamp(now)
    open_ = rows["status"] == "open"
    decided = rows["serious_harm_likely"].notna()
    notifiable = rows["serious_harm_likely"].eq(True)
    notified = rows["notified_at"]
    return BreachFigures(
        assessments=len(rows), decided=int(decided.sum()),
        decided_on_time=int((decided & (rows["assessed_at"] <= rows["due_at"])).sum()),
        undecided_overdue=int((open_ & ~decided & (rows["due_at"] < instant)).sum()),
        notifiable=int(notifiable.sum()),
        notified_on_time=int((notifiable & (notified <= rows["notification_due_at"])).sum()),
        notification_overdue=int((open_ & notifiable & notified.isna()
                                  & (rows["notification_due_at"] < instant)).sum()),
    )
