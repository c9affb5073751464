"""Commands ``scenario`` (what-if scenario files) and ``levers`` (sensitivity + binding driver).

Thin: parse options, call :mod:`partner_forecast.scenarios`, render with :func:`emit`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
import pandas as pd

from partner_forecast.cli.common import (
    SEED,
    UserError,
    by_option,
    common_options,
    default_data,
    emit,
    main,
    model_source,
    output_options,
)
from partner_forecast.cli.forecast_commands import workspace_option

SCENARIO_TABLE_COLUMNS = ("quarter", "segment", "scenario", "p10", "p50", "p90", "delta_p10",
                          "delta_p50", "delta_p90", "delta_mean_pct", "p_above_baseline",
                          "p_at_least_target", "baseline_p_at_least_target")
LEVER_TABLE_COLUMNS = ("segment", "rank", "lever", "step", "baseline_p50", "p50", "delta_p50",
                       "delta_p50_pct", "delta_mean", "delta_mean_pct", "p_above_baseline")
CONSTRAINT_TABLE_COLUMNS = ("partner_type", "enabled_sellers", "confidence_gap", "active_sellers",
                            "motivation_gap", "leads", "median_response_days", "access_gap",
                            "median_tenure_quarters", "binding")


LEVERS_DRAWS = 1000
"""Default draws of ``levers``: common random numbers make its deltas sharp with fewer draws."""


def _run_options(draws_help: str) -> Callable[[Callable], Callable]:
    """``--horizon``, ``--draws`` (with its help text) and ``--seed``."""

    def decorator(f: Callable) -> Callable:
        f = click.option("--seed", type=SEED, default=None,
                         help="Random seed (baseline and every run share it).")(f)
        f = click.option("--draws", type=click.IntRange(1, 200_000), default=None,
                         help=draws_help)(f)
        f = click.option("--horizon", type=click.IntRange(1, 8), default=1, show_default=True,
                         help="Number of quarters to report, from --quarter.")(f)
        return f
    return decorator


def _split_paths(paths: tuple[str, ...]) -> tuple[Path, list[Path]]:
    """DATA (a folder, optional, first) and the scenario FILEs."""
    if not paths:
        raise click.UsageError("give at least one scenario FILE (TOML), e.g. "
                               "configs/scenarios/asr_15_to_20.toml")
    items = [Path(p) for p in paths]
    if items[0].is_dir():
        data, files = items[0], items[1:]
    else:
        data, files = default_data(), items
    if not files:
        raise click.UsageError(f"no scenario FILE given after DATA {data}")
    for f in files:
        if f.is_dir():
            raise click.UsageError(f"{f} is a folder, not a scenario file (DATA goes first)")
    return data, files


def _warn(messages: list[str]) -> None:
    for m in messages:
        click.secho(f"WARNING: {m}", fg="yellow", err=True)


def _shown(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    keep = [c for c in columns if c in frame and not frame[c].isna().all()]
    return frame[keep]


@main.command()
@click.argument("paths", nargs=-1, metavar="[DATA] FILE...")
@common_options
@by_option
@_run_options("Monte Carlo draws (default from [simulation] draws: 4000).")
@workspace_option
@click.option("--no-ledger", is_flag=True, help="Do not record the runs in the forecast ledger.")
@output_options()
def scenario(paths: tuple[str, ...], as_of: pd.Timestamp | None, quarter: str | None,
             config_path: str | None, by: str | None, horizon: int, draws: int | None,
             seed: int | None, workspace: Path, no_ledger: bool, fmt: str,
             output: Path | None) -> None:
    """Compare what-if scenarios on activation levers with the baseline forecast.

    Each FILE holds [[scenario]] tables of lever changes (activation rate, productivity, win
    rate, deal size, sales cycle, sellers, recruit, sunset; see configs/scenarios/). The
    baseline and every scenario are simulated from one fit with the same seed (common random
    numbers), so deltas are draw by draw. Prints per scenario, quarter and segment P10/P50/P90
    of partner-attributed ARR, P10/P50/P90 of the delta from the baseline, P(scenario >
    baseline) and P(>= target) for scenario and baseline. Runs are recorded in the ledger with
    each scenario's name and content hash.
    """
    from partner_forecast.forecast import prepare
    from partner_forecast.scenarios import compare_scenarios, load_scenario_files

    data, files = _split_paths(paths)
    scenarios = load_scenario_files(files)  # every file checked before the fit
    context = prepare(data, as_of=as_of, quarter=quarter, horizon=horizon, by=by,
                              draws=draws, seed=seed, config=config_path, workspace=workspace,
                              progress=True, models=model_source())
    comparison = compare_scenarios(context, scenarios, record=not no_ledger, progress=True)
    warnings = list(comparison.meta.get("warnings", []))
    _warn(warnings + comparison.notes)
    meta = {k: v for k, v in comparison.meta.items() if k not in ("warnings", "notes")}
    meta["warnings"] = warnings + comparison.notes
    tables = comparison.tables()
    if fmt == "table":
        tables = {"scenarios": _shown(tables["scenarios"], SCENARIO_TABLE_COLUMNS),
                  **{k: v for k, v in tables.items() if k != "scenarios"}}
    emit(tables, meta, fmt, output)


@main.command()
@click.argument("data", required=False, type=click.Path(file_okay=False, path_type=str))
@common_options
@by_option
@_run_options(f"Monte Carlo draws (default {LEVERS_DRAWS}: common random numbers keep the "
              f"changes sharp; use 4000 for final figures).")
@workspace_option
@click.option("--window", type=click.IntRange(1, 12), default=4, show_default=True,
              help="Quarters of history read for the confidence / motivation / access reading.")
@output_options()
def levers(data: str | None, as_of: pd.Timestamp | None, quarter: str | None,
           config_path: str | None, by: str | None, horizon: int, draws: int | None,
           seed: int | None, workspace: Path, window: int, fmt: str, output: Path | None) -> None:
    """Which lever moves partner ARR most (a tornado table), and which driver binds.

    Moves each lever by a standard step (activation rate +5 pp, productivity +10%, win odds
    +10%, deal size +10%, sales cycle -10%, sellers +10%, recruit 5 typical partners) from the
    as-of quarter, simulates it with the baseline's seed and ranks the levers by the change in
    the P50 and mean of partner-attributed ARR over the reported quarters, per segment with
    --by. Then reads, per partner type, which of confidence, motivation and access most likely
    binds activation, from enabled-but-inactive sellers, active sellers who do not convert, and
    slow lead response (> 3 days), with the evidence behind each reading.
    """
    from partner_forecast.forecast import prepare
    from partner_forecast.scenarios import binding_constraints, lever_sensitivity
    from partner_forecast.scenarios.constraints import constraint_meta

    if data is None:
        data = default_data()
    context = prepare(Path(data), as_of=as_of, quarter=quarter, horizon=horizon, by=by,
                              draws=draws or LEVERS_DRAWS, seed=seed, config=config_path,
                              workspace=workspace, progress=True, models=model_source())
    table, meta = lever_sensitivity(context, progress=True)
    constraints = binding_constraints(context.export, context.settings, window_quarters=window)
    warnings = list(meta.pop("warnings", []))
    notes = list(meta.pop("notes", []))
    _warn(warnings + notes)
    meta.update(constraint_meta(window))
    meta["warnings"] = warnings + notes
    if table.empty:
        raise UserError("no lever could be moved: the forecast has no partners with sellers")
    tables = {"levers": table, "constraints": constraints}
    if fmt == "table":
        tables = {"levers": _shown(table, LEVER_TABLE_COLUMNS),
                  "constraints": _shown(constraints, CONSTRAINT_TABLE_COLUMNS),
                  "readings": constraints[["partner_type", "reading"]] if len(constraints)
                  else constraints}
    emit(tables, meta, fmt, output)


__all__ = ["levers", "scenario"]
