"""The ``kpis`` tables: seller and adoption KPIs, ARR metrics, ASR and production of a quarter."""

from __future__ import annotations

import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.metrics.arr import core_arr_metrics
from partner_forecast.metrics.cache import cached_metrics
from partner_forecast.metrics.kpis import adoption_kpis, seller_kpis
from partner_forecast.metrics.pipeline import pipeline_trend
from partner_forecast.metrics.production import production_from_history
from partner_forecast.metrics.segment_frames import (
    Split,
    label_rows,
    partner_info,
    per_segment,
    program_row,
    splitter,
)
from partner_forecast.metrics.segments import DEAL_SEGMENTS
from partner_forecast.metrics.sellers import add_rates, seller_engagement
from partner_forecast.metrics.tables import MetricTables, metric_meta

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
        return (split or splitter(export, by))(
            lambda e: _asr_total(seller_engagement(e, [quarter], fy), quarter))
    eng = seller_engagement(export, [quarter], fy).drop(columns="quarter_index")
    if by is not None:
        return per_segment(by, {"engagement": label_rows(export, by, eng)},
                           lambda engagement: _asr_total(engagement, quarter))
    rows = pd.concat([partner_info(export, eng), _asr_total(eng, quarter).assign(partner_id="all")],
                     ignore_index=True)
    return rows[["partner_id", "partner_name", "partner_type", "tier", *ASR_COLUMNS]]


def kpi_tables(export: Export, settings: Settings, quarter: Quarter, by: str | None = None,
               detail: bool = False) -> MetricTables:
    """Activation and adoption KPIs of ``quarter``, the program summary first (the CLI's ``kpis``).

    Tables: seller_kpis (the five seller KPIs), adoption_kpis (the eight partner adoption
    KPIs), arr_metrics (core partner ARR, currency per year), pipeline (sourced ratio,
    influence rate, QoQ growth), asr (Active Seller Rate with engaged and effective sellers)
    and production (both production models from the last four quarters): for the whole
    program, or per segment with ``by``. ``detail`` adds asr_by_partner and
    production_by_partner (without ``by`` only).
    """
    with cached_metrics():
        split = splitter(export, by)

        if by is None:
            production = production_from_history(export, settings, quarter)
        elif by in DEAL_SEGMENTS:  # sellers are not split by a deal label: pool the segment's deals
            production = split(lambda e: production_from_history(e, settings, quarter).iloc[-1:].drop(
                columns="partner_id"))
        else:
            production = production_from_history(export, settings, quarter, by=by).iloc[:-1]

        asr = asr_table(export, settings, quarter, by, split)
        partner_rows = by is None  # the only layout with per-partner rows (and an "all" row)
        tables = {
            "seller_kpis": split(lambda e: seller_kpis(e, settings, quarter)),
            "adoption_kpis": split(lambda e: adoption_kpis(e, settings, quarter)),
            "arr_metrics": split(lambda e: core_arr_metrics(e, settings, quarter)),
            "pipeline": pipeline_trend(export, settings, [quarter], by),
            "asr": program_row(asr) if partner_rows else asr,
            "production": program_row(production) if partner_rows else production,
        }
        if partner_rows and detail:
            tables["asr_by_partner"] = asr[asr["partner_id"] != "all"].reset_index(drop=True)
            tables["production_by_partner"] = production[production["partner_id"] != "all"
                                                         ].reset_index(drop=True)
        meta = metric_meta(export, "kpis", quarter, by)
        if partner_rows and not detail:
            meta["detail"] = "per-partner ASR and production rows: add --detail"
        return MetricTables(tables, meta)


__all__ = ["ASR_COLUMNS", "asr_table", "kpi_tables"]
