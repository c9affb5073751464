"""Commands ``forecast`` and ``ledger``."""

from __future__ import annotations

from pathlib import Path

import click

from partner_forecast.cli.common import (
    by_option,
    common_options,
    data_argument,
    draws_option,
    emit,
    horizon_option,
    main,
    model_source,
    output_options,
    seed_option,
    workspace_option,
)


@main.command()
@data_argument
@common_options
@by_option
@horizon_option()
@draws_option()
@seed_option()
@workspace_option
@click.option("--no-ledger", is_flag=True, help="Do not record this run in the forecast ledger.")
@click.option("--recalibrate", is_flag=True,
              help="Add P10/P50/P90 corrected by the model's own backtest record (run "
                   "`backtest` first; the uncorrected figures stay beside them).")
@output_options()
def forecast(data: Path, as_of, quarter, config_path, by, horizon, draws, seed, workspace,
             no_ledger, recalibrate, fmt, output) -> None:
    """Forecast quarterly partner ARR: P10/P50/P90, committed vs upside, P(>= target).

    Fits the five models (or loads them from the workspace cache), simulates the open pipeline
    and new pipeline from partner sellers, and prints per quarter and segment the distribution
    of partner-attributed ARR (and gross ARR), split from open vs new pipeline, committed vs
    upside, with the probability of reaching the target. Every run is appended to the ledger.
    """
    from partner_forecast.forecast import forecast as run_forecast
    from partner_forecast.recalibration import CALIBRATION_FILE, Recalibration

    recal = Recalibration.load(Path(workspace) / CALIBRATION_FILE) if recalibrate else None
    result = run_forecast(data, as_of=as_of, quarter=quarter, horizon=horizon, by=by,
                          draws=draws, seed=seed, config=config_path, workspace=workspace,
                          record=not no_ledger, progress=True, models=model_source())
    for w in result.meta.get("warnings", []):
        click.secho(f"WARNING: {w}", fg="red", bold=True, err=True)
    if "repeat_of" in result.meta:
        click.echo(f"note: identical to ledger run {result.meta['repeat_of']} (same data, as-of, "
                   "config, seed and draws): not recorded again", err=True)
    meta = {k: v for k, v in result.meta.items() if k not in ("diagnostics", "warnings")}
    meta["warnings"] = result.meta.get("warnings", [])
    if fmt in ("json", "xlsx"):
        meta["diagnostics"] = result.meta.get("diagnostics", [])
    tables = result.tables()
    if recal is not None:
        tables["forecast"] = result.recalibrated(recal)
        meta["recalibration"] = recal.describe()
        meta["recalibration_source"] = recal.source
        click.echo(f"note: {recal.describe()}", err=True)
    if fmt == "table":
        tables = {"forecast": tables["forecast"], "diagnostics": tables["diagnostics"]}
    emit(tables, meta, fmt, output)  # alert + exit 1 when the fits failed their diagnostics


@main.command()
@workspace_option
@click.option("--run", "run_id", default=None, help="Show one run's quantiles instead of the list.")
@output_options(("table", "csv", "json"))
def ledger(workspace: Path, run_id: str | None, fmt: str, output: Path | None) -> None:
    """List the runs recorded in the forecast ledger (or show one with --run).

    Each run with its headline: the first reported quarter's P50 of total partner-attributed
    ARR and P(>= target) where a target exists. A forecast rerun identically (same data, as-of,
    config, seed and draws, e.g. for another format) is not recorded again.
    """
    from partner_forecast.ledger.store import Ledger

    book = Ledger(workspace)
    if run_id is None:
        runs = book.runs()
        if fmt == "table":  # the fingerprints and code version are in csv/json
            runs = runs.drop(columns=["data_fingerprint", "config_fingerprint", "version"])
        emit({"runs": runs}, {"ledger": str(book.path)}, fmt, output)
        return
    record = book.run(run_id)
    meta = {k: v for k, v in record.items() if k not in ("quantiles", "deal_probabilities")}
    emit({"quantiles": record["quantiles"]}, meta, fmt, output, check_fits=False)
