"""Hooks that keep the suite honest: under ``CI=true`` a skipped test fails the run, and an ``async`` BDD step
(which pytest-bdd would never await, so it would "pass" without running) fails its scenario."""

from __future__ import annotations

import inspect
import os

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Under pytest-xdist the controller receives every worker's reports here too, so the count is whole.
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if IN_CI and _skipped and not hasattr(session.config, "workerinput"):  # the controller (or a plain run)
        print(f"\nCI=true: {len(_skipped)} test(s) were skipped, which CI treats as failure:")
        for nodeid in _skipped[:20]:
            print(f"  {nodeid}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_bdd_before_step_call(request, feature, scenario, step, step_func, step_func_args) -> None:
    if inspect.iscoroutinefunction(step_func):
        pytest.fail(f"step {step.name!r} is async; pytest-bdd steps must be plain functions")
