"""Request and response bodies for the device register: devices, assignments, incidents, breach assessments,
attestations, the import and exports, and Privacy Act requests; and the filters their lists take."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Annotated
from uuid import UUID

import msgspec

from partner_audit.api import FILE, LINES, Email, Input, Output, text

# Times people type about an incident must say which time zone they mean.
AwareDateTime = Annotated[datetime, msgspec.Meta(tz=True)]
AssetTag = Annotated[str, msgspec.Meta(min_length=1, max_length=60, description="The agency's label; unique")]


class DeviceKind(str, Enum):
    laptop = "laptop"
    phone = "phone"
    tablet = "tablet"
    other = "other"


class DeviceStatus(str, Enum):
    in_stock = "in_stock"
    assigned = "assigned"
    in_repair = "in_repair"
    lost = "lost"
    stolen = "stolen"
    retired = "retired"


class ReturnStatus(str, Enum):
    """Where a device goes when it comes back."""

    in_stock = "in_stock"
    in_repair = "in_repair"
    retired = "retired"


class AttestationMethod(str, Enum):
    link = "link"  # the holder answered an emailed link
    in_person = "in_person"  # staff recorded what the holder confirmed face to face


class IncidentKind(str, Enum):
    lost = "lost"
    stolen = "stolen"
    damaged = "damaged"
    misuse = "misuse"
    near_miss = "near_miss"


class BreachStatus(str, Enum):
    open = "open"
    closed = "closed"


class Notifier(str, Enum):
    """Who notifies a notifiable breach: the agency when the provider held the information as its agent (Privacy
    Act 2020 s 11), otherwise the provider, an agency under the Act in its own right."""

    agency = "agency"
    provider = "provider"


class ClockName(str, Enum):
    assessment = "assessment"  # deciding whether serious harm is likely: as soon as practicable (s 114)
    notification = "notification"  # notifying the Commissioner and the affected people: 72 hours (ss 114, 115)


class DeviceSort(str, Enum):
    asset_tag = "asset_tag"
    asset_tag_desc = "-asset_tag"
    kind = "kind"
    status = "status"
    model = "model"
    created_at = "created_at"
    created_at_desc = "-created_at"
    updated_at = "updated_at"
    updated_at_desc = "-updated_at"


# --- devices ---------------------------------------------------------------------------------------


class DeviceCreate(Input):
    asset_tag: AssetTag
    kind: DeviceKind
    serial: text(100, min_length=0) = ""
    make: text(60, min_length=0) = ""
    model: text(100, min_length=0) = ""
    encrypted: bool = False
    mdm_enrolled: bool = False
    notes: text(5000, min_length=0, characters=LINES) = ""


class DeviceUpdate(Input):
    """Status is not here: it changes by checking out and in, by incidents, or through /status."""

    asset_tag: AssetTag | msgspec.UnsetType = msgspec.UNSET
    kind: DeviceKind | msgspec.UnsetType = msgspec.UNSET
    serial: text(100, min_length=0) | msgspec.UnsetType = msgspec.UNSET
    make: text(60, min_length=0) | msgspec.UnsetType = msgspec.UNSET
    model: text(100, min_length=0) | msgspec.UnsetType = msgspec.UNSET
    encrypted: bool | msgspec.UnsetType = msgspec.UNSET
    mdm_enrolled: bool | msgspec.UnsetType = msgspec.UNSET
    notes: text(5000, min_length=0, characters=LINES) | msgspec.UnsetType = msgspec.UNSET


class DeviceStatusChange(Input):
    status: DeviceStatus
    reason: text(500, characters=LINES)


@dataclass(frozen=True)
class DeviceFilter:
    status: DeviceStatus | None = None
    kind: DeviceKind | None = None
    provider_id: UUID | None = None  # the provider holding it now
    encrypted: bool | None = None
    mdm_enrolled: bool | None = None
    q: str | None = None  # asset tag, serial, model; and the holder's name for those who may see holders


# --- assignments -----------------------------------------------------------------------------------


class CheckOut(Input):
    """A device goes to a non-agency person at a provider."""

    provider_id: UUID
    holder_name: text(120)
    holder_email: Email
    purpose: text(2000, characters=LINES)
    starts_on: date
    expected_return_on: date | None = None
    holder_phone: text(40, min_length=0) = ""
    holder_role: text(120, min_length=0) = ""
    systems: Annotated[list[text(200)], msgspec.Meta(max_length=50)] = []  # the systems they will reach with it


class CheckIn(Input):
    returned_on: date
    condition: text(200)
    data_wiped: bool
    wiped_by: text(120, min_length=0) = ""  # required when data_wiped is true
    device_status: ReturnStatus = ReturnStatus.in_stock


class Transfer(Input):
    """Check the device in from its holder and out to the next, in one step: both happen or neither does."""

    check_in: CheckIn
    check_out: CheckOut


class AssignmentOut(Output):
    id: UUID
    device_id: UUID
    asset_tag: str
    provider_id: UUID
    provider_name: str
    # Holder details are personal information: null unless the caller may see them (see holder_visible).
    holder_name: str | None
    holder_email: str | None
    holder_phone: str | None
    holder_visible: bool
    holder_role: str
    purpose: str
    systems: list[str]
    starts_on: date
    expected_return_on: date | None
    returned_on: date | None
    return_condition: str
    data_wiped: bool | None
    wiped_by: str
    open: bool
    return_overdue: bool
    created_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class AssignmentFilter:
    device_id: UUID | None = None
    provider_id: UUID | None = None
    open: bool | None = None


class TransferOut(Output):
    returned: AssignmentOut
    assignment: AssignmentOut


class AssignmentException(AssignmentOut):
    """An open assignment that needs attention, and why: provider_exited, provider_suspended, return_overdue."""

    reasons: list[str]


class DeviceOut(Output):
    id: UUID
    asset_tag: str
    serial: str
    kind: DeviceKind
    make: str
    model: str
    encrypted: bool
    mdm_enrolled: bool
    status: DeviceStatus
    notes: str
    created_at: datetime
    updated_at: datetime
    current_assignment: AssignmentOut | None = None


# --- incidents and breach assessments --------------------------------------------------------------


class IncidentCreate(Input):
    device_id: UUID
    kind: IncidentKind
    occurred_at: AwareDateTime
    reported_by: text(120)
    information_at_risk: text(2000, characters=LINES)  # what personal information the device could reach
    location: text(200, min_length=0) = ""
    description: text(5000, min_length=0, characters=LINES) = ""


class BreachClock(Output):
    """One of an assessment's two clocks: from when it starts to when it is due, and when it stopped."""

    name: ClockName
    rule: str  # the rule in words, e.g. "as soon as practicable (Privacy Act 2020 s 114); target 48 hours"
    starts_at: datetime
    due_at: datetime
    stopped_at: datetime | None  # the decision made, or both notifications recorded
    overdue: bool  # still running past its due time
    hours_left: float | None  # while running: hours until due (negative once overdue)


