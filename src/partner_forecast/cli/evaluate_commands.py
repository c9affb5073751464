"""Commands ``backtest`` and ``variance``: how good the forecasts were, and why they missed."""

from __future__ import annotations

from pathlib import Path

import click

from partner_forecast.cli.common import (
    config_option,
    data_argument,
    draws_option,
    emit,
    horizon_option,
    main,
    model_source,
    output_options,
    quarter_option,
    seed_option,
    segment_option,
    workspace_option,
)
from partner_forecast.evaluate import BACKTEST_SEGMENTS

FOLD_DRAWS = draws_option("Monte Carlo draws per forecast (default from [simulation] draws).")
FOLD_SEGMENT = segment_option(BACKTEST_SEGMENTS, "Also score / review each segment of this dimension.")

_CALLS_TEXT = ["scope", "made_by", "when", "calls", "bias_pct", "abs_error", "model_crps",
               "vs_model", "interval_score", "model_interval_score", "coverage"]
_PER_QUARTER_TEXT = ["fold", "quarter", "segment", "method", "actual", "p10", "p50", "p90", "crps",
                     "covered", "pit"]
_SUMMARY_TEXT = ["lead", "segment", "method", "folds", "crps", "crps_vs_model", "pinball_mean",
                 "coverage", "coverage_low", "coverage_high", "bias", "mape_p50", "ratio_p50"]


def _warn(messages: list[str]) -> None:
    for w in messages:
        click.secho(f"WARNING: {w}", fg="red", bold=True, err=True)


@main.command()
@data_argument
@click.option("--quarters", "n_quarters", type=click.IntRange(1, 40), default=4, show_default=True,
              help="Number of folds: the last K complete quarters, each forecast from its start.")
@horizon_option("Quarters forecast by each fold (later ones scored when complete).")
@FOLD_SEGMENT
@click.option("--workers", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Folds run in parallel in this many local processes (or Dask workers with "
                   "--scheduler local).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run the folds on a Dask distributed cluster at ADDRESS (tcp://host:8786), or "
                   "'local' for a local Dask cluster (needs the 'dask' extra).")
@click.option("--progress-bar/--no-progress-bar", "progress_bar", default=None,
              help="A bar over the folds on stderr (folds done, ETA) instead of a line per fold "
                   "[default: when stderr is a terminal].")
@FOLD_DRAWS
@seed_option()
@config_option()
@workspace_option
@output_options()
def backtest(data: Path, n_quarters: int, horizon: int, by: str | None, workers: int,
             scheduler: str | None, progress_bar: bool | None, draws: int | None, seed: int | None,
             config_path: str | None, workspace: Path, fmt: str, output: Path | None) -> None:
    """Rolling-origin backtest: forecast each of the last K quarters from its start, score it.

    Each fold sees the export as it stood at its quarter's start, fits the models and forecasts;
    its P10/P50/P90 and draws are scored against the partner ARR that actually closed (CRPS,
    pinball loss, P10-P90 coverage with a Wilson interval, PIT, bias, MAPE of P50), next to
    four baselines: the seed stage-weighted table, stage-weighted with learned rates, last
    quarter's actual and the same quarter last year. Deals open at each origin score the
    win-this-quarter probability (Brier, calibration error) against the stage table. The
    model's record (bias and interval width of its P10-P90) is saved to the workspace, for
    `forecast --recalibrate`. With a calls table in the data, the team's calls of the same
    quarters are scored by the same rules beside the model (the commit as a point: absolute
    error = its CRPS; commit-best case as a P10-P90 interval: interval score), per caller and
    month of the quarter (tables calls_summary and calls). Before the folds run, stderr says
    how many need a fit of the models and how long that is likely to take (from the fits
    saved in the workspace).
    """
    from partner_forecast.evaluate.backtest import backtest as run_backtest
    from partner_forecast.recalibration import (
        CALIBRATION_FILE,
        NoCalibrationError,
        Recalibration,
    )

    result = run_backtest(data, quarters=n_quarters, horizon=horizon, by=by, workers=workers,
                          scheduler=scheduler, draws=draws, seed=seed, config=config_path,
                          workspace=workspace, progress=lambda msg: click.echo(msg, err=True),
                          progress_bar=progress_bar, models=model_source())
    _warn(result.meta.get("warnings", []))
    meta = dict(result.meta)
    try:
        recal = Recalibration.from_backtest(result.per_quarter, result.meta)
    except NoCalibrationError as exc:
        meta["recalibration"] = f"none: {exc}"
    else:
        path = recal.save(Path(workspace) / CALIBRATION_FILE)
        meta["recalibration"] = (f"{recal.describe()}; saved to {path} "
                                 f"(use: partner-forecast forecast --recalibrate)")
        click.echo(f"recalibration: {meta['recalibration']}", err=True)
    tables = result.tables()
    if fmt == "table":
        tables = {"summary": tables["summary"][_SUMMARY_TEXT],
                  "deal_calibration": tables["deal_calibration"],
                  **({"calls_summary": tables["calls_summary"][_CALLS_TEXT]}
                     if "calls_summary" in tables else {}),
                  "per_quarter": tables["per_quarter"][_PER_QUARTER_TEXT],
                  "folds": tables["folds"].drop(columns=["warnings"])}
    emit(tables, meta, fmt, output)


@main.command()
@data_argument
@quarter_option("The quarter to review, e.g. 2026Q3.", required=True)
@click.option("--run", "run_id", default=None,
              help="Ledger run to review (default: the latest forecast of the quarter made on or "
                   "before its start from the same data; one is made and recorded if there is "
                   "none, announced with how long its fit is likely to take).")
@FOLD_SEGMENT
@FOLD_DRAWS
@seed_option()
@config_option()
@workspace_option
@output_options()
def variance(data: Path, quarter: str, run_id: str | None, by: str | None, draws: int | None,
             seed: int | None, config_path: str | None, workspace: Path, fmt: str,
             output: Path | None) -> None:
    """Quarterly variance review: forecast vs actual, and the drivers of the difference.

    The forecast reviewed is the ledger's (the latest of the quarter made from the same data
    on or before its start: no fit), or --run's. Without one it forecasts as of the quarter's
    start and records it; stderr says beforehand whether that fits the models and how long it
    is likely to take. The output's meta names the source (forecast_source).

    Shows actual partner ARR against the recorded P10/P50/P90 (with the actual's percentile),
    in total and per segment, and splits actual minus forecast mean exactly into open-pipeline
    conversion, losses and slippage, and new-pipeline activation, productivity, conversion,
    deal size and attribution mix; then conversion by partner type (model vs actual) and the
    largest misses.
    """
    from partner_forecast.evaluate.variance import variance_review

    result = variance_review(data, quarter, run_id=run_id, by=by, config=config_path,
                             workspace=workspace, draws=draws, seed=seed, progress=True,
                             notify=lambda msg: click.echo(msg, err=True), models=model_source())
    _warn(result.meta.get("warnings", []))
    emit(result.tables(), result.meta, fmt, output)
