"""HTTP load on the service as it runs in production: requests a second and latency of the hot routes, each beside
``/health/live`` measured in the same run (issue 9, items 3 and 5).

``partner-audit serve --workers 2`` on a fresh migrated database with the demo data (PostgreSQL, SQLite, or
both), and ``wrk`` on loopback, 50 connections, ~10 s a scenario after a short warm-up:

* ``/health/live`` (no database: the ceiling of the server and of the load generator);
* a provider reading its assessment (``GET /api/v1/assessments/{id}``, with its answers);
* listing assessments (an auditor, ``GET /api/v1/assessments``);
* the partnerships team listing devices (``GET /api/v1/devices``, some of them checked out);
* saving an answer (a provider, ``PUT /api/v1/assessments/{id}/answers``, each at the version it edits);
* a sign-in (``POST /api/v1/auth/login``, the demo logins in turn).

Prints requests a second, p50/p95/p99, errors (non-2xx answers and socket errors) and the ratio of each to
``/health/live``, with the machine and its load average. Asserts nothing. See bench/README.md.

    .venv/bin/python bench/http_load.py --db both      # PA_TEST_POSTGRES_URL names a server for the PostgreSQL run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the PostgreSQL database maker lives with the tests (tests/support/)
sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo_service import DemoService, demo_service  # noqa: E402

WRK_MISSING = "wrk is not installed: `apt-get install -y wrk` (Debian package), then run this again"

# Targets from the issue, as ratios to /health/live and p99 in ms: (reads, saving an answer, read p99).
TARGETS = {"postgres": (0.10, 0.05, 100.0), "sqlite": (0.05, None, 250.0)}

# The wrk script: one request shape a scenario (method, path, headers, body), or the bodies in turn, or, for
# answers, each thread keeping its own questions and the version each is at. done() prints one JSON line.
LUA = r"""
local spec = %(spec)s
local counter = 0
local free, version, owned = {}, {}, {}
local thread_id, threads = 0, 1
local all_threads = {}

