"""What answers mean: the values each question type takes, what an answer scores, when a question shows, when
it needs evidence, and what an assessment still lacks. Read by the template checker (``yaml``), by assessments
when answers are saved and submitted, and by scoring: written once here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from partner_audit.controls.schemas import NA, OPTION_TYPES, Option, Question, QuestionType
from partner_audit.errors import Invalid

TEXT_ANSWER_MAX = 10_000

# Options generated for the types whose answers are fixed. A template may relabel or rescore them, but not
# change their values, so every yes/no question is answered, exported and reported the same way.
FIXED_OPTIONS: dict[QuestionType, list[Option]] = {
    QuestionType.yes_no: [Option(value="yes", label="Yes", score=100.0), Option(value="no", label="No", score=0.0)],
    QuestionType.yes_partial_no: [
        Option(value="yes", label="Yes", score=100.0),
        Option(value="partly", label="Partly", score=50.0),
        Option(value="no", label="No", score=0.0),
    ],
    QuestionType.maturity: [
        Option(value="1", label="1 - Not in place", score=0.0),
        Option(value="2", label="2 - Getting started", score=25.0),
        Option(value="3", label="3 - Partly in place", score=50.0),
        Option(value="4", label="4 - Mostly in place", score=75.0),
        Option(value="5", label="5 - Fully in place and checked", score=100.0),
    ],
}


def as_value(raw: Any) -> str | None:
    """An answer value as written in YAML or sent by a client: YAML reads unquoted yes/no as booleans and
    1 to 5 as numbers, so those are turned back into the text they were written as."""
    if isinstance(raw, bool):
        return "yes" if raw else "no"
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float) and math.isfinite(raw):
        return str(int(raw)) if raw.is_integer() else str(raw)
    if isinstance(raw, str) and raw.strip():
        return raw.strip()
    return None


def is_number(raw: Any) -> bool:
    return isinstance(raw, (int, float)) and not isinstance(raw, bool) and math.isfinite(raw)


def normalise_answer(question: Question, value: Any) -> Any:
    """An answer as stored: an option value (a list of them for multi_choice), a number, an ISO date, text,
    ``NA``, or None for no answer. Accepts an option's label too (what a person sees). Raises Invalid."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and value.strip().lower() == NA:
        if not question.allow_na:
            raise Invalid.field(question.id, "this question must be answered: 'does not apply' is not allowed")
        return NA
    if question.type is QuestionType.multi_choice:
        if not isinstance(value, list):
            raise Invalid.field(question.id, "must be a list of the chosen options")
        chosen = {_option_value(question, v) for v in value}
        return [o.value for o in question.options if o.value in chosen]
    if question.type in OPTION_TYPES:
        return _option_value(question, value)
    if question.type is QuestionType.number:
        return _number(question, value)
    if question.type is QuestionType.date:
        return _date(question, value)
    if not isinstance(value, str):
        raise Invalid.field(question.id, "must be text")
    if len(value) > TEXT_ANSWER_MAX:
        raise Invalid.field(question.id, f"is too long ({len(value)} characters; at most {TEXT_ANSWER_MAX})")
    return value.strip()


def _option_value(question: Question, raw: Any) -> str:
    given = as_value(raw)
    if given is not None:
        for option in question.options:
            if given.lower() in (option.value.lower(), option.label.lower()):
                return option.value
    labels = ", ".join(o.label for o in question.options)
    raise Invalid.field(question.id, f'"{raw}" is not one of {labels}')


def _number(question: Question, raw: Any) -> int | float:
    number: float | None = float(raw) if is_number(raw) else None
    if isinstance(raw, str):
        try:
            number = float(raw.strip().replace(",", ""))
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        raise Invalid.field(question.id, f'"{raw}" is not a number')
    if question.min is not None and number < question.min:
        raise Invalid.field(question.id, f"must be at least {_show(question.min)}")
    if question.max is not None and number > question.max:
        raise Invalid.field(question.id, f"must be at most {_show(question.max)}")
    return int(number) if number.is_integer() else number


