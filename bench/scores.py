"""Scores benchmark (issue 12, item 5): the score engine, scores end to end from PostgreSQL, and the quarterly
report, each beside a bare baseline measured in the same run.

Data: ``bench/scores_data.py`` (seeded, the same every run): 2,000 providers, the plan's template, 8 quarters of
self-assessments with their answers, audits with findings and corrective actions, devices with assignments,
attestations, incidents and spot-checks. With PA_TEST_POSTGRES_URL set, the same rows are written with asyncpg COPY
into a fresh database ``bench_scores`` on that server (migrated with the project's migrations, the template loaded
as the product loads it), dropped at the end unless ``--keep``.

  (a) the engine's full recompute, ``reports.scoring.score`` over every (provider, quarter) standing of the 8
      quarters with their ratings, beside a bare vectorised pandas weighted mean over the same answers frame:
      answers merged with the options' scores, then ``groupby(assessment, control)`` sums of weight × score and of
      weight (no show_if, no N/A or completeness, no verified score, no roll-up). Target: within 1.5x.
  (b) end to end from PostgreSQL: ``reports.services.frames.scores_as_at`` for the 8 quarters (load the
      standings, answers and ratings, score them) and the score aggregates of the report quarter
      (``reports.aggregation``: the provider table, distributions, trend, weakest controls and recommendations,
      recommendation progress, heatmap, assurance gap), beside a bare asyncpg fetch of the same answer rows into a
      DataFrame plus (a)'s baseline over it. Target: within 2x.
  (c) the quarterly report: ``reports.services.quarterly.quarterly_report`` and ``reports.xlsx.workbook``, time
      and peak RSS (in a process of its own, so the peak is the report's alone).

Each timing is the best of ``--runs``; (b) and (c) run in child processes on the database. The load average is
printed before and after: the machine is shared, so compare the ratios of one run.

    PA_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        PYTHONPATH=src .venv/bin/python bench/scores.py [--providers 2000] [--runs 3] [--keep] [--reuse]

Asserts nothing. See bench/README.md; figures in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scores_data  # noqa: E402

from partner_audit.controls.schemas import Template  # noqa: E402
from partner_audit.reports.quarters import Quarter  # noqa: E402

DATABASE = "bench_scores"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class Timing(dict):
    """The best wall-clock seconds of the runs (``wall``) and the best CPU seconds of this process (``cpu``): on a
    shared machine the CPU figure moves less with the load, but leaves out the database server's own work."""


def best_of(runs: int, work: Callable[[], Any]) -> tuple[Timing, Any]:
    walls, cpus, result = [], [], None
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        result = work()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return Timing(wall=min(walls), cpu=min(cpus)), result


async def best_of_async(runs: int, work: Callable[[], Any]) -> tuple[Timing, Any]:
    walls, cpus, result = [], [], None
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        result = await work()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return Timing(wall=min(walls), cpu=min(cpus)), result


# --- the bare baseline -----------------------------------------------------------------------------------------


