"""Deterministic metric commands: ``kpis``, ``coverage``, ``activation``, ``scorecard``.

Thin: parse options, call :mod:`partner_forecast.metrics`, render with :func:`emit`.
Backward-looking commands (kpis, activation, scorecard) default to the last quarter with data;
``coverage`` defaults to the quarter containing the as-of date. Every output carries
:func:`base_meta` plus the command, quarter and segment.

``--by``: per-partner and per-seller tables are computed once and labelled with the partner's
segment; deal tables (pipeline, stage forecast, commit split) label each deal (deal-level
segments included) and aggregate, with learned rates and win-rate history taken from the
whole export; the seller and adoption KPI tables are computed on each segment's sub-export
(:func:`metrics.segments.split_export`). Deal-level segments (partner_role, revenue_motion) do
not split seller- or partner-level tables.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import click
import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.cli.common import (
    base_meta,
    by_option,
    common_options,
    data_argument,
    emit,
    load_context,
    main,
    output_options,
)
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.metrics import activation as act
from partner_forecast.metrics import activation_score as ascore
from partner_forecast.metrics import scorecard as sc
from partner_forecast.metrics.arr import core_arr_metrics
from partner_forecast.metrics.attribution import attribution_weight, by_category
from partner_forecast.metrics.cache import cached_metrics
from partner_forecast.metrics.confidence import COMMIT_CATEGORIES, confidence_scores
from partner_forecast.metrics.coverage import (
    COVERAGE_BASIS,
    IN_QUARTER,
    coverage_table,
    quarter_pipeline,
    quarter_targets,
    snapshot_date,
)
from partner_forecast.metrics.kpis import adoption_kpis, seller_kpis
from partner_forecast.metrics.periods import quarter_cut, resolve_quarter
from partner_forecast.metrics.pipeline import pipeline_trend
from partner_forecast.metrics.production import production_from_history
from partner_forecast.metrics.segments import (
    DEAL_SEGMENTS,
    UNKNOWN,
    by_segment,
    label_deals,
    segment_values,
    split_export,
)
from partner_forecast.metrics.sellers import add_rates, seller_engagement, seller_quarter_activity
from partner_forecast.metrics.stage_forecast import open_deal_rates, summarise_stage_forecast, table_rate

TREND_QUARTERS = 4
SEGMENT = "_segment"  # working column holding a deal's segment label


def _cached(command: Callable[..., None]) -> Callable[..., None]:
    """Run a command inside :func:`cached_metrics` (shared intermediate tables computed once)."""

    @functools.wraps(command)
    def run(*args: object, **kwargs: object) -> None:
        with cached_metrics():
            command(*args, **kwargs)

    return run


def _segment_column(by: str | None) -> str | None:
    return {"partner": "partner_id"}.get(by or "", by)


Split = Callable[[Callable[[Export], pd.DataFrame]], pd.DataFrame]


def _splitter(export: Export, by: str | None) -> Split:
    """A function running a table's computation on the whole export or per segment.

    The export is split once (per command) and the parts reused by every table; a computed
    column that clashes with the segment column is dropped.
    """
    parts = split_export(export, by) if by is not None else None

    def run(compute: Callable[[Export], pd.DataFrame]) -> pd.DataFrame:
        if by is None:
            return compute(export)

        def inner(sub: Export) -> pd.DataFrame:
            frame = compute(sub)
            return frame.drop(columns=[c for c in (by, _segment_column(by)) if c in frame])

        return by_segment(export, by, inner, parts)

    return run


def _label(export: Export, by: str | None, frame: pd.DataFrame) -> pd.DataFrame:
    """Per-partner (or per-seller) rows with their partner's segment as a first column.

    Deal-level segments do not apply to partner rows: the frame is returned unchanged.
    """
    if by is None or by in DEAL_SEGMENTS:
        return frame
    if by == "partner":
        return frame.rename(columns={"partner_id": "partner"})[
            ["partner", *(c for c in frame.columns if c != "partner_id")]]
    labels = export.partners.set_index("partner_id")[by].astype(object)
    out = frame.drop(columns=[by], errors="ignore")
    out.insert(0, by, out["partner_id"].map(labels).where(lambda v: v.notna(), UNKNOWN).to_numpy())
    return out


def _context(data: Path, as_of, config_path: str | None, quarter: str | None, *, forward: bool = False
             ) -> tuple[Settings, Export, Quarter]:
    settings, export = load_context(data, as_of, config_path)
    q = resolve_quarter(export, quarter, settings.calendar.fiscal_year_start_month, forward=forward)
    return settings, export, q


def _meta(export: Export, settings: Settings, command: str, quarter: Quarter, by: str | None,
          **extra: object) -> dict[str, object]:
    notes = []
    if by in DEAL_SEGMENTS:
        notes.append(f"--by {by} splits deals only: seller- and partner-level figures are not split "
                     "by it")
    meta = base_meta(export, settings, command=command, quarter=str(quarter), by=by, **extra)
    warnings = [*(str(w) for w in export.warnings), *notes]
    if warnings:
        meta["warnings"] = warnings
    return meta


def _partner_info(export: Export, frame: pd.DataFrame) -> pd.DataFrame:
    info = export.partners.set_index("partner_id")
    out = frame.copy()
    pos = list(out.columns).index("partner_id") + 1
    for i, col in enumerate(("partner_name", "partner_type", "tier")):
        if col not in out:
            out.insert(pos + i, col, out["partner_id"].map(info[col]).astype(object))
    return out


# -- kpis ------------------------------------------------------------------------------------
ASR_COLUMNS = ["quarter", "pool", "active", "enabled", "engaged", "asr", "engagement_rate",
               "effective_sellers"]


def _asr_total(engagement: pd.DataFrame, quarter: Quarter) -> pd.DataFrame:
    """One row pooling the seller counts of :func:`seller_engagement` rows."""
    sums = engagement[["pool", "active", "enabled", "engaged"]].sum().to_frame().T
    return add_rates(sums.assign(quarter=str(quarter)))[ASR_COLUMNS]


def asr_table(export: Export, settings: Settings, quarter: Quarter, by: str | None,
              split: Split | None = None) -> pd.DataFrame:
    """ASR, engaged and effective sellers: per partner plus an ``all`` row, or per segment."""
    fy = settings.calendar.fiscal_year_start_month
    if by in DEAL_SEGMENTS:
        return (split or _splitter(export, by))(
            lambda e: _asr_total(seller_engagement(e, [quarter], fy), quarter))
    eng = seller_engagement(export, [quarter], fy).drop(columns="quarter_index")
    if by is not None:
        return _per_segment(by, {"engagement": _label(export, by, eng)},
                            lambda engagement: _asr_total(engagement, quarter))
    rows = pd.concat([_partner_info(export, eng), _asr_total(eng, quarter).assign(partner_id="all")],
                     ignore_index=True)
    return rows[["partner_id", "partner_name", "partner_type", "tier", *ASR_COLUMNS]]


@main.command()
@data_argument
@common_options
@by_option
@click.option("--detail", is_flag=True,
              help="Also list the per-partner rows (ASR and production models), after the summary.")
@output_options()
@_cached
def kpis(data: Path, as_of, quarter: str | None, config_path: str | None, by: str | None,
         detail: bool, fmt: str, output: Path | None) -> None:
    """Activation and adoption KPIs of a quarter, the program summary first.

    The five seller KPIs (activation rate, lead response time, pipeline visibility, conversion
    rate, seller engagement), the eight partner adoption KPIs, core partner ARR metrics,
    pipeline ratios (sourced ratio, influence rate, QoQ growth), the Active Seller Rate (with
    engaged and effective sellers) and both production models estimated from the last four
    quarters, for the whole program (or per segment with --by). --detail adds the per-partner
    ASR and production rows after them. QUARTER defaults to the last quarter with data.
    """
    settings, export, q = _context(data, as_of, config_path, quarter)
    split = _splitter(export, by)

    if by is None:
        production = production_from_history(export, settings, q)
    elif by in DEAL_SEGMENTS:  # sellers are not split by a deal label: pool the segment's deals
        production = split(lambda e: production_from_history(e, settings, q).iloc[-1:].drop(
            columns="partner_id"))
    else:
        production = production_from_history(export, settings, q, by=by).iloc[:-1]

    asr = asr_table(export, settings, q, by, split)
    partner_rows = by is None  # the only layout with per-partner rows (and an "all" row)
    tables = {
        "seller_kpis": split(lambda e: seller_kpis(e, settings, q)),
        "adoption_kpis": split(lambda e: adoption_kpis(e, settings, q)),
        "arr_metrics": split(lambda e: core_arr_metrics(e, settings, q)),
        "pipeline": pipeline_trend(export, settings, [q], by),
        "asr": _program_row(asr) if partner_rows else asr,
        "production": _program_row(production) if partner_rows else production,
    }
    if partner_rows and detail:
        tables["asr_by_partner"] = asr[asr["partner_id"] != "all"].reset_index(drop=True)
        tables["production_by_partner"] = production[production["partner_id"] != "all"
                                                     ].reset_index(drop=True)
    meta = _meta(export, settings, "kpis", q, by)
    if partner_rows and not detail:
        meta["detail"] = "per-partner ASR and production rows: add --detail"
    emit(tables, meta, fmt, output)


def _program_row(frame: pd.DataFrame) -> pd.DataFrame:
    """The ``all`` row of a per-partner table, without the partner columns."""
    row = frame[frame["partner_id"] == "all"]
    return row.drop(columns=[c for c in ("partner_id", "partner_name", "partner_type", "tier")
                             if c in row]).reset_index(drop=True)


# -- coverage --------------------------------------------------------------------------------
def _deal_group(export: Export, by: str | None, deals: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Deals labelled with their segment (any ``--by``, deal-level ones included)."""
    if by is None or by == "partner_type":
        return deals, []
    return deals.assign(**{SEGMENT: label_deals(export, by, deals).to_numpy()}), [SEGMENT]


