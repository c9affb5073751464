"""Every command of the CLI, run for real (not only ``--help``) on the tiny export.

The commands are listed from the click group, so a new command without a case here fails
:func:`test_every_command_has_a_case`. Forecasting commands get
:class:`~partner_forecast.testing.fits.DegenerateModels` through the click context (no MCMC, no
module swapped); ``fit`` and ``curves`` load the session's cached fake fits
(``partner_forecast.testing.fake_fit``) from a copy of its workspace.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from partner_forecast.cli import main
from partner_forecast.testing.exports import write_tiny_export
from partner_forecast.testing.fits import DegenerateModels

MODELS = DegenerateModels(own_partners=True)
DRAWS = ("--draws", "50", "--seed", "1")


def _json_tables(*names: str) -> Callable[[Result], None]:
    """A check: JSON output holding these tables, with rows, and its meta."""

    def check(result: Result) -> None:
        doc = json.loads(result.stdout)
        assert "meta" in doc
        for name in names:
            assert len(doc[name]) > 0, name

    return check


def _stderr_has(text: str) -> Callable[[Result], None]:
    def check(result: Result) -> None:
        assert text in result.stderr, result.stderr

    return check


def _stdout_starts(text: str) -> Callable[[Result], None]:
    def check(result: Result) -> None:
        assert result.stdout.startswith(text), result.stdout

    return check


def _wrote(name: str) -> Callable[[Result], None]:
    def check(result: Result) -> None:
        assert "wrote " in result.stderr and name in result.stderr, result.stderr

    return check


@dataclass(frozen=True)
class Case:
    """A command's arguments (``{data}``, ``{ws}``, ``{tmp}``, ``{cfg}`` filled in), what runs
    before it in the same workspace, and a check of its output."""

    args: tuple[str, ...]
    check: Callable[[Result], None]
    before: tuple[tuple[str, ...], ...] = ()
    fake_fits: bool = False  # the session's cached fake fits instead of the tiny export


FORECAST_Q2 = ("forecast", "{data}", "--as-of", "2026-04-01", "--workspace", "{ws}", *DRAWS)
CASES: dict[str, Case] = {
    "validate": Case(("validate", "{data}"), _stdout_starts("ok: ")),
    "sample": Case(("sample", "{tmp}/sample", "--partners", "5", "--quarters", "2"),
                   _stderr_has("sample: ")),
    "kpis": Case(("kpis", "{data}", "--format", "json"), _json_tables("seller_kpis", "asr")),
    "coverage": Case(("coverage", "{data}", "--deals", "--format", "json"),
                     _json_tables("coverage", "stage_forecast", "deals")),
    "activation": Case(("activation", "{data}", "--format", "json"), _json_tables("summary", "scores")),
    "scorecard": Case(("scorecard", "{data}", "--format", "json"), _json_tables("trend", "sellers")),
    "fit": Case(("fit", "{data}", "--workspace", "{ws}", "--config", "{cfg}", "--format", "json"),
                _json_tables("diagnostics"), fake_fits=True),
    "curves": Case(("curves", "{data}", "--workspace", "{ws}", "--config", "{cfg}", "--format",
                    "json"), _json_tables("conversion_curves"), fake_fits=True),
    "forecast": Case(("forecast", "{data}", "--workspace", "{ws}", *DRAWS, "--format", "json"),
                     _json_tables("forecast")),
    "ledger": Case(("ledger", "--workspace", "{ws}", "--format", "json"), _json_tables("runs"),
                   before=(FORECAST_Q2,)),
    "history": Case(("history", "{data}", "--quarter", "2026Q2", "--workspace", "{ws}", "--format",
                     "json"), _json_tables("runs"), before=(FORECAST_Q2,)),
    "scenario": Case(("scenario", "{data}", "{tmp}/s.toml", "--workspace", "{ws}", *DRAWS,
                      "--no-ledger", "--format", "json"), _json_tables("scenarios", "changes")),
    "levers": Case(("levers", "{data}", "--workspace", "{ws}", *DRAWS, "--format", "json"),
                   _json_tables("levers", "constraints")),
    "variance": Case(("variance", "{data}", "--quarter", "2026Q2", "--workspace", "{ws}", *DRAWS,
                      "--format", "json"), _json_tables("drivers"), before=(FORECAST_Q2,)),
    "pacing": Case(("pacing", "{data}", "--quarter", "2026Q3", "--as-of", "2026-08-15",
                    "--workspace", "{ws}", *DRAWS, "--format", "json"), _json_tables("pacing")),
    "backtest": Case(("backtest", "{data}", "--quarters", "1", "--workspace", "{ws}", *DRAWS,
                      "--format", "json"), _json_tables("summary", "per_quarter")),
    "report": Case(("report", "{data}", "--workspace", "{ws}", *DRAWS, "--horizon", "1",
                    "--no-variance", "--output", "{tmp}/report.html"), _wrote("report.html")),
}
SCENARIO = '[[scenario]]\nname = "asr_20"\n  [[scenario.change]]\n  lever = "activation_rate"\n  set = 0.2\n'



def test_every_command_has_a_case():
    assert set(CASES) == set(main.commands)


@pytest.mark.parametrize("name", sorted(CASES))
def test_command_runs(name, tmp_path, fake_workspace, models_sample_dir, models_tiny_config):
    case = CASES[name]
    (tmp_path / "s.toml").write_text(SCENARIO)
    ws = tmp_path / "ws"
    if case.fake_fits:
        shutil.copytree(fake_workspace.root, ws)
        data = Path(models_sample_dir)
    else:
        data = write_tiny_export(tmp_path / "export")
    fill = {"data": str(data), "ws": str(ws), "tmp": str(tmp_path), "cfg": str(models_tiny_config)}
    runner = CliRunner()
    for args in (*case.before, case.args):
        result = runner.invoke(main, [a.format(**fill) for a in args], obj={"models": MODELS})
        assert result.exit_code == 0, (args, result.output, result.exception)
    case.check(result)
