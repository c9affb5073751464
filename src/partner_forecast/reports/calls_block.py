"""The team's call beside the model in the executive report (revenue block).

For the first forecast quarter: each caller's latest call known at the as-of date (made before
it; :func:`partner_forecast.evaluate.calls.latest_calls`), of the total and of the segments the
forecast has, set beside the model's P10/P50/P90, with where the commit falls in the simulated
distribution and the model's chance of reaching it. A chart (the model's P10-P90 band and P50,
each caller's commit and best case) and a table. Nothing is shown for an export without calls;
a note when it has calls but none of the quarter known yet. The variance block gets the
review's calls (:func:`variance_call_items`): the latest calls known at the reviewed run's
as-of, against the actual.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from partner_forecast.evaluate import scores
from partner_forecast.evaluate.calls import beside_model, beside_reading, call_frame, latest_calls
from partner_forecast.reports import charts

if TYPE_CHECKING:
    from partner_forecast.config import Settings
    from partner_forecast.data.export import Export

CALLER_COLOURS = ("#e07b39", "#8e44ad", "#16a085", "#c0392b", "#7f8c8d")
"""Marker colours of the callers, in table order (the forecast's blue is kept for the model)."""


def call_chart(beside: pd.DataFrame, quarter: str, layout: charts.Layout = charts.WIDE) -> Figure:
    """One row per call: the model's P10-P90 band and P50 behind each caller's commit and best case.

    Parameters
    ----------
    beside : pandas.DataFrame
        :func:`~partner_forecast.evaluate.calls.beside_model` rows (one segment's calls share
        its band; rows of several segments each get their own).
    quarter : str
        The quarter's label.
    layout : Layout
        Wide (desktop) or narrow (phone).
    """
    n = len(beside)
    fig, axes = charts.new_figure(layout, layout.size(0.9 + 0.45 * n, 1.2 + 0.6 * n))
    ax = axes[0, 0]
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color=charts.GRID, linewidth=0.6)
    ys = np.arange(n)[::-1]
    names = []
    for i, (y, r) in enumerate(zip(ys, beside.itertuples(index=False), strict=True)):
        colour = CALLER_COLOURS[i % len(CALLER_COLOURS)]
        ax.barh(y, r.p90 - r.p10, left=r.p10, height=0.6, color=charts.BAND, zorder=1,
                label="model P10-P90" if i == 0 else None)
        ax.plot([r.p50, r.p50], [y - 0.3, y + 0.3], color=charts.FORECAST, linewidth=2, zorder=2,
                label="model P50" if i == 0 else None)
        if np.isfinite(r.best_case):
            ax.plot([r.commit, r.best_case], [y, y], color=colour, linewidth=1.6, zorder=3)
            ax.plot(r.best_case, y, marker="|", markersize=12, markeredgewidth=2, color=colour,
                    zorder=3)
        ax.plot(r.commit, y, marker="o", markersize=7, color=colour, zorder=4)
        who = r.made_by or "team"
        seg = "" if r.segment == "total" else f" ({r.segment})"
        date = pd.Timestamp(r.made_on)
        names.append(f"{who}{seg}\n{date.strftime('%b')} {date.day}" if layout.narrow
                     else f"{who}{seg}, {date.date().isoformat()}")
    ax.set_yticks(ys, [charts.tex_safe(t) for t in names], fontsize=layout.text)
    ax.set_ylim(-0.7, n - 0.3)
    ax.plot([], [], marker="o", color=charts.MUTED, linestyle="none", label="commit")
    ax.plot([], [], marker="|", markersize=10, markeredgewidth=2, color=charts.MUTED,
            linestyle="-", label="best case")
    charts.money_axis(ax, "x", layout)
    charts.axis_label(ax, f"attributed ARR in {quarter}", layout, "x")
    charts.legend_above(fig, ax, layout)
    return fig


