"""Model commands: ``fit`` (fit or load the five models, print diagnostics) and ``curves``."""

from __future__ import annotations

from pathlib import Path

import click

from partner_forecast.cli.common import (
    as_of_option,
    base_meta,
    config_option,
    data_argument,
    emit,
    load_context,
    main,
    output_options,
    seed_option,
    workspace_option,
)

_as_of_option = as_of_option("Fit on the data as it stood on this date (default: the day after "
                             "the latest date in the data).")


@main.command()
@data_argument
@_as_of_option
@workspace_option
@config_option()
@click.option("--refit", is_flag=True, help="Fit again even when the workspace has the posteriors.")
@output_options(("table", "csv", "json"))
def fit(data: Path, as_of, workspace: Path, config_path: str | None, refit: bool, fmt: str,
        output: Path | None) -> None:
    """Fit the five hierarchical models (or load them from the workspace) and show diagnostics.

    Activation, productivity, conversion, time in stage and deal size are fitted with NUTS on
    aggregated data and cached in the workspace, keyed by data, as-of, config and code version:
    a second run with nothing changed only loads. The table shows divergences, max R-hat, min
    bulk/tail ESS and fit times per model; a model failing the [sampler] thresholds is marked
    FAIL and warned about loudly (forecasts made from it carry the warning). A model failing
    its diagnostics is retried first ([sampler] retries); if it still fails, the output's
    headline says so and the command exits 1.
    """
    from partner_forecast.forecast import as_of_view
    from partner_forecast.workspace import fit_all

    settings, export = load_context(data, as_of, config_path)
    export = as_of_view(export)  # the view `forecast` fits on: one cache entry for both
    fits = fit_all(export, settings, workspace, progress=True, refit=refit)
    meta = base_meta(export, settings, workspace=str(workspace), diagnostics_ok=fits.ok,
                     warnings=list(fits.warnings))
    if fits.notes:
        meta["fit_notes"] = " | ".join(fits.notes)
    emit({"diagnostics": fits.diagnostics_table()}, meta, fmt, output)  # alert + exit 1 on failure


@main.command()
@data_argument
@_as_of_option
@workspace_option
@config_option()
@seed_option("Seed of the Monte Carlo average over deals.", default=0)
@output_options(("table", "csv", "json"))
def curves(data: Path, as_of, workspace: Path, config_path: str | None, seed: int, fmt: str,
           output: Path | None) -> None:
    """Learned conversion curves: P(won | stage) per partner type with P10/P90.

    The learned counterpart of the seed conversion table (shown beside it): the probability
    that a deal at each stage ends won, averaged over the type's partners and deals, with the
    median days from entering the stage to closing (won or lost) and to winning. Fits the
    models first if the workspace does not have them.
    """
    from partner_forecast.forecast import as_of_view
    from partner_forecast.posterior.summaries import conversion_curves
    from partner_forecast.workspace import fit_all

    settings, export = load_context(data, as_of, config_path)
    export = as_of_view(export)
    fits = fit_all(export, settings, workspace, progress=True)
    table = conversion_curves(fits, export, settings, seed=seed)
    meta = base_meta(export, settings, workspace=str(workspace), seed=seed,
                     diagnostics_ok=fits.ok, warnings=list(fits.warnings))
    emit({"conversion_curves": table}, meta, fmt, output)
