"""The service as the benchmarks drive it: ``partner-audit serve`` on a fresh database (SQLite unless a PostgreSQL
URL is given) with the demo data, on a free port, and its people signed in over HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

CLI = str(Path(sys.executable).with_name("partner-audit"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def status_mib(pid: int, key: str) -> float:
    """A size from /proc/PID/status (VmRSS, VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} for process {pid}")


@dataclass
class DemoService:
    base: str
    pid: int
    logins: dict[str, str]  # email: password, as `partner-audit demo` printed them

    def session(self, email: str) -> httpx.Client:
        """A client as a script uses the API: signed in once for an API token, then the token (a cookie would
        need the session's CSRF token on uploads)."""
        with httpx.Client(base_url=self.base, timeout=60) as browser:
            browser.post("/api/v1/auth/login", json={"email": email, "password": self.logins[email]}
                         ).raise_for_status()
            token = browser.post("/api/v1/me/tokens", json={"name": "bench"})
        token.raise_for_status()
        return httpx.Client(base_url=self.base, timeout=600, headers={"Authorization": f"Bearer {token.json()['token']}"})

    def open_assessment(self, partnerships: httpx.Client, staff: httpx.Client) -> dict:
        """The provider's first assessment, launching a rollout for its provider when it has none."""
        if not staff.get("/api/v1/assessments").json()["items"]:
            template = partnerships.get("/api/v1/templates").json()[0]
            provider = staff.get("/api/v1/providers").json()["items"][0]
            rollout = partnerships.post("/api/v1/rollouts", json={
                "name": "bench", "template_version_id": template["id"], "period": "2025-Q3",
                "opens_on": "2025-07-01", "due_on": "2025-09-30",
                "selection": {"provider_ids": [provider["id"]]}}).json()
            partnerships.post(f"/api/v1/rollouts/{rollout['id']}/launch").raise_for_status()
        return staff.get("/api/v1/assessments").json()["items"][0]


@contextmanager
def demo_service(env: dict[str, str], *, database_url: str | None = None, workers: int = 1
                 ) -> Iterator[DemoService]:
    """Migrate, load the templates and the demo, serve (``workers`` processes), and stop it afterwards. ``env`` is
    the whole environment; PA_VAR_DIR in it should be a fresh folder. ``database_url`` names a fresh, empty
    database; without it the service uses a SQLite file in PA_VAR_DIR."""
    env = {**env, "PA_PORT": str(free_port())}
    env.pop("PA_DATABASE_URL", None)
    if database_url:
        env["PA_DATABASE_URL"] = database_url
    for step in (["migrate"], ["templates", "load"]):
        subprocess.run([CLI, *step], env=env, check=True, capture_output=True)
    demo = subprocess.run([CLI, "demo"], env=env, check=True, capture_output=True, text=True).stdout
    logins = {parts[1]: parts[2] for parts in (line.split() for line in demo.splitlines())
              if len(parts) == 3 and "@" in parts[1]}
    server = subprocess.Popen([CLI, "serve", "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{env['PA_PORT']}"
    try:
        # Workers import the whole app before they answer: on a busy machine that takes tens of seconds.
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{base}/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"partner-audit serve did not become ready on {base}")
            time.sleep(0.1)
        yield DemoService(base, server.pid, logins)
    finally:
        server.terminate()
        server.wait(timeout=30)
