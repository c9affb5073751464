"""Block 3, forecast accuracy: variance waterfall, forecast history, pacing, backtest, conversion."""

from __future__ import annotations

from functools import partial

import numpy as np

from partner_forecast.data.schema import OPEN_STAGES
from partner_forecast.report_service.accuracy import (
    AccuracyData,
    BacktestData,
    ConversionData,
    HistoryData,
    PacingData,
    VarianceData,
)
from partner_forecast.report_service.inputs import LeftOut
from partner_forecast.reports.blocks.calls import variance_call_items
from partner_forecast.reports.charts.accuracy import (
    backtest_chart,
    conversion_chart,
    history_band_chart,
    pacing_chart,
    waterfall_chart,
)
from partner_forecast.reports.document import Block, Chart, Item, Note, Table
from partner_forecast.reports.readings import (
    backtest_reading,
    conversion_reading,
    history_reading,
    pacing_reading,
    waterfall_reading,
)


def accuracy_block(data: AccuracyData) -> Block:
    """Block 3 from the report service's accuracy data."""
    block = Block("accuracy", "3. Forecast accuracy",
                  "Forecast vs actual for the last closed quarter and where it missed (variance "
                  "review), how its forecast moved over the ledger's runs (history), the current "
                  "quarter's ARR won so far against the path its forecast expected (pacing), "
                  "calibration "
                  "over past quarters (backtest), conversion by partner type: model vs the seed "
                  "table. Attributed ARR throughout.")
    q = data.last_closed
    if isinstance(data.variance, VarianceData):
        block.items += variance_items(data.variance)
    elif isinstance(data.variance, LeftOut):
        block.items.append(Note(data.variance.text))
    else:
        block.items.append(Note(f"Skipped: the variance review of {q} (--no-variance). "
                                "Run the report without --no-variance to include it, or review "
                                "the quarter alone with: partner-forecast variance DATA --quarter "
                                f"{q}."))
    for hist in data.history:
        block.items.append(history_item(hist, data.workspace))
    if data.pacing is not None:
        block.items.append(pacing_item(data.pacing, data.workspace))
    if isinstance(data.backtest, BacktestData):
        block.items += backtest_items(data.backtest)
    elif isinstance(data.backtest, LeftOut):
        block.items.append(Note(data.backtest.text))
    else:
        block.items.append(Note("Skipped: backtest calibration (PIT, P10-P90 coverage; "
                                "--no-backtest, the default). Add --backtest-quarters K to "
                                "forecast the last K quarters from their start and score them "
                                "(one fit of the models per quarter), or run: partner-forecast "
                                "backtest DATA --quarters K."))
    block.items.append(conversion_item(data.conversion))
    return block


def variance_items(data: VarianceData) -> list[Item]:
    """The waterfall, the review's calls, its drivers, conversion by type and largest misses."""
    quarter, review, fva = data.quarter, data.review, data.total
    items: list[Item] = [Chart(
        "waterfall", f"{quarter}: variance waterfall, forecast mean to actual (attributed ARR)",
        waterfall_reading(fva, data.steps, str(quarter)),
        partial(waterfall_chart, "forecast mean", float(fva["mean"]), data.steps, "actual",
                float(fva["actual"])),
        f"Forecast: {review.source}"
        + (" (by this report: the ledger had none)." if review.created else "."))]
    items += variance_call_items(review)
    items.append(Table(
        "variance_drivers", f"{quarter}: drivers of actual minus forecast mean (attributed ARR)",
        review.drivers[["component", "driver", "description", "value"]], {"value": "signed_money"},
        labels={"value": "Change"}))
    items.append(Table(
        "conversion_by_type", f"{quarter}: conversion by partner type, model vs actual vs seed table "
        "(attributed ARR)", review.conversion_by_type,
        {"deals": "count", "expected_wins": "decimal", "actual_wins": "count", "model_rate": "pct",
         "actual_rate": "pct", "stage_table_rate": "pct", "expected_arr": "money",
         "actual_arr": "money"},
        labels={"expected_arr": "Expected ARR", "actual_arr": "Actual ARR",
                "stage_table_rate": "Seed table rate"}))
    items.append(Table(
        "largest_misses", f"{quarter}: largest misses (most-expected deals not won, largest "
        "unexpected wins; attributed ARR)", data.misses,
        {"p_won": "pct", "value": "money", "contribution": "signed_money"},
        labels={"p_won": "P(won)", "value": "ARR", "contribution": "Effect on the miss",
                "missing_fields": "Missing audit fields"}))
    return items


