"""Quarters as the reports name them."""

from __future__ import annotations

from datetime import date

import pytest

from partner_audit.errors import Invalid
from partner_audit.reports.quarters import Quarter


def test_a_quarter_runs_from_its_first_to_its_last_day() -> None:
    q3 = Quarter.parse("2025-Q3")
    assert (q3.starts_on, q3.ends_on) == (date(2025, 7, 1), date(2025, 9, 30))
    assert Quarter.parse("2024-Q1").ends_on == date(2024, 3, 31)
    assert Quarter.parse("2024-Q4").ends_on == date(2024, 12, 31)


def test_quarters_step_across_years() -> None:
    q1 = Quarter.parse("2026-Q1")
    assert str(q1.previous()) == "2025-Q4"
    assert str(Quarter.parse("2025-Q4").next()) == "2026-Q1"
    assert [str(q) for q in q1.last(3)] == ["2025-Q3", "2025-Q4", "2026-Q1"]
    assert Quarter.of(date(2026, 12, 3)) == Quarter(2026, 4)


@pytest.mark.parametrize("text", ["2025-Q5", "2025Q3", "Q3-2025", "1999-Q1", "", "2025-q3\x00"])
def test_anything_else_is_refused_with_the_form_expected(text: str) -> None:
    with pytest.raises(Invalid) as caught:
        Quarter.parse(text)
    assert str(caught.value).startswith("quarter: ")
    assert "write it as YYYY-QN, e.g. 2025-Q3" in str(caught.value)
