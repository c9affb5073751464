"""Commands about the export itself: ``validate``."""

from __future__ import annotations

import click

from partner_forecast.cli.common import UserError, data_argument, main
from partner_forecast.data.export import load_export
from partner_forecast.errors import ExportError


@main.command()
@data_argument
def validate(data: str) -> None:
    """Check an export against the data contract.

    Lists every problem with its file, row (header = row 1), column and value, and exits 2
    if there is any; data-quality gaps are printed as warnings.
    """
    try:
        export = load_export(data)
    except ExportError as exc:
        raise UserError(str(exc)) from None
    for w in export.warnings:
        click.echo(f"warning: {w}", err=True)
    n = {k: len(v) for k, v in export.tables().items()}
    click.echo(f"ok: {data} is a valid export ("
               + ", ".join(f"{v:,} {k}" for k, v in n.items() if v) + ")")
