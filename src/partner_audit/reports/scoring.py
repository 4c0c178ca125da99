"""The score engine: pure functions over pandas frames, no database and no HTTP (docs/scoring.md has the rules and
a worked example).

A question's score is its template's answer score, 0 to 100 (``controls.answers.score_of``). It counts only when
the question is shown (its ``show_if`` holds on the shown answers) and scored (has option scores). Control,
focus-area, overall and recommendation scores are weighted means (question weights) of the scored questions
beneath; N/A and unanswered questions are left out of the mean and counted, so a completeness figure sits beside
every score. The verified score replaces, for each control an audit rated, every shown scored question's score by
the rating's score (``RATING_SCORES`` unless the template sets ``rating_scores``; ``not_tested`` changes nothing).
The overall figure is the one ``audits.services.scores.overall`` gives for the same answers and ratings.

How it is computed, and why so: a subject is one (assessment, as-of date). Question states are worked out once per
assessment on a dense grid (assessments x the template's questions, numpy arrays), because visibility, N/A and
unanswered questions are properties of the grid's cells, not of answer rows: an unanswered question has no row.
Conditions resolve level by level (a loop over the depth of ``show_if`` chains, never over rows). Every level above
the question is a sum of weighted sums: questions to controls is one matrix product per quantity, and controls to
areas, overall and recommendations are matrix products of the control sums (sums of sums, never means of means).
The only Python loops are over template versions (usually one or two) and condition depth; answer values are
matched to options through their distinct values (``pd.factorize``), so no row is parsed unless it is a
multi-choice list.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from partner_audit.controls.answers import as_value
from partner_audit.controls.schemas import DEFAULT_RATING_SCORES, NA, OPTION_TYPES, Template

RATING_SCORES: dict[str, float] = dict(DEFAULT_RATING_SCORES)

NA_JSON = json.dumps(NA)  # how "does not apply" is stored: '"n/a"'

QUESTION_COLUMNS = ["template_version", "area_id", "area_title", "control_id", "control_title", "question_id",
                    "position", "weight", "scored", "show_if_question", "show_if_equals"]
OPTION_COLUMNS = ["template_version", "question_id", "value_json", "score"]
RECOMMENDATION_COLUMNS = ["template_version", "control_id", "recommendation"]
RATING_COLUMNS = ["template_version", "rating", "score"]

SCORE_COLUMNS = ["self_assessed", "verified", "answered", "not_applicable", "unanswered", "completeness"]


# --- the library: what the templates say --------------------------------------------------------------------


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


# --- scoring ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scores:
    """Every frame indexed by ``subject`` (and the part); scores are floats 0 to 100 (NaN when nothing scored),
    unrounded; counts are of shown, scored questions, from the self-assessment."""

    overall: pd.DataFrame  # index subject; SCORE_COLUMNS, audited
    areas: pd.DataFrame  # index (subject, area_id); SCORE_COLUMNS
    controls: pd.DataFrame  # index (subject, control_id); area_id, self_assessed, verified, rating, counts, completeness
    recommendations: pd.DataFrame  # index (subject, recommendation); self_assessed, verified, completeness


def _codes_in(column: pd.Series, index: pd.Index) -> np.ndarray:
    """Each value's position in ``index`` (-1 when absent). A categorical column is looked up by its categories
    only, which is what makes a categorical answers frame cheap."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        by_category = np.append(index.get_indexer(column.cat.categories.astype(str)), -1)
        return by_category[column.cat.codes.to_numpy()]  # code -1 (missing) picks the appended -1
    if len(column) and not isinstance(column.iat[0], str):  # ids as UUIDs (as PostgreSQL gives them): as text
        column = column.astype(str)
    return index.get_indexer(column)


