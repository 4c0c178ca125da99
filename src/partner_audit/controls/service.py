"""The control library's rules: checking a template file, loading it as an immutable version, and what an
answer scores and when a question shows.

A template is checked as a whole, so its author sees every problem at once, each with its path in the file
(``areas[2].controls[0].questions[3].weight``) and line, rather than fixing them one run at a time.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
import yaml

from partner_audit import db
from partner_audit.controls.schemas import NA, OPTION_TYPES, Option, QuestionType, Template
from partner_audit.controls.schemas import Question as QuestionModel
from partner_audit.controls.tables import TemplateVersion
from partner_audit.errors import Conflict, Invalid
from partner_audit.security import policies
from partner_audit.security.caller import Caller
from partner_audit.security.tenancy import require_row

TEMPLATES_DIR = Path(__file__).resolve().parents[3] / "audit_templates"

SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
SLUG_MAX = 80  # Answer.question_id is Varchar(80)
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

TEMPLATE_FIELDS = {"key", "title", "version", "description", "areas"}
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


def _value(raw: Any) -> str | None:
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


def _is_number(raw: Any) -> bool:
    return isinstance(raw, (int, float)) and not isinstance(raw, bool) and math.isfinite(raw)


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
        if not _is_number(raw):
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
            value = _value(item)
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
        if _is_number(version):
            self.problem("version", f'must be text: write it in quotes, e.g. version: "{version}" '
                         "(unquoted, 2024.10 would read as 2024.1)")
            version_text = ""
        else:
            version_text = self.text(d, "version", "", max_length=40)
        key = self.slug(d, "key", "", None, "template")
        return {
            "key": key,
            "title": self.text(d, "title", "", max_length=200),
            "version": version_text,
            "description": self.text(d, "description", "", required=False),
            "areas": [self.area(a, f"areas[{i}]") for i, a in enumerate(self.items(d, "areas", "", "focus area"))],
        }

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
        if not _is_number(weight):
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
        value = _value(d.get("value"))
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
        if score is not None and (not _is_number(score) or not 0 <= score <= 100):
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


def canonical_json(template: Template) -> str:
    """The one text a template's content hashes to: key order and spacing never make a new version."""
    return json.dumps(msgspec.to_builtins(template), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(template: Template) -> str:
    return hashlib.sha256(canonical_json(template).encode()).hexdigest()


# --- loading and reading versions ---------------------------------------------------------------------


def read_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid(f"the file is not UTF-8 text (byte {exc.start}): save it as UTF-8",
                      errors=[{"field": "file", "message": "is not UTF-8 text"}]) from exc


async def _by_hash(digest: str) -> dict[str, Any] | None:
    return await TemplateVersion.select().where(TemplateVersion.content_hash == digest).first().run()


def _same_label_conflict(template: Template) -> Conflict:
    return Conflict(
        f"{template.key} version {template.version} is already loaded with different content. A loaded version "
        "never changes: give the edited file a new version label and load it again.",
        errors=[{"field": "version", "message": f"{template.version} is already loaded with different content"}],
    )


async def load_file(path: Path) -> tuple[dict[str, Any], bool]:
    """Load the template in ``path`` unless the same content is loaded already; returns (row, created)."""
    template = parse(read_file(path))
    body = canonical_json(template)
    digest = hashlib.sha256(body.encode()).hexdigest()
    key_version = f"{template.key}@{template.version}"
    try:
        async with db.transaction():
            existing = await _by_hash(digest)
            if existing:
                return existing, False
            if await TemplateVersion.exists().where(TemplateVersion.key_version == key_version).run():
                raise _same_label_conflict(template)
            await TemplateVersion(key=template.key, title=template.title, version=template.version,
                                  key_version=key_version, content_hash=digest, content=body).save().run()
    except Exception as exc:
        if not db.is_unique_violation(exc):
            raise
        # Someone loaded a version at the same moment: if it is this content, theirs is the version.
        existing = await _by_hash(digest)
        if existing:
            return existing, False
        raise _same_label_conflict(template) from exc
    return await _by_hash(digest), True  # type: ignore[return-value]


def template_of(row: dict[str, Any]) -> Template:
    content = row["content"]
    return msgspec.json.decode(content if isinstance(content, (str, bytes)) else json.dumps(content), type=Template)


async def list_versions(caller: Caller) -> list[dict[str, Any]]:
    """Every loaded version, newest first."""
    policies.READ_CONTROL_LIBRARY.check(caller)
    return await TemplateVersion.select().order_by(TemplateVersion.loaded_at, ascending=False).order_by(
        TemplateVersion.key_version).run()


async def read_version(caller: Caller, version_id: UUID) -> tuple[dict[str, Any], Template]:
    """``get_version``, for a person reading the control library."""
    policies.READ_CONTROL_LIBRARY.check(caller)
    return await get_version(version_id)


async def get_version(version_id: UUID) -> tuple[dict[str, Any], Template]:
    row = await TemplateVersion.select().where(TemplateVersion.id == version_id).first().run()
    row = require_row(row, "template version", version_id)
    return row, template_of(row)


# --- answers: their values, scores, and when a question shows -----------------------------------------


def normalise_answer(question: QuestionModel, value: Any) -> Any:
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


def _option_value(question: QuestionModel, raw: Any) -> str:
    given = _value(raw)
    if given is not None:
        for option in question.options:
            if given.lower() in (option.value.lower(), option.label.lower()):
                return option.value
    labels = ", ".join(o.label for o in question.options)
    raise Invalid.field(question.id, f'"{raw}" is not one of {labels}')


def _number(question: QuestionModel, raw: Any) -> int | float:
    number: float | None = float(raw) if _is_number(raw) else None
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


def _date(question: QuestionModel, raw: Any) -> str:
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


def score_of(question: QuestionModel, value: Any) -> float | None:
    """0 to 100 for an answer; None when it does not count: unanswered, N/A, or a question (or an option)
    without a score. A multi_choice answer scores the sum of its options' scores, at most 100."""
    value = normalise_answer(question, value)
    if value is None or value == NA or question.type not in OPTION_TYPES or not question.scored:
        return None
    if question.type is QuestionType.multi_choice:
        return min(100.0, sum(question.option(v).score or 0.0 for v in value))  # type: ignore[union-attr]
    return question.option(value).score  # type: ignore[union-attr]


def visible(question: QuestionModel, answers: dict[str, Any]) -> bool:
    """Whether ``question`` shows, given the answers so far (question id -> stored value). A question whose
    condition's question is unanswered stays hidden. Pass only visible questions' answers, so that a question
    whose condition's question is itself hidden stays hidden too."""
    condition = question.show_if
    if condition is None:
        return True
    given = answers.get(condition.question)
    values = given if isinstance(given, (list, tuple, set)) else [given]
    return any(_value(v) in condition.equals for v in values)


def needs_evidence(question: QuestionModel, value: Any) -> bool:
    """Whether this answer must be backed by an attached file before the assessment can be submitted."""
    if value is None or value == NA:
        return False
    if question.evidence == "always":
        return True
    if question.evidence == "on_answers":
        given = value if isinstance(value, list) else [value]
        return any(str(v) in question.evidence_on for v in given)
    return False
