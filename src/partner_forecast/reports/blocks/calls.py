"""The team's call beside the model: items of the revenue block and of the variance review.

For the first forecast quarter: each caller's latest call known at the as-of date, of the total
and of the segments the forecast has, beside the model's P10/P50/P90 (a chart and a table).
Nothing is shown for an export without calls; a note when it has calls but none of the quarter
known yet. The variance block gets the review's calls (:func:`variance_call_items`): the latest
calls known at the reviewed run's as-of, against the actual.
"""

from __future__ import annotations

from functools import partial

from partner_forecast.evaluate.calls import beside_reading
from partner_forecast.evaluate.variance import VarianceResult
from partner_forecast.report_service.revenue import CallsData
from partner_forecast.reports.charts.calls import call_chart
from partner_forecast.reports.document import Chart, Item, Note, Table

MODEL_LABELS = {"made_by": "Caller", "made_on": "Made on", "commit": "Commit",
                "best_case": "Best case", "p10": "Model P10", "p50": "Model P50", "p90": "Model P90"}
"""Headers shared by the two call tables."""


def call_items(calls: CallsData | None) -> list[Item]:
    """The first forecast quarter's call chart and table, a note, or nothing (no calls at all)."""
    if calls is None:
        return []
    quarter, beside = calls.quarter, calls.beside
    if beside.empty:
        return [Note(f"The team's call: none of {quarter} made before {calls.as_of.date()} in the "
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
              labels={**MODEL_LABELS, "commit_percentile": "Commit percentile",
                      "p_reach_commit": "P(reach commit)"}),
    ]


def variance_call_items(review: VarianceResult) -> list[Item]:
    """The variance block's call table: the latest calls known at the reviewed run's as-of.

    Nothing when the review holds no call.
    """
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
        labels={**MODEL_LABELS, "call_error": "Commit error", "model_error": "P50 error",
                "closer": "Closer"})]


__all__ = ["call_items", "variance_call_items"]
