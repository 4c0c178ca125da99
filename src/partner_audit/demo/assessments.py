"""The demo's self-assessments: the plan's round two quarters ago, mostly accepted, and this quarter's, open now.

Each provider answers as its own privacy lead would: a steady provider picks the strong answer to most questions,
a struggling one to fewer (chosen from the provider's place in the list, so every run makes the same answers), and
attaches a short PDF wherever its answer asks for evidence. The auditor reviews as Tama Auditor.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from partner_audit.assessments.schemas import AnswerIn, RolloutCreate, Selection
from partner_audit.assessments.services import answers, evidence, review, rollouts
from partner_audit.assessments.services.assessments import template_for
from partner_audit.assessments.tables import Answer, Assessment, Rollout
from partner_audit.controls import answers as rules
from partner_audit.controls import service as controls
from partner_audit.controls.schemas import QuestionType, Template
from partner_audit.demo import PLAN_ROLLOUT, DemoProvider, period, quarter_of, quarter_start, quarters_before
from partner_audit.progress import progress
from partner_audit.security.caller import Caller
from partner_audit.storage import EvidenceStore

# How often each provider, by its place in the list, gives the strong answer: most do well, a few struggle.
STRENGTH = [0.9, 0.75, 0.6, 0.7, 0.95, 0.8, 0.65, 0.5, 0.55, 0.45, 0.85, 0.6]

# Two quarters ago: every active provider's assessment was accepted but these (by place in the list).
NEVER_FINISHED = {9}  # Kiwi Transport Services: answered half, never submitted
BACK_AND_FORTH = {2}  # Whānau Ora Tairāwhiti: returned once with a question, answered, then accepted
# This quarter's round, open now: the rest are answering or have not started.
SUBMITTED_NOW = {4}  # Safe Families Auckland: waiting for the auditor
RETURNED_NOW = {5}  # Youth Horizons Wellington: the auditor asked about one answer
NOT_STARTED_NOW = {8, 10}


async def load(system: Caller, store: EvidenceStore, staff: dict[str, Caller], active: list[DemoProvider],
               today: date) -> list[str]:
    versions = [(await controls.load_file(path))[0]
                for path in progress(sorted(controls.TEMPLATES_DIR.glob("*.yaml")), "templates")]
    plan = next((v for v in versions if v["key"].startswith("pip")), versions[0] if versions else None)
    if plan is None:
        return ["no templates in audit_templates/: no self-assessments"]
    made = [f"{len(versions)} questionnaire template(s) in the control library"]
    auditor = staff["auditor"]
    year, quarter = quarters_before(today, 2)
    earlier = f"{PLAN_ROLLOUT} {period(year, quarter)}"
    if not await Rollout.exists().where(Rollout.name == earlier).run():
        opens = quarter_start(year, quarter)
        rollout = await _launch(system, earlier, plan["id"], period(year, quarter), opens, opens + timedelta(days=42))
        counts = await _earlier_round(rollout, store, active, auditor)
        made.append(f"the {period(year, quarter)} round: {counts}")
    else:
        made.append(f"the {period(year, quarter)} round was already there: left as it was")
    if not await Rollout.exists().where(Rollout.name == PLAN_ROLLOUT).run():
        year, quarter = quarter_of(today)
        rollout = await _launch(system, PLAN_ROLLOUT, plan["id"], period(year, quarter),
                                today - timedelta(days=28), today + timedelta(days=14))
        counts = await _this_round(rollout, store, active, auditor)
        made.append(f"the {period(year, quarter)} round, open now (due in 14 days): {counts}")
    else:
        made.append(f"this quarter's round ({PLAN_ROLLOUT!r}) was already there: left as it was")
    return made


async def _launch(system: Caller, name: str, version_id: UUID, period: str, opens: date, due: date) -> UUID:
    rollout = await rollouts.create_rollout(system, RolloutCreate(
        name=name, template_version_id=version_id, period=period, opens_on=opens, due_on=due,
        selection=Selection(risk_tiers=[1, 2, 3]),
    ))
    await rollouts.launch(system, rollout["id"])
    return rollout["id"]


async def _assessments(rollout_id: UUID, active: list[DemoProvider]) -> list[tuple[DemoProvider, dict[str, Any]]]:
    rows = await Assessment.select(Assessment.id, Assessment.provider, Assessment.template_version).where(
        Assessment.rollout == rollout_id).run()
    by_provider = {row["provider"]: row for row in rows}
    return [(p, by_provider[p.id]) for p in active if p.id in by_provider]


async def _earlier_round(rollout_id: UUID, store: EvidenceStore, active: list[DemoProvider],
                         auditor: Caller) -> str:
    outcome: dict[str, int] = {}
    for provider, assessment in progress(await _assessments(rollout_id, active), "earlier self-assessments"):
        lead, aid = provider.lead, assessment["id"]
        assert lead is not None
        if provider.index in NEVER_FINISHED:
            await _answer(lead, store, aid, provider.index, share=0.5)
            outcome["never submitted"] = outcome.get("never submitted", 0) + 1
            continue
        question = await _answer(lead, store, aid, provider.index)
        await review.submit(lead, aid)
        if provider.index in BACK_AND_FORTH and question:
            raised = await review.add_comment(auditor, aid, question, "Your answer says this is in place, but the "
                                              "document attached is a draft. Please attach the version your board "
                                              "approved.")
            await review.return_to_provider(auditor, aid, "One answer needs its approved document.")
            await _attach(lead, store, aid, question, "approved-version.pdf")
            await review.add_comment(lead, aid, question, "Attached: the version the board approved in May.",
                                     raised["id"])
            await review.submit(lead, aid)
        await review.accept(auditor, aid, "Reviewed against the evidence provided.")
        outcome["accepted"] = outcome.get("accepted", 0) + 1
    return ", ".join(f"{n} {what}" for what, n in outcome.items())


async def _this_round(rollout_id: UUID, store: EvidenceStore, active: list[DemoProvider], auditor: Caller) -> str:
    outcome: dict[str, int] = {}
    for provider, assessment in progress(await _assessments(rollout_id, active), "this quarter's self-assessments"):
        lead, aid = provider.lead, assessment["id"]
        assert lead is not None
        if provider.index in NOT_STARTED_NOW:
            what = "not started"
        elif provider.index in SUBMITTED_NOW | RETURNED_NOW:
            question = await _answer(lead, store, aid, provider.index, seed=1)
            await review.submit(lead, aid)
            what = "submitted, waiting for review"
            if provider.index in RETURNED_NOW and question:
                await review.add_comment(auditor, aid, question, "Can you tell us when this was last reviewed? "
                                         "The policy attached is from 2022.")
                await review.return_to_provider(auditor, aid, "A question about one answer: see its comments.")
                what = "returned with a reviewer's question"
        else:
            # Under way: the first areas answered, the rest to do (with the earlier round's answers, where they
            # carry, waiting to be confirmed).
            await _answer(lead, store, aid, provider.index, share=0.4, seed=1)
            what = "in progress"
        outcome[what] = outcome.get(what, 0) + 1
    waiting = await Answer.count().where(
        (Answer.assessment.rollout == rollout_id) & Answer.carried_from.is_not_null()
        & Answer.confirmed_at.is_null()).run()
    return ", ".join(f"{n} {what}" for what, n in outcome.items()) + (
        f"; {waiting} answers carried from the earlier round wait to be confirmed" if waiting else "")


async def _answer(lead: Caller, store: EvidenceStore, assessment_id: UUID, index: int, *, share: float = 1.0,
                  seed: int = 0) -> str | None:
    """Answer the questions that show (the first ``share`` of them), as one batch, with evidence where an answer
    asks for it. Returns a question with evidence, for a reviewer to ask about."""
    row = await Assessment.select(Assessment.template_version).where(Assessment.id == assessment_id).first().run()
    template, _ = await template_for(row["template_version"])
    chosen = _answers_for(template, random.Random(f"{index}:{seed}"), STRENGTH[index])
    questions = [q for _, _, q in template.questions() if q.id in chosen]
    questions = questions[: max(1, round(len(questions) * share))]
    versions = {r["question_id"]: r["version"] for r in await Answer.select(Answer.question_id, Answer.version)
                .where(Answer.assessment == assessment_id).run()}
    await answers.save_answers(lead, assessment_id, [
        AnswerIn(question_id=q.id, value=chosen[q.id], version=versions.get(q.id, 0)) for q in questions])
    asked = None
    for question in questions:
        if rules.needs_evidence(question, rules.normalise_answer(question, chosen[question.id])):
            await _attach(lead, store, assessment_id, question.id, f"{question.id}.pdf")
            asked = asked or question.id
    return asked


def _answers_for(template: Template, rng: random.Random, strength: float) -> dict[str, Any]:
    """An answer to every question that shows, given the answers before it."""
    given: dict[str, Any] = {}
    for _, _, question in template.questions():
        if not rules.visible(question, given):
            continue
        given[question.id] = rules.normalise_answer(question, _value(question, rng, strength))
    return given


def _value(question: Any, rng: random.Random, strength: float) -> Any:
    strong = rng.random() < strength
    options = question.options
    if question.type is QuestionType.multi_choice:
        return [o.value for o in options if strong or rng.random() < 0.4] or [options[0].value]
    if question.type is QuestionType.maturity:
        return options[-1 if strong else rng.randrange(len(options))].value
    if question.type in (QuestionType.yes_no, QuestionType.yes_partial_no, QuestionType.choice):
        best = max(options, key=lambda o: o.score if o.score is not None else -1)
        return best.value if strong else rng.choice(options).value
    if question.type is QuestionType.number:
        low = int(question.min if question.min is not None else 0)
        high = int(question.max if question.max is not None else low + 20)
        return rng.randint(low, high)
    if question.type is QuestionType.date:
        return (date.today() - timedelta(days=rng.randint(20, 400))).isoformat()
    return "Our privacy lead checks this each quarter and reports to the board."


async def _attach(lead: Caller, store: EvidenceStore, assessment_id: UUID, question_id: str, name: str) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"%PDF-1.4\n% demo evidence: " + name.encode() + b"\n%%EOF\n"

    await evidence.attach_evidence(lead, store, assessment_id, question_id, name, chunks(), 1024 * 1024)