def history_item(data: HistoryData, workspace: str) -> Item:
    """A quarter's forecasts over their run dates, or a note that the ledger holds none."""
    quarter = data.quarter
    if data.runs is None:
        return Note(f"No forecast history of {quarter}: the ledger at {workspace} holds no "
                    "forecast of it.")
    return Chart(
        f"history_{quarter}", f"{quarter}: the forecast over its run dates, P10-P90 and P50 "
        "(attributed ARR)" + (" with the actual" if data.actual is not None else ""),
        history_reading(data.runs, str(quarter), data.actual),
        partial(history_band_chart, data.runs, data.actual, data.target),
        "Every forecast of the quarter in the ledger (scenarios left out), at its as-of date; "
        f"what moved between runs: partner-forecast history DATA --quarter {quarter}.")


def pacing_item(data: PacingData, workspace: str) -> Item:
    """The current quarter's pacing chart, or a note that the ledger has no forecast to pace."""
    q = data.quarter
    if data.result is None:
        return Note(f"No pacing of {q}: the ledger at {workspace} holds no forecast of it made on "
                    f"or before its start; run: partner-forecast pacing DATA --quarter {q}.")
    row = data.summary
    target = float(row["arr_target"]) if np.isfinite(row["arr_target"]) else None
    return Chart(
        f"pacing_{q}", f"{q}: partner ARR won so far against the forecast's expected path "
        "(attributed, cumulative)", pacing_reading(row),
        partial(pacing_chart, data.result.daily, int(row["day"]), target),
        f"Expected path: forecast {row['baseline_run']} as of {row['baseline_as_of']} "
        f"(every draw's simulated close dates); P(>= target): won to date plus the rest of "
        f"the quarter from the forecast as of {row['as_of']}. Table: partner-forecast pacing "
        f"DATA --quarter {q}.")


def backtest_items(data: BacktestData) -> list[Item]:
    """The calibration chart and the scores table (a note when no quarter could be scored)."""
    if not data.scored or data.model is None:
        return [Note(f"Backtest of {data.quarters} quarter(s): no complete quarter to score.")]
    rows, summary = data.model_rows, data.summary
    model_summary = summary[summary["method"] == data.model["method"]].assign(method="model")
    draw = partial(backtest_chart, rows, rows["pit"].to_numpy(dtype=float), model_summary,
                   data.coverage_target)
    return [
        Chart("backtest", f"Backtest calibration over {len(rows)} quarter(s) (attributed ARR)",
              backtest_reading(data.model, data.best, len(rows)), draw),
        Table("backtest_summary", "Backtest scores, model vs baselines (first quarter of each fold; "
              "attributed ARR)",
              summary[["method", "folds", "crps", "crps_vs_model", "coverage", "bias", "mape_p50"]],
              {"folds": "count", "crps": "money", "crps_vs_model": "ratio", "coverage": "pct",
               "bias": "signed_money", "mape_p50": "pct"},
              labels={"crps": "CRPS", "crps_vs_model": "CRPS / model's",
                      "coverage": "P10-P90 coverage", "mape_p50": "MAPE of P50"}),
    ]


def conversion_item(data: ConversionData) -> Chart:
    """Conversion curves, learned vs the seed table, with a note on where they come from."""
    if data.from_model:
        note = ("Learned: the conversion model's P(won | stage), posterior mean with its P10-P90 "
                "band (averaged over each type's deals, partner effects and stage durations).")
    else:
        note = ("Learned: share of closed deals won from each stage, shrunk toward the seed table "
                "(metrics.stage_forecast); the models offer no conversion_curves(fits, export) "
                "with posterior intervals" + ("" if data.with_forecast else " (no forecast)") + ".")
    return Chart("conversion", "Conversion curves: P(won | stage), learned vs seed table",
                 conversion_reading(data.curves), partial(conversion_chart, data.curves, OPEN_STAGES),
                 note)


__all__ = ["accuracy_block", "backtest_items", "conversion_item", "history_item", "pacing_item",
           "variance_items"]
