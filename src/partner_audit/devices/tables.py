"""The device register: agency laptops and phones, who holds them, their attestations and incidents."""

from piccolo.columns import UUID, Boolean, Date, ForeignKey, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from partner_audit.devices.schemas import (
    AttestationMethod,
    BreachStatus,
    DeviceKind,
    DeviceStatus,
    IncidentKind,
    Notifier,
)
from partner_audit.providers.tables import Provider
from partner_audit.security.tables import User


class Device(Table, tablename="device"):
    id = UUID(primary_key=True)
    asset_tag = Varchar(length=60, unique=True)
    serial = Varchar(length=100, default="")
    kind = Varchar(length=20, choices=DeviceKind)
    make = Varchar(length=60, default="")
    model = Varchar(length=100, default="")
    encrypted = Boolean(default=False)
    mdm_enrolled = Boolean(default=False)
    status = Varchar(length=20, default="in_stock", index=True, choices=DeviceStatus)
    notes = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Assignment(Table, tablename="assignment"):
    """A device held by a non-agency person. Holder details are personal information (see devices.services.visibility)."""

    id = UUID(primary_key=True)
    device = ForeignKey(Device, null=False, index=True)
    # Set to the device id while the assignment is open and to NULL once closed: the unique index makes the
    # database itself refuse a second open assignment of one device, whatever the processes do.
    open_device = UUID(null=True, default=None, unique=True)
    provider = ForeignKey(Provider, null=False, index=True)
    holder_name = Varchar(length=120)
    holder_email = Varchar(length=254, index=True)
    holder_phone = Varchar(length=40, default="")
    holder_role = Varchar(length=120, default="")
    purpose = Text(default="")
    systems = Text(default="")  # the systems the holder reaches with the device
    starts_on = Date()
    expected_return_on = Date(null=True, default=None)
    returned_on = Date(null=True, default=None)
    return_condition = Varchar(length=200, default="")
    data_wiped = Boolean(null=True, default=None)
    wiped_by = Varchar(length=120, default="")
    created_by = ForeignKey(User, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    closed_at = Timestamptz(null=True, default=None)
    redacted_at = Timestamptz(null=True, default=None)  # holder details removed under the retention rule


class Attestation(Table, tablename="attestation"):
    """The holder confirms they still hold the device and use it only for authorised work."""

    id = UUID(primary_key=True)
    assignment = ForeignKey(Assignment, null=False, index=True)
    method = Varchar(length=20, choices=AttestationMethod)
    holds_device = Boolean()
    authorised_use_only = Boolean()
    notes = Text(default="")
    recorded_by = ForeignKey(User, null=True, default=None)
    attested_at = Timestamptz(default=TimestamptzNow())


class AttestationLink(Table, tablename="attestation_link"):
    """A single-use, expiring link sent to a holder who has no account. Only the token's hash is kept."""

    id = UUID(primary_key=True)
    assignment = ForeignKey(Assignment, null=False, index=True)
    token_hash = Varchar(length=64, unique=True)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class Incident(Table, tablename="incident"):
    id = UUID(primary_key=True)
    device = ForeignKey(Device, null=False, index=True)
    assignment = ForeignKey(Assignment, null=True, default=None)
    provider = ForeignKey(Provider, null=True, default=None, index=True)
    kind = Varchar(length=20, choices=IncidentKind)
    occurred_at = Timestamptz()
    reported_at = Timestamptz(default=TimestamptzNow())
    reported_by = Varchar(length=120)
    location = Varchar(length=200, default="")
    information_at_risk = Text(default="")
    description = Text(default="")
    created_by = ForeignKey(User, null=True, default=None)


class BreachAssessment(Table, tablename="breach_assessment"):
    """Started by every incident: is serious harm likely (Privacy Act 2020 s 112), judged on the s 113 matters,
    and if so who notifies (s 11: the agency, when the provider held the information as its agent) and when the
    Privacy Commissioner (s 114) and the affected people (s 115) were notified. Two clocks: deciding, due at
    ``due_at``; notifying, from ``notifiable_at`` to ``notification_due_at`` (see services.breaches)."""

    id = UUID(primary_key=True)
    incident = ForeignKey(Incident, null=False, unique=True)
    status = Varchar(length=20, default="open", choices=BreachStatus)
    due_at = Timestamptz()  # the decision on serious harm is due: "as soon as practicable", the agency's target
    serious_harm_likely = Boolean(null=True, default=None)
    assessed_at = Timestamptz(null=True, default=None)
    assessed_by = ForeignKey(User, null=True, default=None)
    # The s 113 matters the decision is judged on.
    harm_reduction_action = Text(default="")  # s 113(a): action taken to reduce the risk of harm
    information_sensitivity = Text(default="")  # s 113(b): whether the information is sensitive in nature
    nature_of_harm = Text(default="")  # s 113(c): the nature of the harm that may be caused
    recipients = Text(default="")  # s 113(d): who has obtained or may obtain the information
    security_protection = Text(default="")  # s 113(e): whether a security measure protects the information
    other_matters = Text(default="")  # s 113(f): any other relevant matter
    # When serious harm was judged likely (the agency knows the breach is notifiable), and 72 hours after.
    notifiable_at = Timestamptz(null=True, default=None)
    notification_due_at = Timestamptz(null=True, default=None)
    held_as_agent = Boolean(null=True, default=None)  # s 11: the provider held the information for the agency
    notifier = Varchar(length=20, null=True, default=None, choices=Notifier)  # who notifies: agency or provider
    commissioner_notified_at = Timestamptz(null=True, default=None)
    individuals_notified_at = Timestamptz(null=True, default=None)
    notes = Text(default="")
