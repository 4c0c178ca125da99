"""Test harness: every database test runs on SQLite and on PostgreSQL, against the real app.

The fixtures and hooks live in tests/support/ (see its ``__init__``) and are loaded here as plugins, so a test
names a fixture without importing it and imports helpers from ``tests.support``.
"""

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