def baseline_tables(template: Template) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What the baseline needs from the template, made once: (question_id, control_id, weight) of the scored
    questions and (question_id, value_json, score) of their scored options, values as the service stores them."""
    questions = pd.DataFrame([(q.id, c.id, q.weight) for _a, c, q in template.questions() if q.scored],
                             columns=["question_id", "control_id", "weight"])
    options = pd.DataFrame([(q.id, json.dumps(o.value), o.score) for _a, _c, q in template.questions()
                            for o in q.options if o.score is not None],
                           columns=["question_id", "value_json", "score"])
    return questions, options


def bare_weighted_mean(answers: pd.DataFrame, questions: pd.DataFrame, options: pd.DataFrame) -> pd.Series:
    """The plainest vectorised control score: each answer's score by a merge, then per (assessment, control)
    sum(weight × score) / sum(weight)."""
    scored = answers.merge(options, on=["question_id", "value_json"]).merge(questions, on="question_id")
    scored["weighted"] = scored["weight"] * scored["score"]
    sums = scored.groupby(["assessment_id", "control_id"])[["weighted", "weight"]].sum()
    return sums["weighted"] / sums["weight"]


# --- (a) the engine in memory ----------------------------------------------------------------------------------


def engine_in_memory(world: scores_data.World, runs: int) -> dict[str, Any]:
    subjects = world.subjects()
    answers = world.answer_frame()
    ratings = world.rating_frame()
    questions, options = baseline_tables(world.template)
    out: dict[str, Any] = {"subjects": len(subjects), "answers": len(answers), "ratings": len(ratings)}
    try:
        from partner_audit.reports import scoring
    except ImportError as exc:
        out["engine_error"] = f"reports.scoring not importable here: {exc}"
        out["baseline"], controls = best_of(runs, lambda: bare_weighted_mean(answers, questions, options))
        out["baseline_scores"] = len(controls)
        return out
    started = time.perf_counter()
    library = scoring.library({world.version_id: world.template})
    out["library"] = time.perf_counter() - started
    # Turn about, one run of each at a time, so a burst of load on the shared machine falls on both alike.
    bare, engine = Timing(wall=np.inf, cpu=np.inf), Timing(wall=np.inf, cpu=np.inf)
    for _ in range(runs):
        one, controls = best_of(1, lambda: bare_weighted_mean(answers, questions, options))
        bare = Timing(wall=min(bare["wall"], one["wall"]), cpu=min(bare["cpu"], one["cpu"]))
        one, scores = best_of(1, lambda: scoring.score(library, subjects, answers, ratings))
        engine = Timing(wall=min(engine["wall"], one["wall"]), cpu=min(engine["cpu"], one["cpu"]))
    out.update(baseline=bare, baseline_scores=len(controls), engine=engine, engine_scores=len(scores.controls),
               checks=check_overall(world, subjects, scores))
    return out


def check_overall(world: scores_data.World, subjects: pd.DataFrame, scores: Any, sample: int = 200) -> str:
    """The engine's overall scores of a sample of subjects against ``audits.services.scores.overall`` (the rule
    the contract says it must match), self-assessed and verified, to one decimal."""
    from partner_audit.audits.schemas import Rating
    from partner_audit.audits.services.scores import overall

    picked = subjects.sample(min(sample, len(subjects)), random_state=1)
    answers = world.answer_frame()
    mine = answers[answers["assessment_id"].isin(picked["assessment_id"])]
    values: dict[str, dict[str, Any]] = {}
    for row in mine.itertuples(index=False):  # a sample of 200 assessments, outside any timing
        values.setdefault(row.assessment_id, {})[row.question_id] = json.loads(row.value_json)
    ratings = world.rating_frame()
    ratings = ratings[ratings["provider_id"].isin(picked["provider_id"])].sort_values("reported_on", kind="stable")
    wrong = 0
    for subject in picked.itertuples(index=False):
        rated = ratings[(ratings["provider_id"] == subject.provider_id) & (ratings["reported_on"] <= subject.as_of)]
        by_control = {r.control_id: Rating(r.rating) for r in rated.itertuples(index=False)}
        given = values.get(subject.assessment_id, {})
        expected = (overall(world.template, given), overall(world.template, given, by_control))
        row = scores.overall.loc[subject.subject]
        got = tuple(None if pd.isna(v) else round(float(v), 1) for v in (row["self_assessed"], row["verified"]))
        wrong += got != expected
    return f"overall = audits' overall for {len(picked) - wrong} of {len(picked)} sampled subjects"


# --- (b) and (c): children on the database ---------------------------------------------------------------------


def settings_for(url: str, var_dir: Path):
    from partner_audit.settings import load_settings

    return load_settings({**os.environ, "PA_DATABASE_URL": url, "PA_VAR_DIR": str(var_dir)})


def aggregate(providers: pd.DataFrame, standings: pd.DataFrame, scores: Any, library: Any, quarter: Quarter,
              settings: Any) -> int:
    """The report quarter's score aggregates (no facts beyond scores): how many structs were made."""
    from partner_audit.reports import aggregation
    from partner_audit.reports.schemas import Audience

    edition = aggregation.Edition(Audience.full, settings.report_min_group_size, settings.score_band_green_from,
                                  settings.score_band_amber_from)
    table = aggregation.provider_table(providers, standings, scores)
    controls, areas, placed = aggregation._titles(library)
    made = [
        aggregation.distributions(table, quarter, edition),
        aggregation.trend(table, quarter.last(8), edition),
        aggregation.weakest(scores.controls, table, quarter, "control", controls, edition),
        aggregation.weakest(scores.recommendations, table, quarter, "recommendation", placed["title"], edition),
        aggregation.recommendation_progress(scores.recommendations, table, quarter, placed, edition),
        aggregation.heatmap(scores.areas, table, quarter, areas, edition),
    ]
    return sum(len(m) for m in made)


