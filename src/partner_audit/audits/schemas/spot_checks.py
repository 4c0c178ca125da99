"""Request and response bodies: device spot-checks (the sample an audit draws, and what the auditor found)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from partner_audit.api import LINES, Input, Output, text
from partner_audit.audits.schemas import SpotCheckResult

Fraction = Annotated[float, msgspec.Meta(gt=0, lt=1)]
MAX_SAMPLE = 2000  # a fixed size beyond this is not a spot-check


class SampleDraw(Input):
    """Draw a spot-check's sample, once. The size comes from attribute sampling at `confidence` and
    `tolerable_rate` (by default the service's settings, 95% and 5%), or is the fixed `size` given instead."""

    confidence: Fraction | None = None
    tolerable_rate: Fraction | None = None
    size: Annotated[int, msgspec.Meta(ge=1, le=MAX_SAMPLE)] | None = None
    # Anyone holding the seed and the frozen population can redo the draw; left out, a random one is made.
    seed: Annotated[str, msgspec.Meta(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")] | None = None


class SpotCheckRecord(Input):
    """What the auditor found for one sampled device."""

    result: SpotCheckResult
    note: text(2000, min_length=0, characters=LINES) = ""  # what differed: required for a discrepancy


class SpotCheckItemOut(Output):
    id: UUID
    audit_id: UUID
    position: int  # its place in the draw, from 1
    assignment_id: UUID
    device_id: UUID
    asset_tag: str
    device_kind: str
    provider_id: UUID
    # The holder: null unless the caller may see them (for the audit's auditors: while it is in progress).
    holder_name: str | None
    holder_email: str | None
    holder_phone: str | None
    holder_visible: bool
    result: SpotCheckResult | None
    note: str
    incident_id: UUID | None  # opened when the device was not seen
    recorded_at: datetime | None


class SampleOut(Output):
    audit_id: UUID
    seed: str
    confidence: float | None  # null for a fixed size
    tolerable_rate: float | None
    population_size: int  # the provider's open assignments when the sample was drawn
    population_sha256: str  # of their sorted ids, one a line
    size: int
    items: list[SpotCheckItemOut]
