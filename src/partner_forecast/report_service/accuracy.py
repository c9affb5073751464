"""Block 3's data: the variance review, forecast history, pacing, backtest and conversion curves.

The variance review may make (and record) a forecast of the last closed quarter when the
ledger has none; the history and pacing read the ledger only, after the report's own forecast
and the review's are recorded. A review or backtest that cannot be made (a
:class:`~partner_forecast.errors.PartnerForecastError`) is left out with a sentence saying why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.errors import PartnerForecastError
from partner_forecast.evaluate.pacing import PacingResult
from partner_forecast.evaluate.variance import VarianceResult
from partner_forecast.forecast import ForecastContext
from partner_forecast.report_service.inputs import LeftOut, ReportInputs

LARGEST_MISSES = 5
"""Deals shown per kind of miss (expected and not won, won unexpectedly)."""


@dataclass
class VarianceData:
    """The variance review of the last closed quarter, as the report shows it.

    Attributes
    ----------
    quarter : Quarter
        The reviewed quarter.
    review : VarianceResult
        The review (drivers, conversion by type, calls, source of its forecast).
    total : pandas.Series
        The review's forecast-vs-actual row of the total: actual, mean, p10, p90, percentile.
    steps : list of (str, float)
        :func:`waterfall_steps` of the drivers, forecast mean to actual.
    misses : pandas.DataFrame
        The :data:`LARGEST_MISSES` largest misses of each kind.
    """

    quarter: Quarter
    review: VarianceResult
    total: pd.Series
    steps: list[tuple[str, float]]
    misses: pd.DataFrame


@dataclass
class HistoryData:
    """One quarter's forecasts in the ledger (total rows), or ``runs`` None: the ledger has none."""

    quarter: Quarter
    runs: pd.DataFrame | None
    actual: float | None = None
    target: float | None = None


@dataclass
class PacingData:
    """The current quarter's pacing (``result`` None: no forecast of it in the ledger)."""

    quarter: Quarter
    result: PacingResult | None

    @property
    def summary(self) -> pd.Series:
        """The pacing summary's row (the result must be there)."""
        assert self.result is not None
        return self.result.summary.iloc[0]


@dataclass
class BacktestData:
    """Backtest calibration over ``quarters`` past quarters (first quarter of each fold, total).

    ``model_rows`` (the model's per-quarter rows) or ``summary`` empty: no complete quarter to
    score. ``model``: the model's summary row; ``best``: the baseline with the lowest CRPS
    relative to the model's (None: no baseline scored).
    """

    quarters: int
    model_rows: pd.DataFrame
    summary: pd.DataFrame
    coverage_target: float
    model: pd.Series | None = None
    best: pd.Series | None = None

    @property
    def scored(self) -> bool:
        """True when at least one quarter was scored."""
        return not (self.model_rows.empty or self.summary.empty)


@dataclass
class ConversionData:
    """Conversion curves: P(won | stage) per partner type, learned vs the seed table.

    ``curves``: partner_type, stage, table_rate, learned_rate, learned_rate_p10,
    learned_rate_p90 (NaN without posterior intervals). ``from_model``: the conversion
    model's posterior (else the closed deals' rates shrunk toward the table);
    ``with_forecast``: the report has a forecast (fitted models).
    """

    curves: pd.DataFrame
    from_model: bool
    with_forecast: bool


@dataclass
class AccuracyData:
    """Forecast accuracy.

    ``variance``: None when skipped (``variance=False``); ``backtest``: None when not asked
    for; ``pacing``: None before the current quarter's first day; ``history``: the last
    closed quarter (shown even without runs) and the current quarter (from two run dates on).
    """

    last_closed: Quarter
    workspace: str
    variance: VarianceData | LeftOut | None
    history: list[HistoryData]
    pacing: PacingData | None
    backtest: BacktestData | LeftOut | None
    conversion: ConversionData


