"""The score engine's inputs, read from the database as pandas frames: one query a table, never one a provider or a
quarter, and only the columns the figures need.

Ids are text (``str``), days are ``datetime64[ns]`` at midnight. A timestamp becomes the day it was in New Zealand
(Pacific/Auckland): an assessment accepted at 9 am on 1 October NZDT (20:00 UTC on 30 September) counts from the
quarter that begins that day, as the people who accepted it would say.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import Any

import pandas as pd
from piccolo.engine.postgres import PostgresEngine

from partner_audit import db
from partner_audit.assessments.schemas import AssessmentStatus
from partner_audit.assessments.tables import Assessment
from partner_audit.audits.schemas import AuditStatus
from partner_audit.audits.tables import Finding
from partner_audit.controls import service as controls
from partner_audit.controls.tables import TemplateVersion
from partner_audit.providers.tables import Provider
from partner_audit.reports import scoring
from partner_audit.reports.quarters import Quarter

NZ = "Pacific/Auckland"

PROVIDER_COLUMNS = ["provider_id", "name", "region", "tier", "kind", "status"]
STANDING_COLUMNS = ["subject", "provider_id", "quarter", "assessment_id", "template_version", "assessment_period",
                    "as_of"]
ANSWER_COLUMNS = ["assessment_id", "question_id", "value_json"]
RATING_COLUMNS = ["provider_id", "control_id", "rating", "reported_on"]

# The heaviest read (every answer of every standing assessment: 1.4 million rows for 2,000 providers over eight
# quarters). On PostgreSQL it is COPY to CSV on the transaction's own connection, parsed by pandas' C reader: measured
# on 800,000 answers, 1.0 s, against 2.4 s for a fetch of the same rows as text and 3.5 s for Piccolo's select (which
# builds a dict a row and a UUID object an id). Ids and values stay text, as the frames keep them; an empty field is
# a NULL value (a JSON text is never empty). SQLite takes the ids as one JSON array, so any number of them is one
# statement within its variable limit.
_ANSWERS_SQL = {
    "postgres": "SELECT assessment, question_id, value FROM answer WHERE assessment = ANY($1::uuid[])",
    "sqlite": "SELECT CAST(assessment AS TEXT) AS assessment_id, question_id, CAST(value AS TEXT) AS value_json "
              "FROM answer WHERE assessment IN (SELECT value FROM json_each(?))",
}

# Parsed templates by version id: a loaded version never changes (its content is hashed), so it is parsed once.
_TEMPLATES: dict[str, Any] = {}


async def library_of(version_ids: Iterable[str]) -> scoring.Library:
    """What these template versions say (questions, option scores, recommendations, rating scores), as frames."""
    wanted = sorted({str(v) for v in version_ids})
    missing = [v for v in wanted if v not in _TEMPLATES]
    if missing:
        rows = await TemplateVersion.select(TemplateVersion.id, TemplateVersion.content).where(
            TemplateVersion.id.is_in(missing)).run()
        for row in rows:
            _TEMPLATES[str(row["id"])] = controls.template_of(row)
    return scoring.library({v: _TEMPLATES[v] for v in wanted if v in _TEMPLATES})


async def providers() -> pd.DataFrame:
    """Every provider: provider_id, name, region, tier, kind, status."""
    rows = await Provider.select(Provider.id, Provider.name, Provider.region, Provider.risk_tier, Provider.kind,
                                 Provider.status).run()
    frame = pd.DataFrame(rows, columns=["id", "name", "region", "risk_tier", "kind", "status"])
    frame = frame.rename(columns={"id": "provider_id", "risk_tier": "tier"})
    frame["provider_id"] = frame["provider_id"].astype(str)
    frame["tier"] = frame["tier"].astype("int64")
    return frame[PROVIDER_COLUMNS]


async def standings(quarters: list[Quarter], provider_ids: list[str] | None = None) -> pd.DataFrame:
    """Each provider's standing in each quarter: its latest accepted assessment (any template) decided on or
    before the quarter's last day, the latest by ``decided_at`` and then by id. A provider with none that quarter
    has no row. ``subject`` is ``"<provider_id>:<quarter>"``; ``as_of`` the quarter's last day."""
    if not quarters:
        return _empty(STANDING_COLUMNS)
    last_day = max(q.ends_on for q in quarters)
    query = Assessment.select(Assessment.id, Assessment.provider, Assessment.template_version, Assessment.period,
                              Assessment.decided_at).where(
        (Assessment.status == AssessmentStatus.accepted.value) & Assessment.decided_at.is_not_null())
    if provider_ids is not None:
        if not provider_ids:
            return _empty(STANDING_COLUMNS)
        query = query.where(Assessment.provider.is_in([str(p) for p in provider_ids]))
    rows = await query.run()
    accepted = pd.DataFrame(rows, columns=["id", "provider", "template_version", "period", "decided_at"])
    if accepted.empty:
        return _empty(STANDING_COLUMNS)
    accepted = pd.DataFrame({
        "assessment_id": accepted["id"].astype(str),
        "provider_id": accepted["provider"].astype(str),
        "template_version": accepted["template_version"].astype(str),
        "assessment_period": accepted["period"].astype(str),
        "decided_at": pd.to_datetime(accepted["decided_at"], utc=True),
    })
    accepted["decided_on"] = nz_day(accepted["decided_at"])
    accepted = accepted[accepted["decided_on"] <= pd.Timestamp(last_day)]
    # Latest within a day by the moment it was decided, then by id; one row a provider and day, so the as-of
    # join below has one candidate per key.
    accepted = accepted.sort_values(["decided_on", "decided_at", "assessment_id"]).drop_duplicates(
        ["provider_id", "decided_on"], keep="last")
    ends = pd.DataFrame({"quarter": [str(q) for q in quarters],
                         "as_of": pd.to_datetime([q.ends_on for q in quarters]).astype("datetime64[ns]")})
    grid = pd.merge(pd.DataFrame({"provider_id": accepted["provider_id"].unique()}), ends, how="cross")
    found = pd.merge_asof(grid.sort_values("as_of"), accepted, left_on="as_of", right_on="decided_on",
                          by="provider_id", direction="backward")
    found = found.dropna(subset=["assessment_id"])
    found["subject"] = found["provider_id"] + ":" + found["quarter"]
    return found.sort_values(["provider_id", "as_of"])[STANDING_COLUMNS].reset_index(drop=True)


