"""Block 1's data: partner ARR won and forecast, committed vs upside, ARR by type, the team's calls."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.forecast import ForecastResult
from partner_forecast.formatting import change
from partner_forecast.report_service.forecasting import Distribution, ForecastData, outcome_split
from partner_forecast.report_service.inputs import ReportInputs, with_year_before

ROLES = ("sourced", "co_sell", "influenced")
"""Partner roles with their own column in the contribution table."""


@dataclass
class FanData:
    """The fan chart's forecast: quarter, p10, p50, p90 (and the quantile table's other columns).

    ``targets``: the total ARR target rows (None: no targets); ``join``: the forecast starts the
    quarter after the last actual, so the fan opens from it.
    """

    forecast: pd.DataFrame
    targets: pd.DataFrame | None
    join: bool


@dataclass
class CallsData:
    """The team's latest calls of the first forecast quarter beside the model.

    ``beside``: :func:`~partner_forecast.evaluate.calls.beside_model` rows (empty: the export
    has calls, none of the quarter made before the as-of date).
    """

    quarter: str
    as_of: pd.Timestamp
    beside: pd.DataFrame


@dataclass
class RevenueData:
    """Partner revenue contribution (attributed ARR, currency per year).

    Attributes
    ----------
    history : pandas.DataFrame
        quarter, actual: partner-attributed ARR won per complete quarter of history.
    fan, distribution, calls, split
        The forecast's parts (None without a forecast; ``calls`` also None when the export
        has no calls): the fan, the first quarter's distribution, the team's calls beside the
        model and :func:`~partner_forecast.report_service.forecasting.outcome_split`.
    by_type : pandas.DataFrame or None
        Index: history quarters; one column per partner type, largest first (None: no history).
    marketplace : pandas.Series or None
        Marketplace ARR per history quarter.
    contribution : pandas.DataFrame or None
        Per history quarter: partner_arr, qoq, yoy, total_arr, contribution_pct, ARR by role,
        marketplace_arr, expansion_arr.
    """

    history: pd.DataFrame
    fan: FanData | None
    distribution: Distribution | None
    calls: CallsData | None
    split: pd.DataFrame | None
    by_type: pd.DataFrame | None
    marketplace: pd.Series | None
    contribution: pd.DataFrame | None


def won_by_quarter(inp: ReportInputs, quarters: Sequence[Quarter]) -> dict[str, dict[str, pd.DataFrame]]:
    """ARR won per quarter by partner type and by partner role (:func:`outcomes.realised`)."""
    from partner_forecast.outcomes import realised

    return {str(q): {by: realised(inp.export, inp.settings, q, by=by)
                     for by in ("partner_type", "partner_role")} for q in quarters}


def total(won: pd.DataFrame, column: str = "attributed_arr") -> float:
    """The ``total`` segment's ``column`` of a :func:`~partner_forecast.outcomes.realised` frame."""
    return float(won.loc[won["segment"] == "total", column].iloc[0])


def segment_value(won: pd.DataFrame, segment: str, column: str = "attributed_arr") -> float:
    """One segment's ``column`` of a realised frame (0 when the segment won nothing)."""
    rows = won.loc[won["segment"] == segment, column]
    return float(rows.iloc[0]) if len(rows) else 0.0


def revenue_data(inp: ReportInputs, forecast: ForecastData, core: dict[str, pd.Series]) -> RevenueData:
    """Block 1's data from the forecast and the core ARR metrics of every quarter (``core``)."""
    won = won_by_quarter(inp, with_year_before(inp.history))
    history = pd.DataFrame({"quarter": [str(q) for q in inp.history],
                            "actual": [total(won[str(q)]["partner_type"]) for q in inp.history]})
    result = forecast.result
    fan = calls = split = None
    if result is not None:
        fan = fan_data(inp, result)
        calls = calls_data(inp, result)
        split = outcome_split(result)
    by_type = marketplace = contribution = None
    if inp.history:
        wide = pd.DataFrame({str(q): won[str(q)]["partner_type"].pipe(
            lambda w: w[w["segment"] != "total"].set_index("segment")["attributed_arr"])
            for q in inp.history}).T.fillna(0.0)
        by_type = wide[wide.sum().sort_values(ascending=False).index] if len(wide.columns) else wide
        marketplace = pd.Series({str(q): total(won[str(q)]["partner_type"], "marketplace_arr")
                                 for q in inp.history})
        contribution = contribution_table(inp.history, won, core)
    return RevenueData(history=history, fan=fan, distribution=forecast.distribution, calls=calls,
                       split=split, by_type=by_type, marketplace=marketplace,
                       contribution=contribution)