def stage_forecast_table(export: Export, settings: Settings, date: pd.Timestamp,
                         by: str | None = None) -> pd.DataFrame:
    """Seed-table and learned stage-weighted forecasts side by side, per partner type and stage.

    Learned rates come from the whole export's history even when split by segment; each
    segment (or the whole) ends with an ``all``/``all`` total row.
    """
    deals, group = _deal_group(export, by, open_deal_rates(export, settings, date))
    table = summarise_stage_forecast(deals, "table_rate", group)
    learned = summarise_stage_forecast(deals, "learned_rate", group)
    out = table.rename(columns={"conversion_rate": "table_rate", "forecast_arr": "table_forecast_arr",
                                "attributed_forecast_arr": "table_attributed_forecast_arr"})
    out["learned_rate"] = learned["conversion_rate"].to_numpy()
    out["learned_forecast_arr"] = learned["forecast_arr"].to_numpy()
    if out.empty:
        return out
    sums = ["deals", "pipeline_arr", "table_forecast_arr", "table_attributed_forecast_arr",
            "learned_forecast_arr"]
    totals = (out.groupby(group)[sums].sum().reset_index() if group
              else out[sums].sum().to_frame().T)
    totals["partner_type"] = "all"
    totals["stage"] = "all"
    totals["avg_deal_size"] = totals["pipeline_arr"] / totals["deals"]
    out = pd.concat([out.assign(_total=0), totals.assign(_total=1)], ignore_index=True)
    out = out.sort_values([*group, "_total"], kind="stable").drop(columns="_total")
    out["deals"] = out["deals"].astype(np.int64)
    return out.rename(columns={SEGMENT: by}).reset_index(drop=True)


