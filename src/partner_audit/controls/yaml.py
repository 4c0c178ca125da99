"""Template files: YAML text in, a checked ``Template`` out, or every problem in it.

A template is checked as a whole, so its author sees every problem at once, each with its path in the file
(``areas[2].controls[0].questions[3].weight``) and line, rather than fixing them one run at a time. What the
answers mean (the fixed options of a yes/no question, what a value may be) is ``answers``'s; loading a checked
template as a version is ``service``'s.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import yaml

from partner_audit.controls.answers import FIXED_OPTIONS, as_value, is_number
from partner_audit.controls.schemas import DEFAULT_RATING_SCORES, NA, OPTION_TYPES, Option, QuestionType, Template
from partner_audit.errors import Invalid

SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
SLUG_MAX = 80  # Answer.question_id is Varchar(80)

TEMPLATE_FIELDS = {"key", "title", "version", "description", "areas", "rating_scores"}
AREA_FIELDS = {"id", "title", "controls"}
CONTROL_FIELDS = {"id", "title", "description", "recommendations", "questions"}
QUESTION_FIELDS = {"id", "text", "help", "type", "weight", "required", "evidence", "evidence_on", "options",
                   "min", "max", "allow_na", "show_if"}
OPTION_FIELDS = {"value", "label", "score"}
CONDITION_FIELDS = {"question", "equals"}
EVIDENCE = ("never", "always", "on_answers")


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        return f"{self.path}: {self.message}{where}" if self.path else f"{self.message}{where}"


# --- reading YAML, with the line of every path ---------------------------------------------------------


def _child(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _index_lines(node: yaml.Node, path: str, lines: dict[str, int], problems: list[Problem],
                 seen: set[int]) -> None:
    """Record the line of every path, and catch duplicate keys (PyYAML would silently keep the last)."""
    if id(node) in seen:  # an alias: walked once, so a recursive or nested-alias file cannot make this loop
        return
    seen.add(id(node))
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        first_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key_path, line = _child(path, key_node.value), key_node.start_mark.line + 1
            if key_node.value in first_seen:
                problems.append(Problem(key_path, f"appears twice (lines {first_seen[key_node.value]} and {line}); "
                                        "only one may be given", line))
                continue
            first_seen[key_node.value] = line
            lines[key_path] = line
            _index_lines(value_node, key_path, lines, problems, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, _child(path, i), lines, problems, seen)


def _read_yaml(text: str) -> tuple[Any, dict[str, int], list[Problem]]:
    lines: dict[str, int] = {}
    problems: list[Problem] = []
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, lines, [Problem("", "the file is empty: a template needs key, title, version and areas")]
        _index_lines(node, "", lines, problems, set())
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return None, lines, [Problem(where, f"YAML syntax error: {exc.problem or exc.context}")]
    except yaml.YAMLError as exc:
        return None, lines, [Problem("", f"YAML syntax error: {exc}")]
    finally:
        loader.dispose()
    return data, lines, problems


# --- checking ------------------------------------------------------------------------------------------


def _declared_question_ids(template: dict[str, Any]) -> list[str]:
    """Question ids as written, however broken the rest: tells "comes later" from "does not exist"."""
    def items(d: Any, key: str) -> list[Any]:
        found = d.get(key) if isinstance(d, dict) else None
        return found if isinstance(found, list) else []

    return [str(q["id"]) for a in items(template, "areas") for c in items(a, "controls")
            for q in items(c, "questions") if isinstance(q, dict) and q.get("id") is not None]


class _Checker:
    def __init__(self, lines: dict[str, int]) -> None:
        self.lines = lines
        self.problems: list[Problem] = []
        self.question_ids: dict[str, str] = {}  # id -> path of its first use
        self.control_ids: dict[str, str] = {}
        self.area_ids: dict[str, str] = {}
        self.earlier: dict[str, dict[str, Any]] = {}  # checked questions so far, for show_if
        self.all_question_ids: set[str] = set()

    def problem(self, path: str, message: str) -> None:
        probe = path
        while probe and probe not in self.lines:
            probe = probe.rpartition(".")[0] if "." in probe else (probe.rpartition("[")[0])
        self.problems.append(Problem(path, message, self.lines.get(probe)))

    # fields

    def mapping(self, raw: Any, path: str, allowed: set[str], required: tuple[str, ...], what: str
                ) -> dict[str, Any] | None:
        if not isinstance(raw, dict):
            self.problem(path, f"must be a {what}: a block of 'name: value' lines")
            return None
        for key in raw:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else f" (allowed: {', '.join(sorted(allowed))})"
                self.problem(_child(path, str(key)), f"unknown field{hint}")
        for key in required:
            if raw.get(key) is None:
                self.problem(_child(path, key), "is required")
        return raw

    def text(self, d: dict[str, Any], key: str, path: str, *, required: bool = True, max_length: int = 5000
             ) -> str:
        raw = d.get(key)
        if raw is None:
            return ""  # a missing required field was reported by mapping()
        if not isinstance(raw, str):
            self.problem(_child(path, key), "must be text (put it in quotes if it looks like a number or yes/no)")
            return ""
        value = raw.strip()
        if required and not value:
            self.problem(_child(path, key), "must not be empty")
        elif len(value) > max_length:
            self.problem(_child(path, key), f"is too long ({len(value)} characters; at most {max_length})")
        return value

    def slug(self, d: dict[str, Any], key: str, path: str, seen: dict[str, str] | None, what: str) -> str:
        raw = d.get(key)
        if raw is None:
            return ""
        value = raw if isinstance(raw, str) else str(raw)
        if not SLUG.match(value) or len(value) > SLUG_MAX:
            self.problem(_child(path, key), f"'{value}' is not a valid {what} id: use lower-case letters, digits, "
                         f"- and _ (at most {SLUG_MAX} characters), e.g. privacy-lead")
        elif seen is not None:
            if value in seen:
                self.problem(_child(path, key), f"'{value}' is already the id of the {what} at {seen[value]}: "
                             f"{what} ids must be unique in the template")
            else:
                seen[value] = path
        return value

    def boolean(self, d: dict[str, Any], key: str, path: str, default: bool) -> bool:
        raw = d.get(key, default)
        if not isinstance(raw, bool):
            self.problem(_child(path, key), "must be true or false")
            return default
        return raw

    def number(self, d: dict[str, Any], key: str, path: str) -> float | None:
        raw = d.get(key)
        if raw is None:
            return None
        if not is_number(raw):
            self.problem(_child(path, key), "must be a number")
            return None
        return float(raw)

    def items(self, d: dict[str, Any], key: str, path: str, what: str) -> list[Any]:
        raw = d.get(key)
        if raw is None:
            return []
        if not isinstance(raw, list) or not raw:
            self.problem(_child(path, key), f"must be a list of at least one {what}")
            return []
        return raw

    def values(self, raw: Any, path: str) -> list[str]:
        """One answer value or a list of them (for evidence_on and show_if.equals)."""
        items = raw if isinstance(raw, list) else [raw]
        out: list[str] = []
        for i, item in enumerate(items):
            value = as_value(item)
            if value is None:
                self.problem(_child(path, i) if isinstance(raw, list) else path, "must be an answer value")
            else:
                out.append(value)
        if isinstance(raw, list) and not raw:
            self.problem(path, "must name at least one answer value")
        return out

    # the template, top down

    def template(self, raw: Any) -> dict[str, Any] | None:
        d = self.mapping(raw, "", TEMPLATE_FIELDS, ("key", "title", "version", "areas"), "template")
        if d is None:
            return None
        self.all_question_ids = set(_declared_question_ids(d))
        version = d.get("version")
        if is_number(version):
            self.problem("version", f'must be text: write it in quotes, e.g. version: "{version}" '
                         "(unquoted, 2024.10 would read as 2024.1)")
            version_text = ""
        else:
            version_text = self.text(d, "version", "", max_length=40)
        key = self.slug(d, "key", "", None, "template")
        out = {
            "key": key,
            "title": self.text(d, "title", "", max_length=200),
            "version": version_text,
            "description": self.text(d, "description", "", required=False),
            "areas": [self.area(a, f"areas[{i}]") for i, a in enumerate(self.items(d, "areas", "", "focus area"))],
        }
        if d.get("rating_scores") is not None:
            out["rating_scores"] = self.rating_scores(d["rating_scores"], "rating_scores")
        return out

    def rating_scores(self, raw: Any, path: str) -> dict[str, float]:
        """What each audit rating scores; a rating left out keeps its default, filled in here so that readers
        never re-apply defaults."""
        out = dict(DEFAULT_RATING_SCORES)
        if not isinstance(raw, dict):
            self.problem(path, "must map audit ratings to scores, e.g. {effective: 100, partly_effective: 60, "
                         "ineffective: 0}")
            return out
        for rating, score in raw.items():
            where = _child(path, rating)
            if rating not in DEFAULT_RATING_SCORES:
                self.problem(where, f"'{rating}' is not an audit rating that scores (one of "
                             f"{', '.join(DEFAULT_RATING_SCORES)}; not_tested never changes a score)")
            elif not is_number(score) or not 0 <= score <= 100:
                self.problem(where, f"{score!r} must be a number from 0 to 100")
            else:
                out[rating] = float(score)
        return out

    def area(self, raw: Any, path: str) -> dict[str, Any]:
        d = self.mapping(raw, path, AREA_FIELDS, ("id", "title", "controls"), "focus area") or {}
        return {
            "id": self.slug(d, "id", path, self.area_ids, "focus area"),
            "title": self.text(d, "title", path, max_length=200),
            "controls": [self.control(c, f"{path}.controls[{i}]")
                         for i, c in enumerate(self.items(d, "controls", path, "control"))],
        }

    def control(self, raw: Any, path: str) -> dict[str, Any]:
        d = self.mapping(raw, path, CONTROL_FIELDS, ("id", "title", "recommendations", "questions"), "control") or {}
        return {
            "id": self.slug(d, "id", path, self.control_ids, "control"),
            "title": self.text(d, "title", path, max_length=200),
            "description": self.text(d, "description", path, required=False),
            "recommendations": self.recommendations(d.get("recommendations"), _child(path, "recommendations")),
            "questions": [self.question(q, f"{path}.questions[{i}]")
                          for i, q in enumerate(self.items(d, "questions", path, "question"))],
        }

    def recommendations(self, raw: Any, path: str) -> list[int]:
        if raw is None:
            return []
        items = raw if isinstance(raw, list) else [raw]
        if not items:
            self.problem(path, "must name at least one of the plan's recommendation numbers, e.g. [22]")
        out: list[int] = []
        for i, item in enumerate(items):
            where = _child(path, i) if isinstance(raw, list) else path
            if isinstance(item, bool) or not isinstance(item, int) or item < 1:
                self.problem(where, f"{item!r} is not a recommendation number (a whole number from 1)")
            elif item in out:
                self.problem(where, f"recommendation {item} is listed twice")
            else:
                out.append(item)
        return out

    def question(self, raw: Any, path: str) -> dict[str, Any]:
        d = self.mapping(raw, path, QUESTION_FIELDS, ("id", "text", "type"), "question") or {}
        qid = self.slug(d, "id", path, self.question_ids, "question")
        qtype = None
        if d.get("type") is not None:
            try:
                qtype = QuestionType(d["type"])
            except ValueError:
                self.problem(_child(path, "type"), f"{d['type']!r} is not a question type (one of: "
                             f"{', '.join(t.value for t in QuestionType)})")
        weight = d.get("weight", 1)
        if not is_number(weight):
            self.problem(_child(path, "weight"), "must be a number")
            weight = 1
        elif weight <= 0:
            self.problem(_child(path, "weight"), "must be > 0")
        q: dict[str, Any] = {
            "id": qid,
            "text": self.text(d, "text", path),
            "help": self.text(d, "help", path, required=False),
            "type": qtype.value if qtype else None,
            "weight": float(weight),
            "required": self.boolean(d, "required", path, True),
            "allow_na": self.boolean(d, "allow_na", path, False),
            "options": self.options(d, path, qtype),
            "min": self.number(d, "min", path),
            "max": self.number(d, "max", path),
        }
        self.bounds(q, d, path, qtype)
        self.evidence(q, d, path, qtype)
        q["show_if"] = self.condition(d.get("show_if"), _child(path, "show_if"), qid)
        if qid and qtype and qid not in self.earlier:
            self.earlier[qid] = q
        return q

    def options(self, d: dict[str, Any], path: str, qtype: QuestionType | None) -> list[dict[str, Any]]:
        raw, opath = d.get("options"), _child(path, "options")
        if qtype is None:
            return []
        if qtype not in OPTION_TYPES:
            if raw is not None:
                self.problem(opath, f"a {qtype.value} question has no options (only "
                             f"{', '.join(sorted(t.value for t in OPTION_TYPES))} do)")
            return []
        fixed = {o.value: o for o in FIXED_OPTIONS.get(qtype, [])}
        if raw is None:
            if fixed:
                return [msgspec.to_builtins(o) for o in fixed.values()]
            self.problem(opath, f"a {qtype.value} question needs at least 2 options")
            return []
        if not isinstance(raw, list) or (not fixed and len(raw) < 2):
            self.problem(opath, f"a {qtype.value} question needs a list of at least 2 options")
            return []
        out: list[dict[str, Any]] = []
        for i, item in enumerate(raw):
            option = self.option(item, _child(opath, i), fixed)
            if option is None:
                continue
            if any(o["value"] == option["value"] for o in out):
                self.problem(_child(_child(opath, i), "value"), f"'{option['value']}' is already an option: "
                             "option values must be unique")
                continue
            out.append(option)
        given = {o["value"] for o in out}
        if fixed and given != set(fixed) and len(out) == len(raw):
            self.problem(opath, f"a {qtype.value} question's options must be exactly {', '.join(fixed)} "
                         "(relabel or rescore them, or use a choice question)")
        return out

    def option(self, raw: Any, path: str, fixed: dict[str, Option]) -> dict[str, Any] | None:
        d = {"value": raw} if not isinstance(raw, dict) else raw
        if isinstance(raw, dict):
            self.mapping(raw, path, OPTION_FIELDS, ("value",), "option")
        value = as_value(d.get("value"))
        if value is None:
            if not isinstance(raw, dict) or "value" in raw:
                self.problem(_child(path, "value") if isinstance(raw, dict) else path,
                             "must be a value: text, a number or yes/no")
            return None
        if value.lower() == NA:
            self.problem(path, f"'{NA}' is kept for 'does not apply': use allow_na: true instead")
            return None
        default = fixed.get(value)
        label = d.get("label", default.label if default else value)
        if not isinstance(label, str) or not label.strip():
            self.problem(_child(path, "label"), "must be text")
            label = value
        score = d.get("score", default.score if default else None)
        if score is not None and (not is_number(score) or not 0 <= score <= 100):
            self.problem(_child(path, "score"), f"{score!r} must be a number from 0 to 100 (or null: not scored)")
            score = None
        return {"value": value, "label": label.strip(), "score": None if score is None else float(score)}

    def bounds(self, q: dict[str, Any], d: dict[str, Any], path: str, qtype: QuestionType | None) -> None:
        if qtype is not None and qtype is not QuestionType.number:
            for key in ("min", "max"):
                if key in d:
                    self.problem(_child(path, key), f"only number questions have {key}")
        elif q["min"] is not None and q["max"] is not None and q["min"] > q["max"]:
            self.problem(_child(path, "max"), f"must be >= min ({d['min']})")

    def evidence(self, q: dict[str, Any], d: dict[str, Any], path: str, qtype: QuestionType | None) -> None:
        on = d.get("evidence_on")
        mode = d.get("evidence", "on_answers" if on is not None else "never")
        q["evidence"], q["evidence_on"] = "never", []
        if mode not in EVIDENCE:
            self.problem(_child(path, "evidence"), f"{mode!r} must be one of: {', '.join(EVIDENCE)}")
            return
        q["evidence"] = mode
        if mode != "on_answers":
            if on is not None:
                self.problem(_child(path, "evidence_on"), f"is only used with evidence: on_answers (this question "
                             f"has evidence: {mode})")
            return
        if on is None:
            self.problem(_child(path, "evidence_on"), "is required with evidence: on_answers: "
                         "list the answers that need evidence, e.g. [yes]")
            return
        if qtype is not None and qtype not in OPTION_TYPES:
            self.problem(_child(path, "evidence_on"), f"a {qtype.value} question has no fixed answers: "
                         "use evidence: always or never")
            return
        allowed = [o["value"] for o in q["options"]]
        opath = _child(path, "evidence_on")
        values = self.values(on, opath)
        for i, value in enumerate(values):
            if allowed and value not in allowed:
                where = _child(opath, i) if isinstance(on, list) else opath
                self.problem(where, f"'{value}' is not one of this question's answers ({', '.join(allowed)})")
        q["evidence_on"] = values

    def condition(self, raw: Any, path: str, qid: str) -> dict[str, Any] | None:
        if raw is None:
            return None
        d = self.mapping(raw, path, CONDITION_FIELDS, ("question", "equals"), "condition")
        if d is None or d.get("question") is None or d.get("equals") is None:
            return None
        target = str(d["question"])
        qpath = _child(path, "question")
        equals = self.values(d["equals"], _child(path, "equals"))
        if target == qid:
            self.problem(qpath, "a question cannot depend on itself")
            return None
        ref = self.earlier.get(target)
        if ref is None:
            if target in self.all_question_ids:
                self.problem(qpath, f"question '{target}' comes later in the template: a question can only "
                             "depend on an earlier one")
            else:
                self.problem(qpath, f"there is no question '{target}' in the template")
            return None
        if QuestionType(ref["type"]) not in OPTION_TYPES:
            self.problem(qpath, f"question '{target}' is a {ref['type']} question: a condition needs a question "
                         "with fixed answers (yes_no, yes_partial_no, maturity, choice or multi_choice)")
            return None
        allowed = [o["value"] for o in ref["options"]]
        epath = _child(path, "equals")
        for i, value in enumerate(equals):
            if value not in allowed:
                where = _child(epath, i) if isinstance(d["equals"], list) else epath
                self.problem(where, f"'{value}' is not an answer question '{target}' can take ({', '.join(allowed)})")
        return {"question": target, "equals": equals}


def check_text(text: str) -> list[Problem]:
    """Every problem in a template's text, in file order, each with its path; [] when it is sound."""
    return _check(text)[1]


def _check(text: str) -> tuple[Template | None, list[Problem]]:
    data, lines, problems = _read_yaml(text)
    if data is None and problems:
        return None, problems
    checker = _Checker(lines)
    checker.problems.extend(problems)
    normalised = checker.template(data)
    if checker.problems or normalised is None:
        found = sorted(checker.problems, key=lambda p: (p.line or 0))
        return None, found
    return msgspec.convert(normalised, Template), []


def parse(text: str) -> Template:
    """The template in ``text``, defaults filled in; raises Invalid listing every problem."""
    template, problems = _check(text)
    if template is None:
        raise Invalid(
            f"The template has {len(problems)} problem(s): " + "; ".join(str(p) for p in problems[:5])
            + (" ..." if len(problems) > 5 else ""),
            errors=[{"field": p.path, "message": p.message if p.line is None else f"{p.message} (line {p.line})"}
                    for p in problems],
        )
    return template


def read_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid(f"the file is not UTF-8 text (byte {exc.start}): save it as UTF-8",
                      errors=[{"field": "file", "message": "is not UTF-8 text"}]) from exc