def call_items(export: Export, settings: Settings, result: Any, as_of: pd.Timestamp
               ) -> list[Any]:
    """The report's call items for the forecast's first quarter (chart, table), or a note.

    ``result`` is the forecast (:class:`partner_forecast.forecast.ForecastResult`); returns an
    empty list when the export has no calls at all.
    """
    from partner_forecast.reports.executive import Chart, Note, Table

    fym = settings.calendar.fiscal_year_start_month
    calls = call_frame(export, fym)
    if calls.empty or result is None:
        return []
    quarter = str(result.quarters[0])
    latest = latest_calls(calls, quarter, as_of)
    draws = result.draws("attributed")[:, 0, :]
    segments = [str(s) for s in result.simulation.segments]
    by_seg = {"total": draws.sum(axis=1)} | {s: draws[:, i] for i, s in enumerate(segments)
                                             if s != "total"}
    q = np.array([np.quantile(d, (0.1, 0.5, 0.9)) for d in by_seg.values()])
    forecast = pd.DataFrame({"segment": list(by_seg), "p10": q[:, 0], "p50": q[:, 1],
                             "p90": q[:, 2]})
    by = result.segment_by

    def percentile(seg: str, value: float) -> float:
        """Percentile of ``value`` among the segment's draws (mid-rank for ties)."""
        return 100.0 * float(scores.pit(value, by_seg[seg]))

    beside = beside_model(latest, forecast, by, percentile)
    if beside.empty:
        return [Note(f"The team's call: none of {quarter} made before {as_of.date()} in the "
                     f"data's calls table (`backtest` scores the calls of past quarters).")]
    note = ("Each caller's latest call of the quarter made before the as-of date. Commit: "
            "the dot; best case: the bar's end. The model's chance of reaching a commit is "
            "the share of simulated outcomes at or above it. `partner-forecast backtest` scores "
            "past calls against the model by the same rules.")
    table = beside[["segment", "made_by", "made_on", "commit", "best_case", "p10", "p50", "p90",
                    "commit_percentile", "p_reach_commit"]]
    return [
        Chart("calls", f"{quarter}: the team's call beside the model (attributed ARR)",
              beside_reading(beside, quarter), partial(call_chart, beside, quarter), note),
        Table("calls", f"{quarter}: the team's call and the model", table,
              {"commit": "money", "best_case": "money", "p10": "money", "p50": "money",
               "p90": "money", "commit_percentile": "count", "p_reach_commit": "pct"},
              labels={"made_by": "Caller", "made_on": "Made on", "commit": "Commit",
                      "best_case": "Best case", "p10": "Model P10", "p50": "Model P50",
                      "p90": "Model P90", "commit_percentile": "Commit percentile",
                      "p_reach_commit": "P(reach commit)"}),
    ]


def variance_call_items(review: Any) -> list[Any]:
    """The variance block's call table: the latest calls known at the reviewed run's as-of.

    ``review`` is a :class:`~partner_forecast.evaluate.variance.VarianceResult`; nothing when
    it holds no call.
    """
    from partner_forecast.reports.executive import Table

    calls = review.calls
    if calls is None or calls.empty:
        return []
    table = calls[["segment", "made_by", "made_on", "commit", "best_case", "p10", "p50", "p90",
                   "actual", "call_error", "model_error", "closer"]]
    return [Table(
        "variance_calls", f"{review.quarter}: the team's call and the model, against the actual "
        "(attributed ARR)", table,
        {"commit": "money", "best_case": "money", "p10": "money", "p50": "money", "p90": "money",
         "actual": "money", "call_error": "signed_money", "model_error": "signed_money"},
        reading=beside_reading(calls, review.quarter),
        labels={"made_by": "Caller", "made_on": "Made on", "commit": "Commit",
                "best_case": "Best case", "p10": "Model P10", "p50": "Model P50",
                "p90": "Model P90", "call_error": "Commit error",
                "model_error": "P50 error", "closer": "Closer"})]


__all__ = ["call_chart", "call_items", "variance_call_items"]

