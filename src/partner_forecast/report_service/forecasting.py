"""The report's forecast: made once, recorded in the ledger, and what the report reads of it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.errors import PartnerForecastError
from partner_forecast.forecast import ForecastContext, ForecastResult
from partner_forecast.report_service.inputs import LeftOut, ReportInputs


@dataclass
class Distribution:
    """One quarter's simulated partner-attributed ARR: the draws, P10/P50/P90 and the target.

    Attributes
    ----------
    quarter : str
        The quarter's label.
    draws : numpy.ndarray
        (D,) total partner-attributed ARR per draw (currency per year).
    p10, p50, p90 : float
        Quantiles of ``draws``.
    target : float or None
        The quarter's total ARR target (None: no target).
    p_at_least : float or None
        P(ARR >= target) (None: no target).
    """

    quarter: str
    draws: np.ndarray
    p10: float
    p50: float
    p90: float
    target: float | None
    p_at_least: float | None


@dataclass
class ForecastData:
    """The report's forecast, or why there is none.

    Attributes
    ----------
    context, result : ForecastContext, ForecastResult, or None
        The prepared forecast and its simulation (None when the forecast is left out).
    first_quarter : Quarter
        The first forecast quarter (asked for, or the as-of quarter without a forecast).
    distribution : Distribution or None
        The first quarter's distribution (None without a forecast).
    left_out : LeftOut or None
        Why there is no forecast.
    """

    context: ForecastContext | None
    result: ForecastResult | None
    first_quarter: Quarter
    distribution: Distribution | None
    left_out: LeftOut | None = None


def run_forecast(inp: ReportInputs, quarter: str | Quarter | None, horizon: int, record: bool
                 ) -> ForecastData:
    """Forecast ``horizon`` quarters from ``quarter`` as of the report's date (recorded if asked).

    A fit of the models is announced beforehand (with how long it is likely to take) through
    ``inp.notify``. When the models cannot forecast this data (a
    :class:`~partner_forecast.errors.PartnerForecastError` while fitting or building the
    simulation inputs), the forecast is left out and the report shows the history only.
    """
    from partner_forecast.evaluate.fit_cost import fit_announcement
    from partner_forecast.forecast import prepare, run

    fym = inp.settings.calendar.fiscal_year_start_month
    fitting = fit_announcement(inp.export, inp.settings, inp.workspace, inp.as_of)
    if fitting is not None:
        inp.notify(f"forecast: no saved fits in {inp.workspace} for the data as of "
                   f"{inp.as_of.date()}: {fitting}")
    try:
        context = prepare(inp.export, as_of=inp.as_of, quarter=quarter, horizon=horizon,
                          draws=inp.draws, seed=inp.seed, config=inp.settings,
                          workspace=inp.workspace, progress=inp.progress, models=inp.models)
    except PartnerForecastError as exc:
        left_out = inp.leave_out("The forecast (fan chart, distribution, model-based curves) is", exc)
        first = Quarter.parse(str(quarter), fym) if quarter is not None else inp.current
        return ForecastData(None, None, first, None, left_out)
    result = run(context, record=record, progress=inp.progress)
    return ForecastData(context, result, result.quarters[0], first_distribution(result))


def first_distribution(result: ForecastResult) -> Distribution:
    """The first forecast quarter's total partner-attributed ARR draws, quantiles and target."""
    q = str(result.quarters[0])
    draws = result.draws("attributed")[:, 0, :].sum(axis=1)
    p10, p50, p90 = np.quantile(draws, (0.1, 0.5, 0.9))
    target, p_at = quarter_target(result, q)
    return Distribution(q, draws, p10, p50, p90, target, p_at)


def quarter_target(result: ForecastResult, quarter: str) -> tuple[float | None, float | None]:
    """The quarter's total ARR target and P(ARR >= target) (None, None without a target)."""
    t = result.targets
    if t is None or t.empty:
        return None, None
    rows = t[(t["quarter"] == quarter) & (t["segment"] == "total")]
    if rows.empty:
        return None, None
    return float(rows["arr_target"].iloc[0]), float(rows["p_at_least_target"].iloc[0])


def outcome_split(result: ForecastResult) -> pd.DataFrame:
    """Per forecast quarter, the mean partner-attributed ARR split by where it comes from.

    won_to_date (ARR already won in the first quarter before as-of), committed and upside of
    the open pipeline (the confidence-score commit rule, DOMAIN.md section 6), new_pipeline
    (deals not created yet); they sum to the forecast mean. p10, p90: of the total.
    """
    q = result.quantiles
    q = q[q["segment"] == "total"]
    rows = []
    for quarter in [str(x) for x in result.quarters]:
        stats = q[q["quarter"] == quarter].set_index("measure")

        def mean(measure: str, stats: pd.DataFrame = stats) -> float:
            return float(stats.loc[measure, "mean"]) if measure in stats.index else 0.0

        rows.append({"quarter": quarter, "won_to_date": mean("won_to_date"),
                     "committed": mean("committed"), "upside": mean("upside"),
                     "new_pipeline": mean("attributed_new"), "mean": mean("attributed"),
                     "p10": float(stats.loc["attributed", "p10"]),
                     "p90": float(stats.loc["attributed", "p90"])})
    return pd.DataFrame(rows)


__all__ = ["Distribution", "ForecastData", "first_distribution", "outcome_split", "quarter_target",
           "run_forecast"]
