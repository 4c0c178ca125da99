"""The service as its own process: the ``partner-audit`` command run, and served on a free loopback port.

``served`` (``partner-audit serve`` with demo logins, on a SQLite database of its own) and ``two_processes`` (two
servers on the test database) are fixtures, loaded with the other support fixtures; ``cli``, ``ok``,
``one_line_failure`` and ``base_env`` are helpers: ``from tests.support.processes import cli, ok``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.databases import Database
from tests.support.logins import MAX_FAILURES
from tests.support.smtp import free_port
from tests.support.world import World

PARTNER_AUDIT = shutil.which("partner-audit", path=str(Path(sys.executable).parent))
DEMO_LOGIN = re.compile(r"^\s+(\w+)\s+(\S+@\S+)\s+(\S+)$")  # a row of the demo's printed logins


def base_env(tmp_path: Path) -> dict[str, str]:
    # Only the settings under test: nothing leaks in from the developer's own PA_* variables.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PA_")}
    env["PA_VAR_DIR"] = str(tmp_path / "var")
    return env


def cli(env: dict[str, str], *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    assert PARTNER_AUDIT, f"the partner-audit console script is not installed next to {sys.executable}"
    return subprocess.run([PARTNER_AUDIT, *args], env={**env, **extra}, capture_output=True, text=True,
                          timeout=180)


def ok(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()


def one_line_failure(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def demo_logins(result: subprocess.CompletedProcess[str]) -> dict[str, tuple[str, str]]:
    """email -> (role, password), from the demo's printed table."""
    found = {}
    for line in ok(result):
        match = DEMO_LOGIN.match(line)
        if match:
            role, email, password = match.groups()
            found[email] = (role, password)
    return found


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, tuple[str, str]]]]:
    """`partner-audit serve` on a free port, against a migrated SQLite database with demo data."""
    env = {**base_env(tmp_path), "PA_DATABASE_URL": f"sqlite:///{tmp_path / 'served.sqlite3'}"}
    ok(cli(env, "migrate"))
    logins = demo_logins(cli(env, "demo"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("w")
    # --host and --port, as the README shows them (no PA_PORT in the environment).
    process = subprocess.Popen([PARTNER_AUDIT, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        yield base, logins
    finally:
        process.terminate()
        try:
            assert process.wait(timeout=20) is not None
        finally:
            if process.poll() is None:
                process.kill()
            log.close()


# --- two app processes on one database ---------------------------------------------------------------


def _serve(database: Database, var_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PA_DATABASE_URL": database.url, "PA_VAR_DIR": str(var_dir), "PA_PORT": str(port),
           "PA_SECRET_KEY": "test-secret-key-" + "x" * 32, "PA_LOGIN_MAX_FAILURES": str(MAX_FAILURES)}
    proc = subprocess.Popen([sys.executable, "-m", "partner_audit.cli", "serve"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}"


def _wait_until_up(proc: subprocess.Popen, base: str) -> bool:
    """True once the server answers; False if it exited because its port was taken in the meantime (a free port
    is only free until someone binds it, and parallel workers and their clients take ports too)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read().decode()
            if "address already in use" in output:
                return False
            raise AssertionError(f"partner-audit serve exited: {output}")
        try:
            if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("partner-audit serve did not answer within 60 s")


def _serve_until_up(database: Database, var_dir: Path) -> tuple[subprocess.Popen, str]:
    for _ in range(5):
        proc, base = _serve(database, var_dir)
        if _wait_until_up(proc, base):
            return proc, base
    raise AssertionError("partner-audit serve found no free port in 5 tries")


@pytest.fixture
def two_processes(world: World, database: Database, tmp_path: Path) -> Iterator[list[httpx.Client]]:
    """Two `partner-audit serve` processes on the test database, which ``world`` has filled."""
    servers: list[tuple[subprocess.Popen, str]] = []
    try:
        for i in (1, 2):
            servers.append(_serve_until_up(database, tmp_path / f"var{i}"))
        clients = [httpx.Client(base_url=base, timeout=30) for _, base in servers]
        yield clients
        for c in clients:
            c.close()
    finally:
        for proc, _ in servers:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
