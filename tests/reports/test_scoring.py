"""The score engine against figures worked out by hand, its properties (hypothesis), and its agreement with the
audits' overall score on the plan's template. Pure: no database."""

from __future__ import annotations

import json
import math
import random
import uuid
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partner_audit.audits.services import scores as audit_scores
from partner_audit.controls import answers as answer_rules
from partner_audit.controls import yaml
from partner_audit.controls.schemas import NA, QuestionType, Template
from partner_audit.reports import scoring
from tests.support.paths import ROOT

PLAN = ROOT / "audit_templates" / "privacy-improvement-plan-2024-25.yaml"

# Two areas, four controls; weights 1, 2, 3; a yes_partial_no, maturity questions (one allowing N/A), a choice with
# a null-score option, a multi_choice with a null-score option, a show_if chain (q4 -> q5 -> q6), a condition on a
# maturity follow-up (q9 -> q10), an unscored text question, and controls carrying overlapping recommendations.
HAND = """\
key: hand
title: Hand-scored
version: "1"
{extra}
areas:
  - id: governance
    title: Governance
    controls:
      - id: c1
        title: Leadership
        recommendations: [1, 2]
        questions:
          - {{id: q1, text: Q1, type: yes_partial_no}}
          - {{id: q2, text: Q2, type: maturity, weight: 2, allow_na: true}}
          - {{id: q3, text: Q3, type: text}}
      - id: c2
        title: Function
        recommendations: [2, 3]
        questions:
          - id: q4
            text: Q4
            type: choice
            weight: 3
            options: [{{value: a, score: 100}}, {{value: b, score: 40}}, {{value: c, score: null}}]
          - {{id: q5, text: Q5, type: yes_no, show_if: {{question: q4, equals: [a, b]}}}}
          - {{id: q6, text: Q6, type: yes_partial_no, weight: 2, show_if: {{question: q5, equals: yes}}}}
  - id: devices
    title: Devices
    controls:
      - id: c3
        title: Register
        recommendations: [3]
        questions:
          - id: q7
            text: Q7
            type: multi_choice
            weight: 2
            options: [{{value: x, score: 60}}, {{value: y, score: 50}}, {{value: z, score: null}}]
          - {{id: q8, text: Q8, type: yes_no, allow_na: true}}
      - id: c4
        title: Returns
        recommendations: [4]
        questions:
          - {{id: q9, text: Q9, type: yes_no}}
          - {{id: q10, text: Q10, type: maturity, weight: 3, show_if: {{question: q9, equals: yes}}}}
"""

TEMPLATE = yaml.parse(HAND.format(extra=""))

# Stored as the API stores them (json.dumps of the value), except a2's q2: a maturity level stored as the number 3.
A1 = {"q1": "partly", "q2": NA, "q3": "some text", "q4": "b", "q5": "yes", "q6": "no", "q7": ["x", "y", "z"],
      "q9": "no", "q10": "5"}
A2 = {"q1": "yes", "q2": 3, "q4": "c", "q5": "yes", "q6": "yes", "q7": ["y"], "q8": NA, "q9": "yes", "q10": "4"}
ANSWERS = pd.DataFrame(
    [{"assessment_id": a, "question_id": q, "value_json": json.dumps(v)}
     for a, given in (("a1", A1), ("a2", A2)) for q, v in given.items()]
    + [{"assessment_id": "a1", "question_id": "q8", "value_json": None}])  # a row with no value: unanswered