def fan_data(inp: ReportInputs, result: ForecastResult) -> FanData:
    """The forecast's total attributed quantiles per quarter, the targets, and whether to join."""
    q = result.quantiles
    fc = q[(q["measure"] == "attributed") & (q["segment"] == "total")]
    fc = fc.set_index("quarter").reindex([str(x) for x in result.quarters]).reset_index()
    targets = result.targets[result.targets["segment"] == "total"] if not result.targets.empty \
        else None
    join = bool(inp.history) and result.quarters[0] == inp.history[-1] + 1
    return FanData(fc, targets, join)


def contribution_table(history: Sequence[Quarter], won: dict[str, dict[str, pd.DataFrame]],
                       core: dict[str, pd.Series]) -> pd.DataFrame:
    """Partner ARR per history quarter with QoQ, YoY, the company share, roles and channels."""
    rows = []
    for q in history:
        m = core[str(q)]
        by_role = won[str(q)]["partner_role"]
        rows.append({"quarter": str(q), "partner_arr": m["partner_arr"],
                     "qoq": change(m["partner_arr"], core[str(q - 1)]["partner_arr"]),
                     "yoy": change(m["partner_arr"], core[str(q - 4)]["partner_arr"]),
                     "total_arr": m["total_arr"], "contribution_pct": m["contribution_pct"],
                     **{f"{role}_arr": segment_value(by_role, role) for role in ROLES},
                     "marketplace_arr": total(by_role, "marketplace_arr"),
                     "expansion_arr": total(by_role, "expansion_arr")})
    return pd.DataFrame(rows)


def calls_data(inp: ReportInputs, result: ForecastResult) -> CallsData | None:
    """Each caller's latest call of the first forecast quarter beside the model (None: no calls).

    For the total and the segments the forecast has: the model's P10/P50/P90, where the commit
    falls in the simulated distribution (mid-rank percentile) and the chance of reaching it
    (:func:`~partner_forecast.evaluate.calls.beside_model`).
    """
    from partner_forecast.evaluate import scores
    from partner_forecast.evaluate.calls import beside_model, call_frame, latest_calls

    calls = call_frame(inp.export, inp.settings.calendar.fiscal_year_start_month)
    if calls.empty:
        return None
    quarter = str(result.quarters[0])
    latest = latest_calls(calls, quarter, inp.as_of)
    draws = result.draws("attributed")[:, 0, :]
    segments = [str(s) for s in result.simulation.segments]
    by_seg = {"total": draws.sum(axis=1)} | {s: draws[:, i] for i, s in enumerate(segments)
                                             if s != "total"}
    q = np.array([np.quantile(d, (0.1, 0.5, 0.9)) for d in by_seg.values()])
    forecast = pd.DataFrame({"segment": list(by_seg), "p10": q[:, 0], "p50": q[:, 1],
                             "p90": q[:, 2]})

    def percentile(seg: str, value: float) -> float:
        """Percentile of ``value`` among the segment's draws (mid-rank for ties)."""
        return 100.0 * float(scores.pit(value, by_seg[seg]))

    beside = beside_model(latest, forecast, result.segment_by, percentile)
    return CallsData(quarter, inp.as_of, beside)


__all__ = ["CallsData", "FanData", "ROLES", "RevenueData", "calls_data", "contribution_table",
           "fan_data", "revenue_data", "segment_value", "total", "won_by_quarter"]