class BreachAssessmentOut(Output):
    id: UUID
    incident_id: UUID
    incident_kind: IncidentKind
    asset_tag: str
    provider_id: UUID | None
    status: BreachStatus
    occurred_at: datetime
    reported_at: datetime  # when the agency became aware of the incident: the assessment clock starts
    due_at: datetime  # the decision on serious harm is due
    overdue: bool  # either clock is overdue
    assessment_overdue: bool
    notification_overdue: bool
    clocks: list[BreachClock]  # the assessment clock; the notification clock once serious harm is judged likely
    hours_since_incident: float
    serious_harm_likely: bool | None
    assessed_at: datetime | None
    harm_reduction_action: str  # s 113(a)
    information_sensitivity: str  # s 113(b)
    nature_of_harm: str  # s 113(c)
    recipients: str  # s 113(d)
    security_protection: str  # s 113(e)
    other_matters: str  # s 113(f)
    missing_matters: list[str]  # the s 113 matters (a) to (e) not yet recorded
    notifiable_at: datetime | None
    notification_due_at: datetime | None
    held_as_agent: bool | None
    notifier: Notifier | None
    commissioner_notified_at: datetime | None
    individuals_notified_at: datetime | None
    notes: str


class IncidentOut(Output):
    id: UUID
    device_id: UUID
    asset_tag: str
    assignment_id: UUID | None
    provider_id: UUID | None
    kind: IncidentKind
    occurred_at: datetime
    reported_at: datetime
    reported_by: str
    location: str
    information_at_risk: str
    description: str
    hours_since_incident: float
    assessment: BreachAssessmentOut


@dataclass(frozen=True)
class IncidentFilter:
    kind: IncidentKind | None = None
    device_id: UUID | None = None
    provider_id: UUID | None = None
    since: date | None = None  # occurred on or after
    until: date | None = None  # occurred before


@dataclass(frozen=True)
class BreachAssessmentFilter:
    status: BreachStatus | None = None
    overdue: bool | None = None
    serious_harm_likely: bool | None = None


Matter = text(5000, min_length=0, characters=LINES)


