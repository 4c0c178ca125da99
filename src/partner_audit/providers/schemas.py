"""Request and response bodies for the providers registry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Annotated
from uuid import UUID

import msgspec

from partner_audit.api import LINES, Input, Output, text


class ProviderKind(str, Enum):
    iwi_maori = "iwi_maori"
    ngo = "ngo"
    contractor = "contractor"
    other = "other"


class ProviderStatus(str, Enum):
    onboarding = "onboarding"
    active = "active"
    suspended = "suspended"
    exited = "exited"


# A provider the agency works with: it takes part in rollouts and may receive devices.
ENGAGED_STATUSES = frozenset({ProviderStatus.onboarding, ProviderStatus.active})
# A provider whose access is paused or over: its people are turned away on their next request, and the devices
# it holds need attention.
DISENGAGED_STATUSES = frozenset(ProviderStatus) - ENGAGED_STATUSES


class Region(str, Enum):
    northland = "Northland"
    auckland = "Auckland"
    waikato = "Waikato"
    bay_of_plenty = "Bay of Plenty"
    gisborne = "Gisborne"
    hawkes_bay = "Hawke's Bay"
    taranaki = "Taranaki"
    manawatu_whanganui = "Manawatū-Whanganui"
    wellington = "Wellington"
    tasman = "Tasman"
    nelson = "Nelson"
    marlborough = "Marlborough"
    west_coast = "West Coast"
    canterbury = "Canterbury"
    otago = "Otago"
    southland = "Southland"
    national = "National"


class AnniversaryDay(str, Enum):
    """The provincial anniversary day a provider observes, by its old district: no audit is planned on it
    (``audits.calendar``). Bay of Plenty, Gisborne, Manawatū-Whanganui, Tasman and Waikato have none of their own."""

    auckland = "auckland"
    wellington = "wellington"
    hawkes_bay = "hawkes_bay"
    taranaki = "taranaki"
    nelson = "nelson"
    marlborough = "marlborough"
    canterbury = "canterbury"
    south_canterbury = "south_canterbury"
    westland = "westland"
    otago = "otago"
    southland = "southland"
    chatham_islands = "chatham_islands"
    none = "none"  # a provider that observes none (a national body working to the national holidays only)


RiskTier = Annotated[int, msgspec.Meta(ge=1, le=3, description="1 = highest risk, assessed most often")]
Nzbn = Annotated[str, msgspec.Meta(min_length=1, max_length=20, description="13-digit New Zealand Business Number")]


class ProviderCreate(Input):
    name: text(200)
    nzbn: Nzbn
    kind: ProviderKind
    region: Region
    risk_tier: RiskTier
    contract_reference: text(60) | None = None
    contract_start: date | None = None
    contract_end: date | None = None
    # None: its region's usual day (audits.calendar.for_region).
    anniversary_day: AnniversaryDay | None = None


class ProviderUpdate(Input):
    name: text(200) | msgspec.UnsetType = msgspec.UNSET
    nzbn: Nzbn | msgspec.UnsetType = msgspec.UNSET
    kind: ProviderKind | msgspec.UnsetType = msgspec.UNSET
    region: Region | msgspec.UnsetType = msgspec.UNSET
    risk_tier: RiskTier | msgspec.UnsetType = msgspec.UNSET
    contract_reference: text(60) | None | msgspec.UnsetType = msgspec.UNSET
    contract_start: date | None | msgspec.UnsetType = msgspec.UNSET
    contract_end: date | None | msgspec.UnsetType = msgspec.UNSET
    anniversary_day: AnniversaryDay | None | msgspec.UnsetType = msgspec.UNSET


class StatusChange(Input):
    status: ProviderStatus
    reason: text(500, characters=LINES)


class ProviderOut(Output):
    id: UUID
    name: str
    nzbn: str
    kind: ProviderKind
    region: Region
    risk_tier: int
    contract_reference: str | None
    contract_start: date | None
    contract_end: date | None
    status: ProviderStatus
    anniversary_day: AnniversaryDay | None  # None: its region's usual day
    created_at: datetime
    updated_at: datetime


class ProviderSort(str, Enum):
    name = "name"
    name_desc = "-name"
    risk_tier = "risk_tier"
    risk_tier_desc = "-risk_tier"
    region = "region"
    status = "status"
    created_at = "created_at"
    created_at_desc = "-created_at"


@dataclass(frozen=True)
class ProviderFilter:
    """What a search of the register may be narrowed to."""

    risk_tier: int | None = None
    region: Region | None = None
    kind: ProviderKind | None = None
    status: ProviderStatus | None = None
    q: str | None = None
