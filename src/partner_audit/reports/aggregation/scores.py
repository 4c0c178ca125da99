"""Figures of scores across providers: the provider table every other figure here starts from, the spread of
overall scores by region, tier and kind and its trend over the quarters, the weakest controls and
recommendations, each recommendation by implementation, the heatmap of focus areas by region, providers by score,
and the assurance gap (how far self-assessed scores outrun verified ones).
"""

from __future__ import annotations

import pandas as pd

from partner_audit.reports import scoring
from partner_audit.reports.aggregation.edition import (
    Edition,
    _band,
    _day,
    _int,
    _none_if_suppressed,
    _num,
    _shown_difference,
    _uuid,
)
from partner_audit.reports.quarters import Quarter
from partner_audit.reports.schemas import (
    AssuranceGap,
    Distribution,
    HeatCell,
    ProviderRow,
    RecommendationProgress,
    TrendPoint,
    WeakPoint,
)

KIND_LABELS = {"iwi_maori": "Iwi/Māori provider", "ngo": "NGO", "contractor": "Contractor", "other": "Other"}
DIMENSIONS = ("all", "region", "tier", "kind")
ALL_PROVIDERS = "All providers"
BANDS = ("red", "amber", "green")
WEAKEST = 10


# --- the provider table --------------------------------------------------------------------------------------------


def provider_table(providers: pd.DataFrame, standings: pd.DataFrame, scores: scoring.Scores) -> pd.DataFrame:
    """One row per provider and quarter with a standing (exited providers left out), with its overall scores."""
    overall = scores.overall[["self_assessed", "verified", "completeness", "audited"]]
    table = standings[["subject", "provider_id", "quarter"]].merge(
        overall, left_on="subject", right_index=True, how="left")
    table = table.merge(providers[["provider_id", "name", "region", "tier", "kind", "status"]], on="provider_id")
    table = table[table["status"] != "exited"].drop(columns="status")
    table["audited"] = table["audited"].fillna(False).astype(bool)
    table["gap"] = table["self_assessed"] - table["verified"]
    return table.reset_index(drop=True)


# --- distributions and trend ---------------------------------------------------------------------------------------


def _by_dimension(table: pd.DataFrame) -> pd.DataFrame:
    """Each row once per dimension it is grouped by: all, its region, its tier, its kind."""
    kind = table["kind"].map(KIND_LABELS).fillna(table["kind"])
    return pd.concat([
        table.assign(dimension="all", group=ALL_PROVIDERS),
        table.assign(dimension="region", group=table["region"]),
        table.assign(dimension="tier", group="Tier " + table["tier"].astype(int).astype(str)),
        table.assign(dimension="kind", group=kind),
    ], ignore_index=True)


def _spread(frame: pd.DataFrame, keys: list[str], edition: Edition) -> pd.DataFrame:
    """Providers, medians and quartiles per group (pandas' default linear interpolation between ranks), and
    whether the group is too small to show: judged on the providers whose scores make the figures, so a group
    of five with two scored shows nothing to governance."""
    grouped = frame.groupby(keys, sort=False)
    stats = grouped.agg(providers=("provider_id", "nunique"), median_self_assessed=("self_assessed", "median"),
                        median_verified=("verified", "median"), scored_self=("self_assessed", "count"),
                        scored_verified=("verified", "count"))
    stats["q1_verified"] = grouped["verified"].quantile(0.25)
    stats["q3_verified"] = grouped["verified"].quantile(0.75)
    size = stats[["scored_self", "scored_verified"]].min(axis=1)
    stats["suppressed"] = edition.too_small(size)
    if "dimension" in keys:
        stats["suppressed"] = _also_hidden(stats["suppressed"], size, edition, [k for k in keys if k != "group"])
    return _none_if_suppressed(stats, ["median_self_assessed", "median_verified", "q1_verified", "q3_verified"])


