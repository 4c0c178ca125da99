"""The demo's past: the plan's self-assessment every second quarter before the round two quarters ago (four, six
and eight quarters back), each accepted within its own quarter, so scores have a history and the quarterly report a
trend and a change from last quarter to show.

Most providers get better round by round: each earlier round is the round two quarters ago with more of its
scored answers at their weakest option, the further back the more (the same questions stay weak in every round
before, so each provider's scores only rise). One, Canterbury Family Support, slips: its earlier rounds had more
answers at their strongest. Every provider's rounds are
answered, submitted and accepted through the same services as the rest of the demo (as its privacy lead and Tama
Auditor), evidence attached where an answer asks for it and none was carried, then dated back to their quarter,
where the services, rightly, date everything today. The round two quarters ago (``demo.assessments``) is dated back
to its quarter the same way, so that it stands from then.

Safe to run again: a round whose rollout is there is left as it was.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from partner_audit.assessments.schemas import AnswerIn
from partner_audit.assessments.services import answers, review
from partner_audit.assessments.services.assessments import template_for
from partner_audit.assessments.tables import Answer, Assessment, Evidence, Rollout
from partner_audit.controls import answers as rules
from partner_audit.controls.schemas import OPTION_TYPES, QuestionType, Template
from partner_audit.demo import PLAN_ROLLOUT, DemoProvider, period, quarter_start, quarters_before
from partner_audit.demo.assessments import STRENGTH, _answers_for, _assessments, _attach, _launch, _value
from partner_audit.progress import progress
from partner_audit.security.caller import Caller
from partner_audit.storage import EvidenceStore

NZ = ZoneInfo("Pacific/Auckland")
ROUNDS_BACK = (8, 6, 4)  # quarters before today, oldest first; the demo's own rounds are two quarters ago and now
# The share of scored answers that differ from the round two quarters ago grows by this much a round further back.
STEP = 0.2
SLIPPING = {6}  # Canterbury Family Support (by place in the list): it was stronger before, and slips
SUBMITTED_AFTER, DECIDED_AFTER = timedelta(days=28), timedelta(days=35)  # from the round's first day


def past_answers(template: Template, index: int, rounds_back: int) -> dict[str, Any]:
    """Provider ``index``'s answers ``rounds_back`` rounds before the round two quarters ago: that round's answers
    (as ``demo.assessments`` chose them), with a share of the scored ones at their weakest option (their strongest
    for a provider that slips). Each question draws once, the same in every round, so a question weak in one round
    is weak in every round before it."""
    slipping = index in SLIPPING
    then: Mapping[str, Any] = _answers_for(template, random.Random(f"{index}:0"), STRENGTH[index])
    share = min(1.0, STEP * (rounds_back + (1 if slipping else 0)))
    given: dict[str, Any] = {}
    for _, _, question in template.questions():
        if not rules.visible(question, given):
            continue
        rng = random.Random(f"{index}:{question.id}")
        value = then[question.id] if question.id in then else rules.normalise_answer(
            question, _value(question, rng, 1.0 if slipping else STRENGTH[index]))
        if question.type in OPTION_TYPES and question.scored and rng.random() < share:
            ranked = sorted(question.options, key=lambda o: o.score if o.score is not None else -1.0)
            pick = ranked[-1] if slipping else ranked[0]
            value = [pick.value] if question.type is QuestionType.multi_choice else pick.value
        given[question.id] = value
    return given


async def load(system: Caller, store: EvidenceStore, staff: dict[str, Caller], active: list[DemoProvider],
               today: date) -> list[str]:
    year, quarter = quarters_before(today, 2)
    earlier = await Rollout.select(Rollout.id, Rollout.template_version).where(
        Rollout.name == f"{PLAN_ROLLOUT} {period(year, quarter)}").first().run()
    if earlier is None:
        return ["no earlier rounds: there is no round two quarters ago to come before"]
    await _date_back(earlier["id"], quarter_start(year, quarter))
    plan_version_id = earlier["template_version"]  # the same questionnaire as the round two quarters ago
    auditor = staff["auditor"]
    made, there = [], []
    for back in ROUNDS_BACK:
        year, quarter = quarters_before(today, back)
        name = f"{PLAN_ROLLOUT} {period(year, quarter)}"
        if await Rollout.exists().where(Rollout.name == name).run():
            there.append(period(year, quarter))
            continue
        opens = quarter_start(year, quarter)
        rollout = await _launch(system, name, plan_version_id, period(year, quarter), opens,
                                opens + timedelta(days=42))
        rounds_back = (back - 2) // 2  # rounds before the demo's round two quarters ago
        for provider, assessment in progress(await _assessments(rollout, active),
                                             f"the {period(year, quarter)} self-assessments"):
            assert provider.lead is not None
            await _answer(provider.lead, store, assessment["id"], provider.index, rounds_back)
            await review.submit(provider.lead, assessment["id"])
            await review.accept(auditor, assessment["id"], "Reviewed against the evidence provided.")
        await _date_back(rollout, opens)
        made.append(period(year, quarter))
    out = []
    if made:
        slipping = ", ".join(p.name for p in active if p.index in SLIPPING)
        out.append(f"earlier rounds of the plan's self-assessment, each accepted in its quarter: {', '.join(made)} "
                   f"(scores improve round by round for most providers; {slipping} slips)")
    if there:
        out.append(f"the earlier rounds {', '.join(there)} were already there: left as they were")
    return out


async def _answer(lead: Caller, store: EvidenceStore, assessment_id: UUID, index: int, rounds_back: int) -> None:
    """Answer every question that shows, as one batch (answers carried from the last round are saved over), and
    attach a file where an answer asks for one and none was carried."""
    row = await Assessment.select(Assessment.template_version).where(Assessment.id == assessment_id).first().run()
    template, _ = await template_for(row["template_version"])
    chosen = past_answers(template, index, rounds_back)
    questions = [q for _, _, q in template.questions() if q.id in chosen]
    versions = {r["question_id"]: r["version"] for r in await Answer.select(Answer.question_id, Answer.version)
                .where(Answer.assessment == assessment_id).run()}
    await answers.save_answers(lead, assessment_id, [
        AnswerIn(question_id=q.id, value=chosen[q.id], version=versions.get(q.id, 0)) for q in questions])
    held = {r["question_id"] for r in await Evidence.select(Evidence.question_id).where(
        Evidence.assessment == assessment_id).run()}
    for question in questions:
        if question.id not in held and rules.needs_evidence(question, rules.normalise_answer(
                question, chosen[question.id])):
            await _attach(lead, store, assessment_id, question.id, f"{question.id}.pdf")


async def _date_back(rollout_id: Any, opens: date) -> None:
    """The round as it happened in its quarter: launched on its first day, answered and submitted four weeks in,
    accepted a week later. Only what is still dated after that moves (a second run changes nothing)."""
    launched = _at(opens)
    submitted, decided = _at(opens + SUBMITTED_AFTER), _at(opens + DECIDED_AFTER)
    await Rollout.update({Rollout.created_at: launched, Rollout.launched_at: launched}).where(
        (Rollout.id == rollout_id) & (Rollout.launched_at > decided)).run()
    ids = [r["id"] for r in await Assessment.select(Assessment.id).where(Assessment.rollout == rollout_id).run()]
    await Assessment.update({Assessment.created_at: launched}).where(
        (Assessment.rollout == rollout_id) & (Assessment.created_at > decided)).run()
    await Answer.update({Answer.answered_at: submitted}).where(
        Answer.assessment.is_in(ids) & (Answer.answered_at > decided)).run()
    await Evidence.update({Evidence.uploaded_at: submitted}).where(
        Evidence.assessment.is_in(ids) & (Evidence.uploaded_at > decided)).run()
    accepted = (Assessment.rollout == rollout_id) & (Assessment.status == "accepted")
    await Assessment.update({Assessment.submitted_at: submitted, Assessment.decided_at: decided,
                             Assessment.updated_at: decided}).where(accepted & (Assessment.decided_at > decided)).run()


def _at(day: date) -> datetime:
    return datetime.combine(day, time(10), NZ)