def commit_table(export: Export, settings: Settings, date: pd.Timestamp, by: str | None = None
                 ) -> pd.DataFrame:
    """Open pipeline by commit category (confidence rule) with seed-table weighted ARR."""
    view = export if date >= export.default_as_of else export.as_of(date)
    scores = confidence_scores(view, settings)
    rates = np.array([table_rate(settings, t, s) for t, s in zip(scores["partner_type"], scores["stage"],
                                                                  strict=True)], dtype=float)
    scores = scores.assign(weighted_arr=scores["arr"] * rates,
                           committed_arr=scores["arr"] * rates * scores["commit_factor"])
    group = [] if by is None else [SEGMENT]
    if group:
        scores[SEGMENT] = label_deals(view, by, scores).to_numpy()
    out = (scores.groupby([*group, "commit_category"])
           .agg(deals=("arr", "size"), pipeline_arr=("arr", "sum"), weighted_arr=("weighted_arr", "sum"),
                committed_arr=("committed_arr", "sum"), mean_score=("confidence_score", "mean")))
    # Every category (and segment) appears, empty ones with zeros. Without a segment the
    # grouped index is a plain Index: a one-level MultiIndex would match none of its labels.
    index = (pd.MultiIndex.from_product([sorted(set(scores[SEGMENT])), list(COMMIT_CATEGORIES)],
                                        names=[*group, "commit_category"]) if group
             else pd.Index(list(COMMIT_CATEGORIES), name="commit_category"))
    out = out.reindex(index)
    out["deals"] = out["deals"].fillna(0).astype(np.int64)
    arr_cols = ["pipeline_arr", "weighted_arr", "committed_arr"]
    out[arr_cols] = out[arr_cols].fillna(0.0)
    return out.reset_index().rename(columns={SEGMENT: by} if by else {})