def _also_hidden(suppressed: pd.Series, size: pd.Series, edition: Edition, by: list[str]) -> pd.Series:
    """Secondary suppression: the groups of one dimension add up to "All providers", so a lone hidden group's band
    counts would follow by subtraction. While the hidden groups of a dimension hold fewer providers between them
    than the minimum, the next smallest shown group is hidden too (smallest first: a running total per dimension)."""
    order = pd.DataFrame({"suppressed": suppressed, "size": size}).sort_values("size", kind="stable")
    grouped = order.groupby(level=by, sort=False)
    before = grouped["size"].cumsum() - order["size"]
    hidden_here = grouped["suppressed"].transform("any")
    single = order.index.get_level_values("dimension") == "all"
    extra = hidden_here & (before < edition.min_group_size) & ~single
    return (order["suppressed"] | extra).reindex(suppressed.index)


def distributions(table: pd.DataFrame, quarter: Quarter, edition: Edition) -> list[Distribution]:
    """The spread of overall scores by dimension as at ``quarter``'s end, each group beside its own previous
    quarter. Governance: a group smaller than the minimum in either quarter shows no figure for that quarter."""
    now, before = str(quarter), str(quarter.previous())
    long = _by_dimension(table[table["quarter"].isin([now, before])])
    stats = _spread(long, ["dimension", "group", "quarter"], edition)
    quarters = stats.index.get_level_values("quarter")
    current = stats[quarters == now].droplevel("quarter")
    previous = stats.loc[quarters == before, "median_verified"].droplevel("quarter")
    current = current.join(previous.rename("median_verified_previous"), how="left")

    latest = long[long["quarter"] == now].assign(band=lambda f: edition.bands(f["verified"]))
    counts = (latest.dropna(subset=["band"]).groupby(["dimension", "group", "band"]).size()
              .unstack("band", fill_value=0).reindex(columns=list(BANDS), fill_value=0))
    current = current.join(counts, how="left")
    current[list(BANDS)] = current[list(BANDS)].fillna(0).astype(int)

    current = current.reset_index()
    current["order"] = current["dimension"].map({d: i for i, d in enumerate(DIMENSIONS)})
    current = current.sort_values(["order", "group"])
    return [Distribution(
        dimension=row["dimension"], group=row["group"], providers=int(row["providers"]),
        suppressed=bool(row["suppressed"]),
        median_self_assessed=_num(row["median_self_assessed"]), median_verified=_num(row["median_verified"]),
        q1_verified=_num(row["q1_verified"]), q3_verified=_num(row["q3_verified"]),
        median_verified_previous=_num(row["median_verified_previous"]),
        change=None if row["suppressed"] else _shown_difference(row["median_verified"],
                                                                row["median_verified_previous"]),
        bands={} if row["suppressed"] else {b: int(row[b]) for b in BANDS},
    ) for row in current.to_dict("records")]


def trend(table: pd.DataFrame, quarters: list[Quarter], edition: Edition) -> list[TrendPoint]:
    """All providers' spread in each quarter, oldest first; a quarter with no standing shows no figures."""
    names = [str(q) for q in quarters]
    stats = _spread(table[table["quarter"].isin(names)], ["quarter"], edition).reindex(names)
    stats["providers"] = stats["providers"].fillna(0).astype(int)
    # A quarter nobody stood in has no figures to hide.
    stats["suppressed"] = stats["suppressed"].astype("boolean").fillna(False).astype(bool) & (stats["providers"] > 0)
    return [TrendPoint(
        quarter=name, providers=int(row["providers"]), suppressed=bool(row["suppressed"]),
        median_self_assessed=_num(row["median_self_assessed"]), median_verified=_num(row["median_verified"]),
        q1_verified=_num(row["q1_verified"]), q3_verified=_num(row["q3_verified"]),
    ) for name, row in zip(names, stats.to_dict("records"), strict=True)]


# --- parts: controls, recommendations, areas -----------------------------------------------------------------------


def _titles(library: scoring.Library) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """(control id -> title, area id -> title, recommendation -> its area's title and its controls). Where
    template versions differ, the last version read names it."""
    questions = library.questions
    controls = questions.drop_duplicates("control_id", keep="last").set_index("control_id")["control_title"]
    areas = questions.drop_duplicates("area_id", keep="last").set_index("area_id")["area_title"]
    placed = library.recommendations.merge(
        questions.drop_duplicates(["template_version", "control_id"])[
            ["template_version", "control_id", "area_title"]],
        on=["template_version", "control_id"], how="left")
    placed = placed.drop_duplicates(["recommendation", "control_id"]).sort_values(["recommendation", "control_id"])
    grouped = placed.groupby("recommendation")
    recommendations = pd.DataFrame({"title": grouped["area_title"].first(),
                                    "controls": grouped["control_id"].unique()})
    return controls, areas, recommendations


