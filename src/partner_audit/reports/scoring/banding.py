"""Bands: a score judged red, amber or green against the settings' thresholds, and the words shown beside each
colour (a band is never shown by colour alone)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def bands(scores: pd.Series, green_from: float, amber_from: float) -> pd.Series:
    """Each score's band: "green" at or above ``green_from``, "amber" at or above ``amber_from``, else "red"; NaN
    for no score. Judged on the score as shown (one decimal), so a shown 80.0 is never amber."""
    shown = scores.astype(float).round(1)
    band = np.select([shown >= green_from, shown >= amber_from, shown.notna()], ["green", "amber", "red"], "")
    return pd.Series(band, index=scores.index, dtype="str").replace("", np.nan)


def _figure(x: float) -> str:
    return f"{x:g}"


def band_words(green_from: float, amber_from: float) -> dict[str, str]:
    """The words beside each band's colour, e.g. {"green": "Green: 80 or more", "amber": "Amber: 50 to 79.9",
    "red": "Red: below 50"} (scores are shown to one decimal)."""
    return {
        "green": f"Green: {_figure(green_from)} or more",
        "amber": f"Amber: {_figure(amber_from)} to {_figure(round(green_from - 0.1, 1))}",
        "red": f"Red: below {_figure(amber_from)}",
    }