SUBJECTS = pd.DataFrame({
    "subject": ["s1", "s2", "s3", "s4"],
    "assessment_id": ["a1", "a1", "a2", "a3"],  # a3 has no answers at all
    "provider_id": ["p1", "p1", "p2", "p3"],
    "template_version": "v1",
    "as_of": pd.to_datetime(["2025-06-30", "2025-09-30", "2025-09-30", "2025-09-30"]),
})
RATINGS = pd.DataFrame({
    "provider_id": ["p1", "p1", "p1", "p1", "p1", "p2"],
    "control_id": ["c1", "c2", "c1", "c3", "c4", "c2"],
    "rating": ["effective", "partly_effective", "not_tested", "ineffective", "effective", "effective"],
    "reported_on": pd.to_datetime(["2025-04-01", "2025-05-10", "2025-07-15", "2025-08-01", "2025-10-05",
                                   "2025-06-01"]),
})
NAN = math.nan


def run(template: Template = TEMPLATE, ratings: pd.DataFrame | None = RATINGS) -> scoring.Scores:
    return scoring.score(scoring.library({"v1": template}), SUBJECTS, ANSWERS, ratings)


def same(actual: Any, expected: Any) -> bool:
    return (isinstance(expected, float) and math.isnan(expected) and math.isnan(actual)) or (
        actual == pytest.approx(expected, abs=1e-9))


def check(frame: pd.DataFrame, expected: dict[Any, dict[str, Any]]) -> None:
    for key, figures in expected.items():
        row = frame.loc[key]
        for column, value in figures.items():
            assert same(row[column], value), (key, column, row[column], value)


def test_self_assessed_figures_match_the_hand_computed_ones():
    scores = run()
    # a1: q1 partly 50 (w1); q2 N/A; q3 text, unscored; q4 b 40 (w3); q5 yes 100 (w1, shown: q4 is b); q6 no 0 (w2,
    # shown: q5 is yes); q7 x+y+z = 60+50+0 = 110, capped at 100 (w2); q8 unanswered; q9 no 0 (w1); q10 hidden.
    # a2: q1 yes 100 (w1); q2 3 -> 50 (w2); q4 c has no score: unanswered; q5, q6 hidden (q4 is c), though answered;
    # q7 y 50 (w2); q8 N/A; q9 yes 100 (w1); q10 4 -> 75 (w3, shown: q9 is yes).
    # a3: nothing answered; shown scored questions q1 q2 q4 q7 q8 q9 (q5, q10 hidden: their conditions unanswered).
    a1_controls = {
        "c1": {"self_assessed": 50.0, "answered": 1, "not_applicable": 1, "unanswered": 0, "completeness": 100.0},
        "c2": {"self_assessed": (120 + 100 + 0) / 6, "answered": 3, "not_applicable": 0, "unanswered": 0,
               "completeness": 100.0},  # 40x3 + 100x1 + 0x2 over 3+1+2 = 36.67
        "c3": {"self_assessed": 100.0, "answered": 1, "not_applicable": 0, "unanswered": 1, "completeness": 50.0},
        "c4": {"self_assessed": 0.0, "answered": 1, "not_applicable": 0, "unanswered": 0, "completeness": 100.0},
    }
    for subject in ("s1", "s2"):  # one assessment standing at two dates: the same self-assessment
        check(scores.controls, {(subject, c): f for c, f in a1_controls.items()})
        check(scores.areas, {
            (subject, "governance"): {"self_assessed": 270 / 7, "answered": 4, "not_applicable": 1, "unanswered": 0,
                                      "completeness": 100.0},  # (50x1 + 220) / (1 + 6) = 38.57
            (subject, "devices"): {"self_assessed": 200 / 3, "answered": 2, "not_applicable": 0, "unanswered": 1,
                                   "completeness": 200 / 3},  # (100x2 + 0x1) / (2 + 1); 2 of 3 answered
        })
        check(scores.overall, {subject: {"self_assessed": 47.0, "answered": 6, "not_applicable": 1, "unanswered": 1,
                                         "completeness": 87.5}})  # 470 / 10; (6 + 1) / 8
        check(scores.recommendations, {
            (subject, 1): {"self_assessed": 50.0, "completeness": 100.0},  # c1
            (subject, 2): {"self_assessed": 270 / 7, "completeness": 100.0},  # c1 + c2
            (subject, 3): {"self_assessed": 52.5, "completeness": 80.0},  # c2 + c3: (220 + 200) / (6 + 2); 4 of 5
            (subject, 4): {"self_assessed": 0.0, "completeness": 100.0},  # c4
        })
    check(scores.controls, {
        ("s3", "c1"): {"self_assessed": 200 / 3, "answered": 2, "completeness": 100.0},  # (100 + 50x2) / 3
        ("s3", "c2"): {"self_assessed": NAN, "answered": 0, "unanswered": 1, "completeness": 0.0},
        ("s3", "c3"): {"self_assessed": 50.0, "answered": 1, "not_applicable": 1, "completeness": 100.0},
        ("s3", "c4"): {"self_assessed": 81.25, "answered": 2, "completeness": 100.0},  # (100 + 75x3) / 4
    })
    check(scores.areas, {("s3", "governance"): {"self_assessed": 200 / 3, "completeness": 200 / 3},
                         ("s3", "devices"): {"self_assessed": 425 / 6, "completeness": 100.0}})  # (100 + 325) / 6
    check(scores.overall, {
        "s3": {"self_assessed": 625 / 9, "answered": 5, "not_applicable": 1, "unanswered": 1,
               "completeness": 600 / 7},  # (200 + 100 + 325) / (3 + 2 + 4); 6 of 7
        "s4": {"self_assessed": NAN, "verified": NAN, "answered": 0, "not_applicable": 0, "unanswered": 6,
               "completeness": 0.0, "audited": False},
    })
    assert scores.recommendations.loc[("s3", 2), "self_assessed"] == pytest.approx(200 / 3)  # c2 scored nothing


