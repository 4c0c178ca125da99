"""Synthetic, seeded data for the scores benchmarks (bench/scores.py): providers, the plan's template, eight quarters
of self-assessments with their answers, audits with findings and corrective actions, and the device register with
assignments, attestations, incidents, breach assessments and spot-checks.

``generate()`` makes it all in memory as pandas frames, the same every run for the same arguments (numpy's seeded
generator; no wall clock). ``World.subjects()``, ``World.answer_frame()`` and ``World.rating_frame()`` give the
engine's inputs in the shapes of the contract (reports/scoring.py); ``write_postgres()`` puts the same rows into a
migrated PostgreSQL database with asyncpg's COPY (``copy_records_to_table``), one COPY a table.

The providers and their answers:

* 2,000 providers across the regions (weighted roughly by population), tiers 1/2/3 at 15/45/40%, kinds iwi/Māori,
  NGO, contractor, other at 20/50/20/10%, status active 90%, onboarding 3%, suspended 4%, exited 3%.
* Each provider has a strength (beta 4, 1.8: most do well, a few struggle) that rises a little each quarter; each
  assessment picks the strongest option of a question with that probability and any option otherwise. Numbers,
  dates and text are answered plausibly. About 8% of the questions that allow it are answered N/A, 2% of shown
  questions are left unanswered (40% in an assessment still in progress or returned; 1 in 4 of the unanswered
  stored as JSON ``null``, as the service stores a cleared answer), and a question whose ``show_if`` does not hold
  is left out 95% of the time (the rest are stale answers of a hidden question, which the engine must ignore).
* One round (rollout) a quarter, opening on its first day, due six weeks later. Before the last quarter 93% of
  assessments are accepted; in the last 70% are, the rest submitted, returned, in progress or not started. Some are
  submitted late, and a few decided after their quarter ended (then they stand from the next quarter).
* Audits each quarter for a share of providers by tier (25/12/6%), rating 4 to 12 controls (the whole template in
  3 of 10), a little worse than the providers say (the assurance gap); 5% of ratings are ``not_tested``. Most are
  reported or closed; some of the last quarter's are still in progress, and a few cancelled. Ineffective and partly
  effective findings get a corrective action, due 30 to 90 days after the report by severity.
* About 5 devices each for 80% of the providers, held by named people, a second holder for 40% of them, some
  overdue returns; attestations every 90 days with some missed; about 40 incidents a quarter (a fifth near misses)
  each with its breach assessment; a device spot-check audit samples 5 of the provider's assignments.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from partner_audit.controls import service as controls
from partner_audit.controls import yaml as template_yaml
from partner_audit.controls.schemas import NA, QuestionType, Template
from partner_audit.reports.quarters import Quarter

TEMPLATE_FILE = controls.TEMPLATES_DIR / "privacy-improvement-plan-2024-25.yaml"
REPORT_QUARTER = Quarter(2025, 3)
# The benchmark's own template version id, for the in-memory frames when no database has loaded the template.
BENCH_VERSION_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "partner-audit/bench/scores/pip-2024-25"))

REGIONS = {  # roughly by population, so the small regions make small groups (the governance suppression shows)
    "Northland": 4, "Auckland": 33, "Waikato": 10, "Bay of Plenty": 7, "Gisborne": 1, "Hawke's Bay": 4,
    "Taranaki": 3, "Manawatū-Whanganui": 5, "Wellington": 11, "Tasman": 1, "Nelson": 1, "Marlborough": 1,
    "West Coast": 0.5, "Canterbury": 13, "Otago": 5, "Southland": 2,
}
KINDS = {"iwi_maori": 20, "ngo": 50, "contractor": 20, "other": 10}
STATUSES = {"active": 90, "onboarding": 3, "suspended": 4, "exited": 3}
TIERS = {1: 15, 2: 45, 3: 40}
AUDITED_A_QUARTER = {1: 0.25, 2: 0.12, 3: 0.06}
INCIDENT_KINDS = {"lost": 30, "stolen": 15, "damaged": 25, "misuse": 10, "near_miss": 20}


def _weights(table: dict[Any, float]) -> tuple[np.ndarray, np.ndarray]:
    keys = np.array(list(table), dtype=object)
    p = np.array(list(table.values()), dtype=float)
    return keys, p / p.sum()


def _ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` version-4 UUIDs as text, drawn from ``rng`` so every run makes the same ones."""
    raw = rng.bytes(16 * n)
    return np.array([str(uuid.UUID(bytes=raw[i * 16:(i + 1) * 16], version=4)) for i in range(n)], dtype=object)


def _at(days: np.ndarray | pd.Series, hour: int) -> pd.Series:
    """Days (datetime64) at ``hour`` o'clock UTC: early afternoon in New Zealand, so the date is the same in either."""
    return (pd.to_datetime(pd.Series(days)) + pd.Timedelta(hours=hour)).dt.tz_localize("UTC")


def load_template() -> Template:
    """The plan's template, parsed and checked as the product parses it (controls.yaml)."""
    return template_yaml.parse(template_yaml.read_file(TEMPLATE_FILE))


