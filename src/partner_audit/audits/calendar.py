"""New Zealand working days, for audit dates and reminders: no weekend, no national public holiday, and not the
anniversary day the provider observes.

``holidays`` knows the national holidays and the anniversary days of the old provincial districts, but names none
for Bay of Plenty, Gisborne, Manawatū-Whanganui, Tasman or Waikato: those regions observe a district's day (mostly
Auckland's or Wellington's), so each provider records the one it observes (``AnniversaryDay``); ``for_region`` is
only the default offered when it registers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import holidays

# Defined with the provider that records it (providers may not import audits); named here too, as audits know it.
from partner_audit.providers.schemas import AnniversaryDay, Region


# The subdivision of ``holidays.NZ`` whose anniversary day each one is.
_SUBDIVISION = {
    AnniversaryDay.auckland: "AUK", AnniversaryDay.wellington: "WGN", AnniversaryDay.hawkes_bay: "HKB",
    AnniversaryDay.taranaki: "TKI", AnniversaryDay.nelson: "NSN", AnniversaryDay.marlborough: "MBH",
    AnniversaryDay.canterbury: "CAN", AnniversaryDay.south_canterbury: "South Canterbury",
    AnniversaryDay.westland: "WTC", AnniversaryDay.otago: "OTA", AnniversaryDay.southland: "STL",
    AnniversaryDay.chatham_islands: "CIT",
}

# What a region's providers usually observe; the five regions ``holidays`` gives none follow their old district.
_BY_REGION = {
    Region.northland: AnniversaryDay.auckland, Region.auckland: AnniversaryDay.auckland,
    Region.waikato: AnniversaryDay.auckland, Region.bay_of_plenty: AnniversaryDay.auckland,
    Region.gisborne: AnniversaryDay.auckland, Region.hawkes_bay: AnniversaryDay.hawkes_bay,
    Region.taranaki: AnniversaryDay.taranaki, Region.manawatu_whanganui: AnniversaryDay.wellington,
    Region.wellington: AnniversaryDay.wellington, Region.tasman: AnniversaryDay.nelson,
    Region.nelson: AnniversaryDay.nelson, Region.marlborough: AnniversaryDay.marlborough,
    Region.west_coast: AnniversaryDay.westland, Region.canterbury: AnniversaryDay.canterbury,
    Region.otago: AnniversaryDay.otago, Region.southland: AnniversaryDay.southland,
    Region.national: AnniversaryDay.wellington,
}


def for_region(region: Region | str) -> AnniversaryDay:
    """The anniversary day a provider in ``region`` most likely observes: the default when none is recorded."""
    return _BY_REGION[Region(region)]


def observed_by(provider: Mapping[str, Any]) -> AnniversaryDay:
    """The anniversary day a provider (a row with ``anniversary_day`` and ``region``) observes: the one it
    recorded, else its region's usual one."""
    recorded = provider.get("anniversary_day")
    return AnniversaryDay(recorded) if recorded else for_region(provider["region"])


@lru_cache(maxsize=64)
def _days_off(year: int, anniversary: AnniversaryDay | None) -> dict[date, str]:
    national = holidays.NZ(years=year)
    off = {day: str(name) for day, name in national.items()}
    subdivision = _SUBDIVISION.get(anniversary) if anniversary else None
    if subdivision:
        for day, name in holidays.NZ(subdiv=subdivision, years=year).items():
            off.setdefault(day, str(name))
    return off


def day_off(day: date, anniversary: AnniversaryDay | str | None = None) -> str | None:
    """Why ``day`` is not a working day where ``anniversary`` is observed ("Saturday", "Waitangi Day",
    "Wellington Anniversary Day"), or None for a working day."""
    if day.weekday() >= 5:
        return day.strftime("%A")
    observed = AnniversaryDay(anniversary) if anniversary else None
    return _days_off(day.year, observed).get(day)


def is_working_day(day: date, anniversary: AnniversaryDay | str | None = None) -> bool:
    return day_off(day, anniversary) is None


def working_days(start: date, end: date, anniversary: AnniversaryDay | str | None = None) -> Iterator[date]:
    """Every working day from ``start`` to ``end``, both included."""
    day = start
    while day <= end:
        if is_working_day(day, anniversary):
            yield day
        day += timedelta(days=1)


def add_working_days(start: date, count: int, anniversary: AnniversaryDay | str | None = None) -> date:
    """The working day ``count`` working days after ``start`` (before it, for a negative count)."""
    step = timedelta(days=1 if count >= 0 else -1)
    day, left = start, abs(count)
    while left:
        day += step
        if is_working_day(day, anniversary):
            left -= 1
    return day


def working_days_between(start: date, end: date, anniversary: AnniversaryDay | str | None = None) -> int:
    """Working days after ``start`` up to and including ``end`` (negative when ``end`` is earlier)."""
    if end >= start:
        return sum(1 for _ in working_days(start + timedelta(days=1), end, anniversary))
    return -sum(1 for _ in working_days(end + timedelta(days=1), start, anniversary))