def deals_table(export: Export, settings: Settings, date: pd.Timestamp, by: str | None = None,
                close: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every open partner deal on ``date`` with its confidence score (DOMAIN.md section 6).

    One row per deal, highest score first: the segment (with ``by``), opportunity_id,
    partner_id, partner_name, partner_type, tier, partner_role, revenue_motion, stage, arr and
    attributed_arr (currency per year), the six factor scores (0-1, weighted by the
    ``[confidence]`` weights), engagement_activities, confidence_score (0-100), commit_factor
    and commit_category (full / discounted / upside); with ``close`` (a
    :func:`~partner_forecast.metrics.coverage.quarter_pipeline` frame) also expected_close,
    close_date_source and in_quarter (whether the deal counts in the quarter's coverage).
    """
    view = export if date >= export.default_as_of else export.as_of(date)
    scores = confidence_scores(view, settings)
    opps = view.opportunities.set_index("opportunity_id")
    weight = attribution_weight(opps["partner_role"], opps["influence_pct"], settings.attribution)
    scores.insert(list(scores.columns).index("arr") + 1, "attributed_arr",
                  scores["arr"] * scores["opportunity_id"].map(weight).astype(float).to_numpy())
    names = view.partners.set_index("partner_id")["partner_name"]
    scores.insert(2, "partner_name", scores["partner_id"].map(names).astype(object))
    if close is not None:
        when = close.set_index("opportunity_id")
        ids = scores["opportunity_id"]
        scores["expected_close"] = ids.map(when["expected_close"]).to_numpy()
        scores["close_date_source"] = ids.map(when["close_date_source"]).astype(object).to_numpy()
        scores["in_quarter"] = ids.map(when["closes"]).eq(IN_QUARTER).to_numpy()
    if by is not None:  # the segment first (a column the table already has is moved)
        column = _segment_column(by) or by
        label = scores.pop(column) if column in scores else label_deals(view, by, scores)
        scores.insert(0, column, label.to_numpy())
    return scores.sort_values(["confidence_score", "arr"], ascending=False,
                              kind="stable").reset_index(drop=True)


@main.command()
@data_argument
@common_options
@by_option
@click.option("--deals", "show_deals", is_flag=True,
              help="Add a table of every open deal with its confidence score, its six parts and "
                   "its commit category.")
@output_options()
@_cached
def coverage(data: Path, as_of, quarter: str | None, config_path: str | None, by: str | None,
             show_deals: bool, fmt: str, output: Path | None) -> None:
    """Pipeline coverage of the quarter's partner ARR targets.

    The open partner pipeline expected to close in the quarter (the deal's expected_close_on,
    else an estimate from how long won deals stayed in its stage) against the targets file, on
    one basis: attributed pipeline / attributed target, with the gross pipeline / target beside
    it. Overall (3x minimum) and per partner type (reseller 3x, MSP 2.5x, GSI/SI 4x, tech
    alliance 2x, marketplace 2x: the [coverage] config); then, for the whole open pipeline,
    the stage-weighted forecast with seed and learned conversion rates, pipeline categories,
    the committed/upside split by deal confidence and the pipeline trend. With --deals, every
    open deal with its confidence score (stage, tier, partner history, engagement, technical
    validation, executive sponsor) and commit category. QUARTER defaults to
    the one containing the as-of date; the pipeline is taken at as-of (or at the quarter's
    start for a past quarter). Targets exist per partner type only: other segments show
    pipeline without a target.
    """
    settings, export, q = _context(data, as_of, config_path, quarter, forward=True)
    date = snapshot_date(export, q)
    quarter_pipe = quarter_pipeline(export, settings, q, date)
    pipe, group = _deal_group(export, by, quarter_pipe)
    if by in (None, "partner_type"):
        cov = coverage_table(quarter_pipe, quarter_targets(export, q), settings, date)
        categories = by_category(pipe, settings.attribution)
    else:
        values = segment_values(export, by)
        cov = _per_group(pipe, by, lambda d: coverage_table(d, {}, settings, date).iloc[:1].drop(
            columns="partner_type"), values)
        categories = _per_group(pipe, by, lambda d: by_category(d, settings.attribution), values)
    last = Quarter.containing(date - pd.Timedelta(days=1), settings.calendar.fiscal_year_start_month)
    trend_q = [last - i for i in range(TREND_QUARTERS - 1, -1, -1)]
    tables = {
        "coverage": cov,
        "stage_forecast": stage_forecast_table(export, settings, date, by),
        "categories": categories,
        "commit": commit_table(export, settings, date, None if by == "partner_type" else by),
        "trend": pipeline_trend(export, settings, trend_q, None if by == "partner_type" else by),
    }
    if show_deals:
        tables["deals"] = deals_table(export, settings, date, by, quarter_pipe)
    sources = quarter_pipe["close_date_source"].value_counts()
    meta = _meta(export, settings, "coverage", q, by, snapshot=date.date().isoformat(),
                 coverage_basis=COVERAGE_BASIS,
                 close_dates=", ".join(f"{src}: {n} deals" for src, n in sources.items()),
                 other_tables=("stage_forecast, categories, commit and deals: the whole open "
                               "pipeline on the snapshot date, whatever its expected close"))
    emit(tables, meta, fmt, output)


def _per_group(deals: pd.DataFrame, by: str, combine: Callable[[pd.DataFrame], pd.DataFrame],
               values: list[str]) -> pd.DataFrame:
    """``combine`` on each segment's rows of a labelled frame (all ``values``, empty ones too)."""
    parts = []
    for value in values:
        frame = combine(deals[deals[SEGMENT] == value].drop(columns=SEGMENT))
        frame.insert(0, by, value)
        parts.append(frame)
    if not parts:
        frame = combine(deals.drop(columns=SEGMENT)).iloc[0:0]
        frame.insert(0, by, pd.Series(dtype=object))
        return frame
    return pd.concat(parts, ignore_index=True)


# -- activation ------------------------------------------------------------------------------
def activation_summary_table(first_deals: pd.DataFrame, paper: pd.DataFrame, scores: pd.DataFrame,
                             quarter: Quarter) -> pd.DataFrame:
    """One row: activated partners, on-time activation, paper partnerships, mean activation score.

    Built from the per-partner tables of :func:`activation.partner_activation`,
    :func:`activation.paper_partnerships` and :func:`activation_score.activation_scores`.
    """
    summary = act.activation_summary(first_deals)
    summary.insert(0, "quarter", str(quarter))
    summary["partners_with_sellers"] = len(paper)
    summary["paper_partnerships"] = int(paper["paper_partnership"].sum())
    summary["mean_activation_score"] = float(scores["activation_score"].mean()) if len(scores) else np.nan
    return summary


def _per_segment(by: str | None, frames: dict[str, pd.DataFrame],
                 combine: Callable[..., pd.DataFrame]) -> pd.DataFrame:
    """``combine(**frames)`` overall, or per value of the (already labelled) segment column."""
    if by is None or by in DEAL_SEGMENTS:
        return combine(**frames)
    values = sorted(set().union(*(set(f[by]) for f in frames.values())))
    rows = []
    for v in values:
        part = combine(**{k: f[f[by] == v].drop(columns=by) for k, f in frames.items()})
        part.insert(0, by, v)
        rows.append(part)
    return pd.concat(rows, ignore_index=True)


@main.command()
@data_argument
@common_options
@by_option
@output_options()
@_cached
def activation(data: Path, as_of, quarter: str | None, config_path: str | None, by: str | None,
               fmt: str, output: Path | None) -> None:
    """Partner activation: scores, bands, first deals and paper partnerships.

    The partner activation score (0-100 from certifications, training, deal submissions,
    pipeline progression, marketing and portal engagement) read as fully enabled / partially
    ready / needs support with its trend; % activated partners (a won deal in the last 90
    days); time to first deal and activation within 90 days of onboarding; paper partnerships
    (sellers in the pool, nobody active for 2+ consecutive quarters). QUARTER defaults to the
    last quarter with data.
    """
    settings, export, q = _context(data, as_of, config_path, quarter)
    # every table is per partner: computed once, labelled with the partner's segment, and the
    # segment summaries aggregated from those rows
    first_deals = _label(export, by, act.partner_activation(export, settings, quarter_cut(export, q)))
    paper = _label(export, by, act.paper_partnerships(export, settings, q))
    scores = _label(export, by, ascore.activation_scores(export, settings, q))
    tables = {
        "summary": _per_segment(by, {"first_deals": first_deals, "paper": paper, "scores": scores},
                                lambda **f: activation_summary_table(**f, quarter=q)),
        "bands": _per_segment(by, {"scores": scores}, ascore.band_summary),
        "scores": scores,
        "first_deals": first_deals,
        "paper_partnerships": paper[paper["paper_partnership"]].reset_index(drop=True),
    }
    emit(tables, _meta(export, settings, "activation", q, by), fmt, output)


# -- scorecard -------------------------------------------------------------------------------
@main.command()
@data_argument
@common_options
@by_option
@click.option("--top", "top_n", type=click.IntRange(min=1), default=3, show_default=True,
              help="How many top (and bottom) sellers to list.")
@output_options()
@_cached
def scorecard(data: Path, as_of, quarter: str | None, config_path: str | None, by: str | None,
              top_n: int, fmt: str, output: Path | None) -> None:
    """Quarterly seller scorecard.

    Seller activation trend over the last four quarters (pool, active, ASR, newly active,
    lapsed), the top and bottom partner sellers (three each, --top N), and every seller's
    selling actions, change, status and trend. With --by, top and bottom are per segment.
    QUARTER defaults to the last quarter with data.
    """
    settings, export, q = _context(data, as_of, config_path, quarter)
    # per-seller tables computed once, labelled with the seller's partner segment
    sellers = _label(export, by, sc.seller_scorecard(export, settings, q, TREND_QUARTERS))
    quarters = sc.trend_quarters_to(q, TREND_QUARTERS)
    activity = _label(export, by, seller_quarter_activity(export, quarters,
                                                          settings.calendar.fiscal_year_start_month))
    tables = {
        "trend": _per_segment(by, {"sq": activity}, lambda sq: sc.trend_from_activity(sq, quarters)),
        "top_bottom": _per_segment(by, {"scorecard": sellers},
                                   lambda scorecard: sc.top_bottom(scorecard, top_n)),
        "sellers": sellers,
    }
    emit(tables, _meta(export, settings, "scorecard", q, by, top=top_n), fmt, output)


__all__ = ["kpis", "coverage", "activation", "scorecard", "asr_table", "stage_forecast_table",
           "commit_table", "deals_table", "activation_summary_table"]