def test_verified_figures_apply_the_latest_rating_as_of_each_date():
    scores = run()
    # s1 (as of 30 June): c1 effective (1 April) -> 100 over q1 and q2, N/A included (weights 1 + 2);
    # c2 partly effective (10 May) -> 50 over q4 q5 q6 (3 + 1 + 2); c3 ineffective (1 August) and c4 (5 October)
    # come later: self-assessed. Overall (300 + 300 + 200 + 0) / (3 + 6 + 2 + 1) = 66.67.
    check(scores.controls, {
        ("s1", "c1"): {"verified": 100.0, "rating": "effective", "self_assessed": 50.0},
        ("s1", "c2"): {"verified": 50.0, "rating": "partly_effective"},
        ("s1", "c3"): {"verified": 100.0}, ("s1", "c4"): {"verified": 0.0},
    })
    assert pd.isna(scores.controls.loc[("s1", "c3"), "rating"])
    check(scores.areas, {("s1", "governance"): {"verified": 600 / 9}, ("s1", "devices"): {"verified": 200 / 3}})
    check(scores.overall, {"s1": {"verified": 800 / 12, "self_assessed": 47.0, "audited": True}})
    check(scores.recommendations, {("s1", 1): {"verified": 100.0}, ("s1", 2): {"verified": 600 / 9},
                                   ("s1", 3): {"verified": 62.5}, ("s1", 4): {"verified": 0.0}})  # 500 / 8
    # s2 (as of 30 September): c1's latest rating is not tested (15 July): it keeps its self-assessment;
    # c3 ineffective -> 0 over q7 and the unanswered q8 (2 + 1); c4's rating of 5 October is still in the future.
    # Overall (50 + 300 + 0 + 0) / (1 + 6 + 3 + 1) = 31.82.
    check(scores.controls, {
        ("s2", "c1"): {"verified": 50.0, "rating": "not_tested"}, ("s2", "c2"): {"verified": 50.0},
        ("s2", "c3"): {"verified": 0.0, "rating": "ineffective"}, ("s2", "c4"): {"verified": 0.0},
    })
    check(scores.areas, {("s2", "governance"): {"verified": 50.0}, ("s2", "devices"): {"verified": 0.0}})
    check(scores.overall, {"s2": {"verified": 350 / 11, "audited": True}})
    check(scores.recommendations, {("s2", 1): {"verified": 50.0}, ("s2", 2): {"verified": 50.0},
                                   ("s2", 3): {"verified": 300 / 9}})  # (300 + 0) / (6 + 3)
    # s3: c2 effective -> 100 over q4 alone (q5, q6 hidden), though q4's answer scored nothing.
    # Overall (200 + 300 + 100 + 325) / (3 + 3 + 2 + 4) = 77.08.
    check(scores.controls, {("s3", "c2"): {"verified": 100.0, "self_assessed": NAN, "rating": "effective"}})
    check(scores.overall, {"s3": {"verified": 925 / 12, "audited": True}})
    check(scores.areas, {("s3", "governance"): {"verified": 500 / 6}})


