"""The `partner-audit` command, run for real as an operator would: a process, environment variables, exit codes."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from tests.support.databases import create_postgres_database
from tests.support.processes import base_env, cli, demo_logins, ok, one_line_failure
from litestar.testing import TestClient

from partner_audit.app import create_app
from partner_audit.db import MIGRATIONS_DIR
from partner_audit.security.caller import Role
from partner_audit.settings import load_settings

PASSWORD = "a long enough password"


@dataclass
class Target:
    backend: str
    env: dict[str, str]

    @property
    def url(self) -> str:
        return self.env["PA_DATABASE_URL"]

    def scalar(self, sql: str) -> Any:
        """One value, read straight from the database, behind the application's back."""
        if self.backend == "sqlite":
            with sqlite3.connect(self.url.removeprefix("sqlite:///")) as conn:
                return conn.execute(sql).fetchone()[0]

        async def fetch() -> Any:
            conn = await asyncpg.connect(self.url)
            try:
                return await conn.fetchval(sql)
            finally:
                await conn.close()

        return asyncio.run(fetch())

    def execute(self, sql: str) -> None:
        if self.backend == "sqlite":
            with sqlite3.connect(self.url.removeprefix("sqlite:///")) as conn:
                conn.execute(sql)
            return

        async def run() -> None:
            conn = await asyncpg.connect(self.url)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        asyncio.run(run())


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    env = base_env(tmp_path)
    if request.param == "sqlite":
        env["PA_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
        yield Target("sqlite", env)
        return
    url, drop = create_postgres_database("pa_cli")
    env["PA_DATABASE_URL"] = url
    try:
        yield Target("postgres", env)
    finally:
        drop()


def migrated(target: Target) -> None:
    ok(cli(target.env, "migrate"))


def login_status(target: Target, logins: dict[str, str]) -> dict[str, int]:
    """Sign each (email, password) in through the real app on the same database; email -> HTTP status."""
    settings = load_settings(target.env)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        return {email: client.post("/api/v1/auth/login", json={"email": email, "password": password}).status_code
                for email, password in logins.items()}


# --- schema ----------------------------------------------------------------------------------------------


def test_serve_refuses_an_unmigrated_database(target: Target) -> None:
    line = one_line_failure(cli(target.env, "serve"))
    assert line.startswith("partner-audit: the database is")
    assert "run `partner-audit migrate` first" in line


def test_migrate_applies_then_is_up_to_date(target: Target) -> None:
    expected = len([p for p in MIGRATIONS_DIR.glob("*.py") if not p.name.startswith("__")])
    lines = ok(cli(target.env, "migrate"))
    assert lines[-1] == f"applied {expected} migration(s); the database is up to date"
    # One line a migration, with its description; none of Piccolo's contradictory counts ("already complete").
    assert len(lines) == expected + 1
    assert all(re.fullmatch(r"\s*\d{4}-\d\d-\d\dT[\d:]+  \S.+", line) for line in lines[:-1]), lines
    assert "Device register" in "\n".join(lines)
    assert ok(cli(target.env, "migrate"))[-1] == "the database is up to date"
    assert target.scalar("SELECT count(*) FROM access_log_entry") == 0


def test_help_lists_every_command(tmp_path: Path) -> None:
    from partner_audit.cli import parser

    commands = [a for a in parser()._subparsers._group_actions[0].choices]  # type: ignore[union-attr]
    shown = "\n".join(ok(cli(base_env(tmp_path), "--help")))
    assert len(commands) >= 12
    for command in commands:
        assert re.search(rf"^    {re.escape(command)}\b", shown, re.M), (command, shown)
    serve = "\n".join(ok(cli(base_env(tmp_path), "serve", "--help")))
    assert "--host HOST" in serve and "--port PORT" in serve


# --- people ----------------------------------------------------------------------------------------------


def test_create_user_makes_an_admin_who_can_sign_in(target: Target) -> None:
    migrated(target)
    lines = ok(cli(target.env, "create-user", "--role", "admin", "--email", "Root@Example.org",
                   PA_NEW_USER_PASSWORD=PASSWORD))
    assert re.fullmatch(r"created admin root@example\.org \([0-9a-f-]{36}\)", lines[-1])
    assert target.scalar("SELECT role FROM app_user WHERE email = 'root@example.org'") == Role.admin.value
    # Made by the command line, and logged as such.
    assert target.scalar("SELECT email FROM access_log_entry WHERE action = 'user.create'") == "system:create-user"

    assert login_status(target, {"root@example.org": PASSWORD, "root@example.org ": "wrong password!"}) == {
        "root@example.org": 200, "root@example.org ": 401}


def test_create_user_refuses_in_one_line(target: Target) -> None:
    migrated(target)
    ok(cli(target.env, "create-user", "--role", "admin", "--email", "root@example.org",
           PA_NEW_USER_PASSWORD=PASSWORD))
    line = one_line_failure(cli(target.env, "create-user", "--role", "auditor", "--email", "ROOT@example.org",
                                PA_NEW_USER_PASSWORD=PASSWORD))
    assert line == "partner-audit: A user with email root@example.org already exists."
    line = one_line_failure(cli(target.env, "create-user", "--role", "auditor", "--email", "short@example.org",
                                PA_NEW_USER_PASSWORD="short"))
    assert line == "partner-audit: password: must be at least 12 characters"
    assert target.scalar("SELECT count(*) FROM app_user") == 1


def test_demo_prints_a_login_per_role_and_runs_again_without_duplicates(target: Target) -> None:
    migrated(target)
    printed = cli(target.env, "demo")
    first = demo_logins(printed)
    assert {role for role, _ in first.values()} == {r.value for r in Role}
    assert target.scalar("SELECT count(*) FROM provider") == 12
    users = target.scalar("SELECT count(*) FROM app_user")
    # A privacy lead at each of the 9 active providers (two are demo logins), and two more auditors (not printed).
    assert users == len(first) + 9 - 2 + 2
    # A lived-in quarter, and it says what it made.
    holds = [line.strip() for line in ok(printed) if line.strip().startswith("- ")]
    assert len(holds) == 10, ok(printed)
    assert "8 accepted, 1 never submitted" in holds[2]
    # Two quarters ago, 8; and the 9 active providers' three rounds before it (demo.history), 27.
    assert target.scalar("SELECT count(*) FROM assessment WHERE status = 'accepted'") == 8 + 27
    assert target.scalar("SELECT count(*) FROM assessment WHERE status = 'submitted'") == 1
    assert target.scalar("SELECT count(*) FROM assessment WHERE status = 'returned'") == 1
    assert target.scalar("SELECT count(*) FROM review_comment") >= 2
    assert target.scalar("SELECT count(*) FROM evidence") > 50
    assert target.scalar("SELECT count(*) FROM device") == 40
    assert target.scalar("SELECT count(*) FROM assignment WHERE closed_at IS NULL") == 26
    assert target.scalar("SELECT count(*) FROM attestation") > 10
    assert target.scalar("SELECT count(*) FROM incident") == 2
    assert target.scalar("SELECT count(*) FROM breach_assessment") == 2
    assert "26 held by providers' staff" in holds[4]
    assessments = target.scalar("SELECT count(*) FROM assessment")

    second = demo_logins(cli(target.env, "demo"))
    assert second.keys() == first.keys()
    assert target.scalar("SELECT count(*) FROM provider") == 12
    assert target.scalar("SELECT count(*) FROM app_user") == users
    assert target.scalar("SELECT count(*) FROM device") == 40
    assert target.scalar("SELECT count(*) FROM assessment") == assessments
    assert all(second[email][1] != first[email][1] for email in first)

    new = {email: password for email, (_, password) in second.items()}
    old_admin = next(email for email, (role, _) in first.items() if role == "admin")
    statuses = login_status(target, {**new, f" {old_admin}": first[old_admin][1]})
    assert statuses == {**{email: 200 for email in new}, f" {old_admin}": 401}


# --- the access log --------------------------------------------------------------------------------------


def test_access_log_verify_finds_a_row_edited_in_the_database(target: Target) -> None:
    migrated(target)
    ok(cli(target.env, "demo"))  # a command seals what it logged as it stops
    entries = target.scalar("SELECT count(*) FROM access_log_entry")
    assert entries > 12
    (line,) = ok(cli(target.env, "access-log", "verify"))
    assert re.fullmatch(rf"access log intact: {entries} entries sealed and verified in order, against the "
                        rf"checkpoint of \S+ \(position {entries}\)", line), line
    assert ok(cli(target.env, "access-log", "seal")) == ["sealed 0 entries; the checkpoint names the head"]

    fifth = target.scalar("SELECT entry FROM access_log_seal WHERE position = 5")
    with pytest.raises(Exception, match="append-only"):  # the database itself refuses
        target.execute(f"UPDATE access_log_entry SET outcome = 'denied' WHERE seq = {fifth}")
    # Someone who may switch the triggers off, does.
    target.execute("DROP TRIGGER access_log_entry_no_update" if target.backend == "sqlite"
                   else "ALTER TABLE access_log_entry DISABLE TRIGGER USER")
    target.execute(f"UPDATE access_log_entry SET outcome = 'denied' WHERE seq = {fifth}")
    line = one_line_failure(cli(target.env, "access-log", "verify"), code=1)
    assert re.fullmatch(rf"access log BROKEN at position 5: entry {fifth} was changed after it was written "
                        rf"\(4 entries before it verified, against the checkpoint of \S+ \(position {entries}\)\)",
                        line), line


# --- settings --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("variable", "value"), [("PA_PORT", "abc"), ("PA_DATABASE_URL", "mysql://x")])
@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_a_bad_setting_stops_the_command_in_one_line(tmp_path: Path, command: str, variable: str, value: str) -> None:
    line = one_line_failure(cli(base_env(tmp_path), command, **{variable: value}))
    assert line.startswith(f"partner-audit: bad setting: {variable}=")


# --- serving for real ------------------------------------------------------------------------------------


def test_serve_answers_over_real_http(served: tuple[str, dict[str, tuple[str, str]]]) -> None:
    base, logins = served
    email, (_, password) = next((e, v) for e, v in logins.items() if v[0] == "admin")
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.get("/api/v1/providers").status_code == 401

        r = http.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        assert "pa_session" in http.cookies

        r = http.get("/api/v1/providers", params={"page_size": 200})
        assert r.status_code == 200, r.text
        assert r.json()["total"] == 12 and len(r.json()["items"]) == 12

        r = http.get("/schema")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", r.text)
        assert assets, r.text
        # Everything the API page loads comes from this server, never a CDN.
        assert all(a.startswith("/") and not a.startswith("//") for a in assets), assets
        swagger = [a for a in assets if a.startswith("/static/swagger/")]
        assert {a.rsplit("/", 1)[1] for a in swagger} >= {"swagger-ui-bundle.js", "swagger-ui.css"}
        for asset in swagger:
            assert http.get(asset).status_code == 200, asset

        r = http.get("/schema/openapi.json")
        assert r.status_code == 200 and "/api/v1/providers" in r.json()["paths"]


def test_the_server_log_keeps_no_link_token_or_personal_detail(served: tuple[str, dict[str, tuple[str, str]]],
                                                               tmp_path: Path) -> None:
    base, _ = served
    secret, email = "AttestSecret_" + "x" * 30, "hine.holder@provider.example"
    with httpx.Client(base_url=base, timeout=10) as http:
        http.get(f"/attest/{secret}")
        http.get("/api/v1/devices/export/history", params={"holder_email": email, "format": "csv"})
        http.get("/api/v1/devices", params={"q": "Hine Holder", "page": 2, "page_size": 10})
    time.sleep(0.5)  # the access lines are written after the responses
    log = (tmp_path / "serve.log").read_text()
    assert "/attest/REDACTED" in log and "holder_email=REDACTED&format=csv" in log, log
    assert "q=REDACTED&page=2&page_size=10" in log, log
    assert secret not in log and "hine" not in log.lower(), log


# --- audits ----------------------------------------------------------------------------------------------


def test_audits_plan_proposes_with_progress_and_a_summary_then_accepts(target: Target) -> None:
    from partner_audit.demo import demo_nzbn
    from partner_audit.providers import service as providers
    from partner_audit.providers.schemas import ProviderCreate, ProviderKind, Region
    from partner_audit.security.caller import Caller

    migrated(target)
    for n in (1, 2):
        ok(cli(target.env, "create-user", "--role", "auditor", "--email", f"auditor{n}@example.org",
               "--name", f"Auditor {n}", PA_NEW_USER_PASSWORD=PASSWORD))
    with TestClient(create_app(load_settings(target.env))) as client:
        for n, tier in enumerate((1, 2, 3, 3)):
            client.blocking_portal.call(providers.register, Caller.system("test"), ProviderCreate(
                name=f"Trust {n}", nzbn=demo_nzbn(700 + n), kind=ProviderKind.ngo, region=Region.wellington,
                risk_tier=tier))

    result = cli(target.env, "audits", "plan", "--from", "2027-01-01", "--to", "2027-03-31")
    lines = ok(result)
    assert "booking proposals: 4/4 done in" in result.stderr
    assert re.fullmatch(r"plan \S+: 2027-01-01 to 2027-03-31, 4 audit\(s\) proposed, 0 due provider\(s\) skipped "
                        r"\(tier 1 every 12 months, tier 2 every 24 months, tier 3 every 36 months; 2 a week .*\)",
                        lines[0]), lines[0]
    per_auditor = [line for line in lines if re.match(r"  Auditor \d  ", line)]
    assert len(per_auditor) == 2 and all(re.search(r"\s2  \(", line) for line in per_auditor), lines
    assert "nothing is scheduled yet" in lines[-1]
    assert target.scalar("SELECT count(*) FROM audit WHERE status = 'proposed' AND origin = 'plan'") == 4

    # Those four are under audit now: a plan of the same quarter proposes nothing; one of the next year, accepted.
    assert "0 audit(s) proposed" in ok(cli(target.env, "audits", "plan", "--from", "2027-01-01",
                                           "--to", "2027-03-31"))[0]
    target.execute("UPDATE audit SET status = 'closed'")
    lines = ok(cli(target.env, "audits", "plan", "--from", "2028-01-01", "--to", "2028-03-31", "--accept"))
    assert "1 audit(s) proposed" in lines[0], lines  # tier 1, closed in 2027: due again in 2028
    assert lines[-1] == "accepted 1 proposal(s): now scheduled"
    assert target.scalar("SELECT count(*) FROM audit WHERE status = 'scheduled'") == 1

    bad = cli(target.env, "audits", "plan", "--from", "2027-13-01", "--to", "2027-03-31")
    assert bad.returncode == 2 and "'2027-13-01' is not a date as YYYY-MM-DD" in bad.stderr