def accuracy_data(inp: ReportInputs, context: ForecastContext | None, backtest_quarters: int,
                  variance: bool) -> AccuracyData:
    """Block 3's data, in the order its parts read and write the ledger."""
    review: VarianceData | LeftOut | None = None
    if variance:
        review = variance_data(inp)
    else:
        inp.facts["variance_forecast"] = "skipped (--no-variance)"
    history = history_data(inp)
    pace = pacing_data(inp)
    backtest = backtest_data(inp, backtest_quarters) if backtest_quarters > 0 else None
    return AccuracyData(last_closed=inp.last_closed, workspace=str(inp.workspace),
                        variance=review, history=history, pacing=pace, backtest=backtest,
                        conversion=conversion_data(inp, context))


def variance_data(inp: ReportInputs) -> VarianceData | LeftOut:
    """The variance review of the last closed quarter (reusing the ledger's forecast of it)."""
    from partner_forecast.evaluate.variance import variance_review

    quarter = inp.last_closed
    try:
        review = variance_review(inp.export, quarter, config=inp.settings, workspace=inp.workspace,
                                 draws=inp.draws, seed=inp.seed, progress=inp.progress,
                                 notify=inp.notify, fit_hint="--no-variance leaves the review out",
                                 models=inp.models)
    except PartnerForecastError as exc:
        return inp.leave_out(f"The variance review of {quarter} is", exc)
    inp.warnings += [f"variance {quarter}: {w}" for w in review.meta.get("warnings", [])]
    inp.facts["variance_forecast"] = review.source
    fva = review.forecast_vs_actual.set_index("segment").loc["total"]
    return VarianceData(quarter=quarter, review=review, total=fva,
                        steps=waterfall_steps(review.drivers, float(fva["mean"])),
                        misses=review.largest_misses.groupby("kind", sort=False).head(LARGEST_MISSES))


def waterfall_steps(drivers: pd.DataFrame, forecast_mean: float, small: float = 0.01
                    ) -> list[tuple[str, float]]:
    """A variance review's driver lines as waterfall steps, forecast mean to actual.

    Parameters
    ----------
    drivers : pandas.DataFrame
        :attr:`VarianceResult.drivers <partner_forecast.evaluate.variance.VarianceResult>`
        (component, driver, value; the closing ``total`` row is left out).
    forecast_mean : float
        The forecast mean the waterfall starts from (currency per year).
    small : float
        Lines smaller than this share of the scale (the larger of the forecast mean and the
        largest line) are pooled into one ``other (small)`` step, so the steps still sum exactly.

    Returns
    -------
    list of (str, float)
        (label, ARR change) in the review's order.
    """
    lines = drivers[drivers["component"] != "total"]
    scale = max(abs(forecast_mean), float(lines["value"].abs().max()) if len(lines) else 0.0, 1.0)
    steps: list[tuple[str, float]] = []
    other = 0.0
    for r in lines.itertuples(index=False):
        value = float(r.value)
        if abs(value) < small * scale:
            other += value
            continue
        prefix = {"open pipeline": "open", "new pipeline": "new"}.get(str(r.component), str(r.component))
        steps.append((f"{prefix}: {r.driver}", value))
    if other != 0.0:
        steps.append(("other (small)", other))
    return steps


def history_data(inp: ReportInputs) -> list[HistoryData]:
    """Forecast histories from the ledger only (no fit): the last closed and the current quarter.

    The last closed quarter with its actual (``runs`` None when the ledger holds no forecast
    of it); the current quarter when the ledger holds forecasts of it as of two dates or more.
    """
    from partner_forecast.evaluate.history import forecast_history

    out = []
    for quarter, least in ((inp.last_closed, 1), (inp.current, 2)):
        try:
            hist = forecast_history(inp.export, quarter, workspace=inp.workspace,
                                    config=inp.settings)
        except PartnerForecastError:
            if least == 1:
                out.append(HistoryData(quarter, None))
            continue
        runs = hist.runs[hist.runs["segment"] == "total"]
        if runs["as_of"].nunique() < least:  # the current quarter: from two run dates on
            continue
        target = runs["arr_target"].dropna()
        out.append(HistoryData(quarter, runs, hist.meta.get("actual_total"),
                               float(target.iloc[-1]) if len(target) else None))
    return out


