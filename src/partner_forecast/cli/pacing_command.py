"""Command ``pacing``: ARR won so far in a quarter against the path its forecast expected."""

from __future__ import annotations

from pathlib import Path

import click

from partner_forecast.cli.common import (
    as_of_option,
    config_option,
    data_argument,
    draws_option,
    emit,
    main,
    model_source,
    output_options,
    quarter_option,
    seed_option,
    workspace_option,
)

_SUMMARY_TEXT = ["quarter", "as_of", "day", "days", "won_to_date", "expected_p10", "expected_p50",
                 "expected_p90", "won_vs_p50", "position", "arr_target", "p_at_least_target",
                 "p_at_least_target_at_start", "forecast_p50"]


@main.command()
@data_argument
@quarter_option("The quarter to pace, e.g. 2026Q4 (default: the one containing --as-of).")
@as_of_option("The pacing date, inside the quarter: wins dated before it count (default: "
              "the data's as-of date, or the quarter's end when the data runs past it).")
@config_option()
@draws_option("Monte Carlo draws of a forecast made here (default from [simulation]).")
@seed_option("Random seed of a forecast made here (same seed, same output).")
@workspace_option
@output_options(("table", "csv", "json"))
def pacing(data: Path, quarter: str | None, as_of, config_path: str | None, draws: int | None,
           seed: int | None, workspace: Path, fmt: str, output: Path | None) -> None:
    """In-quarter pacing: partner ARR won so far against the path the forecast expected.

    Sets the partner-attributed ARR won in the quarter before --as-of against the path the
    quarter's forecast made on or before its first day expected by that day (from the
    simulated close date of every deal: mean and P10-P90 band by day), and gives P(>= target)
    given what is already won: won to date plus the rest of the quarter simulated from the
    forecast as of --as-of.

    Both forecasts are read from the ledger when it has them (the start-of-quarter one:
    the latest made on or before the quarter's start; the other: made as of --as-of from
    this data). A missing one is made here and recorded (fitting the models on the data as
    of its date unless the workspace has them). Tables: pacing (the summary), path (weekly,
    with the pacing date), and in csv/json daily (every day).
    """
    from partner_forecast.evaluate.pacing import pacing as run_pacing

    result = run_pacing(data, quarter, as_of=as_of, workspace=workspace, config=config_path,
                        draws=draws, seed=seed, progress=True, models=model_source())
    for w in result.meta.get("warnings", []):
        click.echo(f"note: {w}", err=True)
    tables = result.tables()
    if fmt == "table":  # the full summary and the daily path are in csv/json
        tables = {"pacing": tables["pacing"][_SUMMARY_TEXT], "path": tables["path"]}
    emit(tables, result.meta, fmt, output)  # alert + exit 1 when a forecast's fits failed
