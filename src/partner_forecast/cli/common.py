"""The click group, shared option stacks and output handling for every command."""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click
import pandas as pd

from partner_forecast import __version__
from partner_forecast.errors import DataWarning, ExportError, PartnerForecastError
from partner_forecast.files import atomic_write
from partner_forecast.model_source import FITTED_MODELS, ModelSource
from partner_forecast.reports.output import csv_files, render
from partner_forecast.sample_data import sample_data_dir

SAMPLE_DATA = sample_data_dir()  # None when this installation has no bundled sample
#: ``--seed``: a non-negative integer that fits the ledger's 64-bit integer column.
SEED = click.IntRange(0, 2**63 - 1)
BY_CHOICES = ("partner_type", "tier", "partner_role", "partner", "revenue_motion", "region")


class UserError(click.ClickException):
    """A user-facing error: message on stderr, exit code 2, no traceback."""

    exit_code = 2

    def show(self, file=None) -> None:  # noqa: D102
        click.echo(f"Error: {self.format_message()}", err=True)


class PFGroup(click.Group):
    """Click group that turns library user errors into exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:  # noqa: D102
        with warnings.catch_warnings():
            warnings.simplefilter("always", DataWarning)
            warnings.showwarning = _show_data_warning(warnings.showwarning)
            try:
                return super().invoke(ctx)
            except ExportError as exc:
                raise UserError(str(exc)) from None
            except PartnerForecastError as exc:
                raise UserError(str(exc)) from None


def _show_data_warning(fallback: Callable[..., None]) -> Callable[..., None]:
    """A ``warnings.showwarning`` printing :class:`DataWarning` as ``warning: ...`` on stderr."""

    def show(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        if issubclass(category, DataWarning):
            click.echo(f"warning: {message}", err=True)
        else:
            fallback(message, category, *args, **kwargs)

    return show


@click.group(cls=PFGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="partner-forecast")
def main() -> None:
    """Probabilistic forecasts of partner (channel) revenue from a CRM export.

    Partnerships don't sell, partner sellers do: activation, productivity, conversion,
    timing and deal size are learned from history and simulated into quarterly partner ARR
    distributions (P10/P50/P90). DATA is a folder of CSV/Parquet files (see the README's data
    contract); it defaults to the bundled sample.
    """


def data_argument(f: Callable) -> Callable:
    """The DATA argument: an export folder, defaulting to the bundled sample (with a notice)."""

    def resolve(ctx: click.Context, param: click.Parameter, value: str | None) -> Path:
        return Path(value) if value is not None else default_data()

    return click.argument("data", required=False, callback=resolve,
                          type=click.Path(file_okay=False, path_type=str))(f)


def model_source() -> ModelSource:
    """The fitted models a command forecasts with: ``obj["models"]`` of the click context if set.

    Users always get the real models; tests invoke the CLI with
    ``CliRunner().invoke(main, args, obj={"models": DegenerateModels(...)})`` to run every
    command's real path on a closed-form posterior, with no module swapped.
    """
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    if isinstance(obj, Mapping) and obj.get("models") is not None:
        return obj["models"]
    return FITTED_MODELS


def default_data() -> Path:
    """The bundled sample export, announced on stderr, for a command run without DATA.

    Raises a usage error (exit 2) when this installation carries no sample.
    """
    if SAMPLE_DATA is None:
        raise click.UsageError("no DATA given and this installation has no bundled sample: pass "
                               "an export folder (`partner-forecast sample OUT` writes a "
                               "synthetic one)")
    click.echo(f"note: no DATA given, using the bundled sample at {SAMPLE_DATA}", err=True)
    return SAMPLE_DATA


def _parse_date(ctx: click.Context, param: click.Parameter, value: str | None):
    if value is None:
        return None
    try:
        return pd.Timestamp(value).normalize()
    except (ValueError, TypeError):
        raise click.BadParameter(f"not an ISO date: {value!r}") from None


def _parse_quarter(ctx: click.Context, param: click.Parameter, value: str | None):
    if value is None:
        return None
    from partner_forecast.calendar import Quarter

    try:
        return str(Quarter.parse(value))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


OUTPUT_DIR_KEY = "partner_forecast.output_dir"


def check_output(fmt: str, output: Path | None, output_dir: Path | None = None) -> None:
    """Reject an output combination that cannot be written, before any work is done."""
    if fmt == "xlsx" and output is None:
        raise UserError("--format xlsx needs --output FILE.xlsx (a workbook cannot go to the "
                        "terminal)")
    if output_dir is not None:
        if fmt != "csv":
            raise UserError("--output-dir writes one CSV file per table: use it with --format csv")
        if output is not None:
            raise UserError("give --output FILE or --output-dir DIR, not both")


def output_options(formats: tuple[str, ...] = ("table", "csv", "json", "xlsx")) -> Callable:
    """``--format`` and ``--output`` (and ``--output-dir`` when CSV is offered).

    The combination is checked before the command runs (:func:`check_output`), so an unusable
    one fails at once: no fit, no simulation, no ledger entry. ``--output-dir`` is handed to
    :func:`emit` through the click context, so commands need no extra parameter.
    """

    def decorator(f: Callable) -> Callable:
        @functools.wraps(f)
        def checked(*args: Any, **kwargs: Any) -> Any:
            output_dir = kwargs.pop("output_dir", None)
            check_output(kwargs.get("fmt", "table"), kwargs.get("output"), output_dir)
            ctx = click.get_current_context(silent=True)
            if ctx is not None:
                ctx.meta[OUTPUT_DIR_KEY] = output_dir
            return f(*args, **kwargs)

        g: Callable = checked
        if "csv" in formats:
            g = click.option("--output-dir", "output_dir",
                             type=click.Path(file_okay=False, path_type=Path),
                             help="With --format csv: write one CSV file per table (and "
                                  "meta.csv) into this folder.")(g)
        g = click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
                         help="Write to this file (atomically) instead of stdout.")(g)
        g = click.option("--format", "fmt", type=click.Choice(formats), default="table",
                         show_default=True, help="Output format.")(g)
        return g

    return decorator


AS_OF_HELP = ("View the data as it stood on this date (default: the day after the latest date "
              "in the data).")
QUARTER_HELP = "Fiscal quarter, e.g. 2026Q4 (default: the one containing as-of)."
CONFIG_HELP = "TOML config merged over the defaults."
DRAWS_HELP = "Monte Carlo draws (default from [simulation] draws: 4000)."
SEED_HELP = "Random seed (same seed, same output)."


def as_of_option(help: str = AS_OF_HELP) -> Callable[[Callable], Callable]:
    """``--as-of DATE`` (an ISO date, normalised to midnight); ``help`` as the command reads it."""
    return click.option("--as-of", "as_of", callback=_parse_date, help=help)


def quarter_option(help: str = QUARTER_HELP, required: bool = False) -> Callable[[Callable], Callable]:
    """``--quarter`` (a fiscal quarter label, checked and made canonical)."""
    return click.option("--quarter", required=required, callback=_parse_quarter, help=help)


def config_option(help: str = CONFIG_HELP) -> Callable[[Callable], Callable]:
    """``--config FILE`` (a TOML file merged over the defaults), as ``config_path``."""
    return click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True),
                        help=help)


def draws_option(help: str = DRAWS_HELP) -> Callable[[Callable], Callable]:
    """``--draws`` (Monte Carlo draws, 1 to 200,000; None: the config's)."""
    return click.option("--draws", type=click.IntRange(1, 200_000), default=None, help=help)


def seed_option(help: str = SEED_HELP, default: int | None = None) -> Callable[[Callable], Callable]:
    """``--seed`` (:data:`SEED`); None: the config's seed."""
    return click.option("--seed", type=SEED, default=default, show_default=default is not None,
                        help=help)


def horizon_option(help: str = "Number of quarters to forecast, from --quarter.", default: int = 1
                   ) -> Callable[[Callable], Callable]:
    """``--horizon`` (1 to 8 quarters)."""
    return click.option("--horizon", type=click.IntRange(1, 8), default=default, show_default=True,
                        help=help)


workspace_option = click.option(
    "--workspace", type=click.Path(file_okay=False, path_type=Path), default=".partner_forecast",
    show_default=True, help="Folder holding cached posteriors and the forecast ledger.")
"""``--workspace DIR``: cached posteriors and the forecast ledger."""


def common_options(f: Callable) -> Callable:
    """``--as-of``, ``--quarter``, ``--config`` shared by table commands."""
    f = config_option()(f)
    f = quarter_option()(f)
    f = as_of_option()(f)
    return f


def segment_option(choices: tuple[str, ...] = BY_CHOICES, help: str = "Split results by this segment."
                   ) -> Callable[[Callable], Callable]:
    """``--by`` (a segment dimension among ``choices``; None: the total)."""
    return click.option("--by", type=click.Choice(choices), default=None, help=help)


by_option = segment_option()
"""``--by`` over every segment dimension."""


def emit(tables: Mapping[str, pd.DataFrame], meta: Mapping[str, Any], fmt: str,
         output: Path | None, check_fits: bool = True) -> None:
    """Render and print, or write atomically (one file per table with ``--output-dir``).

    When ``meta`` says the fits behind the output failed their diagnostics
    (``diagnostics_ok`` False), the output opens with the ``UNRELIABLE`` alert and, once it is
    written, the command exits 1 (:func:`exit_if_unreliable`), whatever the command and format;
    ``check_fits=False`` for outputs that only show a record (the ledger).
    """
    if check_fits and meta.get("diagnostics_ok") is False and not meta.get("alert"):
        from partner_forecast.forecast import failed_fit_alert

        alert = failed_fit_alert([str(w) for w in meta.get("warnings", []) or []]
                                 or ["some model: failed diagnostics"])
        meta = {**alert, **meta}
    _write(tables, meta, fmt, output)
    if check_fits:
        exit_if_unreliable(meta)


def _write(tables: Mapping[str, pd.DataFrame], meta: Mapping[str, Any], fmt: str,
           output: Path | None) -> None:
    ctx = click.get_current_context(silent=True)
    output_dir = ctx.meta.get(OUTPUT_DIR_KEY) if ctx is not None else None
    check_output(fmt, output, output_dir)
    if output_dir is not None:
        for name, text in csv_files(tables, meta).items():
            atomic_write(Path(output_dir) / name, text)
        click.echo(f"wrote {len(tables)} table(s) and meta.csv to {output_dir}", err=True)
        return
    data = render(tables, meta, fmt)
    if output is not None:
        atomic_write(output, data)
        click.echo(f"wrote {output}", err=True)
    else:
        assert isinstance(data, str)
        sys.stdout.write(data)


EXIT_UNRELIABLE = 1
"""Exit code of a command whose output stands on fits that failed their diagnostics."""


def exit_if_unreliable(meta: Mapping[str, Any]) -> None:
    """After the output is written: exit 1 when the fits behind it failed their diagnostics.

    The output itself carries the reason (its headline and warnings), in every format; the
    exit code lets scripts and schedulers notice without parsing it.
    """
    if meta.get("diagnostics_ok") is False:
        click.secho("partner-forecast: the models failed their sampler diagnostics after "
                    "retries (see the warnings above); exit code 1", fg="red", err=True)
        sys.exit(EXIT_UNRELIABLE)


def base_meta(export, settings, **extra: Any) -> dict[str, Any]:
    """The metadata every output records."""
    return {"as_of": export.default_as_of.date().isoformat(), "data": export.source,
            "data_fingerprint": export.fingerprint, "config": settings.source,
            "config_fingerprint": settings.fingerprint, "version": __version__, **extra}


def load_context(data: Path, as_of, config_path: str | None):
    """Load settings and the export (cut at as-of) for a command."""
    from partner_forecast.config import load_settings
    from partner_forecast.data.export import load_export

    settings = load_settings(config_path)
    export = load_export(data, settings=settings)
    if as_of is not None:
        export = export.as_of(as_of)
    return settings, export