def test_the_templates_rating_scores_replace_the_defaults():
    template = yaml.parse(HAND.format(extra="rating_scores: {partly_effective: 60}"))
    scores = run(template)
    # s1: c2 partly effective now scores 60: (300 + 360 + 200 + 0) / 12.
    check(scores.controls, {("s1", "c2"): {"verified": 60.0}})
    check(scores.overall, {"s1": {"verified": 860 / 12}})


def test_the_frames_have_the_contracts_shape():
    scores = run()
    assert list(scores.overall.columns) == ["self_assessed", "verified", "answered", "not_applicable", "unanswered",
                                            "completeness", "audited"]
    assert list(scores.areas.columns) == ["self_assessed", "verified", "answered", "not_applicable", "unanswered",
                                          "completeness"]
    assert list(scores.controls.columns) == ["area_id", "self_assessed", "verified", "rating", "answered",
                                             "not_applicable", "unanswered", "completeness"]
    assert list(scores.recommendations.columns) == ["self_assessed", "verified", "completeness"]
    assert list(scores.overall.index) == ["s1", "s2", "s3", "s4"]
    assert scores.controls.index.names == ["subject", "control_id"]
    assert list(scores.controls.loc["s1"].index) == ["c1", "c2", "c3", "c4"]  # template order
    assert list(scores.controls.loc["s1", "area_id"]) == ["governance", "governance", "devices", "devices"]
    assert list(scores.areas.loc["s4"].index) == ["governance", "devices"]
    assert list(scores.recommendations.loc["s2"].index) == [1, 2, 3, 4]
    assert scores.controls["answered"].dtype == np.int64


def test_ids_given_as_uuids_are_read_as_text():
    ids = {a: uuid.uuid4() for a in ("a1", "a2", "a3")}
    providers = {p: uuid.uuid4() for p in ("p1", "p2", "p3")}
    scores = scoring.score(
        scoring.library({"v1": TEMPLATE}),
        SUBJECTS.assign(assessment_id=SUBJECTS["assessment_id"].map(ids),
                        provider_id=SUBJECTS["provider_id"].map(providers)),
        ANSWERS.assign(assessment_id=ANSWERS["assessment_id"].map(ids)),
        RATINGS.assign(provider_id=RATINGS["provider_id"].map(providers)))
    pd.testing.assert_frame_equal(scores.overall, run().overall)


def test_no_ratings_and_an_unknown_template_version():
    scores = run(ratings=None)
    assert not scores.overall["audited"].any()
    with pytest.raises(ValueError, match="v2"):
        scoring.score(scoring.library({"v1": TEMPLATE}), SUBJECTS.assign(template_version="v2"), ANSWERS)


