"""Calendar quarters, as the reports name them: ``2025-Q3`` is 1 July to 30 September 2025. A provider's standing
in a quarter is what held at the quarter's last day (``ends_on``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from partner_audit.errors import Invalid

_FORM = re.compile(r"([0-9]{4})-Q([1-4])")  # ASCII digits only: \d would take "２０２５-Q3" as 2025-Q3


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int  # 1 to 4

    @classmethod
    def parse(cls, text: str, *, field: str = "quarter") -> Quarter:
        """``2025-Q3``; anything else is an Invalid naming the field and the form expected."""
        found = _FORM.fullmatch(text.strip()) if isinstance(text, str) else None
        if found is None or not 2000 <= int(found[1]) <= 2100:
            raise Invalid.field(field, f'"{text}" is not a quarter: write it as YYYY-QN, e.g. 2025-Q3')
        return cls(int(found[1]), int(found[2]))

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def starts_on(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def ends_on(self) -> date:
        following = self.next()
        return date.fromordinal(following.starts_on.toordinal() - 1)

    def previous(self) -> Quarter:
        return self.shifted(-1)

    def next(self) -> Quarter:
        return self.shifted(1)

    def shifted(self, quarters: int) -> Quarter:
        index = self.year * 4 + self.number - 1 + quarters
        return Quarter(index // 4, index % 4 + 1)

    def last(self, count: int) -> list[Quarter]:
        """The ``count`` quarters ending with this one, oldest first."""
        return [self.shifted(-i) for i in range(count - 1, -1, -1)]

    def __str__(self) -> str:
        return f"{self.year}-Q{self.number}"
