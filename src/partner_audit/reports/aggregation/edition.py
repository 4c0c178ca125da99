"""Who the figures are for (``Edition``: the audience, the minimum group size and the band thresholds), and the
small helpers every part uses at the edge: figures rounded to one decimal, blanked where a group is too small,
dates and ids shaped for the schemas' structs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import pandas as pd

from partner_audit.reports import scoring
from partner_audit.reports.schemas import Audience, Band


@dataclass(frozen=True)
class Edition:
    """Who the figures are for, and the settings that shape them."""

    audience: Audience
    min_group_size: int
    green_from: float
    amber_from: float

    @property
    def governance(self) -> bool:
        return self.audience is Audience.governance

    def too_small(self, providers: pd.Series) -> pd.Series:
        """Which groups a governance reader may not see (always none for the full edition)."""
        return (providers < self.min_group_size) & self.governance

    def bands(self, scores: pd.Series) -> pd.Series:
        return scoring.bands(scores, self.green_from, self.amber_from)



def _num(value: Any) -> float | None:
    """A figure for the edge: one decimal, or None for a missing one."""
    if value is None or pd.isna(value):
        return None
    return round(float(value), 1)


def _shown_difference(value: Any, previous: Any) -> float | None:
    """A change or gap between two figures as shown: the difference of the one-decimal figures, so what a reader
    sees adds up (80.6 beside 80.7 is a change of -0.1, whatever the figures were before rounding)."""
    a, b = _num(value), _num(previous)
    return None if a is None or b is None else round(a - b, 1)


def _int(value: Any) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


def _band(value: Any) -> Band | None:
    return None if value is None or pd.isna(value) else Band(value)


def _day(value: date) -> pd.Timestamp:
    return pd.Timestamp(value)


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _none_if_suppressed(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """Blank a suppressed group's figures (NaN, shown as null), so no figure of a small group leaves."""
    frame = frame.copy()
    for column in columns:
        frame[column] = frame[column].astype(float).mask(frame["suppressed"])
    return frame