def _show(number: float) -> str:
    return str(int(number)) if number.is_integer() else str(number)


def _date(question: Question, raw: Any) -> str:
    if isinstance(raw, datetime):
        return raw.date().isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw.strip()).isoformat()
        except ValueError:
            pass
    raise Invalid.field(question.id, f'"{raw}" is not a date (write it as YYYY-MM-DD, e.g. 2025-03-31)')


def score_of(question: Question, value: Any) -> float | None:
    """0 to 100 for an answer; None when it does not count: unanswered, N/A, or a question (or an option)
    without a score. A multi_choice answer scores the sum of its options' scores, at most 100."""
    value = normalise_answer(question, value)
    if value is None or value == NA or question.type not in OPTION_TYPES or not question.scored:
        return None
    if question.type is QuestionType.multi_choice:
        return min(100.0, sum(question.option(v).score or 0.0 for v in value))  # type: ignore[union-attr]
    return question.option(value).score  # type: ignore[union-attr]


def visible(question: Question, answers: dict[str, Any]) -> bool:
    """Whether ``question`` shows, given the answers so far (question id -> stored value). A question whose
    condition's question is unanswered stays hidden. Pass only visible questions' answers, so that a question
    whose condition's question is itself hidden stays hidden too."""
    condition = question.show_if
    if condition is None:
        return True
    given = answers.get(condition.question)
    values = given if isinstance(given, (list, tuple, set)) else [given]
    return any(as_value(v) in condition.equals for v in values)


def needs_evidence(question: Question, value: Any) -> bool:
    """Whether this answer must be backed by an attached file before the assessment can be submitted."""
    if value is None or value == NA:
        return False
    if question.evidence == "always":
        return True
    if question.evidence == "on_answers":
        given = value if isinstance(value, list) else [value]
        return any(str(v) in question.evidence_on for v in given)
    return False


@dataclass(frozen=True)
class Missing:
    question_id: str
    what: str


ANSWER_REQUIRED = "an answer is required"
EVIDENCE_REQUIRED = "evidence is required for this answer"


class QuestionState(NamedTuple):
    """Where one question stands, given the assessment's answers and files. (A tuple: one is made per question
    on every read of an assessment, and a frozen dataclass costs several times as much to make.)"""

    shown: bool
    answered: bool  # "does not apply" is an answer
    needs_evidence: bool  # shown, and its answer asks for a file
    has_evidence: bool
    missing: str | None  # what it still lacks before the assessment can be submitted, or None


def states(questions: Iterable[Question], answers: dict[str, Any], with_evidence: set[str]
           ) -> dict[str, QuestionState]:
    """Each question's ``QuestionState``, in template order, from the answers (question id -> stored value) and
    the questions with a file attached. The one reading of ``show_if``, ``required`` and ``evidence``: submitting
    and the questionnaire a provider sees both come from here."""
    shown_answers: dict[str, Any] = {}  # only shown questions' answers, so a condition on a hidden question hides
    found: dict[str, QuestionState] = {}
    for question in questions:
        value = answers.get(question.id)
        answered = value is not None
        if not visible(question, shown_answers):
            found[question.id] = QuestionState(False, answered, False, question.id in with_evidence, None)
            continue
        if answered:
            shown_answers[question.id] = value
        needs = needs_evidence(question, value)
        has = question.id in with_evidence
        lacks = (ANSWER_REQUIRED if question.required else None) if not answered else (
            EVIDENCE_REQUIRED if needs and not has else None)
        found[question.id] = QuestionState(True, answered, needs, has, lacks)
    return found


def missing(questions: Iterable[Question], answers: dict[str, Any], with_evidence: set[str]) -> list[Missing]:
    """What stands between these answers (question id -> stored value) and a complete assessment: every
    required question that shows needs an answer, and evidence where its answer asks for it (``with_evidence``:
    the questions with a file attached)."""
    return [Missing(qid, state.missing) for qid, state in states(questions, answers, with_evidence).items()
            if state.missing]