@dataclass
class World:
    template: Template
    version_id: str
    quarters: list[Quarter]
    providers: pd.DataFrame
    rollouts: pd.DataFrame
    assessments: pd.DataFrame
    answers: pd.DataFrame  # assessment_id, question_id, value_json (the stored JSON text; 'null' when cleared)
    audits: pd.DataFrame
    findings: pd.DataFrame
    actions: pd.DataFrame
    devices: pd.DataFrame
    assignments: pd.DataFrame
    attestations: pd.DataFrame
    incidents: pd.DataFrame
    breaches: pd.DataFrame
    spot_checks: pd.DataFrame
    seconds: dict[str, float] = field(default_factory=dict)

    # --- the engine's inputs, in the contract's shapes -------------------------------------------------------

    def subjects(self) -> pd.DataFrame:
        """One row per (provider, quarter) with a standing: the provider's latest accepted assessment decided on or
        before the quarter's last day (ties by id), as at that day. Subject ``"<provider>:<quarter>"``."""
        accepted = self.assessments.loc[self.assessments["status"] == "accepted",
                                        ["assessment_id", "provider_id", "decided_at", "period"]]
        ends = pd.DataFrame({"quarter": [str(q) for q in self.quarters],
                             "as_of": pd.to_datetime([q.ends_on for q in self.quarters])})
        pairs = accepted.merge(ends, how="cross")
        # decided_at is at 02:00 UTC on its day (see _at), so comparing its UTC date with the quarter's last day is
        # the same as comparing New Zealand dates.
        decided_on = pairs["decided_at"].dt.tz_convert(None).dt.normalize()
        pairs = pairs[decided_on <= pairs["as_of"]]
        pairs = pairs.sort_values(["provider_id", "quarter", "decided_at", "assessment_id"])
        standing = pairs.drop_duplicates(["provider_id", "quarter"], keep="last")
        out = pd.DataFrame({
            "subject": standing["provider_id"] + ":" + standing["quarter"],
            "assessment_id": standing["assessment_id"],
            "provider_id": standing["provider_id"],
            "template_version": self.version_id,
            "as_of": standing["as_of"].astype("datetime64[ns]"),
            "quarter": standing["quarter"],
        })
        return out.sort_values(["quarter", "provider_id"]).reset_index(drop=True)

    def answer_frame(self) -> pd.DataFrame:
        return self.answers[["assessment_id", "question_id", "value_json"]]

    def rating_frame(self) -> pd.DataFrame:
        """Every rating of a reported or closed audit: provider_id, control_id, rating, reported_on."""
        done = self.audits[self.audits["status"].isin(["reported", "closed"])]
        rated = self.findings[self.findings["rating"].notna()].merge(
            done[["audit_id", "provider_id", "reported_at"]], on="audit_id")
        return pd.DataFrame({
            "provider_id": rated["provider_id"], "control_id": rated["control_id"], "rating": rated["rating"],
            "reported_on": rated["reported_at"].dt.tz_convert(None).dt.normalize().astype("datetime64[ns]"),
        }).reset_index(drop=True)

    def counts(self) -> dict[str, int]:
        return {"providers": len(self.providers), "assessments": len(self.assessments),
                "accepted": int((self.assessments["status"] == "accepted").sum()), "answers": len(self.answers),
                "audits": len(self.audits), "findings": len(self.findings), "corrective actions": len(self.actions),
                "devices": len(self.devices), "assignments": len(self.assignments),
                "attestations": len(self.attestations), "incidents": len(self.incidents),
                "spot-check items": len(self.spot_checks)}


# --- generation ------------------------------------------------------------------------------------------------


def generate(providers: int = 2000, quarters: int = 8, seed: int = 18, version_id: str = BENCH_VERSION_ID,
             report_quarter: Quarter = REPORT_QUARTER) -> World:
    rng = np.random.default_rng(seed)
    template = load_template()
    span = report_quarter.last(quarters)
    people = _providers(rng, providers)
    rollouts = _rollouts(rng, span, version_id)
    assessments = _assessments(rng, people, rollouts, span)
    answers = _answers(rng, template, people, assessments, span)
    audits, findings, actions = _audits(rng, template, people, span, version_id)
    devices, assignments, attestations, incidents, breaches = _devices(rng, people, span)
    spot_checks = _spot_checks(rng, audits, assignments)
    return World(template, version_id, span, people, rollouts, assessments, answers, audits, findings, actions,
                 devices, assignments, attestations, incidents, breaches, spot_checks)


