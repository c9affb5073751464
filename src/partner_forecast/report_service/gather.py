"""Gather everything the executive report shows: :func:`gather_report` -> :class:`ReportData`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from partner_forecast import __version__
from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.metrics.cache import cached_metrics
from partner_forecast.model_source import FITTED_MODELS, ModelSource
from partner_forecast.report_service.accuracy import AccuracyData, accuracy_data
from partner_forecast.report_service.forecasting import ForecastData, run_forecast
from partner_forecast.report_service.growth import QualityData, growth_data, quality_data
from partner_forecast.report_service.inputs import (
    HISTORY_QUARTERS,
    LeftOut,
    Notify,
    ReportInputs,
    report_inputs,
    with_year_before,
)
from partner_forecast.report_service.pipeline import PipelineData, pipeline_data
from partner_forecast.report_service.productivity import ProductivityData, productivity_data
from partner_forecast.report_service.revenue import RevenueData, revenue_data
from partner_forecast.report_service.scenarios import ScenarioData, read_scenarios, scenario_data

DATA_WARNINGS_SHOWN = 10
"""Data-quality warnings listed one by one; the rest are counted."""


@dataclass
class ReportData:
    """Everything the executive report shows, computed (ARR in currency per year).

    Attributes
    ----------
    as_of : pandas.Timestamp
        The date the data is viewed at.
    horizon : int
        Forecast quarters.
    forecast : ForecastData
        The report's forecast (or why there is none) and its first quarter.
    revenue, pipeline, accuracy, productivity : block data
        Blocks 1-4.
    growth : pandas.DataFrame or None
        Block 5 (None: no complete quarter of history).
    quality : QualityData
        The data-quality audit.
    scenarios : ScenarioData, LeftOut or None
        Scenario deltas (None: no scenario file given).
    meta : dict
        as-of, data and config (path and fingerprint), version, quarters, draws, seed, run id,
        diagnostics verdict, scenario files, backtest quarters, variance, and what the parts
        add (e.g. which forecast the variance review used).
    diagnostics : pandas.DataFrame
        Model fit diagnostics (one row per model; empty without a forecast).
    warnings : list of str
        Fit warnings, then the review's, the backtest's, the scenarios', then data quality.
    degraded : list of str
        Parts left out and why.
    """

    as_of: pd.Timestamp
    horizon: int
    forecast: ForecastData
    revenue: RevenueData
    pipeline: PipelineData
    accuracy: AccuracyData
    productivity: ProductivityData
    growth: pd.DataFrame | None
    quality: QualityData
    scenarios: ScenarioData | LeftOut | None
    meta: dict[str, Any]
    diagnostics: pd.DataFrame
    warnings: list[str]
    degraded: list[str]


def gather_report(data: str | Path | Export, *, as_of: str | pd.Timestamp | None = None,
                  quarter: str | Quarter | None = None, horizon: int = 4,
                  scenario_files: Sequence[str | Path] = (), backtest_quarters: int = 0,
                  config: str | Path | Settings | None = None, workspace: str | Path | None = None,
                  draws: int | None = None, seed: int | None = None, record: bool = True,
                  progress: bool = False, notify: Notify | None = None,
                  history_quarters: int = HISTORY_QUARTERS, variance: bool = True,
                  models: ModelSource = FITTED_MODELS) -> ReportData:
    """Run the report's forecast, review, backtest and scenarios; compute every block's data.

    Parameters are those of :func:`partner_forecast.reports.executive.build_report`. The parts
    run in this order: the scenario files are read and checked (before any fit), the forecast
    is made (and recorded in the ledger when ``record``), then the variance review (which may
    record its own forecast), the ledger's history and pacing, the backtest and the scenarios.
    """
    from partner_forecast.forecast import load_inputs

    settings, export = load_inputs(data, config)
    cut = None if as_of is None else pd.Timestamp(as_of)
    inp = report_inputs(settings, export, cut, workspace=workspace, draws=draws, seed=seed,
                        progress=progress, notify=notify, models=models,
                        history_quarters=history_quarters)
    scenarios = read_scenarios(scenario_files)  # bad files fail before any fit
    forecast = run_forecast(inp, quarter, horizon, record)
    with cached_metrics():  # the blocks share seller-quarter activity and open pipelines
        core = {str(q): _core_metrics(inp, q) for q in with_year_before(inp.history)}
        revenue = revenue_data(inp, forecast, core)
        pipeline = pipeline_data(inp, forecast.first_quarter)
        accuracy = accuracy_data(inp, forecast.context, backtest_quarters, variance)
        productivity = productivity_data(inp, forecast.context)
        growth = growth_data(inp)
        quality = quality_data(inp)
    scenario = scenario_data(inp, forecast.context, scenarios) if scenario_files else None
    meta, diagnostics = _meta(inp, forecast, horizon)
    meta["scenario_files"] = [str(f) for f in scenario_files]
    meta["backtest_quarters"] = backtest_quarters
    meta["variance"] = variance
    meta.update(inp.facts)
    return ReportData(as_of=inp.as_of, horizon=horizon, forecast=forecast, revenue=revenue,
                      pipeline=pipeline, accuracy=accuracy, productivity=productivity,
                      growth=growth, quality=quality, scenarios=scenario, meta=meta,
                      diagnostics=diagnostics, warnings=inp.warnings, degraded=inp.degraded)


def _core_metrics(inp: ReportInputs, q: Quarter) -> pd.Series:
    from partner_forecast.metrics.arr import core_arr_metrics

    return core_arr_metrics(inp.export, inp.settings, q).iloc[0]


def _meta(inp: ReportInputs, forecast: ForecastData, horizon: int) -> tuple[dict[str, Any], pd.DataFrame]:
    """The footer's meta and the diagnostics; the fit's warnings first, data quality's last."""
    view, settings, result = inp.export, inp.settings, forecast.result
    meta: dict[str, Any] = {"as_of": inp.as_of.date().isoformat(), "data": view.source,
                            "data_fingerprint": view.fingerprint, "config": settings.source,
                            "config_fingerprint": settings.fingerprint, "version": __version__}
    diagnostics = pd.DataFrame()
    if result is not None:
        for key in ("quarters", "draws", "seed", "run_id", "diagnostics_ok", "fit_notes"):
            if key in result.meta:
                meta[key] = result.meta[key]
        diagnostics = pd.DataFrame(result.meta.get("diagnostics", []))
        inp.warnings[:0] = [str(w) for w in result.meta.get("warnings", [])]
    else:
        meta["quarters"] = [str(forecast.first_quarter + i) for i in range(horizon)]
    if view.warnings:
        shown = [str(w) for w in view.warnings[:DATA_WARNINGS_SHOWN]]
        more = len(view.warnings) - len(shown)
        inp.warnings += [f"data quality: {w}" for w in shown]
        if more:
            inp.warnings.append(f"data quality: ... and {more} more (see `partner-forecast validate`)")
    return meta, diagnostics


__all__ = ["DATA_WARNINGS_SHOWN", "ReportData", "gather_report"]
