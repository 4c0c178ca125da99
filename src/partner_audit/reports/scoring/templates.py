"""What the templates say, as frames (``Library``: questions, options, recommendations, rating scores), built once
per set of template versions by ``library()``, and compiled on construction to the arrays ``engine.score`` works
on (``_Compiled``: one ``_Version`` a template version, option values coded once for the whole library).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from partner_audit.controls.answers import as_value
from partner_audit.controls.schemas import DEFAULT_RATING_SCORES, OPTION_TYPES, Template

RATING_SCORES: dict[str, float] = dict(DEFAULT_RATING_SCORES)  # the default; a template may set its own

QUESTION_COLUMNS = ["template_version", "area_id", "area_title", "control_id", "control_title", "question_id",
                    "position", "weight", "scored", "show_if_question", "show_if_equals"]
OPTION_COLUMNS = ["template_version", "question_id", "value_json", "score"]
RECOMMENDATION_COLUMNS = ["template_version", "control_id", "recommendation"]
RATING_COLUMNS = ["template_version", "rating", "score"]


@dataclass(frozen=True)
class _Version:
    """One template version compiled to arrays; questions, controls, areas and recommendations by position in
    template order. ``V`` is the library's list of option values (``_Compiled.values``)."""

    questions: np.ndarray  # [P] question ids
    weight: np.ndarray  # [P] float
    scored: np.ndarray  # [P] bool: has option scores
    condition: np.ndarray  # [P] position of the show_if question, -1 for none
    depth: np.ndarray  # [P] 0 without a condition, else 1 + its condition's depth
    equals: np.ndarray  # [P, V] bool: the values that show the question
    option_score: np.ndarray  # [P, V] float, NaN where the value is no option or its option has no score
    question_control: np.ndarray  # [P, C] 1.0 where the question belongs to the control
    controls: np.ndarray  # [C] control ids
    control_area: np.ndarray  # [C, A] 1.0 where the control belongs to the area
    areas: np.ndarray  # [A] area ids
    control_recommendation: np.ndarray  # [C, R] 1.0 where the control carries the recommendation
    recommendations: np.ndarray  # [R] recommendation numbers
    ratings: dict[str, float]  # rating -> score


@dataclass(frozen=True)
class _Compiled:
    versions: dict[str, _Version]
    question_ids: pd.Index  # every question id of every version
    positions: dict[str, np.ndarray]  # per version: each of ``question_ids``' position in it, -1 where absent
    values: list[str]  # V: every option value of every version
    value_json: pd.Index  # stored JSON texts of the option values (and number forms: '3' beside '"3"')
    value_code: np.ndarray  # the code in ``values`` of each entry of ``value_json``


@dataclass(frozen=True)
class Library:
    """What the templates say, as frames; built once per set of template versions (``library()``)."""

    questions: pd.DataFrame  # QUESTION_COLUMNS (+ type)
    options: pd.DataFrame  # OPTION_COLUMNS (+ value: the option's value as text)
    recommendations: pd.DataFrame  # RECOMMENDATION_COLUMNS
    ratings: pd.DataFrame  # RATING_COLUMNS
    _compiled: _Compiled = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", _compile(self))


def library(versions: Mapping[str, Template]) -> Library:
    """The library's frames from parsed templates (template version id -> Template)."""
    questions: list[dict[str, Any]] = []
    options: list[dict[str, Any]] = []
    recommendations: list[dict[str, Any]] = []
    ratings: list[dict[str, Any]] = []
    for version_id, template in versions.items():
        vid = str(version_id)
        for position, (area, control, question) in enumerate(template.questions()):
            condition = question.show_if
            questions.append({
                "template_version": vid, "area_id": area.id, "area_title": area.title, "control_id": control.id,
                "control_title": control.title, "question_id": question.id, "position": position,
                "weight": float(question.weight), "scored": question.scored,
                "show_if_question": condition.question if condition else None,
                "show_if_equals": list(condition.equals) if condition else None, "type": question.type.value,
            })
            if question.type in OPTION_TYPES:
                options.extend({"template_version": vid, "question_id": question.id,
                                "value_json": json.dumps(o.value), "score": o.score, "value": o.value}
                               for o in question.options)
        for area in template.areas:
            for control in area.controls:
                recommendations.extend({"template_version": vid, "control_id": control.id, "recommendation": n}
                                       for n in control.recommendations)
        ratings.extend({"template_version": vid, "rating": rating, "score": float(template.rating_score(rating))}
                       for rating in DEFAULT_RATING_SCORES)
    return Library(
        questions=pd.DataFrame(questions, columns=[*QUESTION_COLUMNS, "type"]),
        options=pd.DataFrame(options, columns=[*OPTION_COLUMNS, "value"]).astype({"score": float}),
        recommendations=pd.DataFrame(recommendations, columns=RECOMMENDATION_COLUMNS).astype({"recommendation": int}),
        ratings=pd.DataFrame(ratings, columns=RATING_COLUMNS),
    )