def test_the_engine_agrees_with_the_audits_figure_on_the_hand_fixture():
    scores = run()
    given = {"a1": A1, "a2": {**A2, "q2": "3"}, "a3": {}}
    rated = {"s1": {"c1": "effective", "c2": "partly_effective"},
             "s2": {"c1": "not_tested", "c2": "partly_effective", "c3": "ineffective"},
             "s3": {"c2": "effective"}, "s4": {}}
    for subject, assessment in zip(SUBJECTS["subject"], SUBJECTS["assessment_id"], strict=True):
        row = scores.overall.loc[subject]
        assert rounded(row["self_assessed"]) == audit_scores.overall(TEMPLATE, given[assessment])
        assert rounded(row["verified"]) == audit_scores.overall(TEMPLATE, given[assessment], rated[subject])


def rounded(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 1)


# --- bands --------------------------------------------------------------------------------------------------


def test_bands_and_their_words():
    scores = pd.Series([80.0, 79.96, 79.94, 50.0, 49.9, NAN, 0.0, 100.0])
    # 79.96 shows as 80.0, so it is green: the band always agrees with the figure beside it.
    assert list(scoring.bands(scores, 80, 50).fillna("-")) == [
        "green", "green", "amber", "amber", "red", "-", "red", "green"]
    assert scoring.band_words(80, 50) == {"green": "Green: 80 or more", "amber": "Amber: 50 to 79.9",
                                          "red": "Red: below 50"}
    assert scoring.band_words(85.5, 60) == {"green": "Green: 85.5 or more", "amber": "Amber: 60 to 85.4",
                                            "red": "Red: below 60"}


# --- properties ---------------------------------------------------------------------------------------------

QUESTIONS = {q.id: q for _, _, q in TEMPLATE.questions()}
CONTROL_OF = {q.id: c.id for _, c, q in TEMPLATE.questions()}
LIBRARY = scoring.library({"v1": TEMPLATE})
CONDITION_TARGETS = {q.show_if.question for q in QUESTIONS.values() if q.show_if}


def answer_strategy(question_id: str) -> st.SearchStrategy[Any]:
    q = QUESTIONS[question_id]
    values = [o.value for o in q.options]
    if q.type is QuestionType.multi_choice:
        choice: st.SearchStrategy[Any] = st.lists(st.sampled_from(values), unique=True, min_size=1)
    elif values:
        choice = st.sampled_from(values)
    else:
        choice = st.just("free text")
    return st.one_of(st.none(), choice, *([st.just(NA)] if q.allow_na else []))


ANSWER_SETS = st.fixed_dictionaries({qid: answer_strategy(qid) for qid in QUESTIONS})
RATING_SETS = st.dictionaries(st.sampled_from(["c1", "c2", "c3", "c4"]),
                              st.sampled_from(["effective", "partly_effective", "ineffective", "not_tested"]))


def score_many(assessments: list[dict[str, Any]], ratings: list[dict[str, str]] | None = None) -> scoring.Scores:
    subjects = pd.DataFrame({"subject": [f"s{i}" for i in range(len(assessments))],
                             "assessment_id": [f"a{i}" for i in range(len(assessments))],
                             "provider_id": [f"p{i}" for i in range(len(assessments))],
                             "template_version": "v1", "as_of": pd.Timestamp("2025-09-30")})
    rows = [{"assessment_id": f"a{i}", "question_id": q, "value_json": json.dumps(v)}
            for i, given in enumerate(assessments) for q, v in given.items() if v is not None]
    answers = pd.DataFrame(rows, columns=["assessment_id", "question_id", "value_json"])
    rated = pd.DataFrame([{"provider_id": f"p{i}", "control_id": c, "rating": r,
                           "reported_on": pd.Timestamp("2025-01-01")}
                          for i, given in enumerate(ratings or []) for c, r in given.items()],
                         columns=["provider_id", "control_id", "rating", "reported_on"])
    return scoring.score(LIBRARY, subjects, answers, rated)


