"""Command ``report``: the executive report as one self-contained HTML file (or a PDF of its charts)."""

from __future__ import annotations

from pathlib import Path

import click

from partner_forecast.cli.common import (
    UserError,
    common_options,
    data_argument,
    draws_option,
    horizon_option,
    main,
    model_source,
    seed_option,
    workspace_option,
)

REPORT_FORMATS = ("html", "pdf")


@main.command()
@data_argument
@common_options
@horizon_option("Quarters forecast in the fan chart, from --quarter.", default=4)
@click.option("--scenario", "scenario_files", multiple=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Scenario TOML file compared with the baseline (repeatable).")
@click.option("--backtest-quarters", type=click.IntRange(0, 40), default=0, show_default=True,
              help="Backtest the last K quarters for the calibration chart (one fit each; 0: skip).")
@click.option("--no-backtest", is_flag=True,
              help="Leave the backtest out (the default; the report says so; conflicts with "
                   "--backtest-quarters K > 0).")
@click.option("--no-variance", is_flag=True,
              help="Leave the variance review of the last closed quarter out (the report says "
                   "so). With it, the review reuses the ledger's forecast of that quarter (no "
                   "fit), else forecasts as of its start: a fit of the models on that data unless "
                   "saved, announced on stderr with how long it is likely to take.")
@draws_option()
@seed_option("Random seed (same seed, same numbers).")
@workspace_option
@click.option("--no-ledger", is_flag=True, help="Do not record the report's forecast in the ledger.")
@click.option("--format", "fmt", type=click.Choice(REPORT_FORMATS), default=None,
              help="html (default) or pdf (the charts and readings only); default from --output's "
                   "suffix.")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (atomically), e.g. report.html.")
def report(data: Path, as_of, quarter, config_path, horizon, scenario_files, backtest_quarters,
           no_backtest, no_variance, draws, seed, workspace, no_ledger, fmt, output) -> None:
    """Executive report: the five dashboard blocks and the data-quality audit in one HTML file.

    (1) partner revenue contribution: fan chart of quarterly partner ARR (actuals, then
    P10-P90 and P50), next quarter's distribution with the target and P(>= target), committed
    vs upside, ARR by partner type with marketplace ARR; (2) pipeline health: coverage vs target
    by partner type, pipeline mix and growth; (3) forecast accuracy: variance waterfall of the
    last closed quarter (--no-variance to leave it out), backtest calibration
    (--backtest-quarters), learned conversion curves vs the seed table; (4) partner
    productivity: ASR per partner with intervals, paper partnerships marked, top partners, win
    rates, deal sizes; (5) ecosystem growth; (6) data quality. Scenario deltas with --scenario.
    Every chart and table names its ARR basis (attributed or gross); every chart has a one-line
    reading; the footer holds as-of, fingerprints, config, diagnostics and warnings. No network
    needed to view it: charts are embedded PNGs, drawn for desktop and for phone widths.
    """
    from partner_forecast.files import atomic_write
    from partner_forecast.reports.executive import build_report

    if no_backtest and backtest_quarters > 0:
        raise UserError(f"--no-backtest contradicts --backtest-quarters {backtest_quarters}: give one")
    fmt = fmt or ("pdf" if output.suffix.lower() == ".pdf" else "html")
    if fmt == "html" and output.suffix.lower() == ".pdf":
        raise UserError(f"--format html does not fit {output.name}: use a .html file or --format pdf")
    built = build_report(data, as_of=as_of, quarter=quarter, horizon=horizon,
                         scenario_files=scenario_files,
                         backtest_quarters=0 if no_backtest else backtest_quarters,
                         variance=not no_variance,
                         config=config_path, workspace=workspace, draws=draws, seed=seed,
                         record=not no_ledger, progress=True,
                         notify=lambda msg: click.echo(msg, err=True), models=model_source())
    for w in built.warnings:
        click.secho(f"WARNING: {w}", fg="yellow", err=True)
    for d in built.degraded:
        click.echo(f"note: {d}", err=True)
    try:
        if fmt == "pdf":
            from partner_forecast.reports.pdf import render_pdf

            payload: str | bytes = render_pdf(built)
        else:
            from partner_forecast.reports.html import render_html

            payload = render_html(built)
    finally:
        built.close()
    atomic_write(output, payload)
    click.echo(f"wrote {output}", err=True)


__all__ = ["report"]