async def answers(assessment_ids: list[str]) -> pd.DataFrame:
    """Every stored answer of these assessments: assessment_id, question_id, value_json (the stored JSON text, or
    None for an answer cleared)."""
    ids = sorted({str(a) for a in assessment_ids})
    if not ids:
        return _empty(ANSWER_COLUMNS)
    async with db.reading():
        connection = db.engine().current_transaction.get().connection
        if isinstance(db.engine(), PostgresEngine):
            csv = io.BytesIO()
            await connection.copy_from_query(_ANSWERS_SQL["postgres"], ids, output=csv, format="csv")
            written = csv.tell()
            csv.seek(0)
            found = pd.read_csv(csv, header=None, names=ANSWER_COLUMNS, dtype=object, keep_default_na=False,
                                na_values=[""]) if written else _empty(ANSWER_COLUMNS)
        else:  # Piccolo's SQLite connections give each row as a dict
            cursor = await connection.execute(_ANSWERS_SQL["sqlite"], (json.dumps(ids),))
            found = pd.DataFrame(await cursor.fetchall(), columns=ANSWER_COLUMNS)
            await cursor.close()
    found["value_json"] = found["value_json"].astype(object).where(found["value_json"].notna(), None)
    return found


async def ratings(provider_ids: list[str] | None = None) -> pd.DataFrame:
    """Every rating given in a finding of a reported or closed audit: provider_id, control_id, rating (as stored:
    ``not_tested`` too, which the engine lets change nothing) and reported_on (the NZ day the audit was
    reported). Which one holds at a date is the engine's to decide."""
    query = Finding.select(
        Finding.audit.provider.as_alias("provider"), Finding.control_id, Finding.rating,
        Finding.audit.reported_at.as_alias("reported_at"),
    ).where(
        Finding.audit.status.is_in([AuditStatus.reported.value, AuditStatus.closed.value])
        & Finding.rating.is_not_null() & Finding.audit.reported_at.is_not_null()
    )
    if provider_ids is not None:
        if not provider_ids:
            return _empty(RATING_COLUMNS)
        query = query.where(Finding.audit.provider.is_in([str(p) for p in provider_ids]))
    rows = await query.run()
    if not rows:
        return _empty(RATING_COLUMNS)
    found = pd.DataFrame(rows, columns=["provider", "control_id", "rating", "reported_at"])
    return pd.DataFrame({
        "provider_id": found["provider"].astype(str),
        "control_id": found["control_id"].astype(str),
        "rating": found["rating"].astype(str),
        "reported_on": nz_day(pd.to_datetime(found["reported_at"], utc=True)),
    })[RATING_COLUMNS]


async def scores_as_at(quarters: list[Quarter], provider_ids: list[str] | None = None
                       ) -> tuple[pd.DataFrame, scoring.Scores]:
    """The providers' standings in these quarters and their scores: self-assessed, and verified by the ratings
    reported by each quarter's last day. Reads the standings, the templates, the answers and the ratings: four
    queries, however many providers and quarters."""
    standing, _, scores = await scored(quarters, provider_ids)
    return standing, scores


async def scored(quarters: list[Quarter], provider_ids: list[str] | None = None
                 ) -> tuple[pd.DataFrame, scoring.Library, scoring.Scores]:
    """``scores_as_at``, with the library it scored with (the titles of areas and controls are in it)."""
    standing = await standings(quarters, provider_ids)
    library = await library_of(standing["template_version"].unique())
    given = await answers(list(standing["assessment_id"].unique()))
    rated = await ratings(list(standing["provider_id"].unique()))
    subjects = standing[["subject", "assessment_id", "provider_id", "template_version", "as_of"]]
    return standing, library, scoring.score(library, subjects, given, rated)


def nz_day(moments: pd.Series) -> pd.Series:
    """Timezone-aware moments as the New Zealand day they fell on, at midnight, without a zone."""
    return moments.dt.tz_convert(NZ).dt.tz_localize(None).dt.normalize().astype("datetime64[ns]")


def _empty(columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    for column in ("as_of", "reported_on"):
        if column in frame:
            frame[column] = frame[column].astype("datetime64[ns]")
    return frame