def all_scores(scores: scoring.Scores) -> list[pd.Series]:
    return [frame[column] for frame in (scores.overall, scores.areas, scores.controls, scores.recommendations)
            for column in ("self_assessed", "verified", "completeness")]


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.lists(ANSWER_SETS, min_size=1, max_size=4), st.data())
def test_every_score_stays_within_0_and_100(assessments, data):
    ratings = [data.draw(RATING_SETS) for _ in assessments]
    for series in all_scores(score_many(assessments, ratings)):
        present = series.dropna()
        assert ((present >= 0) & (present <= 100 + 1e-9)).all()


@PROPERTY
@given(ANSWER_SETS, st.data())
def test_raising_one_answer_never_lowers_its_controls_score(given_answers, data):
    # A question no other question depends on: raising a condition's answer may show follow-ups that score lower,
    # which is the template working as designed (docs/scoring.md).
    candidates = [qid for qid, q in QUESTIONS.items() if q.scored and qid not in CONDITION_TARGETS]
    qid = data.draw(st.sampled_from(candidates))
    question = QUESTIONS[qid]
    before = given_answers[qid]
    if question.type is QuestionType.multi_choice:
        if not isinstance(before, list):
            return  # unanswered or N/A: there is no score to raise
        extra = data.draw(st.sampled_from([o.value for o in question.options]))
        after: Any = before + ([extra] if extra not in before else [])  # choosing one more option
    else:
        option = question.option(before) if isinstance(before, str) else None
        if option is None or option.score is None:
            return  # unanswered, N/A or a null-score option: nothing scored to raise
        after = data.draw(st.sampled_from([o.value for o in question.options
                                           if o.score is not None and o.score >= option.score]))
    scores = score_many([given_answers, {**given_answers, qid: after}])
    old = scores.controls.loc[("s0", CONTROL_OF[qid]), "self_assessed"]
    new = scores.controls.loc[("s1", CONTROL_OF[qid]), "self_assessed"]
    shown = scores.controls.loc[("s0", CONTROL_OF[qid]), "answered"] > 0
    if shown:  # a hidden question's answer changes nothing
        assert new >= old - 1e-9


@PROPERTY
@given(ANSWER_SETS, st.data())
def test_an_na_answer_never_changes_a_score_only_completeness(given_answers, data):
    optional = [qid for qid, q in QUESTIONS.items() if q.allow_na and given_answers[qid] is None]
    if not optional:
        return
    qid = data.draw(st.sampled_from(optional))
    ratings = data.draw(RATING_SETS)
    scores = score_many([given_answers, {**given_answers, qid: NA}], [ratings, ratings])
    for frame in (scores.overall, scores.areas, scores.controls, scores.recommendations):
        for column in ("self_assessed", "verified"):
            first, second = frame.loc["s0", column], frame.loc["s1", column]
            assert np.allclose(np.asarray(first, dtype=float), np.asarray(second, dtype=float), equal_nan=True)
    old, new = scores.overall.loc["s0"], scores.overall.loc["s1"]
    stored = {q: v for q, v in given_answers.items() if v is not None}
    shown = answer_rules.states([q for _, _, q in TEMPLATE.questions()], stored, set())[qid].shown
    # A shown question moves from unanswered to N/A; a hidden one changes nothing at all.
    assert (new["not_applicable"], new["unanswered"]) == (old["not_applicable"] + shown, old["unanswered"] - shown)
    assert (new["completeness"] > old["completeness"]) == shown


@PROPERTY
@given(st.lists(ANSWER_SETS, min_size=1, max_size=4), st.data())
def test_verified_equals_self_assessed_without_ratings_or_with_only_not_tested(assessments, data):
    not_tested = [{c: "not_tested" for c in data.draw(st.lists(st.sampled_from(["c1", "c2", "c3", "c4"])))}
                  for _ in assessments]
    for ratings in (None, not_tested):
        scores = score_many(assessments, ratings)
        for frame in (scores.overall, scores.areas, scores.controls, scores.recommendations):
            assert np.allclose(frame["self_assessed"].to_numpy(float), frame["verified"].to_numpy(float),
                               equal_nan=True)
        assert not scores.overall["audited"].any()


