"""Deterministic metric commands: ``kpis``, ``coverage``, ``activation``, ``scorecard``.

Thin: parse options, call the table builders of :mod:`partner_forecast.metrics` (which return
what is printed, as :class:`~partner_forecast.metrics.tables.MetricTables`), render with
:func:`emit`. Backward-looking commands (kpis, activation, scorecard) default to the last
quarter with data; ``coverage`` defaults to the quarter containing the as-of date. Every output
carries :func:`base_meta` plus the command, quarter and segment. How ``--by`` splits each table:
:mod:`partner_forecast.metrics.segment_frames`.
"""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.cli.common import (
    base_meta,
    by_option,
    common_options,
    data_argument,
    emit,
    load_context,
    main,
    output_options,
)
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.metrics.activation_tables import activation_tables
from partner_forecast.metrics.coverage_tables import coverage_tables
from partner_forecast.metrics.kpi_tables import kpi_tables
from partner_forecast.metrics.periods import resolve_quarter
from partner_forecast.metrics.scorecard_tables import scorecard_tables
from partner_forecast.metrics.tables import MetricTables


def _context(data: Path, as_of: pd.Timestamp | None, config_path: str | None,
             quarter: str | None, *, forward: bool = False) -> tuple[Settings, Export, Quarter]:
    """Settings, the export (cut at as-of) and the quarter a metric command reports."""
    settings, export = load_context(data, as_of, config_path)
    q = resolve_quarter(export, quarter, settings.calendar.fiscal_year_start_month, forward=forward)
    return settings, export, q


def _emit(result: MetricTables, export: Export, settings: Settings, fmt: str,
          output: Path | None) -> None:
    """Render a metric command's tables with the metadata every output records."""
    emit(result.tables, base_meta(export, settings, **result.meta), fmt, output)


@main.command()
@data_argument
@common_options
@by_option
@click.option("--detail", is_flag=True,
              help="Also list the per-partner rows (ASR and production models), after the summary.")
@output_options()
def kpis(data: Path, as_of, quarter: str | None, config_path: str | None, by: str | None,
         detail: bool, fmt: str, output: Path | None) -> None:
    """Activation and adoption KPIs of a quarter, the program summary first.

    The five seller KPIs (activation rate, lead response time, pipeline visibility, conversion
    rate, seller engagement), the eight partner adoption KPIs, core partner ARR metrics,
    pipeline ratios (sourced ratio, influence rate, QoQ growth), the Active Seller Rate (with
    engaged and effective sellers) and both production models estimated from the last four
    quarters, for the whole program (or per segment with --by). --detail adds the per-partner
    ASR and production rows after them. QUARTER defaults to the last quarter with data.
    """
    settings, export, q = _context(data, as_of, config_path, quarter)
    _emit(kpi_tables(export, settings, q, by, detail), export, settings, fmt, output)


@main.command()
@data_argument
@common_options
@by_option
@click.option("--deals", "show_deals", is_flag=True,
              help="Add a table of every open deal with its confidence score, its six parts and "
                   "its commit category.")
@output_options()
def coverage(data: Path, as_of, quarter: str | None, config_path: str | None, by: str | None,
             show_deals: bool, fmt: str, output: Path | None) -> None:
    """Pipeline coverage of the quarter's partner ARR targets.

    The open partner pipeline expected to close in the quarter (the deal's expected_close_on,
    else an estimate from how long won deals stayed in its stage) against the targets file, on
    one basis: attributed pipeline / attributed target, with the gross pipeline / target beside
    it. Overall (3x minimum) and per partner type (reseller 3x, MSP 2.5x, GSI/SI 4x, tech
    alliance 2x, marketplace 2x: the [coverage] config); then, for the whole open pipeline,
    the stage-weighted forecast with seed and learned conversion rates, pipeline categories,
    the committed/upside split by deal confidence and the pipeline trend. With --deals, every
    open deal with its confidence score (stage, tier, partner history, engagement, technical
    validation, executive sponsor) and commit category. QUARTER defaults to
    the one containing the as-of date; the pipeline is taken at as-of (or at the quarter's
    start for a past quarter). Targets exist per partner type only: other segments show
    pipeline without a target.
    """
    settings, export, q = _context(data, as_of, config_path, quarter, forward=True)
    _emit(coverage_tables(export, settings, q, by, show_deals), export, settings, fmt, output)


@main.command()
@data_argument
@common_options
@by_option
@output_options()
def activation(data: Path, as_of, quarter: str | None, config_path: str | None, by: str | None,
               fmt: str, output: Path | None) -> None:
    """Partner activation: scores, bands, first deals and paper partnerships.

    The partner activation score (0-100 from certifications, training, deal submissions,
    pipeline progression, marketing and portal engagement) read as fully enabled / partially
    ready / needs support with its trend; % activated partners (a won deal in the last 90
    days); time to first deal and activation within 90 days of onboarding; paper partnerships
    (sellers in the pool, nobody active for 2+ consecutive quarters). QUARTER defaults to the
    last quarter with data.
    """
    settings, export, q = _context(data, as_of, config_path, quarter)
    _emit(activation_tables(export, settings, q, by), export, settings, fmt, output)


@main.command()
@data_argument
@common_options
@by_option
@click.option("--top", "top_n", type=click.IntRange(min=1), default=3, show_default=True,
              help="How many top (and bottom) sellers to list.")
@output_options()
def scorecard(data: Path, as_of, quarter: str | None, config_path: str | None, by: str | None,
              top_n: int, fmt: str, output: Path | None) -> None:
    """Quarterly seller scorecard.

    Seller activation trend over the last four quarters (pool, active, ASR, newly active,
    lapsed), the top and bottom partner sellers (three each, --top N), and every seller's
    selling actions, change, status and trend. With --by, top and bottom are per segment.
    QUARTER defaults to the last quarter with data.
    """
    settings, export, q = _context(data, as_of, config_path, quarter)
    _emit(scorecard_tables(export, settings, q, by, top_n), export, settings, fmt, output)


__all__ = ["activation", "coverage", "kpis", "scorecard"]
