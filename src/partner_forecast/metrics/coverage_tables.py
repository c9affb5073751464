"""The ``coverage`` tables: quarter coverage of targets, stage-weighted forecasts, commit split.

Learned rates and win-rate history come from the whole export even when a table is split by
segment (:mod:`partner_forecast.metrics.segment_frames`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
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
from partner_forecast.metrics.periods import TREND_QUARTERS
from partner_forecast.metrics.pipeline import pipeline_trend
from partner_forecast.metrics.segment_frames import SEGMENT, deal_group, per_group, segment_column
from partner_forecast.metrics.segments import label_deals, segment_values
from partner_forecast.metrics.stage_forecast import open_deal_rates, summarise_stage_forecast, table_rate
from partner_forecast.metrics.tables import MetricTables, metric_meta


def stage_forecast_table(export: Export, settings: Settings, date: pd.Timestamp,
                         by: str | None = None) -> pd.DataFrame:
    """Seed-table and learned stage-weighted forecasts side by side, per partner type and stage.

    Learned rates come from the whole export's history even when split by segment; each
    segment (or the whole) ends with an ``all``/``all`` total row.
    """
    deals, group = deal_group(export, by, open_deal_rates(export, settings, date))
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
    if by is not None:
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
        column = segment_column(by) or by
        label = scores.pop(column) if column in scores else label_deals(view, by, scores)
        scores.insert(0, column, label.to_numpy())
    return scores.sort_values(["confidence_score", "arr"], ascending=False,
                              kind="stable").reset_index(drop=True)


def coverage_tables(export: Export, settings: Settings, quarter: Quarter, by: str | None = None,
                    deals: bool = False) -> MetricTables:
    """Pipeline coverage of ``quarter``'s partner ARR targets (the CLI's ``coverage``).

    Tables: coverage (the open partner pipeline expected to close in the quarter against the
    targets, attributed and gross, overall and per partner type), stage_forecast
    (:func:`stage_forecast_table`), categories (pipeline categories), commit
    (:func:`commit_table`), trend (the pipeline trend over :data:`TREND_QUARTERS` quarters)
    and, with ``deals``, every open deal with its confidence score (:func:`deals_table`). The
    pipeline is taken at the as-of date, or at the quarter's start for a past quarter (meta
    ``snapshot``). Targets exist per partner type only: other segments show pipeline without
    a target.
    """
    with cached_metrics():
        date = snapshot_date(export, quarter)
        quarter_pipe = quarter_pipeline(export, settings, quarter, date)
        pipe, group = deal_group(export, by, quarter_pipe)
        if by in (None, "partner_type"):
            cov = coverage_table(quarter_pipe, quarter_targets(export, quarter), settings, date)
            categories = by_category(pipe, settings.attribution)
        else:
            values = segment_values(export, by)
            cov = per_group(pipe, by, lambda d: coverage_table(d, {}, settings, date).iloc[:1].drop(
                columns="partner_type"), values)
            categories = per_group(pipe, by, lambda d: by_category(d, settings.attribution), values)
        last = Quarter.containing(date - pd.Timedelta(days=1), settings.calendar.fiscal_year_start_month)
        trend_q = [last - i for i in range(TREND_QUARTERS - 1, -1, -1)]
        tables = {
            "coverage": cov,
            "stage_forecast": stage_forecast_table(export, settings, date, by),
            "categories": categories,
            "commit": commit_table(export, settings, date, None if by == "partner_type" else by),
            "trend": pipeline_trend(export, settings, trend_q, None if by == "partner_type" else by),
        }
        if deals:
            tables["deals"] = deals_table(export, settings, date, by, quarter_pipe)
        sources = quarter_pipe["close_date_source"].value_counts()
        meta = metric_meta(export, "coverage", quarter, by, snapshot=date.date().isoformat(),
                           coverage_basis=COVERAGE_BASIS,
                           close_dates=", ".join(f"{src}: {n} deals" for src, n in sources.items()),
                           other_tables=("stage_forecast, categories, commit and deals: the whole "
                                         "open pipeline on the snapshot date, whatever its "
                                         "expected close"))
        return MetricTables(tables, meta)


__all__ = ["commit_table", "coverage_tables", "deals_table", "stage_forecast_table"]
