"""``partner-forecast sample``: write a synthetic CRM export with its true parameters."""

from __future__ import annotations

import time
from pathlib import Path

import click
import pandas as pd

from partner_forecast.cli.common import UserError, main, seed_option
from partner_forecast.data.sample.profiles import parse_profiles, profile_help


def _parse_profiles(ctx: click.Context, param: click.Parameter, value: str | None
                    ) -> tuple[str, ...]:
    try:
        return parse_profiles(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _parse_start(ctx: click.Context, param: click.Parameter, value: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value).normalize()
    except (ValueError, TypeError):
        raise click.BadParameter(f"not an ISO date: {value!r}") from None
    if not ts.is_quarter_start:
        raise click.BadParameter(f"must be the first day of a calendar quarter "
                                 f"(e.g. 2024-01-01), got {ts.date()}")
    return ts


@main.command("sample")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--partners", type=click.IntRange(1, 100_000), default=300, show_default=True,
              help="Number of partner companies.")
@click.option("--quarters", type=click.IntRange(1, 40), default=12, show_default=True,
              help="Quarters of history; the export date is START plus this many quarters.")
@seed_option("Random seed.", default=2026)
@click.option("--start", callback=_parse_start, default="2024-01-01", show_default=True,
              help="First day of the history window (a calendar quarter start).")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv",
              show_default=True, help="File format of the tables.")
@click.option("--profile", "profiles", callback=_parse_profiles, metavar="NAME[,NAME...]",
              help="Step outside the models' family: comma-separated profile names (listed "
                   "above); recorded with their parameters in truth.json.")
@click.option("--field-history", is_flag=True,
              help="Also write field_history.csv (opportunity_id, field, value, changed_on): "
                   "technical_validation / executive_sponsor at creation and every change.")
def sample(out: Path, partners: int, quarters: int, seed: int, start: pd.Timestamp,
           fmt: str, profiles: tuple[str, ...], field_history: bool) -> None:
    r"""Write a synthetic CRM export to OUT, with its true parameters in OUT/truth.json.

    Every contract file (partners, sellers, activities, opportunities, stage_history, targets,
    company) is generated from the same model forms the engine fits, so a fit on it can be
    checked against the truth. calls.csv holds the channel team's calls with a known bias per
    caller (Channel chief unbiased, Sales VP +20%; under "calls" in truth.json), for scoring
    calls against the model. The same seed (and profiles) gives byte-identical files.
    Progress and a summary go to stderr.

    Profiles (--profile a,b combines them):

    \b
    {profiles}
    """
    from partner_forecast.data.sample import generate_sample

    t0 = time.perf_counter()
    try:
        truth = generate_sample(out, partners=partners, quarters=quarters, seed=seed,
                                start=start, fmt=fmt, profiles=profiles,
                                field_history=field_history,
                                progress=lambda msg: click.echo(msg, err=True))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    s, r = truth.settings, truth.realised
    asr = [v for v in r["asr"].values() if v is not None]
    won = sum(r["won_arr"].values())
    attributed = sum(r["won_arr_attributed"].values())
    shown = f"profiles {','.join(profiles)}, {s['partners']} partners; " if profiles else ""
    click.echo(f"sample: {shown}{s['first_quarter']}..{s['last_quarter']}, export date "
               f"{s['export_date']}; mean ASR {sum(asr) / max(len(asr), 1):.1%}; won ARR "
               f"{won:,.0f} ({attributed:,.0f} partner-attributed); "
               f"{time.perf_counter() - t0:.1f} s", err=True)


# The docstring is raw (ruff D301), so its "\b" is two characters: click's no-rewrap marker is
# the backspace character itself.
sample.help = (sample.help or "").replace("{profiles}", profile_help()).replace("\\b\n", "\b\n")