def end_to_end(url: str, var_dir: Path, quarter: Quarter, quarters: int, runs: int, ids_file: Path,
               product_only: bool = False) -> dict[str, Any]:
    """(b), in a child process: the baseline over the standings the generator made (``ids_file``: subject ->
    assessment id), then the product, each best of ``runs``; and whether the product found the same standings."""
    import asyncpg

    from partner_audit.app import lifespan

    template = scores_data.load_template()
    questions, options = baseline_tables(template)
    span = quarter.last(quarters)
    expected: dict[str, str] = json.loads(ids_file.read_text())
    ids = sorted(set(expected.values()))

    async def work() -> dict[str, Any]:
        out: dict[str, Any] = {"subjects": len(expected)}
        settings = settings_for(url, var_dir)
        async with lifespan(settings):
            connection = await asyncpg.connect(url)
            try:
                async def bare() -> int:
                    rows = await connection.fetch(
                        "SELECT assessment::text, question_id, value::text FROM answer "
                        "WHERE assessment = ANY($1::uuid[])", ids)
                    answers = pd.DataFrame.from_records(rows, columns=["assessment_id", "question_id", "value_json"])
                    return len(bare_weighted_mean(answers, questions, options))

                out["rows"] = await connection.fetchval(
                    "SELECT count(*) FROM answer WHERE assessment = ANY($1::uuid[])", ids)
                try:
                    from partner_audit.reports.services import frames
                except ImportError as exc:
                    out["product_error"] = f"not importable here: {exc}"
                    await bare()  # warm the server's cache of the answer table
                    out["baseline"], _ = await best_of_async(runs, bare)
                    return out

                if importlib.util.find_spec("partner_audit.reports.aggregation") is None:
                    out["aggregation_error"] = "aggregation left out: reports.aggregation is not on this branch"

                async def product() -> tuple[int, Any]:
                    standings, scores = await frames.scores_as_at(span)
                    if "aggregation_error" in out:
                        return 0, standings
                    providers = await frames.providers()
                    library = await frames.library_of(standings["template_version"].astype(str).unique())
                    return aggregate(providers, standings, scores, library, quarter, settings), standings

                # Warm both (the server's cache, the pool, the parsed template), then turn about, as in (a).
                if not product_only:
                    await bare()
                await product()
                base, mine = Timing(wall=np.nan, cpu=np.nan), Timing(wall=np.inf, cpu=np.inf)
                for _ in range(runs):
                    if not product_only:
                        one, _ = await best_of_async(1, bare)
                        base = Timing(wall=np.fmin(base["wall"], one["wall"]), cpu=np.fmin(base["cpu"], one["cpu"]))
                    one, (out["structs"], standings) = await best_of_async(1, product)
                    mine = Timing(wall=min(mine["wall"], one["wall"]), cpu=min(mine["cpu"], one["cpu"]))
                out["baseline"], out["product"] = base, mine
                found = dict(zip(standings["subject"].astype(str), standings["assessment_id"].astype(str)))
                out["same_standings"] = found == expected
            finally:
                await connection.close()
        return out

    return asyncio.run(work())


