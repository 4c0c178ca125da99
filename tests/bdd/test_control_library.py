"""Step bindings for features/control_library.feature: a partnerships officer checks and loads questionnaire
templates with the ``partner-audit templates`` command (run for real, against the scenario's database), and
people read the control library through the API."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.support.bdd import person_key
from tests.support.paths import ROOT, DATA
from pytest_bdd import given, parsers, scenarios, then, when

scenarios("control_library.feature")

TEMPLATE_FOLDERS = [ROOT / "audit_templates", DATA]
PLAN = ROOT / "audit_templates" / "privacy-improvement-plan-2024-25.yaml"
CLI = Path(sys.executable).parent / "partner-audit"


@dataclass
class Run:
    """The last `partner-audit` command the scenario ran."""

    result: subprocess.CompletedProcess[str] | None = None
    file: Path | None = None


@pytest.fixture
def command() -> Run:
    return Run()


def partner_audit(settings, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PA_VAR_DIR": str(tmp_path / "cli-var"), "PA_DATABASE_URL": settings.database_url,
           "PA_SECRET_KEY": "test-secret-key-" + "x" * 32}
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, env=env, timeout=120)


def template_file(name: str) -> Path:
    found = [folder / name for folder in TEMPLATE_FOLDERS if (folder / name).exists()]
    assert found, f"no template {name!r} in {', '.join(map(str, TEMPLATE_FOLDERS))}"
    return found[0]


def library(world) -> list[dict]:
    response = world.partnerships.get("/api/v1/templates")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def question_text(world, version: str, question_id: str) -> str:
    match = [v for v in library(world) if v["version"] == version]
    assert len(match) == 1, library(world)
    response = world.partnerships.get(f"/api/v1/templates/{match[0]['id']}")
    assert response.status_code == 200, response.text
    return next(q["text"] for a in response.json()["template"]["areas"] for c in a["controls"]
                for q in c["questions"] if q["id"] == question_id)


# --- checking -------------------------------------------------------------------------------------------


@when(parsers.parse('the partnerships officer checks the template "{name}"'))
def checks(settings, tmp_path, command: Run, name: str) -> None:
    command.file = template_file(name)
    command.result = partner_audit(settings, tmp_path, "templates", "check", str(command.file))


@then(parsers.parse("the check passes: {areas:d} focus areas and at least {minimum:d} questions"))
def check_passes(command: Run, areas: int, minimum: int) -> None:
    assert command.result.returncode == 0, command.result.stdout + command.result.stderr
    summary = command.result.stdout.strip()
    assert f"{areas} focus areas" in summary, summary
    questions = int(summary.rsplit(", ", 1)[1].split()[0])
    assert questions >= minimum, summary


@then(parsers.parse("the check fails with {count:d} problems, each with its place in the file and its line"))
def check_fails(command: Run, count: int) -> None:
    assert command.result.returncode == 1, command.result.stdout
    lines = command.result.stdout.splitlines()
    assert lines[-1] == f"{command.file}: {count} problem(s)"
    problems = lines[:-1]
    assert len(problems) == count, problems
    for line in problems:
        place = line.removeprefix(f"{command.file}: ").split(":", 1)[0]
        assert place.startswith("areas["), line
        assert line.endswith(")") and "(line " in line, line


@then(parsers.parse('one of them is "{message}"'))
def one_problem_is(command: Run, message: str) -> None:
    assert f"{command.file}: {message}" in command.result.stdout.splitlines(), command.result.stdout


# --- loading --------------------------------------------------------------------------------------------


@given("the partnerships officer has loaded the plan's template")
@when("the partnerships officer loads the templates in audit_templates")
@when("the partnerships officer loads the templates in audit_templates again")
def loads_shipped(settings, tmp_path, command: Run) -> None:
    command.result = partner_audit(settings, tmp_path, "templates", "load")
    assert command.result.returncode == 0, command.result.stdout + command.result.stderr


@when(parsers.parse('the partnerships officer loads the template "{name}"'))
def loads_one(settings, tmp_path, command: Run, name: str) -> None:
    command.file = template_file(name)
    command.result = partner_audit(settings, tmp_path, "templates", "load", str(command.file))


@when(parsers.parse('the partnerships officer rewords "{question_id}" as "{text}", labels the file "{version}" '
                    "and loads it"))
def rewords_and_loads(settings, tmp_path, command: Run, world, question_id: str, text: str, version: str) -> None:
    original = question_text(world, "2024.1", question_id)
    edited = PLAN.read_text(encoding="utf-8").replace(original, text).replace('version: "2024.1"',
                                                                              f'version: "{version}"')
    command.file = tmp_path / "edited.yaml"
    command.file.write_text(edited, encoding="utf-8")
    command.result = partner_audit(settings, tmp_path, "templates", "load", str(command.file))
    assert command.result.returncode == 0, command.result.stdout + command.result.stderr
    assert f"loaded new version pip-2024-25 {version}" in command.result.stdout


@then("nothing new is loaded")
def nothing_new(command: Run) -> None:
    assert "unchanged, already loaded as pip-2024-25 2024.1" in command.result.stdout, command.result.stdout
    assert "loaded new version" not in command.result.stdout


@then("it is not loaded")
def not_loaded(command: Run) -> None:
    assert command.result.returncode == 1, command.result.stdout
    assert f"{command.file}: NOT loaded:" in command.result.stdout


# --- reading the library --------------------------------------------------------------------------------


@then(parsers.parse('the control library lists "{key}" version "{version}" only'))
def lists_only(world, key: str, version: str) -> None:
    assert [(v["key"], v["version"]) for v in library(world)] == [(key, version)]


@then(parsers.parse('the control library lists versions "{versions}", newest first'))
def lists_versions(world, versions: str) -> None:
    assert [v["version"] for v in library(world)] == versions.split(", ")


@then("the control library is empty")
def library_empty(world) -> None:
    assert library(world) == []


@then(parsers.parse("the {person} can read its focus areas: {titles}"))
def reads_areas(world, person: str, titles: str) -> None:
    who = world.people[person_key(person)]
    (version,) = library(world)
    response = who.get(f"/api/v1/templates/{version['id']}")
    assert response.status_code == 200, response.text
    assert [a["title"] for a in response.json()["template"]["areas"]] == titles.split(", ")


@then("every control in it names the plan's recommendations it implements")
def controls_traced(world) -> None:
    (version,) = library(world)
    template = world.partnerships.get(f"/api/v1/templates/{version['id']}").json()["template"]
    numbers = [c["recommendations"] for a in template["areas"] for c in a["controls"]]
    assert numbers and all(numbers)
    assert {n for ns in numbers for n in ns} == set(range(1, 24))


@then(parsers.parse('version "{version}" still asks "{question_id}" as "{text}"'))
@then(parsers.parse('version "{version}" asks "{question_id}" as "{text}"'))
def version_asks(world, version: str, question_id: str, text: str) -> None:
    assert question_text(world, version, question_id) == text