class BreachAssessmentUpdate(Input):
    """The s 113 matters come before the decision: serious_harm_likely is refused while any of (a) to (e) is
    blank. held_as_agent decides who notifies."""

    harm_reduction_action: Matter | msgspec.UnsetType = msgspec.UNSET
    information_sensitivity: Matter | msgspec.UnsetType = msgspec.UNSET
    nature_of_harm: Matter | msgspec.UnsetType = msgspec.UNSET
    recipients: Matter | msgspec.UnsetType = msgspec.UNSET
    security_protection: Matter | msgspec.UnsetType = msgspec.UNSET
    other_matters: Matter | msgspec.UnsetType = msgspec.UNSET
    held_as_agent: bool | None | msgspec.UnsetType = msgspec.UNSET
    serious_harm_likely: bool | None | msgspec.UnsetType = msgspec.UNSET
    commissioner_notified_at: AwareDateTime | None | msgspec.UnsetType = msgspec.UNSET
    individuals_notified_at: AwareDateTime | None | msgspec.UnsetType = msgspec.UNSET
    notes: text(5000, min_length=0, characters=LINES) | msgspec.UnsetType = msgspec.UNSET


class IncidentSummary(Output):
    """Near misses are counted apart from incidents, as the quarterly report shows them."""

    incidents: int
    near_misses: int
    by_kind: dict[str, int]
    open_assessments: int
    overdue_assessments: int  # undecided past the assessment clock
    overdue_notifications: int  # serious harm likely, not yet notified, past the notification clock
    serious_harm: int


class DeviceHistory(Output):
    device: DeviceOut
    assignments: list[AssignmentOut]
    incidents: list[IncidentOut]


# --- attestations ----------------------------------------------------------------------------------


class InPersonAttestation(Input):
    """What the holder confirmed to a member of staff, face to face."""

    holds_device: bool
    authorised_use_only: bool
    notes: text(2000, min_length=0, characters=LINES) = ""


class AttestationOut(Output):
    id: UUID
    assignment_id: UUID
    method: AttestationMethod
    holds_device: bool
    authorised_use_only: bool
    notes: str
    recorded_by: UUID | None
    attested_at: datetime
    next_due_on: date


class LinkIssued(Output):
    """The link itself goes only to the holder, by email: it is not in this response."""

    assignment_id: UUID
    expires_at: datetime
    outbox_message_id: UUID


class OverdueAttestation(Output):
    assignment_id: UUID
    device_id: UUID
    asset_tag: str
    provider_id: UUID
    provider_name: str
    # Holder details are personal information: null unless the caller may see them (see holder_visible).
    holder_name: str | None
    holder_email: str | None
    holder_visible: bool
    starts_on: date
    last_attested_at: datetime | None
    due_on: date
    days_overdue: int
    link_expires_at: datetime | None  # a live link the holder has not used yet, if any


# --- the import (exports are files: ``spreadsheets.ExportFormat``) ------------------------------------------


class RowChange(Output):
    row: int
    asset_tag: str
    action: str  # create, update, unchanged
    changes: list[str]  # the device fields an update changes (status included)
    assignment: str  # none, keep, update, check_out, transfer, check_in
    default_purpose: bool = False  # the check-out's purpose is the import's default_purpose


class ImportProblem(Output):
    field: str  # 'row 14, column "Expected Checkin"'
    row: int
    column: str | None
    message: str


class ImportReport(Output):
    file: str
    dry_run: bool
    applied: bool
    columns: dict[str, str]  # field -> the header it was read from
    ignored_columns: list[str]  # the first 20, each name cut to 60 characters
    ignored_column_count: int
    rows: int
    created: int
    updated: int
    unchanged: int
    assignments: dict[str, int]  # keep, update, check_out, transfer, check_in
    errors: list[ImportProblem]
    error_count: int
    warnings: list[ImportProblem]  # what a row asked that the import went on without (a device at a location)
    warning_count: int
    default_purpose_rows: int  # check-outs whose purpose is the import's default_purpose
    # Row by row: every row of a preview; once applied, the rows it changed (at most 10,000 listed either way)
    changes: list[RowChange]


# --- Privacy Act requests ----------------------------------------------------------------------------


class PrivacyRequest(Input):
    email: Email  # the holder's email, as on their assignments (case does not matter)


# Documents the form in /schema only: ``uploads.whole_file`` reads it.
class RegisterUpload(msgspec.Struct, kw_only=True):
    """The register import's form: the .xlsx or .csv file in a field named `file`."""

    file: FILE
