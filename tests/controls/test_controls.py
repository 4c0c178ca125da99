"""The control library: checking templates (every problem, located), the plan's own template, loading versions
idempotently on SQLite and PostgreSQL, the API, and what answers score and when questions show."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.problems import problem
from partner_audit.controls import answers, service, yaml
from partner_audit.controls.schemas import NA, Question, QuestionType
from partner_audit.controls.tables import TemplateVersion
from partner_audit.errors import Conflict, Invalid
from partner_audit.settings import Settings
from tests.support.paths import ROOT, DATA

PLAN = ROOT / "audit_templates" / "privacy-improvement-plan-2024-25.yaml"
TEN_MISTAKES = DATA / "template-ten-mistakes.yaml"
CLI = Path(sys.executable).parent / "partner-audit"
TEMPLATES = "/api/v1/templates"

PLAN_AREAS = ["leadership", "privacy-function", "skills-capability", "appropriate-access", "reporting",
              "assurance", "devices"]


def cli(*args: str, settings: Settings | None = None, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PA_VAR_DIR": str(tmp_path / "cli-var"), "PA_SECRET_KEY": "test-secret-key-" + "x" * 32}
    if settings is not None:
        env["PA_DATABASE_URL"] = settings.database_url
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, env=env, timeout=120)


# --- the plan's template --------------------------------------------------------------------------------


def test_the_plans_template_checks_clean_and_covers_every_area_and_recommendation():
    text = PLAN.read_text(encoding="utf-8")
    assert yaml.check_text(text) == []
    template = yaml.parse(text)
    assert template.key == "pip-2024-25"
    assert [a.id for a in template.areas] == PLAN_AREAS
    questions = template.questions()
    assert len(questions) >= 40
    for area in template.areas:
        assert len(area.controls) >= 2, area.id
        assert sum(len(c.questions) for c in area.controls) >= 5, area.id
    controls = [c for a in template.areas for c in a.controls]
    assert all(c.recommendations for c in controls)
    assert {n for c in controls for n in c.recommendations} == set(range(1, 24))
    devices = next(a for a in template.areas if a.id == "devices")
    assert all(c.recommendations == [22] for c in devices.controls)
    # Evidence is asked for where a provider can show it, and conditions are used for follow-ups.
    assert sum(q.evidence != "never" for _, _, q in questions) >= 20
    assert sum(q.show_if is not None for _, _, q in questions) >= 10


def test_the_plans_template_passes_the_command_line_check(tmp_path):
    result = cli("templates", "check", str(PLAN), tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok (pip-2024-25 2024.1: 7 focus areas" in result.stdout


# --- checking: every problem, with its place ------------------------------------------------------------


def test_ten_planted_mistakes_give_ten_located_messages(tmp_path):
    result = cli("templates", "check", str(TEN_MISTAKES), tmp_path=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[-1] == f"{TEN_MISTAKES}: 10 problem(s)"
    messages = [line.removeprefix(f"{TEN_MISTAKES}: ") for line in lines[:-1]]
    expected = [
        ("areas[0].controls[0].recommendations: must name at least one", 12),
        ("areas[0].controls[0].questions[0].weight: must be > 0", 17),
        ("areas[0].controls[0].questions[1].options: a choice question needs a list of at least 2 options", 21),
        ("areas[0].controls[0].questions[2].id: 'told-staff' is already the id of the question at "
         "areas[0].controls[0].questions[0]", 23),
        ("areas[1].controls[0].questions[0].type: 'yesno' is not a question type", 35),
        ("areas[1].controls[0].questions[1].max: must be >= min (10)", 40),
        ("areas[1].controls[0].questions[2].evidence_on[0]: 'sometimes' is not one of this question's answers "
         "(yes, partly, no)", 44),
        ("areas[1].controls[0].questions[3].show_if.question: question 'devices-held' comes later", 48),
        ("areas[1].controls[0].questions[4].requird: unknown field (did you mean 'required'?)", 52),
        ("areas[1].controls[0].questions[4].options[1].score: 150 must be a number from 0 to 100", 55),
    ]
    assert len(messages) == len(expected) == 10, result.stdout
    for message, (start, line) in zip(messages, expected):
        assert message.startswith(start), message
        assert message.endswith(f"(line {line})"), message


def test_a_yaml_syntax_error_names_line_and_column():
    problems = yaml.check_text("key: pip\ntitle: [unclosed\nversion: '1'\n")
    assert len(problems) == 1
    assert problems[0].path.startswith("line 3, column")
    assert "YAML syntax error" in problems[0].message


def test_an_empty_file_is_reported():
    assert [p.message for p in yaml.check_text("")] == [
        "the file is empty: a template needs key, title, version and areas"]


def minimal(questions: str, top: str = 'version: "1"\n') -> str:
    return (f"key: t\ntitle: T\n{top}areas:\n  - id: a\n    title: A\n    controls:\n      - id: c\n"
            f"        title: C\n        recommendations: [1]\n        questions:\n{questions}")


Q = "          - "


@pytest.mark.parametrize(("questions", "top", "path", "message"), [
    (f"{Q}{{id: q, text: T, type: yes_no}}\n", "version: 2024.10\n", "version",
     'must be text: write it in quotes, e.g. version: "2024.1"'),
    (f"{Q}{{id: q, text: T, type: yes_no}}\n", 'version: "1"\nkey: u\n', "key", "appears twice (lines 1 and 4)"),
    (f"{Q}{{id: Q 1, text: T, type: yes_no}}\n", 'version: "1"\n', "areas[0].controls[0].questions[0].id",
     "'Q 1' is not a valid question id"),
    (f"{Q}{{id: q, type: yes_no}}\n", 'version: "1"\n', "areas[0].controls[0].questions[0].text", "is required"),
    (f"{Q}{{id: q, text: T, type: yes_no, weight: heavy}}\n", 'version: "1"\n',
     "areas[0].controls[0].questions[0].weight", "must be a number"),
    (f"{Q}{{id: q, text: T, type: number, min: 1, options: [a, b]}}\n", 'version: "1"\n',
     "areas[0].controls[0].questions[0].options", "a number question has no options"),
    (f"{Q}{{id: q, text: T, type: yes_no, min: 1}}\n", 'version: "1"\n',
     "areas[0].controls[0].questions[0].min", "only number questions have min"),
    (f"{Q}{{id: q, text: T, type: yes_no, options: [yes, maybe]}}\n", 'version: "1"\n',
     "areas[0].controls[0].questions[0].options", "a yes_no question's options must be exactly yes, no"),
    (f"{Q}{{id: q, text: T, type: choice, options: [a, a]}}\n", 'version: "1"\n',
     "areas[0].controls[0].questions[0].options[1].value", "'a' is already an option"),
    (f"{Q}{{id: q, text: T, type: choice, options: [a, n/a]}}\n", 'version: "1"\n',
     "areas[0].controls[0].questions[0].options[1]", "'n/a' is kept for 'does not apply'"),
    (f"{Q}{{id: q, text: T, type: yes_no, evidence: always, evidence_on: [yes]}}\n", 'version: "1"\n',
     "areas[0].controls[0].questions[0].evidence_on", "is only used with evidence: on_answers"),
    (f"{Q}{{id: q, text: T, type: yes_no, evidence: sometimes}}\n", 'version: "1"\n',
     "areas[0].controls[0].questions[0].evidence", "'sometimes' must be one of: never, always, on_answers"),
    (f"{Q}{{id: q, text: T, type: yes_no, evidence: on_answers}}\n", 'version: "1"\n',
     "areas[0].controls[0].questions[0].evidence_on", "is required with evidence: on_answers"),
    (f"{Q}{{id: q, text: T, type: text, evidence_on: [yes]}}\n", 'version: "1"\n',
     "areas[0].controls[0].questions[0].evidence_on", "a text question has no fixed answers"),
    (f"{Q}{{id: q, text: T, type: text}}\n{Q}{{id: r, text: T, type: yes_no, show_if: {{question: q, equals: x}}}}\n",
     'version: "1"\n', "areas[0].controls[0].questions[1].show_if.question",
     "question 'q' is a text question: a condition needs a question with fixed answers"),
    (f"{Q}{{id: q, text: T, type: yes_no}}\n{Q}{{id: r, text: T, type: yes_no, show_if: {{question: q, equals: [maybe]}}}}\n",
     'version: "1"\n', "areas[0].controls[0].questions[1].show_if.equals[0]",
     "'maybe' is not an answer question 'q' can take (yes, no)"),
    (f"{Q}{{id: q, text: T, type: yes_no, show_if: {{question: nope, equals: yes}}}}\n", 'version: "1"\n',
     "areas[0].controls[0].questions[0].show_if.question", "there is no question 'nope' in the template"),
    (f"{Q}{{id: q, text: T, type: yes_no, show_if: {{question: q, equals: yes}}}}\n", 'version: "1"\n',
     "areas[0].controls[0].questions[0].show_if.question", "a question cannot depend on itself"),
    (f"{Q}{{id: q, text: T, type: yes_no, required: maybe}}\n", 'version: "1"\n',
     "areas[0].controls[0].questions[0].required", "must be true or false"),
], ids=["unquoted-version", "duplicate-key", "bad-id", "missing-text", "weight-not-number", "options-on-number",
        "min-on-yes-no", "fixed-options-changed", "duplicate-option", "na-option", "evidence-on-with-always",
        "bad-evidence", "on-answers-without-list", "evidence-on-text", "condition-on-text", "condition-value",
        "condition-missing-question", "condition-on-itself", "required-not-bool"])
def test_each_rule_names_the_field_that_breaks_it(questions, top, path, message):
    problems = yaml.check_text(minimal(questions, top))
    assert [p.path for p in problems] == [path], problems
    assert message in problems[0].message, problems[0]
    assert problems[0].line is not None


def test_recommendations_must_be_whole_numbers_named_once():
    text = minimal(f"{Q}{{id: q, text: T, type: yes_no}}\n").replace("recommendations: [1]",
                                                                     "recommendations: [x, 0, 3, 3]")
    assert [(p.path, p.message) for p in yaml.check_text(text)] == [
        ("areas[0].controls[0].recommendations[0]", "'x' is not a recommendation number (a whole number from 1)"),
        ("areas[0].controls[0].recommendations[1]", "0 is not a recommendation number (a whole number from 1)"),
        ("areas[0].controls[0].recommendations[3]", "recommendation 3 is listed twice"),
    ]


def test_parse_raises_invalid_listing_every_problem_as_fields():
    with pytest.raises(Invalid) as caught:
        yaml.parse(TEN_MISTAKES.read_text(encoding="utf-8"))
    assert len(caught.value.errors) == 10
    assert caught.value.errors[1]["field"] == "areas[0].controls[0].questions[0].weight"
    assert caught.value.errors[1]["message"] == "must be > 0 (line 17)"


def test_defaults_are_filled_in():
    template = yaml.parse(minimal(
        f"{Q}{{id: q, text: T, type: maturity}}\n"
        f"{Q}{{id: r, text: T, type: yes_partial_no, evidence_on: [partly, no]}}\n"
        f"{Q}{{id: s, text: T, type: choice, options: [weekly, {{value: monthly, label: Each month, score: 40}}]}}\n"))
    q, r, s = (item[2] for item in template.questions())
    assert [(o.value, o.score) for o in q.options] == [("1", 0), ("2", 25), ("3", 50), ("4", 75), ("5", 100)]
    assert (q.weight, q.required, q.evidence, q.allow_na, q.show_if) == (1.0, True, "never", False, None)
    assert (r.evidence, r.evidence_on) == ("on_answers", ["partly", "no"])
    assert [(o.value, o.label, o.score) for o in s.options] == [("weekly", "weekly", None),
                                                               ("monthly", "Each month", 40)]


# --- answers: scores and visibility ---------------------------------------------------------------------


def question(text: str) -> Question:
    template = yaml.parse(minimal(text))
    return template.questions()[-1][2]


def test_score_of_the_fixed_types():
    yes_no = question(f"{Q}{{id: q, text: T, type: yes_no}}\n")
    assert (answers.score_of(yes_no, "yes"), answers.score_of(yes_no, "no"), answers.score_of(yes_no, True)) == (
        100, 0, 100)
    partly = question(f"{Q}{{id: q, text: T, type: yes_partial_no}}\n")
    assert [answers.score_of(partly, v) for v in ("yes", "partly", "Partly", "no")] == [100, 50, 50, 0]
    maturity = question(f"{Q}{{id: q, text: T, type: maturity}}\n")
    assert [answers.score_of(maturity, v) for v in (1, "2", 3, "4", 5)] == [0, 25, 50, 75, 100]
    assert answers.score_of(maturity, None) is None


def test_score_of_choices_and_unscored_types():
    choice = question(f"{Q}{{id: q, text: T, type: choice, options: [{{value: a, score: 80}}, b]}}\n")
    assert (answers.score_of(choice, "a"), answers.score_of(choice, "b")) == (80, None)
    multi = question(f"{Q}{{id: q, text: T, type: multi_choice, options: "
                     f"[{{value: a, score: 60}}, {{value: b, score: 70}}, {{value: c, score: 0}}]}}\n")
    assert answers.score_of(multi, ["a"]) == 60
    assert answers.score_of(multi, ["a", "b"]) == 100  # 130, capped
    assert answers.score_of(multi, []) == 0
    number = question(f"{Q}{{id: q, text: T, type: number, min: 0, max: 10}}\n")
    assert answers.score_of(number, 4) is None
    assert answers.score_of(question(f"{Q}{{id: q, text: T, type: text}}\n"), "anything") is None
    assert answers.score_of(question(f"{Q}{{id: q, text: T, type: date}}\n"), "2025-03-31") is None
    unscored = question(f"{Q}{{id: q, text: T, type: yes_no, options: [{{value: yes, score: null}}, no]}}\n")
    assert (answers.score_of(unscored, "yes"), answers.score_of(unscored, "no")) == (None, 0)


def test_not_applicable_is_unscored_only_where_allowed():
    allowed = question(f"{Q}{{id: q, text: T, type: yes_no, allow_na: true}}\n")
    assert answers.score_of(allowed, NA) is None
    assert answers.score_of(allowed, "N/A") is None
    refused = question(f"{Q}{{id: q, text: T, type: yes_no}}\n")
    with pytest.raises(Invalid) as caught:
        answers.score_of(refused, NA)
    assert caught.value.errors[0]["field"] == "q"


@pytest.mark.parametrize(("text", "value", "message"), [
    (f"{Q}{{id: q, text: T, type: yes_partial_no}}\n", "Sometimes", '"Sometimes" is not one of Yes, Partly, No'),
    (f"{Q}{{id: q, text: T, type: maturity}}\n", 6, '"6" is not one of 1 - Not in place'),
    (f"{Q}{{id: q, text: T, type: number, min: 0, max: 10}}\n", 11, "must be at most 10"),
    (f"{Q}{{id: q, text: T, type: number, min: 1}}\n", 0, "must be at least 1"),
    (f"{Q}{{id: q, text: T, type: number}}\n", "lots", '"lots" is not a number'),
    (f"{Q}{{id: q, text: T, type: date}}\n", "31/03/2025", "is not a date (write it as YYYY-MM-DD"),
    (f"{Q}{{id: q, text: T, type: multi_choice, options: [a, b]}}\n", "a", "must be a list of the chosen options"),
])
def test_an_answer_a_question_cannot_take_is_refused_with_the_reason(text, value, message):
    with pytest.raises(Invalid) as caught:
        answers.normalise_answer(question(text), value)
    assert message in caught.value.errors[0]["message"]
    assert caught.value.errors[0]["field"] == "q"


def test_answers_are_stored_in_one_form():
    multi = question(f"{Q}{{id: q, text: T, type: multi_choice, options: [{{value: a, label: Apple}}, b, c]}}\n")
    assert answers.normalise_answer(multi, ["c", "Apple", "a"]) == ["a", "c"]
    assert answers.normalise_answer(question(f"{Q}{{id: q, text: T, type: number}}\n"), "1,200") == 1200
    assert answers.normalise_answer(question(f"{Q}{{id: q, text: T, type: date}}\n"), " 2025-03-31 ") == "2025-03-31"
    assert answers.normalise_answer(question(f"{Q}{{id: q, text: T, type: text}}\n"), "   ") is None


def test_visible_follows_the_condition():
    template = yaml.parse(minimal(
        f"{Q}{{id: held, text: T, type: yes_no}}\n"
        f"{Q}{{id: systems, text: T, type: multi_choice, options: [cyras, email, none]}}\n"
        f"{Q}{{id: count, text: T, type: number, show_if: {{question: held, equals: yes}}}}\n"
        f"{Q}{{id: leavers, text: T, type: yes_no, show_if: {{question: systems, equals: [cyras, email]}}}}\n"))
    held, systems, count, leavers = (item[2] for item in template.questions())
    assert answers.visible(held, {}) and answers.visible(systems, {})
    assert not answers.visible(count, {})
    assert answers.visible(count, {"held": "yes"})
    assert answers.visible(count, {"held": True})
    assert not answers.visible(count, {"held": "no"})
    assert answers.visible(leavers, {"systems": ["none", "email"]})
    assert not answers.visible(leavers, {"systems": ["none"]})
    assert not answers.visible(leavers, {"systems": []})


def test_the_plans_follow_up_questions_show_only_when_they_apply():
    template = yaml.parse(PLAN.read_text(encoding="utf-8"))
    by_id = {q.id: q for _, _, q in template.questions()}
    device_questions = [q for q in by_id.values() if q.id.startswith("devices-") and q.id != "devices-held"]
    assert device_questions
    assert not any(answers.visible(q, {"devices-held": "no"}) for q in device_questions)
    assert all(answers.visible(q, {"devices-held": "yes"}) for q in device_questions)
    assert answers.score_of(by_id["devices-held"], "yes") is None  # holding a device only decides what follows
    assert by_id["devices-held"].type is QuestionType.yes_no


# --- loading versions (SQLite and PostgreSQL) ------------------------------------------------------------


def copy_plan(tmp_path: Path, name: str = "plan.yaml", edit=lambda text: text) -> Path:
    path = tmp_path / name
    path.write_text(edit(PLAN.read_text(encoding="utf-8")), encoding="utf-8")
    return path


def rows(run) -> list[dict[str, Any]]:
    return run(lambda: TemplateVersion.select().order_by(TemplateVersion.loaded_at).run())


def test_loading_is_idempotent_by_content(run, tmp_path):
    path = copy_plan(tmp_path)
    first, created = run(lambda: service.load_file(path))
    assert created
    again, created = run(lambda: service.load_file(path))
    assert not created and again["id"] == first["id"]
    # Comments, spacing and key order are not content.
    reformatted = copy_plan(tmp_path, "reformatted.yaml", lambda t: "# a new comment\n" + t.replace(
        'key: pip-2024-25\ntitle:', 'title:').replace('version: "2024.1"', 'version: "2024.1"\nkey: pip-2024-25'))
    same, created = run(lambda: service.load_file(reformatted))
    assert not created and same["id"] == first["id"]
    assert len(rows(run)) == 1
    assert first["content_hash"] == service.content_hash(service.template_of(first))


def test_a_changed_file_is_a_new_version_and_the_old_one_is_unchanged(run, tmp_path):
    path = copy_plan(tmp_path)
    old, _ = run(lambda: service.load_file(path))
    copy_plan(tmp_path, edit=lambda t: t.replace('version: "2024.1"', 'version: "2024.2"').replace(
        "Have you named a privacy officer for your organisation?", "Have you named a privacy officer?"))
    new, created = run(lambda: service.load_file(path))
    assert created and new["id"] != old["id"] and new["content_hash"] != old["content_hash"]
    assert [r["id"] for r in rows(run)] == [old["id"], new["id"]]
    old_again, old_template = run(lambda: service.get_version(old["id"]))
    assert old_again == old
    assert next(q for _, _, q in old_template.questions() if q.id == "officer-named").text == (
        "Have you named a privacy officer for your organisation?")
    _, new_template = run(lambda: service.get_version(new["id"]))
    assert next(q for _, _, q in new_template.questions() if q.id == "officer-named").text == (
        "Have you named a privacy officer?")


def test_changed_content_under_a_loaded_label_is_refused(run, tmp_path):
    path = copy_plan(tmp_path)
    old, _ = run(lambda: service.load_file(path))
    copy_plan(tmp_path, edit=lambda t: t.replace("weight: 3\n", "weight: 4\n", 1))
    with pytest.raises(Conflict) as caught:
        run(lambda: service.load_file(path))
    assert caught.value.errors[0]["field"] == "version"
    assert "give the edited file a new version label" in caught.value.detail
    assert [r["id"] for r in rows(run)] == [old["id"]]


def test_a_broken_file_loads_nothing(run):
    with pytest.raises(Invalid) as caught:
        run(lambda: service.load_file(TEN_MISTAKES))
    assert len(caught.value.errors) == 10
    assert rows(run) == []


def test_the_command_line_loads_the_shipped_templates_once(client, settings, tmp_path):
    first = cli("templates", "load", settings=settings, tmp_path=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "loaded new version pip-2024-25 2024.1" in first.stdout
    assert "loading templates: 1/1 done" in first.stderr
    second = cli("templates", "load", settings=settings, tmp_path=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "unchanged, already loaded as pip-2024-25 2024.1" in second.stdout
    listed = cli("templates", "list", settings=settings, tmp_path=tmp_path)
    assert listed.returncode == 0
    assert len(listed.stdout.splitlines()) == 1 and "pip-2024-25" in listed.stdout and "63 questions" in listed.stdout
    broken = cli("templates", "load", str(TEN_MISTAKES), settings=settings, tmp_path=tmp_path)
    assert broken.returncode == 1
    assert "NOT loaded: 10 problem(s)" in broken.stdout
    assert "areas[0].controls[0].questions[0].weight: must be > 0" in broken.stdout


# --- the API --------------------------------------------------------------------------------------------


def test_every_signed_in_role_reads_templates_newest_first(world, tmp_path):
    path = copy_plan(tmp_path)
    old, _ = world.run(lambda: service.load_file(path))
    copy_plan(tmp_path, edit=lambda t: t.replace('version: "2024.1"', 'version: "2024.2"'))
    new, _ = world.run(lambda: service.load_file(path))
    for who in ("admin", "partnerships", "auditor", "governance", "provider_admin", "provider_user", "b_user"):
        r = world.people[who].get(TEMPLATES)
        assert r.status_code == 200, (who, r.text)
        listed = r.json()["items"]
        assert [v["id"] for v in listed] == [str(new["id"]), str(old["id"])], who
        assert listed[0]["version"] == "2024.2" and listed[1]["version"] == "2024.1"
        assert (listed[0]["areas"], listed[0]["controls"], listed[0]["questions"]) == (7, 20, 63)
        assert "template" not in listed[0]
    # Paged like every other list.
    body = world.admin.get(TEMPLATES, params={"page": 2, "page_size": 1}).json()
    assert (body["total"], body["page"], body["page_size"]) == (2, 2, 1)
    assert [v["id"] for v in body["items"]] == [str(old["id"])]


def test_one_version_in_full(world, tmp_path):
    row, _ = world.run(lambda: service.load_file(copy_plan(tmp_path)))
    r = world.provider_user.get(f"{TEMPLATES}/{row['id']}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["key"], body["version"], body["content_hash"]) == ("pip-2024-25", "2024.1", row["content_hash"])
    assert [a["id"] for a in body["template"]["areas"]] == PLAN_AREAS
    first = body["template"]["areas"][1]["controls"][0]["questions"][0]
    assert first["id"] == "officer-named"
    assert [(o["value"], o["score"]) for o in first["options"]] == [("yes", 100), ("no", 0)]
    assert (first["evidence"], first["evidence_on"], first["weight"]) == ("on_answers", ["yes"], 3)


def test_an_unknown_version_is_404_and_signing_in_is_needed(world, client):
    problem(world.auditor.get(f"{TEMPLATES}/{uuid.uuid4()}"), 404)
    problem(client.get(TEMPLATES), 401)
