"""What the tests share, loaded as pytest plugins by tests/conftest.py (``pytest_plugins``), so fixtures need
no import and helpers are imported from here (``from tests.support.problems import problem``):

* ``ci``: under ``CI=true`` any skip fails the run; async BDD steps are refused.
* ``databases``: ``database`` (SQLite and PostgreSQL, migrated once per session), ``make_settings``.
* ``app``: ``settings``, ``client`` and ``run``: one app per database per session, emptied before each test.
* ``world``: providers A and B and a person of every role, each made on first use.
* ``http``: ``Api`` (requests as one person with a bearer token) and ``Browser`` (one person's session cookie).
* ``problems``: ``problem()``, the one check of an application/problem+json answer.
* ``s3``, ``smtp``: real S3 (SeaweedFS) and SMTP (aiosmtpd) servers on free loopback ports.
* ``bdd``: the journeys' people in the features' own words, and what a scenario has seen.
"""