def _current(parts: pd.DataFrame, table: pd.DataFrame, quarter: Quarter) -> pd.DataFrame:
    """The rows of a part frame (index subject, part) for the providers standing in ``quarter``."""
    subjects = table.loc[table["quarter"] == str(quarter), "subject"]
    return parts[parts.index.get_level_values("subject").isin(subjects)].reset_index()


def weakest(parts: pd.DataFrame, table: pd.DataFrame, quarter: Quarter, kind: str, titles: pd.Series,
            edition: Edition, top: int = WEAKEST) -> list[WeakPoint]:
    """The ``top`` controls or recommendations with the lowest mean verified score across providers, with how
    many providers' verified score of it is red. Governance: one scored by fewer providers than the minimum is
    left out (a mean of two providers would show their scores)."""
    key = "control_id" if kind == "control" else "recommendation"
    rows = _current(parts, table, quarter)
    rows = rows.assign(red=(edition.bands(rows["verified"]) == "red").astype(int))
    stats = rows.groupby(key).agg(providers=("verified", "count"), mean_self_assessed=("self_assessed", "mean"),
                                  mean_verified=("verified", "mean"), red=("red", "sum"))
    stats = stats[(stats["providers"] > 0) & ~edition.too_small(stats["providers"])]
    stats = stats.sort_values(["mean_verified", "red"], ascending=[True, False], kind="stable").head(top)
    stats["title"] = stats.index.map(titles)
    return [WeakPoint(
        kind=kind, id=str(part), title=str(row["title"]) if pd.notna(row["title"]) else str(part),
        providers=int(row["providers"]), mean_self_assessed=_num(row["mean_self_assessed"]),
        mean_verified=_num(row["mean_verified"]), red=int(row["red"]),
    ) for part, row in zip(stats.index, stats.to_dict("records"), strict=True)]


def recommendation_progress(parts: pd.DataFrame, table: pd.DataFrame, quarter: Quarter, placed: pd.DataFrame,
                            edition: Edition) -> list[RecommendationProgress]:
    """Each plan recommendation by the band of each provider's verified score of it: green implemented, amber
    partly, red not implemented. ``placed``: recommendation -> title, controls (from ``_titles``)."""
    rows = _current(parts, table, quarter)
    rows = rows.assign(band=edition.bands(rows["verified"]))
    grouped = rows.groupby("recommendation")
    stats = pd.DataFrame({"providers": grouped["verified"].count(), "median_verified": grouped["verified"].median()})
    counts = (rows.dropna(subset=["band"]).groupby(["recommendation", "band"]).size()
              .unstack("band", fill_value=0).reindex(columns=list(BANDS), fill_value=0))
    stats = stats.join(counts).fillna({b: 0 for b in BANDS})
    stats = stats.reindex(stats.index.union(placed.index))
    stats["providers"] = stats["providers"].fillna(0)
    stats["suppressed"] = edition.too_small(stats["providers"])
    stats = _none_if_suppressed(stats, ["median_verified", *BANDS]).join(placed, how="left")
    return [RecommendationProgress(
        recommendation=int(number), title=str(row["title"]) if isinstance(row["title"], str) else "",
        controls=[] if isinstance(row["controls"], float) else [str(c) for c in row["controls"]],  # NaN: none
        providers=int(row["providers"]), suppressed=bool(row["suppressed"]),
        median_verified=_num(row["median_verified"]), implemented=_int(row["green"]), partly=_int(row["amber"]),
        not_implemented=_int(row["red"]),
    ) for number, row in zip(stats.index, stats.to_dict("records"), strict=True)]