def _providers(rng: np.random.Generator, n: int) -> pd.DataFrame:
    from partner_audit.demo import demo_nzbn

    regions, p_region = _weights(REGIONS)
    kinds, p_kind = _weights(KINDS)
    statuses, p_status = _weights(STATUSES)
    tiers, p_tier = _weights(TIERS)
    tier = rng.choice(tiers, n, p=p_tier).astype(int)
    return pd.DataFrame({
        "provider_id": _ids(rng, n),
        "name": [f"Bench Provider {i:04d}" for i in range(n)],
        "nzbn": [demo_nzbn(100_000 + i) for i in range(n)],
        "region": rng.choice(regions, n, p=p_region),
        "tier": tier,
        "kind": rng.choice(kinds, n, p=p_kind),
        "status": rng.choice(statuses, n, p=p_status),
        # Tier 1 (highest risk) providers a little weaker on average.
        "strength": np.clip(rng.beta(4.0, 1.8, n) - 0.05 * (tier == 1), 0.05, 0.97),
    })


def _rollouts(rng: np.random.Generator, span: list[Quarter], version_id: str) -> pd.DataFrame:
    return pd.DataFrame({
        "rollout_id": _ids(rng, len(span)),
        "name": [f"Privacy Improvement Plan {q}" for q in span],
        "period": [str(q) for q in span],
        "opens_on": pd.to_datetime([q.starts_on for q in span]),
        "due_on": pd.to_datetime([q.starts_on + timedelta(days=42) for q in span]),
        "template_version": version_id,
    })


def _assessments(rng: np.random.Generator, people: pd.DataFrame, rollouts: pd.DataFrame,
                 span: list[Quarter]) -> pd.DataFrame:
    n_p, n_q = len(people), len(span)
    # Onboarding providers joined in the last two quarters; a few others joined part-way through.
    first = np.where(people["status"] == "onboarding", rng.integers(n_q - 2, n_q, n_p),
                     np.where(rng.random(n_p) < 0.1, rng.integers(1, n_q, n_p), 0))
    grid = pd.DataFrame({"p": np.repeat(np.arange(n_p), n_q), "q": np.tile(np.arange(n_q), n_p)})
    grid = grid[grid["q"].to_numpy() >= first[grid["p"].to_numpy()]].reset_index(drop=True)
    n = len(grid)
    last = grid["q"].to_numpy() == n_q - 1
    statuses = np.array(["accepted", "submitted", "returned", "in_progress", "not_started"], dtype=object)
    status = np.where(last, rng.choice(statuses, n, p=[0.70, 0.10, 0.05, 0.10, 0.05]),
                      rng.choice(statuses, n, p=[0.93, 0.0, 0.02, 0.04, 0.01]))
    rollout = rollouts.iloc[grid["q"].to_numpy()].reset_index(drop=True)
    opens = rollout["opens_on"]
    # Submitted about a month in (the due date is six weeks in: about one in eight late).
    submit_day = np.clip(rng.normal(30, 12, n).round(), 3, 85).astype(int)
    submitted = status.astype(str) != "not_started"
    submitted &= np.isin(status, ["accepted", "submitted", "returned"])
    decide_day = submit_day + rng.integers(1, 22, n)
    accepted = status == "accepted"
    pid = people["provider_id"].to_numpy()[grid["p"].to_numpy()]
    out = pd.DataFrame({
        "assessment_id": _ids(rng, n),
        "rollout_id": rollout["rollout_id"],
        "provider_id": pid,
        "template_version": rollout["template_version"],
        "period": rollout["period"],
        "status": status,
        "opens_on": opens,
        "due_on": rollout["due_on"],
        "submitted_at": _at(opens + pd.to_timedelta(submit_day, unit="D"), 1).where(submitted),
        "decided_at": _at(opens + pd.to_timedelta(decide_day, unit="D"), 2).where(accepted),
        "quarter_index": grid["q"].to_numpy(),
        "strength": np.clip(people["strength"].to_numpy()[grid["p"].to_numpy()] + 0.012 * grid["q"].to_numpy()
                            + rng.normal(0, 0.04, n), 0.05, 0.98),
    })
    out["dedupe_key"] = out["provider_id"] + ":" + out["period"] + ":" + out["template_version"]
    # Rows say when they were made, so anything read "as at" a past day sees them as they were then.
    out["created_at"] = _at(opens, 0)
    out["updated_at"] = out["decided_at"].fillna(out["submitted_at"]).fillna(out["created_at"])
    return out


