"""The executive report: DOMAIN.md section 8's five dashboard blocks, with charts and readings.

:func:`build_report` gathers the report's data with the report service
(:func:`~partner_forecast.report_service.gather.gather_report`: the forecast, the variance
review, the ledger's history and pacing, an optional backtest and scenarios, every block's
metrics) and lays it out as an :class:`~partner_forecast.reports.document.ExecutiveReport`:

1. **Partner revenue contribution**: fan chart of quarterly partner ARR (actuals, P10-P90 and
   P50 of the forecast), next quarter's distribution with the target, the team's calls beside
   the model, committed vs upside, ARR by partner type with marketplace as its own line, and
   the contribution trend (QoQ, YoY).
2. **Pipeline health**: coverage of the target by partner type, the pipeline mix and growth.
3. **Forecast accuracy**: the variance waterfall of the last closed quarter, the P10-P90 band
   of its ledger forecasts over their run dates with the actual (and the current quarter's
   from two runs), the current quarter's pacing, backtest calibration when asked for, learned
   conversion curves vs the seed table.
4. **Partner productivity**: ASR per partner with intervals (paper partnerships marked), top 10
   partners by pipeline, win rate, deal size and ARR per active partner/seller by type.
5. **Ecosystem growth**: partners with their first pipeline, engaged sellers, marketplace and
   expansion ARR per quarter.

Then the data-quality audit, and scenario deltas when scenario files are given. Every chart
carries a one-line reading computed from its numbers (:mod:`partner_forecast.reports.readings`).
A part that cannot be made degrades to a sentence saying why (a review that raised an error, a
quarter with nothing to review, ...); the report's meta (as-of, fingerprints, config,
diagnostics, warnings) goes in its footer. ARR is partner-attributed (DOMAIN.md section 4)
unless a column says gross, currency per year.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.model_source import FITTED_MODELS, ModelSource
from partner_forecast.report_service.gather import ReportData, gather_report
from partner_forecast.report_service.inputs import HISTORY_QUARTERS, Notify
from partner_forecast.reports.blocks.accuracy import accuracy_block
from partner_forecast.reports.blocks.growth import growth_block
from partner_forecast.reports.blocks.pipeline import pipeline_block
from partner_forecast.reports.blocks.productivity import productivity_block
from partner_forecast.reports.blocks.quality import quality_block
from partner_forecast.reports.blocks.revenue import revenue_block
from partner_forecast.reports.blocks.scenarios import scenario_block
from partner_forecast.reports.document import ExecutiveReport
from partner_forecast.reports.readings import headline


def build_report(data: str | Path | Export, *, as_of: str | pd.Timestamp | None = None,
                 quarter: str | Quarter | None = None, horizon: int = 4,
                 scenario_files: Sequence[str | Path] = (), backtest_quarters: int = 0,
                 config: str | Path | Settings | None = None, workspace: str | Path | None = None,
                 draws: int | None = None, seed: int | None = None, record: bool = True,
                 progress: bool = False, notify: Notify | None = None,
                 history_quarters: int = HISTORY_QUARTERS, variance: bool = True,
                 models: ModelSource = FITTED_MODELS) -> ExecutiveReport:
    """Gather the executive report: forecast, the five dashboard blocks, scenarios, meta.

    Parameters
    ----------
    data : path or Export
        Export folder (the data contract) or a loaded export.
    as_of : date, optional
        View the data as it stood on this date (default: the day after its latest date).
    quarter : str, optional
        First forecast quarter (default: the one containing as-of).
    horizon : int
        Forecast quarters shown in the fan chart (1-8).
    scenario_files : sequence of path
        Scenario TOML files compared with the baseline (read and checked before any fit).
    backtest_quarters : int
        Run a rolling-origin backtest of this many past quarters for the calibration chart
        (0: none; each quarter is one more fit).
    config : path or Settings, optional
        Configuration merged over the defaults.
    workspace : path, optional
        Cached fits and the forecast ledger (default ``.partner_forecast``).
    draws, seed : int, optional
        Monte Carlo draws and seed (defaults from ``[simulation]``).
    record : bool
        Record the forecast in the ledger (scenario runs are never recorded by the report).
    progress : bool
        Progress bars on stderr.
    notify : callable, optional
        Receives progress notes (default: the ``partner_forecast.report_service`` loggers).
    history_quarters : int
        Complete quarters of history in the revenue charts.
    variance : bool
        Review the last closed quarter (the variance block). It reuses the ledger's forecast
        of that quarter made on or before its start; without one it forecasts as of the
        quarter's start, which fits the models on that data unless cached (said beforehand).
    models : ModelSource
        Where the forecast, the review, the backtest and the summaries (posterior ASR,
        conversion curves) get their fitted models (default: the five hierarchical models).

    Returns
    -------
    ExecutiveReport
    """
    gathered = gather_report(data, as_of=as_of, quarter=quarter, horizon=horizon,
                             scenario_files=scenario_files, backtest_quarters=backtest_quarters,
                             config=config, workspace=workspace, draws=draws, seed=seed,
                             record=record, progress=progress, notify=notify,
                             history_quarters=history_quarters, variance=variance, models=models)
    return layout(gathered)


def layout(data: ReportData) -> ExecutiveReport:
    """The report service's data as the report: title, headline, blocks, footer."""
    blocks = [revenue_block(data.revenue), pipeline_block(data.pipeline),
              accuracy_block(data.accuracy), productivity_block(data.productivity),
              growth_block(data.growth), quality_block(data.quality)]
    if data.scenarios is not None:
        blocks.append(scenario_block(data.scenarios))
    first = data.forecast.first_quarter
    title = f"Partner revenue forecast {first}" + (
        f"-{first + (data.horizon - 1)}" if data.horizon > 1 else "")
    return ExecutiveReport(title=title, headline=headline(data.forecast), blocks=blocks,
                           meta=data.meta, diagnostics=data.diagnostics, warnings=data.warnings,
                           degraded=data.degraded)


__all__ = ["build_report", "layout"]
