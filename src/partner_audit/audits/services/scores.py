"""Where to look first: a provider's latest self-assessed score, and the score its auditors verified, for ordering
a plan and for the low-score trigger. Overall score = the weighted mean of the scores of the questions shown and
answered (N/A and unanswered left out); in the verified score a control an audit rated (effective 100, partly
effective 50, ineffective 0; not tested changes nothing) replaces the self-assessment of that control's questions.

The full score engine (control, area and recommendation scores, completeness, aggregates) is the reports domain's;
this is the one figure audits need, computed the same way."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from partner_audit.assessments.tables import Answer, Assessment
from partner_audit.audits.schemas import AuditStatus, Rating
from partner_audit.audits.tables import Finding
from partner_audit.controls import answers as answer_rules
from partner_audit.controls import service as controls
from partner_audit.controls.schemas import Template
from partner_audit.controls.tables import TemplateVersion

RATING_SCORES = {Rating.effective: 100.0, Rating.partly_effective: 50.0, Rating.ineffective: 0.0}


@dataclass(frozen=True)
class Score:
    assessment_id: str
    self_assessed: float | None
    verified: float | None


def overall(template: Template, values: dict[str, Any], ratings: dict[str, Rating] | None = None) -> float | None:
    """The overall score of one assessment's answers (question id -> stored value), 0 to 100, or None when nothing
    scored was answered. ``ratings`` (control id -> rating) override the controls they rated."""
    ratings = ratings or {}
    shown: dict[str, Any] = {}
    total = weights = 0.0
    for _area, control, question in template.questions():
        if not answer_rules.visible(question, shown):
            continue
        value = values.get(question.id)
        if value is not None:
            shown[question.id] = value
        rating = ratings.get(control.id)
        score = template.rating_score(rating) if rating is not None else None
        if score is None:
            score = answer_rules.score_of(question, value) if question.scored else None
        elif not question.scored:
            continue
        if score is None:
            continue
        total += score * question.weight
        weights += question.weight
    return round(total / weights, 1) if weights else None


async def assessment_score(assessment_id: UUID | str) -> float | None:
    """The self-assessed overall score of one assessment."""
    row = await Assessment.select(Assessment.template_version).where(Assessment.id == str(assessment_id)).first()
    if row is None:
        return None
    template = await _template(row["template_version"])
    values = await _values([str(assessment_id)])
    return overall(template, values.get(str(assessment_id), {}))


async def latest(provider_ids: Iterable[UUID | str]) -> dict[str, Score]:
    """Each provider's latest accepted self-assessment, scored as the provider gave it and as verified by the
    findings of its reported or closed audits. Providers with no accepted assessment are absent."""
    ids = [str(p) for p in provider_ids]
    if not ids:
        return {}
    accepted = await Assessment.select(
        Assessment.id, Assessment.provider, Assessment.template_version, Assessment.decided_at,
    ).where(Assessment.provider.is_in(ids) & (Assessment.status == "accepted"))
    newest: dict[str, dict[str, Any]] = {}
    for row in accepted:
        key = str(row["provider"])
        if key not in newest or (row["decided_at"], str(row["id"])) > (newest[key]["decided_at"], str(newest[key]["id"])):
            newest[key] = row
    values = await _values([str(r["id"]) for r in newest.values()])
    ratings = await _ratings(list(newest))
    templates: dict[str, Template] = {}
    out: dict[str, Score] = {}
    for provider, row in newest.items():
        version = str(row["template_version"])
        if version not in templates:
            templates[version] = await _template(version)
        given = values.get(str(row["id"]), {})
        out[provider] = Score(
            assessment_id=str(row["id"]),
            self_assessed=overall(templates[version], given),
            verified=overall(templates[version], given, ratings.get(provider)),
        )
    return out


async def _template(version_id: UUID | str) -> Template:
    row = await TemplateVersion.select().where(TemplateVersion.id == str(version_id)).first()
    return controls.template_of(row)


async def _values(assessment_ids: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {a: {} for a in assessment_ids}
    if not assessment_ids:
        return out
    rows = await Answer.select(Answer.assessment, Answer.question_id, Answer.value).where(
        Answer.assessment.is_in(assessment_ids))
    for row in rows:
        value = row["value"]
        out[str(row["assessment"])][row["question_id"]] = json.loads(value) if isinstance(value, str) else value
    return out


async def _ratings(provider_ids: list[str]) -> dict[str, dict[str, Rating]]:
    """Per provider, the latest rating of each control by a reported or closed audit."""
    if not provider_ids:
        return {}
    rows = await Finding.select(
        Finding.control_id, Finding.rating, Finding.audit.provider.as_alias("provider"),
        Finding.audit.reported_at.as_alias("reported_at"),
    ).where(
        Finding.audit.provider.is_in(provider_ids)
        & Finding.audit.status.is_in([AuditStatus.reported.value, AuditStatus.closed.value])
        & Finding.rating.is_not_null()
    ).order_by(Finding.audit.reported_at)
    out: dict[str, dict[str, Rating]] = {}
    for row in rows:
        out.setdefault(str(row["provider"]), {})[row["control_id"]] = Rating(row["rating"])
    return out


__all__ = ["RATING_SCORES", "Score", "assessment_score", "latest", "overall"]
