"""Commands about the export itself: ``validate``."""

from __future__ import annotations

import math
from pathlib import Path

import click
import pandas as pd

from partner_forecast.cli.common import UserError, as_of_option, config_option, data_argument, main
from partner_forecast.errors import ExportError


def _audit_lines(audit) -> list[str]:
    """The audit table as text lines (field, meaning, filled, total, completeness)."""
    from partner_forecast.data.audit import FIELD_LABELS

    end = (audit.as_of - pd.Timedelta(days=1)).date().isoformat()
    lines = [f"{audit.deals} partner deal(s) closed in the {audit.window_days} days before "
             f"{audit.as_of.date().isoformat()} ({audit.window_start.date().isoformat()} to {end})"]
    if not audit.deals:
        lines.append("  nothing to audit")
        return lines
    lines.append(f"  {'field':<22} {'meaning':<22} {'filled':>6} {'total':>6} {'complete':>9}")
    for r in audit.table.itertuples(index=False):
        pct = "n/a" if math.isnan(r.completeness_pct) else f"{r.completeness_pct:.1f}%"
        flag = "" if math.isnan(r.completeness_pct) or r.completeness_pct >= 100 else "  <- gap"
        lines.append(f"  {r.field:<22} {FIELD_LABELS.get(r.field, r.field):<22} "
                     f"{r.filled:>6} {r.total:>6} {pct:>9}{flag}")
    return lines


def _leakage_lines(table) -> list[str]:
    """The flag leakage audit as text lines: one per flag (verdict, source, stage, rates)."""
    lines = []
    for r in table.itertuples(index=False):
        verdict = ("LEAKS" if r.leaks else "ok (from field_history)" if r.source == "field_history"
                   else "ok" if r.tested else "untested")
        where = "" if r.stage is None else (
            f": at {r.stage}, {r.open_rate:.0%} of {r.open_deals:,} open deals vs "
            f"{r.moved_on_rate:.0%} of {r.moved_on_deals:,} moved on (odds ratio "
            f"{r.odds_ratio:.2f}, p = {r.p_value:.2g})")
        use = "usable" if r.source == "field_history" or (r.tested and not r.leaks) \
            else "not usable"
        lines.append(f"  {r.flag:<22} {verdict}{where}; {use}")
    return lines


@main.command()
@data_argument
@as_of_option("Audit the deals closed in the window before this date (default: the day after "
              "the latest date in the data).")
@config_option("TOML config merged over the defaults ([audit] window and fields).")
def validate(data: str, as_of: pd.Timestamp | None, config_path: str | None) -> None:
    """Check an export against the data contract and audit its data quality.

    Lists every problem with its file, row (header = row 1), column and value on stderr, and
    exits 2 if there is any. A valid export exits 0 with a one-line summary on stdout; the
    data-quality audit (completeness of the required fields on partner deals closed in the
    [audit] window before the as-of date), the deal-flag leakage audit (flags whose latest
    value tells how far a deal got) and any other warnings go to stderr. Stage names are read
    through the [stages] aliases of the config.
    """
    from partner_forecast.config import load_settings
    from partner_forecast.data.audit import audit_export
    from partner_forecast.data.export import load_export
    from partner_forecast.data.flag_leakage import flag_leakage
    from partner_forecast.data.quarter_end import quarter_end_reading
    from partner_forecast.data.read import find_file

    settings = load_settings(config_path)
    try:
        export = load_export(data, settings=settings)
    except ExportError as exc:
        raise UserError(str(exc)) from None
    for w in export.warnings:
        click.echo(f"warning: {w}", err=True)
    audit = audit_export(export, as_of, settings.audit.window_days, settings.audit.required_fields)
    for line in _audit_lines(audit):
        click.echo(f"audit: {line}", err=True)
    for w in audit.warnings:
        click.echo(f"warning: {w}", err=True)
    reading = quarter_end_reading(export, settings.timing,
                                  settings.calendar.fiscal_year_start_month)[1]
    click.echo(f"quarter-end: {reading}", err=True)
    leakage = flag_leakage(export)
    click.echo("leakage: deal flags as conversion covariates (latest values in the export)",
               err=True)
    for line in _leakage_lines(leakage):
        click.echo(f"leakage: {line}", err=True)
    leaking = leakage[leakage["leaks"]]
    opp_file = find_file(Path(data), "opportunities")
    for r in leaking.itertuples(index=False):
        click.echo(f"warning: {opp_file.name if opp_file else 'opportunities.csv'}, column "
                   f"'{r.flag}': the flag leaks the outcome: "
                   f"{r.evidence}. It is not a safe conversion covariate as it stands: add a "
                   "field_history table of its changes so it can be read as of each stage",
                   err=True)
    n = {k: len(v) for k, v in export.tables().items()}
    gaps = len(audit.warnings)
    quality = (f"{gaps} of {len(audit.table)} audited field(s) below 100%" if gaps
               else "audited fields complete" if audit.deals else "no closed deals to audit")
    click.echo(f"ok: {data} is a valid export ("
               + ", ".join(f"{v:,} {k}" for k, v in n.items() if v)
               + f"); as of {audit.as_of.date().isoformat()}: {quality}"
               + (f"; {len(leaking)} leaking flag(s): {', '.join(leaking['flag'])}"
                  if len(leaking) else "")
               + (f"; {len(export.warnings)} warning(s)" if export.warnings else ""))
