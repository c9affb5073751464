"""Command ``history``: every ledger forecast of a quarter by as-of date, and what moved."""

from __future__ import annotations

from pathlib import Path

import click

from partner_forecast.cli.common import (
    by_option,
    config_option,
    data_argument,
    emit,
    main,
    output_options,
    quarter_option,
    workspace_option,
)

_RUNS_TEXT = ["run_id", "as_of", "segment", "p10", "p50", "p90", "mean", "p_at_least_target",
              "actual", "percentile", "refit", "data_fingerprint", "config_fingerprint", "version"]
_MOVES_TEXT = ["from_as_of", "to_as_of", "mean_from", "mean_to", "mean_change", "p50_change",
               "what_changed"]
_DRIVERS_TEXT = ["move", "driver", "deals", "value", "top_deals"]


@main.command()
@data_argument
@quarter_option("The quarter whose forecasts to list, e.g. 2026Q4 (default: the one "
                "containing the data's as-of date).")
@by_option
@click.option("--between", nargs=2, metavar="RUN_A RUN_B", default=None,
              help="Explain the move between these two ledger runs only, from the earlier "
                   "to the later (default: each consecutive pair of runs).")
@config_option("TOML config merged over the defaults (calendar, attribution weights).")
@workspace_option
@output_options(("table", "csv", "json"))
def history(data: Path, quarter: str | None, by: str | None, between: tuple[str, str] | None,
            config_path: str | None, workspace: Path, fmt: str, output: Path | None) -> None:
    """Forecast history of a quarter: every ledger forecast by as-of date, and what moved.

    Reads the forecast ledger (no fit): each forecast run of the quarter (scenarios left out)
    in as-of order with P10/P50/P90 and mean of partner-attributed ARR, P(>= target), the data
    and config fingerprints and code version, whether the model was refit since the run
    before, and the actual with its percentile once the quarter is closed in DATA.

    Then, for each consecutive pair of runs (or --between), the drivers of the change in
    expected ARR, read from the ledger's per-deal win probabilities and DATA: deals won, lost,
    slipped out of the quarter, stage moves, new deals, new pipeline still to come. They add
    up exactly to the change of the mean; P10/P50/P90 changes are shown but not split (quantiles
    do not add up).
    """
    from partner_forecast.evaluate.history import forecast_history

    result = forecast_history(data, quarter, by=by, between=between, workspace=workspace,
                              config=config_path)
    for w in result.meta.get("warnings", []):
        click.echo(f"note: {w}", err=True)
    tables = result.tables()
    if fmt == "table":  # full fingerprints, sources and descriptions are in csv/json
        runs = tables["runs"][_RUNS_TEXT].copy()
        for col in ("data_fingerprint", "config_fingerprint"):
            runs[col] = runs[col].str[:8]
        tables = {"runs": runs, "moves": tables["moves"][_MOVES_TEXT],
                  "drivers": tables["drivers"][_DRIVERS_TEXT]}
    emit(tables, result.meta, fmt, output, check_fits=False)
