"""The assessment as its provider sees it: the template's focus areas, controls and questions in order, each with its
answer, whether it shows, is answered, needs and has evidence, its comment thread and whether a reviewer raised it;
and the progress of each area and of the whole.

What a question still lacks is ``standing`` (``controls.answers.states``, then evidence expiry and carried answers),
the one reading submitting uses too. The rest only lays it out, from rows already read (one query each for answers,
comments and files): no query per question.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from partner_audit.controls.answers import EVIDENCE_REQUIRED, QuestionState, states
from partner_audit.controls.schemas import Question, Template
from partner_audit.security import policies
from partner_audit.security.caller import Role

# --- the template's part, the same for every assessment of a version ------------------------------------------


# A template version never changes, so what its questions show of themselves is worked out once per process.
Skeleton = list[tuple[dict[str, Any], list[tuple[dict[str, Any], list[tuple[Question, dict[str, Any]]]]]]]
_SKELETONS: dict[UUID, Skeleton] = {}


def _question_fields(q: Question) -> dict[str, Any]:
    return {"id": q.id, "text": q.text, "help": q.help, "type": q.type, "options": q.options, "min": q.min,
            "max": q.max, "allow_na": q.allow_na, "weight": q.weight, "required": q.required, "show_if": q.show_if,
            "evidence_rule": q.evidence, "evidence_on": q.evidence_on}


def skeleton(version_id: UUID, template: Template) -> Skeleton:
    """Areas, their controls and their questions, as (fields, children) pairs, for the version ``version_id``."""
    if version_id not in _SKELETONS:
        _SKELETONS[version_id] = [
            ({"id": a.id, "title": a.title},
             [({"id": c.id, "title": c.title, "description": c.description, "recommendations": c.recommendations},
               [(q, _question_fields(q)) for q in c.questions]) for c in a.controls])
            for a in template.areas
        ]
    return _SKELETONS[version_id]


# --- what each question lacks: the rules submitting and the questionnaire share --------------------------------

EXPIRED = "the evidence attached has expired: attach a current file"


def unconfirmed(answer: dict[str, Any]) -> str:
    return f"was carried from {answer['carried_from_period']}: confirm it unchanged or change it"


def standing(questions: Iterable[Question], answers: dict[str, dict[str, Any]], evidence: Iterable[dict[str, Any]]
             ) -> dict[str, tuple[QuestionState, list[str]]]:
    """Each question's state (``controls.answers.states``) and everything it lacks before the assessment can be
    submitted, in template order, from its answers (question id -> ``answer_out``) and files (``evidence_out``).
    A file past its ``expires_on`` is listed but is not evidence; a carried answer to a question that shows is
    last period's word until it is confirmed or saved again. Submitting refuses exactly what this lists."""
    files = list(evidence)
    current = {e["question_id"] for e in files if not e.get("expired")}
    attached = {e["question_id"] for e in files}
    found: dict[str, tuple[QuestionState, list[str]]] = {}
    for question_id, state in states(questions, {q: a["value"] for q, a in answers.items()}, current).items():
        lacks = []
        if state.missing is not None:
            lacks.append(EXPIRED if state.missing == EVIDENCE_REQUIRED and question_id in attached
                         else state.missing)
        answer = answers.get(question_id)
        if state.shown and answer is not None and not answer.get("confirmed", True):
            lacks.append(unconfirmed(answer))
        found[question_id] = (state, lacks)
    return found


# --- who raised what ------------------------------------------------------------------------------------------


def raised_by_reviewer(role: str | None) -> bool:
    """A comment raises its question when a reviewer wrote it (``RAISE_REVIEW_QUESTION``), by the role it was
    written as."""
    return role is not None and Role(role) in policies.RAISE_REVIEW_QUESTION.roles


def comment_out(row: dict[str, Any]) -> dict[str, Any]:
    """A comment as shown: its author resolved to a name (their email when they gave none) and the role they wrote
    as, so nobody needs to look up accounts (a provider may not)."""
    author = None
    if row["author"] is not None:
        author = {"id": row["author"], "name": (row.get("author_name") or "").strip() or row.get("author_email") or "",
                  "role": row.get("author_role")}
    return {**row, "author_id": row["author"], "author": author}


