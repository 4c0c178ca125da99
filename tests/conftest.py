"""Test harness: every database test runs on SQLite and on PostgreSQL, against the real app.

The fixtures and hooks live in tests/support/ (see its ``__init__``) and are loaded here as plugins, so a test
names a fixture without importing it and imports helpers from ``tests.support``.
"""

import os

pytest_plugins = [
    "tests.support.ci",
    "tests.support.databases",
    "tests.support.app",
    "tests.support.world",
    "tests.support.s3",
    "tests.support.smtp",
    "tests.support.assessments",
    "tests.support.workbooks",
    "tests.support.evidence",
    "tests.support.processes",
]


def pytest_xdist_auto_num_workers(config) -> int:
    """What `-n auto` means here: two workers a core, at most eight. Many tests wait on a subprocess, a server or
    the database rather than compute, so a second worker a core keeps the cores busy (on a 2-core machine: the
    suite in 7:44 with 2 workers, 7:01 with 4)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(2 * cores, 8)