def report(url: str, var_dir: Path, quarter: Quarter, runs: int, save: Path | None) -> dict[str, Any]:
    from partner_audit.app import lifespan
    from partner_audit.security.caller import Caller

    async def work() -> dict[str, Any]:
        async with lifespan(settings_for(url, var_dir)):
            from partner_audit.reports import xlsx
            from partner_audit.reports.services.quarterly import quarterly_report

            caller = Caller.system("bench")
            today = quarter.next().starts_on  # the quarter is over: its figures as at its end
            before = rss_mib()
            runs_: list[dict[str, float]] = []
            data = b""
            for _ in range(runs):
                started, cpu = time.perf_counter(), time.process_time()
                body = await quarterly_report(caller, quarter, today=today)
                middle, middle_cpu = time.perf_counter(), time.process_time()
                data = xlsx.workbook(body)
                runs_.append({"report": middle - started, "report_cpu": middle_cpu - cpu,
                              "workbook": time.perf_counter() - middle,
                              "workbook_cpu": time.process_time() - middle_cpu})
            if save:
                save.write_bytes(data)
            best = min(runs_, key=lambda r: r["report"] + r["workbook"])
            return {"report": {"wall": min(r["report"] for r in runs_), "cpu": min(r["report_cpu"] for r in runs_)},
                    "workbook": {"wall": min(r["workbook"] for r in runs_),
                                 "cpu": min(r["workbook_cpu"] for r in runs_)},
                    "total": {"wall": best["report"] + best["workbook"],
                              "cpu": best["report_cpu"] + best["workbook_cpu"]},
                    "rss_before_mib": before, "bytes": len(data), "providers": len(body.providers)}

    return asyncio.run(work())


def child(args: argparse.Namespace) -> None:
    quarter = Quarter.parse(args.quarter)
    with tempfile.TemporaryDirectory() as tmp:
        if args.child == "e2e":
            figures = end_to_end(args.url, Path(tmp), quarter, args.quarters, args.runs, args.ids,
                                 args.product_only)
        else:
            figures = report(args.url, Path(tmp), quarter, args.runs, args.save_report)
    figures["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(figures))


def run_child(mode: str, url: str, args: argparse.Namespace, ids: Path | None = None) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", mode, "--url", url, "--quarter", args.quarter,
               "--quarters", str(args.quarters), "--runs", str(args.runs)]
    if ids:
        command += ["--ids", str(ids)]
    if args.save_report:
        command += ["--save-report", str(args.save_report)]
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        # Profiled, (b) runs the product alone, so the stacks are its own (and the figures are no measurement).
        command = [args.py_spy, "record", "--format", "raw", "--rate", "200", "--nolineno", "--output",
                   str(args.profile / f"{mode}.txt"), "--", *command, "--product-only"]
    env = {**os.environ, "PICCOLO_CONF": "partner_audit.piccolo_conf"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if done.returncode == 0 and args.profile:
        print(f"\n{mode}: py-spy profile in {args.profile / f'{mode}.txt'}")
        print(summarise(args.profile / f"{mode}.txt"))
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}",
                "stderr": done.stderr[-3000:]}
    return json.loads(next(line for line in reversed(done.stdout.splitlines()) if line.startswith("{")))


# Innermost frames that are a thread waiting, which py-spy counts as active: an idle thread of a pool, and the
# event loop waiting on the database server.
WAITING = {"_worker", "EpollSelector.select"}