def _answers(rng: np.random.Generator, template: Template, people: pd.DataFrame, assessments: pd.DataFrame,
             span: list[Quarter]) -> pd.DataFrame:
    """Every question answered per assessment, vectorised over assessments (one pass per question, in template
    order, so a condition's question is answered before the question it shows)."""
    started = assessments[assessments["status"] != "not_started"].reset_index(drop=True)
    n = len(started)
    strength = started["strength"].to_numpy()
    # In-progress and returned assessments are part-answered.
    part = started["status"].isin(["in_progress", "returned"]).to_numpy()
    quarter_start = pd.to_datetime([span[i].starts_on for i in started["quarter_index"]]).to_numpy()
    includes: dict[str, dict[str, np.ndarray]] = {}  # question -> option value -> chosen (and shown), per row
    frames = []
    for _area, _control, q in template.questions():
        present = rng.random(n) >= np.where(part, 0.4, 0.02)
        if q.show_if is not None:
            chosen = includes.get(q.show_if.question, {})
            holds = np.zeros(n, dtype=bool)
            for value in q.show_if.equals:
                holds |= chosen.get(value, np.zeros(n, dtype=bool))
            present &= holds | (rng.random(n) < 0.05)
        else:
            holds = np.ones(n, dtype=bool)
        na = q.allow_na & (rng.random(n) < 0.08)
        values, chosen_options = _values(rng, q, strength, quarter_start)
        values = np.where(na, json.dumps(NA), values)
        answered = present & ~na
        # Only a shown, answered question's options can show another (a stale hidden answer shows nothing).
        includes[q.id] = {v: mask & answered & holds for v, mask in chosen_options.items()}
        # One in four unanswered-but-saved rows: a comment with a cleared value (the service stores JSON null).
        blank = ~present & holds & (rng.random(n) < 0.25)
        keep = present | blank
        frames.append(pd.DataFrame({
            "assessment_id": started["assessment_id"].to_numpy()[keep],
            "question_id": q.id,
            "value_json": np.where(blank, "null", values)[keep],
        }))
    out = pd.concat(frames, ignore_index=True)
    out["answer_key"] = out["assessment_id"] + ":" + out["question_id"]
    # In the order of the unique answer key, with ids counted up: COPY then fills both indexes in order, about
    # three times as fast as random ids in random order. The rows come back from the database in this order too.
    out = out.sort_values("answer_key", ignore_index=True)
    out.insert(0, "answer_id", [f"00000000-0000-4000-8000-{i:012x}" for i in range(len(out))])
    return out