def heatmap(areas: pd.DataFrame, table: pd.DataFrame, quarter: Quarter, titles: pd.Series,
            edition: Edition) -> list[HeatCell]:
    """Each focus area's median verified score in each region, as a band too."""
    rows = _current(areas, table, quarter).merge(table[["subject", "region"]], on="subject")
    grouped = rows.groupby(["area_id", "region"])
    cells = pd.DataFrame({"providers": grouped["verified"].count(), "median_verified": grouped["verified"].median()})
    cells["suppressed"] = edition.too_small(cells["providers"])
    cells = _none_if_suppressed(cells, ["median_verified"])
    cells["band"] = edition.bands(cells["median_verified"])
    cells = cells.reset_index().sort_values(["area_id", "region"])
    cells["area_title"] = cells["area_id"].map(titles).fillna(cells["area_id"])
    return [HeatCell(
        area_id=str(row["area_id"]), area_title=str(row["area_title"]), region=str(row["region"]),
        providers=int(row["providers"]), suppressed=bool(row["suppressed"]),
        median_verified=_num(row["median_verified"]), band=_band(row["band"]),
    ) for row in cells.to_dict("records")]


# --- providers and the assurance gap -------------------------------------------------------------------------------


def _provider_frame(table: pd.DataFrame, quarter: Quarter, audits_closed: pd.DataFrame,
                    edition: Edition) -> pd.DataFrame:
    now = table[table["quarter"] == str(quarter)]
    before = table.loc[table["quarter"] == str(quarter.previous()), ["provider_id", "verified"]]
    rows = now.merge(before.rename(columns={"verified": "verified_previous"}), on="provider_id", how="left")
    rows["self_band"] = edition.bands(rows["self_assessed"])
    rows["verified_band"] = edition.bands(rows["verified"])
    closed = audits_closed[audits_closed["closed_on"] <= _day(quarter.ends_on)]
    last = closed.groupby("provider_id")["closed_on"].max().rename("last_audit_closed_on")
    return rows.merge(last, left_on="provider_id", right_index=True, how="left")


def _provider_rows(rows: pd.DataFrame) -> list[ProviderRow]:
    return [ProviderRow(
        provider_id=_uuid(row["provider_id"]), provider_name=str(row["name"]), region=str(row["region"]),
        tier=int(row["tier"]), kind=str(row["kind"]),
        self_assessed=_num(row["self_assessed"]), self_band=_band(row["self_band"]),
        verified=_num(row["verified"]), verified_band=_band(row["verified_band"]),
        gap=_shown_difference(row["self_assessed"], row["verified"]),
        completeness=_num(row["completeness"]), change=_shown_difference(row["verified"], row["verified_previous"]),
        last_audit_closed_on=None if pd.isna(row["last_audit_closed_on"]) else row["last_audit_closed_on"].date(),
    ) for row in rows.to_dict("records")]


def providers(table: pd.DataFrame, quarter: Quarter, audits_closed: pd.DataFrame,
              edition: Edition) -> list[ProviderRow]:
    """Providers by verified score, lowest first (where to look first), those with no verified score last.
    Empty for governance."""
    if edition.governance:
        return []
    rows = _provider_frame(table, quarter, audits_closed, edition)
    return _provider_rows(rows.sort_values(["verified", "name"], na_position="last", kind="stable"))


def assurance_gap(table: pd.DataFrame, quarter: Quarter, audits_closed: pd.DataFrame,
                  edition: Edition) -> AssuranceGap:
    """How far self-assessed scores outrun verified ones among providers with at least one audit rating."""
    rows = _provider_frame(table, quarter, audits_closed, edition)
    rows = rows[rows["audited"] & rows["gap"].notna()]
    audited = len(rows)
    suppressed = bool(edition.too_small(pd.Series([audited])).iloc[0])
    gaps = rows["gap"]
    hidden = suppressed or audited == 0
    return AssuranceGap(
        providers_audited=audited, suppressed=suppressed,
        mean_gap=None if hidden else _num(gaps.mean()), median_gap=None if hidden else _num(gaps.median()),
        largest_gap=None if hidden else _num(gaps.max()), outrunning=0 if suppressed else int((gaps > 0).sum()),
        by_provider=[] if edition.governance else _provider_rows(
            rows.sort_values(["gap", "name"], ascending=[False, True], kind="stable")),
    )