def summarise(path: Path, top: int = 15) -> str:
    """py-spy's collapsed stacks as the functions holding the most samples: inclusive (anywhere on the stack,
    the project's own functions) and self (the innermost frame, any code). Waiting threads are left out."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if frames[-1].split(" (")[0] in WAITING:
            continue
        samples = int(count)
        total += samples
        for frame in set(frames):
            if ("partner_audit" in frame or "bench/" in frame) and not frame.startswith("process "):
                inclusive[frame] = inclusive.get(frame, 0) + samples
        own[frames[-1]] = own.get(frames[-1], 0) + samples
    lines = [f"  {total} samples busy; inclusive, the project's functions:"]
    lines += [f"    {n / total:6.1%}  {f}" for f, n in sorted(inclusive.items(), key=lambda i: -i[1])[:top]]
    lines.append("  self, any code:")
    lines += [f"    {n / total:6.1%}  {f}" for f, n in sorted(own.items(), key=lambda i: -i[1])[:top]]
    return "\n".join(lines)


# --- the run -------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--providers", type=int, default=2000)
    parser.add_argument("--quarters", type=int, default=8)
    parser.add_argument("--quarter", default=str(scores_data.REPORT_QUARTER), help="the report quarter")
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--keep", action="store_true", help=f"keep the database {DATABASE} afterwards")
    parser.add_argument("--reuse", action="store_true", help=f"use {DATABASE} as a --keep run left it")
    parser.add_argument("--save-report", type=Path, help="write the report's workbook here")
    parser.add_argument("--verbose", action="store_true", help="print a failed child's stderr")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="run (b) and (c) under py-spy, collapsed stacks into DIR, and print the top frames")
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "/tmp/pyspy/bin/py-spy",
                        help="the py-spy binary (in a venv of its own: `pip install py-spy`)")
    parser.add_argument("--child", choices=["e2e", "report"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--ids", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--product-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    quarter = Quarter.parse(args.quarter)
    admin = os.environ.get("PA_TEST_POSTGRES_URL")
    load_before = loadavg()
    print(f"{os.cpu_count()} CPUs, python {sys.version.split()[0]}, pandas {pd.__version__}, numpy {np.__version__}; "
          f"load average before {load_before}")
    url = None
    version_id = scores_data.BENCH_VERSION_ID
    if admin:
        url = admin.rpartition("/")[0] + "/" + DATABASE
        if not args.reuse:
            scores_data.create_database(admin, DATABASE)
            version_id = asyncio.run(scores_data.load_template_version(url))
        else:
            version_id = asyncio.run(_version_in(url))
    started = time.perf_counter()
    world = scores_data.generate(providers=args.providers, quarters=args.quarters, seed=args.seed,
                                 version_id=version_id, report_quarter=quarter)
    made = time.perf_counter() - started
    counts = ", ".join(f"{v:,} {k}" for k, v in world.counts().items())
    print(f"data: {counts} (made in {made:.1f} s, seed {args.seed}, quarters "
          f"{world.quarters[0]} to {world.quarters[-1]})")
    if url and not args.reuse:
        started = time.perf_counter()
        asyncio.run(scores_data.write_postgres(url, world))
        print(f"written to PostgreSQL database {DATABASE} with COPY in {time.perf_counter() - started:.1f} s")

    results: list[str] = []
    subjects = world.subjects()
    ids = Path(tempfile.mkstemp(prefix="bench-scores-", suffix=".json")[1])
    atexit.register(ids.unlink, missing_ok=True)  # however the run ends
    ids.write_text(json.dumps(dict(zip(subjects["subject"], subjects["assessment_id"]))))
    a = engine_in_memory(world, args.runs)
    print(f"\n(a) {a['subjects']:,} subjects, {a['answers']:,} answers, {a['ratings']:,} ratings; "
          f"library {a.get('library', float('nan')):.3f} s (once per set of template versions, not in the figure)")
    results.append(_row("(a) bare pandas weighted mean", a["baseline"], None,
                        f"{a['baseline_scores']:,} control scores"))
    if "engine" in a:
        results.append(_row("(a) scoring.score, full recompute", a["engine"], a["baseline"],
                            f"{a['engine_scores']:,} control scores; {a['checks']}", target=1.5))
    else:
        results.append(f"(a) scoring.score: {a['engine_error']}")
    del world

    if url:
        b = run_child("e2e", url, args, ids)
        if "error" in b:
            results.append(f"(b) end to end: failed: {b['error']}")
            if args.verbose:
                print(b["stderr"])
        else:
            results.append(_row("(b) bare asyncpg fetch + (a)'s baseline", b["baseline"], None,
                                f"{b['rows']:,} answer rows of {b['subjects']:,} standings"))
            if "product" in b:
                label = "(b) frames.scores_as_at" + ("" if "aggregation_error" in b else " + aggregation")
                results.append(_row(label, b["product"], b["baseline"],
                                    f"{b['structs']:,} aggregate rows; standings as generated: "
                                    f"{b['same_standings']}; peak RSS {b['peak_rss_mib']:.0f} MiB", target=2.0))
                if "aggregation_error" in b:
                    results.append(f"    {b['aggregation_error']}")
            else:
                results.append(f"(b) frames.scores_as_at: {b['product_error']}")
        c = run_child("report", url, args)
        if "error" in c:
            results.append(f"(c) quarterly report: failed: {c['error']}")
            if args.verbose:
                print(c["stderr"])
        else:
            results.append(_row("(c) quarterly_report (the struct)", c["report"], None, ""))
            results.append(_row("(c) xlsx.workbook", c["workbook"], None,
                                f"{c['bytes'] / 2**20:.2f} MiB, {c['providers']:,} provider rows"))
            results.append(_row("(c) both", c["total"], None,
                                f"RSS {c['rss_before_mib']:.0f} MiB before, peak {c['peak_rss_mib']:.0f} MiB"))
        if not args.keep:
            scores_data.drop_database(admin, DATABASE)
    else:
        results.append("(b), (c) skipped: set PA_TEST_POSTGRES_URL to a server URL whose user may create databases")

    print(f"\nbest of {args.runs}; load average before {load_before}, after {loadavg()}")
    print(f"{'path':<44} {'seconds':>8} {'ratio':>7} {'cpu s':>7} {'ratio':>7}  notes")
    for line in results:
        print(line)
    if args.profile:
        print("(b) and (c) ran under py-spy, (b) without its baseline: their seconds are no measurement")


def _row(label: str, timing: dict[str, float], baseline: dict[str, float] | None, notes: str,
         target: float | None = None) -> str:
    """One line: wall seconds and the ratio to ``baseline``'s (the target's), CPU seconds and their ratio."""
    wall = timing["wall"] / baseline["wall"] if baseline else None
    cpu = timing["cpu"] / baseline["cpu"] if baseline and baseline.get("cpu") else None
    shown = f"{wall:6.2f}x" if wall is not None else " " * 7
    shown_cpu = f"{cpu:6.2f}x" if cpu is not None else " " * 7
    verdict = (f" (target {target}x: {'met' if wall <= target else 'NOT met'})"
               if target and wall is not None and not np.isnan(wall) else "")
    cpu_seconds = timing.get("cpu", float("nan"))
    return f"{label:<44} {timing['wall']:>8.3f} {shown} {cpu_seconds:>7.3f} {shown_cpu}  {notes}{verdict}"


async def _version_in(url: str) -> str:
    import asyncpg

    try:
        connection = await asyncpg.connect(url)
    except asyncpg.InvalidCatalogNameError:
        raise SystemExit(f"--reuse: there is no database {DATABASE}; run once with --keep first") from None
    try:
        found = await connection.fetchval("SELECT id FROM template_version WHERE key = 'pip-2024-25'")
    finally:
        await connection.close()
    if found is None:
        raise SystemExit(f"--reuse: {DATABASE} holds no plan template; run once with --keep first")
    return str(found)


if __name__ == "__main__":
    main()