def _option_value(value_json: str) -> str | None:
    return as_value(json.loads(value_json))


def _number_forms(value: str) -> list[str]:
    """Other JSON texts an option value may be stored as: a maturity level '3' may arrive as the number 3."""
    try:
        number = float(value)
    except ValueError:
        return []
    if not np.isfinite(number):
        return []
    forms = [json.dumps(number)]
    if number.is_integer():
        forms.append(json.dumps(int(number)))
    return forms


def _compile(lib: Library) -> _Compiled:
    """Arrays for ``score``, from the frames (so a Library built from frames works as well as one from templates).
    Loops here run over the library (versions, questions), never over answers."""
    q = lib.questions
    opts = lib.options
    option_values = opts["value"] if "value" in opts else opts["value_json"].map(_option_value)
    values = sorted({v for v in option_values.dropna().astype(str)}
                    | {str(v) for eq in q["show_if_equals"].dropna() for v in eq})
    code = {v: i for i, v in enumerate(values)}
    json_forms: dict[str, int] = {}
    for value, i in code.items():
        for form in _number_forms(value):
            json_forms.setdefault(form, i)
    for value, i in code.items():
        json_forms[json.dumps(value)] = i
    n_values = len(values)

    versions: dict[str, _Version] = {}
    for vid, vq in q.groupby("template_version", sort=False):
        vq = vq.sort_values("position", kind="stable")
        ids = vq["question_id"].astype(str).to_numpy(dtype=object)
        position = {qid: i for i, qid in enumerate(ids)}
        n = len(ids)
        condition = np.array([position.get(c, -1) if isinstance(c, str) else -1 for c in vq["show_if_question"]],
                             dtype=np.int64)
        depth = np.zeros(n, dtype=np.int64)
        for i in range(n):  # conditions point to earlier questions, so one pass in template order suffices
            if condition[i] >= 0:
                depth[i] = depth[condition[i]] + 1
        equals = np.zeros((n, n_values), dtype=bool)
        for i, eq in enumerate(vq["show_if_equals"]):
            if isinstance(eq, (list, tuple, np.ndarray)):
                equals[i, [code[str(v)] for v in eq if str(v) in code]] = True
        option_score = np.full((n, n_values), np.nan)
        vo = opts[opts["template_version"] == vid]
        vo_values = option_values[vo.index]
        rows = np.array([position.get(qid, -1) for qid in vo["question_id"]], dtype=np.int64)
        cols = np.array([code.get(str(v), -1) if v is not None else -1 for v in vo_values], dtype=np.int64)
        ok = (rows >= 0) & (cols >= 0)
        option_score[rows[ok], cols[ok]] = vo["score"].to_numpy(dtype=float)[ok]
        controls, control_of = _positions(vq["control_id"])
        areas, area_of_question = _positions(vq["area_id"])
        control_area = np.zeros((len(controls), len(areas)))
        control_area[control_of, area_of_question] = 1.0
        vr = lib.recommendations[lib.recommendations["template_version"] == vid]
        recs = np.array(sorted(set(vr["recommendation"].astype(int))), dtype=np.int64)
        control_recommendation = np.zeros((len(controls), len(recs)))
        c_index = pd.Index(controls).get_indexer(vr["control_id"])
        r_index = pd.Index(recs).get_indexer(vr["recommendation"].astype(int))
        known = c_index >= 0
        control_recommendation[c_index[known], r_index[known]] = 1.0
        question_control = np.zeros((n, len(controls)))
        question_control[np.arange(n), control_of] = 1.0
        vratings = lib.ratings[lib.ratings["template_version"] == vid]
        versions[str(vid)] = _Version(
            questions=ids, weight=vq["weight"].to_numpy(dtype=float), scored=vq["scored"].to_numpy(dtype=bool),
            condition=condition, depth=depth, equals=equals, option_score=option_score,
            question_control=question_control, controls=controls, control_area=control_area, areas=areas,
            control_recommendation=control_recommendation, recommendations=recs,
            ratings=dict(zip(vratings["rating"].astype(str), vratings["score"].astype(float), strict=True)),
        )
    keys = pd.Index(list(json_forms), dtype=object)
    question_ids = pd.Index(sorted({qid for v in versions.values() for qid in v.questions}), dtype=object)
    positions = {vid: pd.Index(v.questions).get_indexer(question_ids) for vid, v in versions.items()}
    return _Compiled(versions=versions, question_ids=question_ids, positions=positions, values=values,
                     value_json=keys,
                     value_code=np.array(list(json_forms.values()), dtype=np.int64))


def _positions(labels: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(distinct labels in order of first appearance, each row's position among them)."""
    codes, uniques = pd.factorize(labels.astype(str))
    return np.asarray(uniques, dtype=object), codes