def pacing_data(inp: ReportInputs) -> PacingData | None:
    """The current quarter's pacing, from the ledger only (no fit, no simulation)."""
    from partner_forecast.evaluate.pacing import pacing

    q = inp.current
    if inp.as_of <= q.start:
        return None
    try:
        result = pacing(inp.export, q, as_of=inp.as_of, workspace=inp.workspace,
                        config=inp.settings, forecast_missing=False)
    except PartnerForecastError:
        return PacingData(q, None)
    return PacingData(q, result)


def backtest_data(inp: ReportInputs, k: int) -> BacktestData | LeftOut:
    """A rolling-origin backtest of the last ``k`` quarters, scored on the first quarter of each fold."""
    from partner_forecast.evaluate.backtest import backtest
    from partner_forecast.evaluate.scoring import MODEL

    try:
        result = backtest(inp.export, quarters=k, draws=inp.draws, seed=inp.seed, config=inp.settings,
                          workspace=inp.workspace, progress=inp.notify if inp.progress else False,
                          fit_hint="--no-backtest leaves the backtest out", models=inp.models)
    except PartnerForecastError as exc:
        return inp.leave_out("Backtest calibration is", exc)
    inp.warnings += [f"backtest: {w}" for w in result.meta.get("warnings", [])]
    pq = result.per_quarter
    model_rows = pq[(pq["method"] == MODEL) & (pq["segment"] == "total") & (pq["lead"] == 1)]
    summary = result.summary[(result.summary["segment"] == "total") & (result.summary["lead"] == 1)]
    data = BacktestData(k, model_rows, summary, float(result.meta.get("coverage_target", 0.8)))
    if not data.scored:
        return data
    data.model = summary[summary["method"] == MODEL].iloc[0]
    baselines = summary[(summary["method"] != MODEL) & summary["crps_vs_model"].notna()]
    data.best = baselines.loc[baselines["crps_vs_model"].idxmin()] if len(baselines) else None
    return data


def conversion_data(inp: ReportInputs, context: ForecastContext | None) -> ConversionData:
    """P(won | stage) per partner type present: the conversion model's, else the shrunk table.

    The model's curves (:meth:`~partner_forecast.model_source.ModelSource.conversion_curves`:
    p_won, p10, p90) when the report has a forecast and its models offer them; otherwise the
    share of closed deals won from each stage shrunk toward the seed table
    (:func:`~partner_forecast.metrics.stage_forecast.learned_conversion_table`), without
    intervals.
    """
    from partner_forecast.metrics.stage_forecast import learned_conversion_table

    present = set(inp.export.partners["partner_type"].dropna().astype(str))
    model = (inp.models.conversion_curves(context.fits, inp.export, inp.settings)
             if context is not None else None)
    if model is not None:
        curves = model.assign(learned_rate=model["p_won"], learned_rate_p10=model["p10"],
                              learned_rate_p90=model["p90"])
        curves["table_rate"] = [inp.settings.conversion_probability(str(t), str(s)) for t, s in
                                zip(curves["partner_type"], curves["stage"], strict=True)]
    else:
        table = learned_conversion_table(inp.export, inp.settings)
        curves = table[table["partner_type"].isin(present)].assign(learned_rate_p10=np.nan,
                                                                   learned_rate_p90=np.nan)
    curves = curves[curves["partner_type"].isin(present)] if present else curves
    return ConversionData(curves, from_model=model is not None, with_forecast=context is not None)


__all__ = ["AccuracyData", "BacktestData", "ConversionData", "HistoryData", "LARGEST_MISSES",
           "PacingData", "VarianceData", "accuracy_data", "backtest_data", "conversion_data",
           "history_data", "pacing_data", "variance_data", "waterfall_steps"]
