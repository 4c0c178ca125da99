"""What the tests share, loaded as pytest plugins by tests/conftest.py (``pytest_plugins``), so fixtures need
no import and helpers are imported from here (``from tests.support.problems import problem``):

* ``ci``: under ``CI=true`` any skip fails the run; async BDD steps are refused.
* ``databases``: ``database`` (SQLite and PostgreSQL, migrated once per session), ``empty_database`` (not even
  migrated), ``make_settings``, ``catalogue``.
* ``app``: ``settings``, ``client`` and ``run``: one app per database per session, emptied before each test.
* ``world``: providers A and B and a person of every role, each made on first use.
* ``http``: ``Api`` (requests as one person with a bearer token) and ``Browser`` (one person's session cookie).
* ``problems``: ``problem()``, the one check of an application/problem+json answer.
* ``s3``, ``smtp``: real S3 (SeaweedFS) and SMTP (aiosmtpd) servers on free loopback ports; ``mail_settings``.
* ``bdd``: the journeys' people in the features' own words, and what a scenario has seen.
* ``assessments``: ``template_id`` (the mini template loaded), ``launched``, ``assessment_of``, ``rollout_body``.
* ``workbooks``: ``mini`` (provider A's assessment of it), the offline workbook downloaded, filled and uploaded.
* ``evidence``: ``aid`` (an assessment to attach evidence to), a store on disk or S3, what the store holds.
* ``devices``: devices made and checked out to holders, and the register imported from .xlsx and .csv files.
* ``storage``: evidence stores on disk and on S3, with a look behind each at what it holds.
* ``processes``: the ``partner-audit`` command run, ``served`` (the real service with demo logins) and
  ``two_processes`` (two servers on the test database).
* ``logins``: signing in against the login throttle, lowered to ``MAX_FAILURES``.
* ``routes``: ``CASES``, every API route called by provider A's people against provider B's records.
"""
