"""The template model (what a YAML file in audit_templates/ parses to) and the API's output bodies.

The model structs are built by ``yaml.parse()`` after every rule is checked, with every default filled in,
so what is stored in ``TemplateVersion.content`` is complete: readers never re-apply defaults.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Literal
from uuid import UUID

import msgspec

from partner_audit.api import Output

# The answer a person gives when a question does not apply to them (only where the question allows it).
NA = "n/a"

# What an audit rating of a control scores in the verified score, unless the template sets ``rating_scores``.
# ``not_tested`` is absent on purpose: a control the auditor did not test keeps its self-assessment.
DEFAULT_RATING_SCORES: dict[str, float] = {"effective": 100.0, "partly_effective": 50.0, "ineffective": 0.0}


class QuestionType(str, Enum):
    yes_no = "yes_no"
    yes_partial_no = "yes_partial_no"
    maturity = "maturity"  # 1 to 5
    choice = "choice"  # one of the options
    multi_choice = "multi_choice"  # any of the options
    number = "number"
    date = "date"
    text = "text"


# Types whose answer is one (or, for multi_choice, several) of a fixed list of option values.
OPTION_TYPES = frozenset({QuestionType.yes_no, QuestionType.yes_partial_no, QuestionType.maturity,
                          QuestionType.choice, QuestionType.multi_choice})

Evidence = Literal["never", "always", "on_answers"]


class Model(msgspec.Struct, forbid_unknown_fields=True):
    """Strict, so stored content read back through ``msgspec.convert`` cannot drift silently."""


class Option(Model, kw_only=True):
    value: str
    label: str
    score: float | None = None  # 0 to 100; None: choosing it neither raises nor lowers the score


class Condition(Model, kw_only=True):
    question: str  # id of an earlier question
    equals: list[str]  # shown when that question's answer is (or, for multi_choice, includes) one of these


class Question(Model, kw_only=True):
    id: str
    text: str
    help: str = ""
    type: QuestionType
    weight: float = 1.0
    required: bool = True
    evidence: Evidence = "never"
    evidence_on: list[str] = []
    options: list[Option] = []
    min: float | None = None
    max: float | None = None
    allow_na: bool = False
    show_if: Condition | None = None

    def option(self, value: str) -> Option | None:
        return next((o for o in self.options if o.value == value), None)

    @property
    def scored(self) -> bool:
        return any(o.score is not None for o in self.options)


class Control(Model, kw_only=True):
    id: str
    title: str
    description: str = ""
    recommendations: list[int]
    questions: list[Question]


class FocusArea(Model, kw_only=True):
    id: str
    title: str
    controls: list[Control]


class Template(Model, kw_only=True):
    key: str
    title: str
    version: str
    description: str = ""
    areas: list[FocusArea]
    # What each audit rating scores (every key of DEFAULT_RATING_SCORES, filled in by the checker); None: the
    # defaults. Left out of the canonical JSON when None, so templates loaded before it existed keep their hash.
    rating_scores: dict[str, float] | None = None

    def rating_score(self, rating: str) -> float | None:
        """What an audit rating of a control scores, or None when it changes nothing (``not_tested``)."""
        return (self.rating_scores or DEFAULT_RATING_SCORES).get(rating)

    def questions(self) -> list[tuple[FocusArea, Control, Question]]:
        """Every question in order, with its area and control."""
        return [(a, c, q) for a in self.areas for c in a.controls for q in c.questions]


class TemplateVersionOut(Output):
    id: UUID
    key: str
    title: str
    version: str
    content_hash: str
    loaded_at: datetime
    areas: int
    controls: int
    questions: int


class TemplateVersionDetail(TemplateVersionOut):
    template: Template