def _values(rng: np.random.Generator, q, strength: np.ndarray, quarter_start: np.ndarray
            ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One value (JSON text, as the service stores it) per row for question ``q``, and for the option types which
    option each row chose."""
    n = len(strength)
    if q.type is QuestionType.multi_choice:
        options = [o.value for o in q.options]
        scored = any(o.score is not None for o in q.options)
        if scored:  # each safeguard in place with the provider's strength
            picks = rng.random((n, len(options))) < strength[:, None]
        else:  # which systems: any of them, or "none" alone
            last = options.index("none") if "none" in options else None
            picks = rng.random((n, len(options))) < 0.5
            if last is not None:
                picks[:, last] = False
                picks[:, last] = ~picks.any(axis=1)
        code = (picks * (1 << np.arange(len(options)))).sum(axis=1)
        texts = np.array([json.dumps([o for k, o in enumerate(options) if c >> k & 1])
                          for c in range(1 << len(options))], dtype=object)
        return texts[code], {o: picks[:, k] for k, o in enumerate(options)}
    if q.options:
        # The strongest option with the row's strength, any option otherwise (an unscored yes/no: yes 85%).
        order = sorted(q.options, key=lambda o: -(o.score if o.score is not None else 0.0))
        best = rng.random(n) < (strength if q.scored else 0.85)
        pick = np.where(best, 0, rng.integers(0, len(order), n))
        values = np.array([o.value for o in order], dtype=object)[pick]
        texts = np.array([json.dumps(o.value) for o in order], dtype=object)[pick]
        return texts, {o.value: values == o.value for o in order}
    if q.type is QuestionType.number:
        low = int(q.min or 0)
        numbers = np.clip(rng.poisson(3 if low == 0 else 20, n) + low, low, int(q.max or 10_000))
        return numbers.astype(str).astype(object), {}
    if q.type is QuestionType.date:
        days = quarter_start - rng.integers(1, 400, n).astype("timedelta64[D]")
        return np.array(['"' + d + '"' for d in np.datetime_as_string(days, unit="D")], dtype=object), {}
    return np.array([json.dumps(f"Privacy officer {i % 97}, privacy@provider{i % 97}.example") for i in range(n)],
                    dtype=object), {}


def _audits(rng: np.random.Generator, template: Template, people: pd.DataFrame, span: list[Quarter],
            version_id: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    n_p, n_q = len(people), len(span)
    tiers = people["tier"].to_numpy()
    chance = np.vectorize(AUDITED_A_QUARTER.get)(tiers)
    hit = rng.random((n_p, n_q)) < chance[:, None]
    p_idx, q_idx = np.nonzero(hit)
    n = len(p_idx)
    starts = pd.to_datetime([span[i].starts_on for i in q_idx]) + pd.to_timedelta(rng.integers(0, 70, n), unit="D")
    reported = starts + pd.to_timedelta(rng.integers(3, 20, n), unit="D")
    ends_of = pd.to_datetime([span[i].ends_on for i in q_idx])
    reported = reported.where(reported <= ends_of, ends_of)
    last_end = pd.Timestamp(span[-1].ends_on)
    last = q_idx == n_q - 1
    kinds = rng.choice(np.array(["desktop_review", "site_visit", "device_spot_check"], dtype=object), n,
                       p=[0.6, 0.3, 0.1])
    roll = rng.random(n)
    status = np.where(reported < last_end - pd.Timedelta(days=60), "closed", "reported").astype(object)
    status = np.where(last & (roll < 0.15), "in_progress", status)
    status = np.where(roll > 0.97, "cancelled", status)
    done = np.isin(status, ["reported", "closed"])
    audit_ids = _ids(rng, n)
    audits = pd.DataFrame({
        "audit_id": audit_ids,
        "provider_id": people["provider_id"].to_numpy()[p_idx],
        "kind": kinds,
        "status": status,
        "title": [f"{k.replace('_', ' ').capitalize()} {span[q]}" for k, q in zip(kinds, q_idx)],
        "template_version": version_id,
        "starts_on": starts,
        "ends_on": starts + pd.to_timedelta(np.where(kinds == "site_visit", 1, 0), unit="D"),
        "reported_at": _at(reported, 3).where(done),
        "closed_at": _at(reported + pd.Timedelta(days=45), 4).where(status == "closed"),
        "strength": people["strength"].to_numpy()[p_idx],
        "quarter_index": q_idx,
        "created_at": _at(starts - pd.Timedelta(days=30), 0),
    })
    # Findings: which controls each audit rated (4 to 12 of them, or the whole template for 3 in 10).
    controls_ = np.array([c.id for a in template.areas for c in a.controls], dtype=object)
    n_c = len(controls_)
    size = np.where(rng.random(n) < 0.3, n_c, rng.integers(4, 13, n))
    rated = rng.random((n, n_c)).argsort(axis=1) < size[:, None]
    rated &= (kinds != "device_spot_check")[:, None] | np.isin(controls_, ["device-register", "device-use",
                                                                            "device-return"])[None, :]
    a_idx, c_idx = np.nonzero(rated)
    m = len(a_idx)
    # Auditors find a little less than providers say: the assurance gap.
    true = np.clip(audits["strength"].to_numpy()[a_idx] - 0.12 + rng.normal(0, 0.1, m), 0, 1)
    u = rng.random(m)
    rating = np.where(u < true, "effective", np.where(u < true + (1 - true) * 0.6, "partly_effective",
                                                      "ineffective")).astype(object)
    rating = np.where(rng.random(m) < 0.05, "not_tested", rating)
    # An audit still in progress has rated some controls, not yet all; a cancelled one none.
    still = audits["status"].to_numpy()[a_idx]
    rating = np.where((still == "in_progress") & (rng.random(m) < 0.5), None, rating)
    keep = still != "cancelled"
    severity = np.where(rating == "ineffective", rng.choice(np.array(["high", "critical"], dtype=object), m,
                                                             p=[0.8, 0.2]),
                        np.where(rating == "partly_effective", rng.choice(np.array(["low", "medium"], dtype=object),
                                                                          m, p=[0.4, 0.6]), "low"))
    findings = pd.DataFrame({
        "finding_id": _ids(rng, m), "audit_id": audit_ids[a_idx], "control_id": controls_[c_idx],
        "rating": rating, "severity": severity,
    })[keep].reset_index(drop=True)
    findings["audit_control"] = findings["audit_id"] + ":" + findings["control_id"]
    # Corrective actions for what was not effective in a reported or closed audit.
    with_audit = findings.merge(audits[["audit_id", "provider_id", "reported_at", "status"]], on="audit_id")
    needs = with_audit[with_audit["rating"].isin(["ineffective", "partly_effective"])
                       & with_audit["status"].isin(["reported", "closed"])].reset_index(drop=True)
    k = len(needs)
    days = needs["severity"].map({"critical": 30, "high": 45, "medium": 60, "low": 90}).to_numpy()
    reported_on = needs["reported_at"].dt.tz_convert(None).dt.normalize()
    due = reported_on + pd.to_timedelta(days, unit="D")
    old = (due < last_end - pd.Timedelta(days=30)).to_numpy()
    states = np.array(["open", "responded", "verified", "carried_forward"], dtype=object)
    status = np.where(old, rng.choice(states, k, p=[0.05, 0.04, 0.88, 0.03]),
                      rng.choice(states, k, p=[0.60, 0.30, 0.10, 0.0]))
    verified_at = _at(due - pd.to_timedelta(rng.integers(-20, 25, k), unit="D"), 5)
    # Verified no later than the report quarter's end (the data are as at then).
    verified_at = verified_at.where(verified_at <= _at(pd.Series([last_end] * k), 5), _at(pd.Series([last_end] * k), 5))
    actions = pd.DataFrame({
        "action_id": _ids(rng, k), "finding_id": needs["finding_id"], "audit_id": needs["audit_id"],
        "provider_id": needs["provider_id"], "description": "Put the control in place: " + needs["control_id"],
        "owner_name": [f"Owner {i % 500}" for i in range(k)], "due_on": due,
        "status": status, "created_at": needs["reported_at"], "verified_at": verified_at.where(status == "verified"),
        "responded_at": _at(due - pd.Timedelta(days=10), 6).where(np.isin(status, ["responded", "verified"])),
    })
    return audits, findings, actions


def _devices(rng: np.random.Generator, people: pd.DataFrame, span: list[Quarter]):
    n_p = len(people)
    holds = rng.random(n_p) < 0.8
    per = np.where(holds, rng.poisson(4, n_p) + 1, 0)
    owner = np.repeat(np.arange(n_p), per)
    n = len(owner)
    first_day = pd.Timestamp(span[0].starts_on)
    last_end = pd.Timestamp(span[-1].ends_on)
    kinds = rng.choice(np.array(["laptop", "phone", "tablet"], dtype=object), n, p=[0.5, 0.4, 0.1])
    devices = pd.DataFrame({
        "device_id": _ids(rng, n), "asset_tag": [f"BENCH-{i:06d}" for i in range(n)],
        "serial": [f"SN{i * 7919:010d}" for i in range(n)], "kind": kinds,
        "make": np.where(kinds == "laptop", "Dell", np.where(kinds == "phone", "Samsung", "Apple")),
        "encrypted": rng.random(n) < 0.95, "mdm_enrolled": rng.random(n) < 0.9, "status": "assigned",
        "provider_id": people["provider_id"].to_numpy()[owner],
    })
    # A first holder for every device from some day in the first year; 40% handed back and passed to a second.
    start1 = first_day + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    second = rng.random(n) < 0.4
    returned1 = start1 + pd.to_timedelta(rng.integers(60, 300, n), unit="D")
    returned1 = returned1.where(second)
    start2 = returned1 + pd.to_timedelta(rng.integers(0, 20, n), unit="D")
    idx2 = np.nonzero(second)[0]
    a_dev = np.concatenate([np.arange(n), idx2])
    a_start = pd.DatetimeIndex(np.concatenate([start1.to_numpy(), start2.to_numpy()[idx2]]))
    a_returned = pd.DatetimeIndex(np.concatenate([returned1.to_numpy(), np.full(len(idx2), np.datetime64("NaT"),
                                                                                 dtype="datetime64[ns]")]))
    m = len(a_dev)
    term = np.where(rng.random(m) < 0.5, 365, 548)
    expected = a_start + pd.to_timedelta(term, unit="D")
    open_ = a_returned.isna()
    # Some holders keep a device past its expected return (an overdue return at the quarter's end).
    expected = expected.where(~(open_ & (rng.random(m) < 0.06)), last_end - pd.to_timedelta(
        rng.integers(5, 120, m), unit="D"))
    expected = expected.where(~(open_ & (expected <= last_end) & (rng.random(m) < 0.85)),
                              last_end + pd.to_timedelta(rng.integers(30, 365, m), unit="D"))
    assignment_ids = _ids(rng, m)
    device_ids = devices["device_id"].to_numpy()[a_dev]
    assignments = pd.DataFrame({
        "assignment_id": assignment_ids, "device_id": device_ids,
        "open_device": np.where(open_, device_ids, None),
        "provider_id": devices["provider_id"].to_numpy()[a_dev],
        "holder_name": [f"Holder {i}" for i in range(m)],
        "holder_email": [f"holder{i}@provider.example" for i in range(m)],
        "purpose": "Case work on home visits", "starts_on": a_start, "expected_return_on": expected,
        "returned_on": a_returned, "closed_at": _at(a_returned, 4).where(~open_), "created_at": _at(a_start, 0),
        "data_wiped": np.where(open_, None, rng.random(m) < 0.95),
    })
    # Attestations every 90 days while held; 7% of holders stop attesting some months before the quarter's end.
    until = pd.Series(a_returned).fillna(last_end)
    stop_early = rng.random(m) < 0.07
    until = until.where(~(stop_early & open_), until - pd.to_timedelta(rng.integers(100, 200, m), unit="D"))
    count = np.maximum(((until - pd.Series(a_start)).dt.days // 90).to_numpy(), 0)
    at_idx = np.repeat(np.arange(m), count)
    nth = np.arange(len(at_idx)) - np.repeat(np.cumsum(count) - count, count) + 1
    attested = pd.Series(a_start[at_idx]) + pd.to_timedelta(nth * 90 + rng.integers(-5, 6, len(at_idx)), unit="D")
    t = len(at_idx)
    attestations = pd.DataFrame({
        "attestation_id": _ids(rng, t), "assignment_id": assignment_ids[at_idx],
        "method": rng.choice(np.array(["link", "in_person"], dtype=object), t, p=[0.8, 0.2]),
        "holds_device": rng.random(t) < 0.995, "authorised_use_only": rng.random(t) < 0.97,
        "attested_at": _at(attested, 6),
    })
    # About 40 incidents a quarter, on devices held at the time by someone (the device's first holder here).
    k = 40 * len(span)
    on = rng.integers(0, n, k)
    occurred = first_day + pd.to_timedelta(rng.integers(0, (last_end - first_day).days + 1, k), unit="D")
    kinds_, p_kind = _weights(INCIDENT_KINDS)
    kind = rng.choice(kinds_, k, p=p_kind)
    reported = occurred + pd.to_timedelta(rng.integers(0, 4, k), unit="D")
    incident_ids = _ids(rng, k)
    incidents = pd.DataFrame({
        "incident_id": incident_ids, "device_id": devices["device_id"].to_numpy()[on],
        "assignment_id": assignment_ids[on], "provider_id": devices["provider_id"].to_numpy()[on],
        "kind": kind, "occurred_at": _at(occurred, 7), "reported_at": _at(reported, 8),
        "reported_by": "Bench reporter", "description": "Synthetic incident",
    })
    lost = pd.Series(kind, index=on).loc[lambda s: s.isin(["lost", "stolen"])]
    lost = lost[~lost.index.duplicated(keep="last")]
    devices.loc[~np.isin(np.arange(n), a_dev[open_]), "status"] = "in_stock"
    devices.loc[lost.index, "status"] = lost.to_numpy()
    # Each incident's breach assessment: decided within about two days, serious harm likely for a quarter of those
    # that involve information; most notifications within the 72 hours.
    reported_at = incidents["reported_at"]
    decided = reported_at + pd.to_timedelta(rng.integers(2, 80, k), unit="h")
    late_open = (reported_at > _at(pd.Series([last_end - pd.Timedelta(days=5)] * k), 0)) & (rng.random(k) < 0.5)
    serious = (rng.random(k) < 0.25) & (kind != "near_miss") & ~late_open
    notified = decided + pd.to_timedelta(rng.integers(4, 100, k), unit="h")
    breaches = pd.DataFrame({
        "breach_id": _ids(rng, k), "incident_id": incident_ids,
        "status": np.where(late_open, "open", "closed"),
        "due_at": reported_at + pd.Timedelta(hours=48),
        "serious_harm_likely": pd.Series(np.where(late_open, None, serious), dtype=object),
        "assessed_at": decided.where(~late_open),
        "notifiable_at": decided.where(serious),
        "notification_due_at": (decided + pd.Timedelta(hours=72)).where(serious),
        "notifier": pd.Series(np.where(serious, "agency", None), dtype=object),
        "commissioner_notified_at": notified.where(serious),
        "individuals_notified_at": (notified + pd.Timedelta(hours=12)).where(serious),
    })
    return devices, assignments, attestations, incidents, breaches


def _spot_checks(rng: np.random.Generator, audits: pd.DataFrame, assignments: pd.DataFrame) -> pd.DataFrame:
    """Five assignments of the provider sampled by each device spot-check audit that was carried out."""
    checks = audits[(audits["kind"] == "device_spot_check") & audits["status"].isin(["reported", "closed"])]
    held = assignments[["assignment_id", "device_id", "provider_id"]].copy()
    held["draw"] = rng.random(len(held))
    pairs = checks[["audit_id", "provider_id", "reported_at"]].merge(held, on="provider_id")
    pairs = pairs.sort_values(["audit_id", "draw"])
    pairs["position"] = pairs.groupby("audit_id").cumcount() + 1
    pairs = pairs[pairs["position"] <= 5].reset_index(drop=True)
    n = len(pairs)
    result = rng.choice(np.array(["seen", "not_seen", "discrepancy"], dtype=object), n, p=[0.85, 0.05, 0.10])
    return pd.DataFrame({
        "item_id": _ids(rng, n), "audit_id": pairs["audit_id"], "assignment_id": pairs["assignment_id"],
        "device_id": pairs["device_id"], "position": pairs["position"],
        "audit_assignment": pairs["audit_id"] + ":" + pairs["assignment_id"], "result": result,
        "note": np.where(result == "discrepancy", "Serial number does not match the register", ""),
        "recorded_at": pairs["reported_at"],
    })


# --- PostgreSQL ------------------------------------------------------------------------------------------------


def _py(series: pd.Series) -> list:
    """A column as asyncpg takes it: dates and aware datetimes as Python objects, missing values as None."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return [None if v is pd.NaT else v.to_pydatetime() for v in series]
    if pd.api.types.is_datetime64_any_dtype(series):
        return [None if v is pd.NaT else v.date() for v in series]
    if series.dtype == bool:
        return series.tolist()
    return [None if (v is None or (isinstance(v, float) and np.isnan(v))) else v for v in series.tolist()]


# table -> (the world's frame, {database column: frame column}); constants are given as ("=", value).
def _tables(world: World) -> list[tuple[str, pd.DataFrame, dict[str, Any]]]:
    now = pd.Series([pd.Timestamp(world.quarters[-1].ends_on, tz="UTC")])
    return [
        ("provider", world.providers, {"id": "provider_id", "name": "name", "nzbn": "nzbn", "kind": "kind",
                                       "region": "region", "risk_tier": "tier", "status": "status"}),
        ("rollout", world.rollouts, {"id": "rollout_id", "name": "name", "template_version": "template_version",
                                     "period": "period", "opens_on": "opens_on", "due_on": "due_on",
                                     "launched_at": ("=", now[0].to_pydatetime())}),
        ("assessment", world.assessments, {
            "id": "assessment_id", "rollout": "rollout_id", "provider": "provider_id",
            "template_version": "template_version", "period": "period", "dedupe_key": "dedupe_key",
            "status": "status", "opens_on": "opens_on", "due_on": "due_on", "submitted_at": "submitted_at",
            "decided_at": "decided_at", "created_at": "created_at", "updated_at": "updated_at"}),
        ("answer", world.answers, {"id": "answer_id", "assessment": "assessment_id", "question_id": "question_id",
                                   "answer_key": "answer_key", "value": "value_json"}),
        ("device", world.devices, {"id": "device_id", "asset_tag": "asset_tag", "serial": "serial", "kind": "kind",
                                   "make": "make", "encrypted": "encrypted", "mdm_enrolled": "mdm_enrolled",
                                   "status": "status"}),
        ("assignment", world.assignments, {
            "id": "assignment_id", "device": "device_id", "open_device": "open_device", "provider": "provider_id",
            "holder_name": "holder_name", "holder_email": "holder_email", "purpose": "purpose",
            "starts_on": "starts_on", "expected_return_on": "expected_return_on", "returned_on": "returned_on",
            "closed_at": "closed_at", "data_wiped": "data_wiped", "created_at": "created_at"}),
        ("attestation", world.attestations, {
            "id": "attestation_id", "assignment": "assignment_id", "method": "method",
            "holds_device": "holds_device", "authorised_use_only": "authorised_use_only",
            "attested_at": "attested_at"}),
        ("incident", world.incidents, {
            "id": "incident_id", "device": "device_id", "assignment": "assignment_id", "provider": "provider_id",
            "kind": "kind", "occurred_at": "occurred_at", "reported_at": "reported_at",
            "reported_by": "reported_by", "description": "description"}),
        ("breach_assessment", world.breaches, {
            "id": "breach_id", "incident": "incident_id", "status": "status", "due_at": "due_at",
            "serious_harm_likely": "serious_harm_likely", "assessed_at": "assessed_at",
            "notifiable_at": "notifiable_at", "notification_due_at": "notification_due_at", "notifier": "notifier",
            "commissioner_notified_at": "commissioner_notified_at",
            "individuals_notified_at": "individuals_notified_at"}),
        ("audit", world.audits, {
            "id": "audit_id", "provider": "provider_id", "kind": "kind", "status": "status", "title": "title",
            "template_version": "template_version", "starts_on": "starts_on", "ends_on": "ends_on",
            "reported_at": "reported_at", "closed_at": "closed_at", "created_at": "created_at"}),
        ("finding", world.findings, {"id": "finding_id", "audit": "audit_id", "control_id": "control_id",
                                     "audit_control": "audit_control", "rating": "rating", "severity": "severity"}),
        ("corrective_action", world.actions, {
            "id": "action_id", "finding": "finding_id", "audit": "audit_id", "provider": "provider_id",
            "description": "description", "owner_name": "owner_name", "due_on": "due_on", "status": "status",
            "responded_at": "responded_at", "verified_at": "verified_at", "created_at": "created_at"}),
        ("spot_check_item", world.spot_checks, {
            "id": "item_id", "audit": "audit_id", "assignment": "assignment_id", "device": "device_id",
            "position": "position", "audit_assignment": "audit_assignment", "result": "result", "note": "note",
            "recorded_at": "recorded_at"}),
    ]


async def write_postgres(url: str, world: World) -> dict[str, int]:
    """The world's rows into ``url`` (migrated, the template loaded as ``world.version_id``), one COPY a table in
    one transaction, then ANALYZE so the planner knows the tables' sizes. Returns rows per table."""
    import asyncpg

    written: dict[str, int] = {}
    connection = await asyncpg.connect(url)
    try:
        async with connection.transaction():
            for table, frame, columns in _tables(world):
                data = [[source[1]] * len(frame) if isinstance(source, tuple) else _py(frame[source])
                        for source in columns.values()]
                await connection.copy_records_to_table(table, records=zip(*data), columns=list(columns))
                written[table] = len(frame)
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return written


async def load_template_version(url: str) -> str:
    """Migrate ``url`` and load the plan's template as the product does (controls.service.load_file); its id."""
    from partner_audit import db
    from partner_audit.piccolo_app import TABLES

    engine = db.engine_from_url(url)
    db.bind(engine, TABLES)
    await db.start(engine)
    try:
        await db.migrate()
        row, _created = await controls.load_file(TEMPLATE_FILE)
        return str(row["id"])
    finally:
        await db.stop(engine)


def create_database(admin_url: str, name: str) -> str:
    """A fresh database ``name`` on ``admin_url``'s server (dropped first if it is there); its URL."""
    import asyncio

    import asyncpg

    async def make() -> None:
        connection = await asyncpg.connect(admin_url)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(make())
    return admin_url.rpartition("/")[0] + "/" + name


def drop_database(admin_url: str, name: str) -> None:
    import asyncio

    import asyncpg

    async def drop() -> None:
        connection = await asyncpg.connect(admin_url)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    asyncio.run(drop())


__all__ = ["BENCH_VERSION_ID", "REPORT_QUARTER", "World", "create_database", "drop_database", "generate",
           "load_template", "load_template_version", "write_postgres"]