# --- agreement with audits.services.scores.overall on the plan's template ------------------------------------


def random_answer(rnd: random.Random, question) -> Any:
    r = rnd.random()
    if r < 0.15:
        return None
    if r < 0.25 and question.allow_na:
        return NA
    if question.type is QuestionType.multi_choice:
        return [o.value for o in question.options if rnd.random() < 0.5]
    if question.options:
        value = rnd.choice(question.options).value
        return int(value) if question.type is QuestionType.maturity and rnd.random() < 0.3 else value
    if question.type is QuestionType.number:
        return rnd.randint(0, 10)
    return "2025-01-01" if question.type is QuestionType.date else "some text"


def test_the_engine_agrees_with_the_audits_overall_score_on_the_plans_template():
    template = yaml.parse(PLAN.read_text(encoding="utf-8"))
    controls = [c.id for a in template.areas for c in a.controls]
    rnd = random.Random(12)
    subjects, answers, ratings, expected = [], [], [], {}
    for i in range(400):
        given_answers = {q.id: v for _, _, q in template.questions() if (v := random_answer(rnd, q)) is not None}
        rated = {c: rnd.choice(["effective", "partly_effective", "ineffective", "not_tested"])
                 for c in rnd.sample(controls, rnd.randint(0, 6))}
        subjects.append({"subject": f"s{i}", "assessment_id": f"a{i}", "provider_id": f"p{i}",
                         "template_version": "plan", "as_of": pd.Timestamp("2025-09-30")})
        answers += [{"assessment_id": f"a{i}", "question_id": q, "value_json": json.dumps(v)}
                    for q, v in given_answers.items()]
        ratings += [{"provider_id": f"p{i}", "control_id": c, "rating": r, "reported_on": pd.Timestamp("2025-06-01")}
                    for c, r in rated.items()]
        expected[f"s{i}"] = (audit_scores.overall(template, given_answers),
                             audit_scores.overall(template, given_answers, rated))
    scores = scoring.score(scoring.library({"plan": template}), pd.DataFrame(subjects), pd.DataFrame(answers),
                           pd.DataFrame(ratings))
    got = {s: (rounded(r.self_assessed), rounded(r.verified)) for s, r in scores.overall.iterrows()}
    assert got == expected
    assert sum(v is not None and s != v for s, v in expected.values()) > 100  # ratings really moved most scores


def test_several_template_versions_and_categorical_columns_give_the_same_figures():
    # a1 (s1, s2) stands on a second version (partly effective scores 60 there); subjects of the two versions
    # interleave, and the answers come as categoricals (as a loader may give them): the figures are the ones each
    # version gives alone, in the subjects' order.
    other = yaml.parse(HAND.format(extra="rating_scores: {partly_effective: 60}"))
    lib = scoring.library({"v1": TEMPLATE, "v2": other})
    mixed = SUBJECTS.assign(template_version=["v2", "v2", "v1", "v1"]).iloc[[2, 0, 3, 1]]
    both = scoring.score(lib, mixed, ANSWERS.astype("category"), RATINGS)
    one, two = run(), run(other)
    assert list(both.overall.index) == ["s3", "s1", "s4", "s2"]
    for subject, alone in (("s1", two), ("s2", two), ("s3", one), ("s4", one)):
        for part in ("overall", "areas", "controls", "recommendations"):
            got, expected = getattr(both, part).loc[subject], getattr(alone, part).loc[subject]
            pd.testing.assert_frame_equal(pd.DataFrame(got), pd.DataFrame(expected), check_names=False)
    assert both.controls.loc[("s2", "c2"), "verified"] == 60.0
    with pytest.raises(ValueError, match="a1"):  # one assessment answers one template version
        scoring.score(lib, SUBJECTS.assign(template_version=["v1", "v2", "v1", "v1"]), ANSWERS)