def _answered_since(since: datetime, answer: dict[str, Any] | None, thread: list[dict[str, Any]],
                    files: list[dict[str, Any]]) -> bool:
    """Whether the provider answered a question after ``since`` (the reviewer's last comment on it): a reply by the
    provider's people, the answer changed or (carried from the last period) confirmed, or a file attached."""
    if answer is not None and (answer["answered_at"] > since or (answer.get("confirmed_at") or since) > since):
        return True
    if any(f["uploaded_at"] > since for f in files):
        return True
    return any(c["created_at"] > since and not raised_by_reviewer(c["author_role"]) for c in thread)


# --- the view -------------------------------------------------------------------------------------------------


_COUNTS = ("questions", "shown", "required", "answered", "missing_answers", "missing_evidence", "unconfirmed",
           "lacking")


def _progress(items: Iterable[tuple[Question, QuestionState, dict[str, Any] | None, list[str]]]) -> dict[str, Any]:
    counts = dict.fromkeys(_COUNTS, 0)
    for question, state, answer, lacks in items:
        counts["questions"] += 1
        if not state.shown:
            continue
        counts["shown"] += 1
        counts["required"] += question.required
        counts["answered"] += state.answered
        counts["missing_answers"] += not state.answered and question.required
        counts["missing_evidence"] += state.answered and state.needs_evidence and not state.has_evidence
        counts["unconfirmed"] += answer is not None and not answer.get("confirmed", True)
        counts["lacking"] += bool(lacks)
    return _complete(counts)


def _complete(counts: dict[str, Any]) -> dict[str, Any]:
    counts["complete"] = counts["lacking"] == 0
    return counts


def _total(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return _complete({key: sum(p[key] for p in parts) for key in _COUNTS})


def view(version_id: UUID, template: Template, answers: list[dict[str, Any]], comments: list[dict[str, Any]],
         evidence: list[dict[str, Any]]) -> dict[str, Any]:
    """The questionnaire of an assessment answered against ``template``, from its answers (as ``answer_out``
    gives them), its comments (as ``comment_out`` gives them, oldest first) and its files (oldest first)."""
    by_question = {a["question_id"]: a for a in answers}
    files: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in evidence:
        files[row["question_id"]].append(row)
    threads: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for row in comments:
        threads[row["question_id"]].append(row)
    found = standing((q for _, _, q in template.questions()), by_question, evidence)
    raised_count = awaiting = 0
    areas = []
    for area, controls in skeleton(version_id, template):
        area_items, control_views = [], []
        for control, questions in controls:
            question_views = []
            for question, fields in questions:
                state, lacks = found[question.id]
                answer, thread, attached = by_question.get(question.id), threads.get(question.id, []), files.get(
                    question.id, [])
                last_raised = max((c["created_at"] for c in thread if raised_by_reviewer(c["author_role"])),
                                  default=None) if thread else None
                answered_since = last_raised is not None and _answered_since(last_raised, answer, thread, attached)
                if last_raised is not None:
                    raised_count += 1
                    awaiting += not answered_since
                question_views.append({
                    **fields, "shown": state.shown, "answered": state.answered,
                    "needs_evidence": state.needs_evidence, "has_evidence": state.has_evidence,
                    "missing": lacks, "answer": answer, "evidence": attached, "comments": thread,
                    "raised": last_raised is not None, "answered_since_raised": answered_since,
                })
                area_items.append((question, state, answer, lacks))
            control_views.append({**control, "questions": question_views})
        areas.append({**area, "progress": _progress(area_items), "controls": control_views})
    return {
        "template": {"key": template.key, "title": template.title, "version": template.version},
        "areas": areas, "progress": _total([a["progress"] for a in areas]),
        "assessment_comments": threads.get(None, []),
        "raised_questions": raised_count, "raised_awaiting_answer": awaiting,
    }