function setup(thread)
  table.insert(all_threads, thread)
  thread:set("thread_id", #all_threads - 1)
end

function init(args)
  thread_id = tonumber(wrk.thread:get("thread_id")) or 0
  threads = spec.threads
  if spec.questions then
    for i = thread_id + 1, #spec.questions, threads do
      local q = spec.questions[i]
      version[q.id] = q.version
      table.insert(free, q)
      table.insert(owned, q)
    end
  end
end

function request()
  counter = counter + 1
  if spec.questions then
    -- A question no request of this thread is editing, at the version last seen; with none free, one in
    -- flight (its save may then meet a 409, counted as an error).
    local q = table.remove(free) or owned[(counter %% #owned) + 1]
    local body = string.format('{"answers":[{"question_id":"%%s","value":%%s,"version":%%d}]}',
                               q.id, q.value, version[q.id])
    return wrk.format(spec.method, spec.path, spec.headers, body)
  end
  local body = spec.body
  if spec.bodies then body = spec.bodies[(counter %% #spec.bodies) + 1] end
  return wrk.format(spec.method, spec.path, spec.headers, body)
end

if spec.questions then
  local by_id = {}
  function response(status, headers, body)
    if next(by_id) == nil then for _, q in ipairs(owned) do by_id[q.id] = q end end
    -- A saved answer, or the 409's current answer, names the question and its version now.
    local qid = body:match('"question_id":"([^"]+)"')
    local v = body:match('"version":(%%d+)')
    if qid and by_id[qid] then
      if v then version[qid] = tonumber(v) end
      table.insert(free, by_id[qid])
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nRESULT {"requests":%%d,"duration_us":%%d,"status_errors":%%d,"socket_errors":%%d,' ..
    '"p50_us":%%d,"p95_us":%%d,"p99_us":%%d,"max_us":%%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def lua_value(value: object) -> str:
    """A Python value (str, int, bool, None, list, dict) as a Lua literal."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "[==[" + value + "]==]"
    if isinstance(value, list):
        return "{" + ", ".join(lua_value(v) for v in value) + "}"
    if isinstance(value, dict):
        # "[ [==[key]==] ]" with spaces: "[[" would open a long string
        return "{" + ", ".join(f"[ {lua_value(k)} ] = {lua_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


@dataclass
class Scenario:
    name: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    bodies: list[str] | None = None
    # Answers: a function giving [{id, value (JSON text), version}] as they stand before each run.
    questions: Callable[[], list[dict]] | None = None
    kind: str = "read"  # read, write, sign-in or baseline: which target applies


@dataclass
class Figures:
    scenario: Scenario
    rps: float
    p50: float
    p95: float
    p99: float
    errors: int
    requests: int
    cpu_ms: float  # the workers' CPU time (user + system) a request: what a request costs, whatever else runs


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used, from /proc/PID/stat."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of the whole line)
    return total / os.sysconf("SC_CLK_TCK")


def run_wrk(base: str, scenario: Scenario, seconds: int, connections: int, threads: int, workers: list[int],
            profile: Callable[[], Callable[[], None]] | None = None) -> Figures:
    spec = {"method": scenario.method, "path": scenario.path, "headers": scenario.headers, "body": scenario.body,
            "bodies": scenario.bodies, "threads": threads,
            "questions": scenario.questions() if scenario.questions else None}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % {"spec": lua_value(spec)})
    cpu_before = cpu_seconds(workers)
    try:
        wrk = subprocess.Popen(
            ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "30s",
             "-s", script.name, base + scenario.path],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        stop_profile = profile() if profile else None
        out, err = wrk.communicate()
        cpu = cpu_seconds(workers) - cpu_before
        if stop_profile:
            stop_profile()
    finally:
        os.unlink(script.name)
    line = next((ln for ln in out.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result for {scenario.name}:\n{out}{err}")
    r = json.loads(line.removeprefix("RESULT "))
    return Figures(scenario, r["requests"] / (r["duration_us"] / 1e6), r["p50_us"] / 1000, r["p95_us"] / 1000,
                   r["p99_us"] / 1000, r["status_errors"] + r["socket_errors"], r["requests"],
                   cpu * 1000 / max(1, r["requests"]))


# --- the data the scenarios need ---------------------------------------------------------------------------


def bearer(client: httpx.Client) -> dict[str, str]:
    return {"Authorization": client.headers["Authorization"]}


def email_of(logins: dict[str, str], role_word: str) -> str:
    return next(email for email in logins if email.split("@")[0].startswith(role_word))


def answerable_value(question: dict) -> object:
    """A value every question of its type takes, or None (no answer) for types with their own bounds."""
    kind, options = question["type"], question.get("options") or []
    if kind in ("yes_no", "yes_partial_no"):
        return "yes"
    if kind in ("maturity", "choice") and options:
        return options[0]["value"]
    if kind == "multi_choice" and options:
        return [options[0]["value"]]
    if kind == "text":
        return "Reviewed by the privacy lead this quarter."
    return None


def questions_of(template: dict) -> list[dict]:
    found: list[dict] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "id" in node and "type" in node and isinstance(node.get("type"), str) and "text" in node:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(template)
    return found


def register_devices(partnerships: httpx.Client, provider_id: str, count: int, checked_out: int) -> None:
    for n in range(count):
        device = partnerships.post("/api/v1/devices", json={
            "asset_tag": f"BENCH-{n:04d}", "kind": "laptop" if n % 3 else "phone", "serial": f"SN{n:06d}",
            "make": "Lenovo", "model": "ThinkPad T14", "encrypted": True, "mdm_enrolled": n % 4 != 0})
        device.raise_for_status()
        if n < checked_out:
            partnerships.post(f"/api/v1/devices/{device.json()['id']}/check-out", json={
                "provider_id": provider_id, "holder_name": f"Holder {n}", "holder_email": f"holder{n}@example.nz",
                "purpose": "Case work in the field", "starts_on": "2025-07-01"}).raise_for_status()


def scenarios(service: DemoService, devices: int, checked_out: int) -> list[Scenario]:
    logins = service.logins
    partnerships = service.session(email_of(logins, "partnerships"))
    auditor = service.session(email_of(logins, "auditor"))
    provider = service.session(email_of(logins, "provider.user") if any(
        e.startswith("provider.user") for e in logins) else email_of(logins, "provider"))
    assessment = service.open_assessment(partnerships, provider)
    aid = assessment["id"]
    register_devices(partnerships, assessment["provider_id"], devices, checked_out)
    template = partnerships.get(f"/api/v1/templates/{assessment['template_version_id']}")
    template.raise_for_status()
    values = {q["id"]: json.dumps(answerable_value(q)) for q in questions_of(template.json()["template"])}

    def questions() -> list[dict]:
        stored = {a["question_id"]: a["version"] for a in provider.get(f"/api/v1/assessments/{aid}").json()["answers"]}
        return [{"id": qid, "value": value, "version": stored.get(qid, 0)} for qid, value in values.items()]

    sign_ins = [json.dumps({"email": email, "password": password}) for email, password in logins.items()]
    json_headers = {"Content-Type": "application/json"}
    return [
        Scenario("/health/live", "GET", "/health/live", kind="baseline"),
        Scenario("provider reads its assessment", "GET", f"/api/v1/assessments/{aid}", bearer(provider)),
        Scenario("auditor lists assessments", "GET", "/api/v1/assessments", bearer(auditor)),
        Scenario("partnerships lists devices", "GET", "/api/v1/devices", bearer(partnerships)),
        Scenario("provider saves an answer", "PUT", f"/api/v1/assessments/{aid}/answers",
                 {**bearer(provider), **json_headers}, questions=questions, kind="write"),
        Scenario("sign-in", "POST", "/api/v1/auth/login", json_headers, bodies=sign_ins, kind="sign-in"),
    ]


# --- running and printing ------------------------------------------------------------------------------


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def worker_pids(server_pid: int) -> list[int]:
    """uvicorn's worker processes under ``serve --workers N`` (children of the supervisor)."""
    out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(server_pid)], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines() if line.strip() and "resource_tracker" not in line]


def profiler(args: argparse.Namespace, backend: str, scenario: Scenario, pids: list[int]
             ) -> Callable[[], Callable[[], None]] | None:
    """With --profile DIR: py-spy records each worker while the scenario is measured, as collapsed stacks
    (DIR/<backend>-<scenario>-<pid>.txt, one line a distinct stack and its sample count)."""
    if not args.profile or scenario.kind == "baseline":
        return None

    def start() -> Callable[[], None]:
        slug = "".join(c if c.isalnum() else "-" for c in scenario.name).strip("-")
        spies = [subprocess.Popen(
            [args.py_spy, "record", "--pid", str(pid), "--duration", str(args.seconds), "--rate", "100",
             "--nonblocking", "--format", "raw", "--output", str(Path(args.profile) / f"{backend}-{slug}-{pid}.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for pid in pids]
        return lambda: [spy.wait() for spy in spies] and None

    return start


def run_backend(backend: str, args: argparse.Namespace) -> list[Figures]:
    drop = None
    url = None
    if backend == "postgres":
        if not os.environ.get("PA_TEST_POSTGRES_URL"):
            sys.exit("--db postgres needs PA_TEST_POSTGRES_URL, e.g. postgresql://postgres@127.0.0.1:5432/postgres")
        from tests.support.databases import create_postgres_database

        url, drop = create_postgres_database("pa_bench")
    try:
        with tempfile.TemporaryDirectory(prefix="pa-http-load-") as var, demo_service(
            {**os.environ, "PA_VAR_DIR": var}, database_url=url, workers=args.workers
        ) as service:
            chosen = [s for s in scenarios(service, args.devices, args.checked_out)
                      if not args.only or s.kind == "baseline" or any(w in s.name for w in args.only)]
            print(f"\n{backend}: serve --workers {args.workers} (supervisor pid {service.pid}, workers "
                  f"{' '.join(map(str, worker_pids(service.pid)))}), wrk -t{args.threads} -c{args.connections}, "
                  f"{args.seconds:g} s a scenario after {args.warmup:g} s warm-up, load average {loadavg()}",
                  flush=True)
            if args.pause:
                input(f"  paused before the runs ({service.base}); Enter to go on ")
            results = []
            workers = worker_pids(service.pid)
            for scenario in chosen:
                if args.warmup:
                    run_wrk(service.base, scenario, args.warmup, args.connections, args.threads, workers)
                figures = run_wrk(service.base, scenario, args.seconds, args.connections, args.threads, workers,
                                  profiler(args, backend, scenario, workers))
                results.append(figures)
                print(f"  {scenario.name:<32} {figures.rps:9.1f} req/s  load {loadavg()}", flush=True)
            return results
    finally:
        if drop:
            drop()


def report(backend: str, results: list[Figures]) -> None:
    base = next(f for f in results if f.scenario.kind == "baseline")
    reads_ratio, write_ratio, read_p99 = TARGETS[backend]
    print(f"\n{backend}  (python {platform.python_version()}, {os.cpu_count()} CPUs, load average {loadavg()})")
    print(f"{'scenario':<32} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7} {'requests':>9}"
          f" {'cpu ms/req':>10} {'x live':>7}  target")
    for f in results:
        ratio = f.rps / base.rps if base.rps else 0.0
        target = ""
        if f.scenario.kind == "read":
            met = ratio >= reads_ratio and f.p99 < read_p99
            target = f">= {reads_ratio:.2f}x, p99 < {read_p99:g} ms: {'met' if met else 'NOT met'}"
        elif f.scenario.kind == "write" and write_ratio is not None:
            target = f">= {write_ratio:.2f}x: {'met' if ratio >= write_ratio else 'NOT met'}"
        print(f"{f.scenario.name:<32} {f.rps:9.1f} {f.p50:8.1f} {f.p95:8.1f} {f.p99:8.1f} {f.errors:7d} "
              f"{f.requests:9d} {f.cpu_ms:10.2f} {ratio:6.3f}x  {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2, help="seconds of each scenario before it is measured")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="serve --workers")
    parser.add_argument("--devices", type=int, default=100, help="devices in the register")
    parser.add_argument("--checked-out", type=int, default=10, help="of them checked out to the provider")
    parser.add_argument("--only", nargs="*", help="words of the scenarios to run (with /health/live always)")
    parser.add_argument("--pause", action="store_true", help="wait for Enter before the runs (to attach a profiler)")
    parser.add_argument("--profile", metavar="DIR", help="record each worker with py-spy into DIR while measured")
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "/tmp/pyspy/bin/py-spy",
                        help="the py-spy binary (`pip install py-spy`)")
    args = parser.parse_args()
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    if not shutil.which("wrk"):
        sys.exit(WRK_MISSING)
    backends = ["postgres", "sqlite"] if args.db == "both" else [args.db]
    started = time.monotonic()
    results = {backend: run_backend(backend, args) for backend in backends}
    for backend, figures in results.items():
        report(backend, figures)
    print(f"\n({time.monotonic() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