def _factorize(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy().astype(np.int64), np.asarray(column.cat.categories, dtype=object)
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    return codes, np.asarray(uniques, dtype=object)


@dataclass
class _Answers:
    """The answer rows that belong to the subjects' assessments, as integer codes."""

    assessment: np.ndarray  # position among the subjects' distinct assessments
    question: np.ndarray  # position in the library's distinct question ids
    value: np.ndarray  # option value code, -1 for none
    answered: np.ndarray  # bool: a value is stored (N/A included)
    na: np.ndarray  # bool: N/A
    multi: np.ndarray  # index into ``lists`` for a multi-choice list, -1 otherwise
    lists: list[np.ndarray]  # each distinct list's option value codes


def _answers(comp: _Compiled, answers: pd.DataFrame, assessments: pd.Index, question_ids: pd.Index) -> _Answers:
    a = _codes_in(answers["assessment_id"], assessments)
    q = _codes_in(answers["question_id"], question_ids)
    keep = np.flatnonzero((a >= 0) & (q >= 0))
    vj, uniques = _factorize(answers["value_json"])
    a, q, vj = a[keep], q[keep], vj[keep]
    # Everything below looks at the distinct stored values, not at the rows.
    texts = pd.Series(uniques, dtype=object)
    found = comp.value_json.get_indexer(texts)
    u_value = np.where(found >= 0, comp.value_code[np.maximum(found, 0)], -1)
    u_na = (texts == NA_JSON).to_numpy()
    u_null = (texts == "null").to_numpy()
    u_list = texts.astype(str).str.startswith("[").to_numpy(dtype=bool)
    code = {v: i for i, v in enumerate(comp.values)}
    lists: list[np.ndarray] = []
    u_multi = np.full(len(texts), -1, dtype=np.int64)
    for i in np.flatnonzero(u_list):  # distinct multi-choice answers only: the rare path
        chosen = json.loads(texts.iat[i])
        u_multi[i] = len(lists)
        lists.append(np.array([code[v] for v in (as_value(c) for c in chosen) if v in code], dtype=np.int64))
    present = vj >= 0
    at = np.maximum(vj, 0)
    return _Answers(
        assessment=a, question=q,
        value=np.where(present, u_value[at], -1),
        answered=present & ~u_null[at], na=present & u_na[at],
        multi=np.where(present, u_multi[at], -1), lists=lists,
    )


def _ratio(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(whole > 0, part / np.where(whole > 0, whole, 1.0), np.nan)


def score(library: Library, subjects: pd.DataFrame, answers: pd.DataFrame,
          ratings: pd.DataFrame | None = None) -> Scores:
    """Self-assessed and verified scores of every subject: subject (unique), assessment_id, provider_id,
    template_version, as_of; answers: assessment_id, question_id, value_json; ratings: provider_id, control_id,
    rating, reported_on. For each subject and control the rating used is the latest with reported_on <= as_of
    (ties: the later row of ``ratings``)."""
    comp = library._compiled
    subjects = subjects.reset_index(drop=True)
    n_subjects = len(subjects)
    subject_of_assessment, assessment_ids = pd.factorize(subjects["assessment_id"].astype(str))
    assessments = pd.Index(assessment_ids, dtype=object)
    first = np.unique(subject_of_assessment, return_index=True)[1]
    version_of_subject = subjects["template_version"].astype(str).to_numpy(dtype=object)
    version_of_assessment = version_of_subject[first]
    torn = version_of_subject != version_of_assessment[subject_of_assessment]
    if torn.any():
        raise ValueError("an assessment stands on one template version; given two for "
                         + ", ".join(sorted(set(subjects["assessment_id"].astype(str)[torn]))))
    unknown = set(version_of_assessment) - set(comp.versions)
    if unknown:
        raise ValueError(f"template versions not in the library: {', '.join(sorted(unknown))}")
    given = _answers(comp, answers, assessments, comp.question_ids)
    rated = _latest_ratings(subjects, ratings)

    parts: dict[str, list[dict[str, np.ndarray]]] = {"controls": [], "areas": [], "overall": [],
                                                     "recommendations": []}
    control_level = pd.Index(sorted({c for v in comp.versions.values() for c in v.controls}), dtype=object)
    area_level = pd.Index(sorted({a for v in comp.versions.values() for a in v.areas}), dtype=object)
    rec_level = pd.Index(sorted({int(r) for v in comp.versions.values() for r in v.recommendations}), dtype=np.int64)
    # A loop over template versions (the library, usually one or two), each a block of vectorised arrays.
    for vid in pd.unique(version_of_assessment):
        version = comp.versions[vid]
        block = np.flatnonzero(version_of_assessment == vid)  # assessments of this version
        sums = _assessment_sums(version, comp.positions[vid], given, block, len(block) == len(assessments))
        in_block = np.flatnonzero(version_of_subject == vid)
        local = np.searchsorted(block, subject_of_assessment[in_block])
        _subject_parts(version, sums, local, in_block, rated, parts, control_level, area_level, rec_level)

    subject_index = pd.Index(subjects["subject"].to_numpy(dtype=object), dtype=object, name="subject")
    return Scores(
        overall=_frame(parts["overall"], subject_index, None, None, n_subjects),
        areas=_frame(parts["areas"], subject_index, area_level, "area_id", n_subjects),
        controls=_frame(parts["controls"], subject_index, control_level, "control_id", n_subjects),
        recommendations=_frame(parts["recommendations"], subject_index, rec_level, "recommendation", n_subjects),
    )


def _assessment_sums(version: _Version, positions: np.ndarray, given: _Answers, block: np.ndarray, every: bool
                     ) -> dict[str, np.ndarray]:
    """Per assessment of ``block`` and control of ``version``: the weighted sums of the self-assessment, the weight
    of every shown scored question (what a rating scores over), and the counts."""
    n_a, n_q = len(block), len(version.questions)
    if every:  # one template version: every answer row is in this block, and block[i] == i
        rows = np.arange(len(given.assessment))
        a = given.assessment
    else:
        rows = np.flatnonzero(np.isin(given.assessment, block))
        a = np.searchsorted(block, given.assessment[rows])
    pos = positions[given.question[rows]]
    ok = pos >= 0
    rows, a, pos = rows[ok], a[ok], pos[ok]
    value = given.value[rows]

    score = np.full((n_a, n_q), np.nan)
    single = value >= 0
    score[a[single], pos[single]] = version.option_score[pos[single], value[single]]
    answered = np.zeros((n_a, n_q), dtype=bool)
    answered[a, pos] = given.answered[rows]
    na = np.zeros((n_a, n_q), dtype=bool)
    na[a, pos] = given.na[rows]

    # Multi-choice lists: the sum of the chosen options' scores (an option without one adds 0), at most 100.
    multi = np.flatnonzero(given.multi[rows] >= 0)
    pair_row = pair_value = np.empty(0, dtype=np.int64)
    if len(multi):
        lengths = np.array([len(given.lists[m]) for m in given.multi[rows[multi]]], dtype=np.int64)
        pair_row = np.repeat(multi, lengths)
        pair_value = (np.concatenate([given.lists[m] for m in given.multi[rows[multi]]])
                      if lengths.sum() else np.empty(0, dtype=np.int64))
        totals = np.bincount(np.repeat(np.arange(len(multi)), lengths),
                             weights=np.nan_to_num(version.option_score[pos[pair_row], pair_value]),
                             minlength=len(multi))
        score[a[multi], pos[multi]] = np.minimum(totals, 100.0)

    shown = _shown(version, n_a, a, pos, value, single, pair_row, pair_value)
    counted = shown & version.scored[None, :]
    is_scored = counted & ~np.isnan(score)
    is_na = counted & na & ~is_scored
    is_unanswered = counted & ~is_scored & ~is_na
    weight = version.weight[None, :]
    qc = version.question_control
    return {
        "weighted": (np.where(is_scored, score, 0.0) * weight) @ qc,
        "weight": (is_scored * weight) @ qc,
        "counted_weight": (counted * weight) @ qc,
        "answered": is_scored.astype(float) @ qc,
        "not_applicable": is_na.astype(float) @ qc,
        "unanswered": is_unanswered.astype(float) @ qc,
    }


def _shown(version: _Version, n_a: int, a: np.ndarray, pos: np.ndarray, value: np.ndarray, single: np.ndarray,
           pair_row: np.ndarray, pair_value: np.ndarray) -> np.ndarray:
    """Which questions show, per assessment: a question shows when its condition's question shows and its answer
    is (or, for a list, includes) one of the condition's values. Resolved one level of condition depth at a time."""
    shown = np.ones((n_a, len(version.questions)), dtype=bool)
    if not (version.condition >= 0).any():
        return shown
    # Single answers: the value each condition question holds, looked up per condition (a gather, no search).
    held = np.full((n_a, len(version.questions)), -1, dtype=np.int64)
    held[a[single], pos[single]] = value[single]
    # Lists (multi-choice conditions, rare): which values each listed answer includes.
    listed = np.unique(pos[pair_row]) if len(pair_row) else np.empty(0, dtype=np.int64)
    slot = np.full(len(version.questions), -1, dtype=np.int64)
    slot[listed] = np.arange(len(listed))
    includes = np.zeros((n_a, len(listed), version.equals.shape[1]), dtype=bool)
    includes[a[pair_row], slot[pos[pair_row]], pair_value] = True
    for level in range(1, int(version.depth.max()) + 1):
        at = np.flatnonzero(version.depth == level)
        on = version.condition[at]
        value_on = held[:, on]
        match = (value_on >= 0) & version.equals[at[None, :], np.maximum(value_on, 0)]
        by_list = slot[on] >= 0
        if by_list.any():
            lists = includes[:, slot[on[by_list]], :] & version.equals[at[by_list]][None, :, :]
            match[:, by_list] |= lists.any(axis=2)
        shown[:, at] = shown[:, on] & match
    return shown


def _latest_ratings(subjects: pd.DataFrame, ratings: pd.DataFrame | None) -> pd.DataFrame:
    """Per subject and control, the latest rating reported on or before the subject's as-of date."""
    empty = pd.DataFrame({"subject_row": np.empty(0, dtype=np.int64), "control_id": [], "rating": []})
    if ratings is None or ratings.empty:
        return empty
    left = pd.DataFrame({"subject_row": np.arange(len(subjects)), "provider_id": subjects["provider_id"].astype(str),
                         "as_of": pd.to_datetime(subjects["as_of"])})
    right = pd.DataFrame({"provider_id": ratings["provider_id"].astype(str),
                          "control_id": ratings["control_id"].astype(str), "rating": ratings["rating"].astype(str),
                          "reported_on": pd.to_datetime(ratings["reported_on"]), "order": np.arange(len(ratings))})
    both = left.merge(right, on="provider_id", how="inner")
    both = both[both["reported_on"] <= both["as_of"]]
    both = both.sort_values(["reported_on", "order"], kind="stable")
    return both.drop_duplicates(["subject_row", "control_id"], keep="last")[["subject_row", "control_id", "rating"]]


def _subject_parts(version: _Version, sums: dict[str, np.ndarray], local: np.ndarray, rows: np.ndarray,
                   rated: pd.DataFrame, parts: dict[str, list[dict[str, np.ndarray]]], control_level: pd.Index,
                   area_level: pd.Index, rec_level: pd.Index) -> None:
    """The subjects' control, area, overall and recommendation figures: the verified sums put each rated control's
    rating score over all of its shown scored questions; every level above the control is a sum of sums."""
    n_s, n_c = len(rows), len(version.controls)
    at = {k: v[local] for k, v in sums.items()}
    rating_score = np.full((n_s, n_c), np.nan)
    rating = np.full((n_s, n_c), None, dtype=object)
    mine = rated[np.isin(rated["subject_row"].to_numpy(), rows)]
    s = np.searchsorted(rows, mine["subject_row"].to_numpy())
    c = pd.Index(version.controls).get_indexer(mine["control_id"])
    ok = c >= 0
    rating[s[ok], c[ok]] = mine["rating"].to_numpy(dtype=object)[ok]
    rating_score[s[ok], c[ok]] = mine["rating"].map(version.ratings).to_numpy(dtype=float)[ok]
    overridden = ~np.isnan(rating_score)
    verified_weighted = np.where(overridden, np.nan_to_num(rating_score) * at["counted_weight"], at["weighted"])
    verified_weight = np.where(overridden, at["counted_weight"], at["weight"])

    stacked = np.stack([at["weighted"], at["weight"], verified_weighted, verified_weight, at["answered"],
                        at["not_applicable"], at["unanswered"]])

    def figures(matrix: np.ndarray | str) -> dict[str, np.ndarray]:
        """The figures of the parts ``matrix`` sums controls into ("control": each its own, "all": overall)."""
        if isinstance(matrix, str):
            summed = stacked if matrix == "control" else stacked.sum(axis=2)
        else:  # one matrix product for all seven quantities
            summed = (stacked.reshape(-1, n_c) @ matrix).reshape(len(stacked), n_s, -1)
        weighted, weight, v_weighted, v_weight, answered, na, unanswered = summed
        return {
            "self_assessed": _ratio(weighted, weight),
            "verified": _ratio(v_weighted, v_weight),
            "answered": answered, "not_applicable": na, "unanswered": unanswered,
            "completeness": _ratio((answered + na) * 100.0, answered + na + unanswered),
        }

    def long(values: dict[str, np.ndarray], level: pd.Index, labels: np.ndarray) -> dict[str, np.ndarray]:
        width = len(labels)
        out = {k: v.reshape(-1) for k, v in values.items()}
        out["subject"] = np.repeat(rows, width)
        out["part"] = np.tile(level.get_indexer(labels), n_s)
        out["order"] = np.tile(np.arange(width), n_s)
        return out

    controls = figures("control")
    controls["area_id"] = np.broadcast_to(version.areas[version.control_area.argmax(axis=1)], (n_s, n_c))
    controls["rating"] = rating
    parts["controls"].append(long(controls, control_level, version.controls))
    parts["areas"].append(long(figures(version.control_area), area_level, version.areas))
    total = figures("all")
    total["audited"] = overridden.any(axis=1)
    total["subject"] = rows
    total["order"] = np.zeros(n_s, dtype=np.int64)
    parts["overall"].append(total)
    recs = figures(version.control_recommendation)
    parts["recommendations"].append(long({k: recs[k] for k in ("self_assessed", "verified", "completeness")},
                                         rec_level, version.recommendations))


_COUNTS = ("answered", "not_applicable", "unanswered")
_ORDER = {
    "controls": ["area_id", "self_assessed", "verified", "rating", *_COUNTS, "completeness"],
    "areas": SCORE_COLUMNS,
    "overall": [*SCORE_COLUMNS, "audited"],
    "recommendations": ["self_assessed", "verified", "completeness"],
}


def _frame(blocks: list[dict[str, np.ndarray]], subjects: pd.Index, level: pd.Index | None, name: str | None,
           n_subjects: int) -> pd.DataFrame:
    kind = "overall" if level is None else {"area_id": "areas", "control_id": "controls",
                                            "recommendation": "recommendations"}[name or ""]
    columns = _ORDER[kind]
    if blocks:
        data = {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}
    else:
        data = {k: np.empty(0) for k in [*columns, "subject", "part", "order"]}
    key = data["subject"].astype(np.int64) * (int(data["order"].max(initial=0)) + 1) + data["order"]
    # One template version gives the rows in order already; several interleave and are sorted back.
    order = np.arange(len(key)) if (np.diff(key) >= 0).all() else np.argsort(key, kind="stable")
    out: dict[str, Any] = {}
    for column in columns:
        values = data[column][order]
        if column in _COUNTS:
            values = values.round().astype(np.int64)
        elif column in ("rating", "area_id"):
            values = pd.array(values, dtype="str")
        elif column == "audited":
            values = values.astype(bool)
        out[column] = values
    subject_codes = data["subject"][order].astype(np.int64)
    if level is None:
        index: pd.Index = subjects[subject_codes]
    else:
        index = pd.MultiIndex(levels=[subjects, level], codes=[subject_codes, data["part"][order].astype(np.int64)],
                              names=["subject", name], verify_integrity=False)
    return pd.DataFrame(out, index=index, columns=columns)


# --- bands ---------------------------------------------------------------------------------------------------------


def bands(scores: pd.Series, green_from: float, amber_from: float) -> pd.Series:
    """Each score's band: "green" at or above ``green_from``, "amber" at or above ``amber_from``, else "red"; NaN
    for no score. Judged on the score as shown (one decimal), so a shown 80.0 is never amber."""
    shown = scores.astype(float).round(1)
    band = np.select([shown >= green_from, shown >= amber_from, shown.notna()], ["green", "amber", "red"], "")
    return pd.Series(band, index=scores.index, dtype="str").replace("", np.nan)


def _figure(x: float) -> str:
    return f"{x:g}"


def band_words(green_from: float, amber_from: float) -> dict[str, str]:
    """The words beside each band's colour, e.g. {"green": "Green: 80 or more", "amber": "Amber: 50 to 79.9",
    "red": "Red: below 50"} (scores are shown to one decimal)."""
    return {
        "green": f"Green: {_figure(green_from)} or more",
        "amber": f"Amber: {_figure(amber_from)} to {_figure(round(green_from - 0.1, 1))}",
        "red": f"Red: below {_figure(amber_from)}",
    }


__all__ = ["RATING_SCORES", "Library", "Scores", "band_words", "bands", "library", "score"]
