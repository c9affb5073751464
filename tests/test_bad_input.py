"""Bad input outside the export files gets one clear answer (issue 12), and packaging.

Seeds, an as-of date far past the data, scenario starts before the forecast, a missing bundled
sample, and the dependencies declared in pyproject.toml. Export-file problems live in the
malformed-export corpus (``test_validation_corpus.py``).
"""

from __future__ import annotations

import ast
import json
import sys
import tomllib
import warnings
from importlib.metadata import packages_distributions
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from packaging.requirements import Requirement

import partner_forecast.cli.common as cli_common
from partner_forecast.cli import main
from partner_forecast.config import load_settings
from partner_forecast.data.export import STALE_AS_OF_DAYS, load_export
from partner_forecast.errors import ConfigError, DataWarning
from partner_forecast.sample_data import CHECKOUT_SAMPLE, sample_data_dir
from partner_forecast.scenarios import apply_scenario, load_scenario_files
from partner_forecast.testing.exports import TINY_DEFAULT_AS_OF, write_tiny_export
from partner_forecast.testing.posteriors import degenerate_inputs

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_tiny_export(tmp_path / "export")


def invoke(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_usage_error(result, *texts: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    for text in texts:
        assert text in result.stderr, result.stderr


# -- seeds -----------------------------------------------------------------------------------------
SEED_COMMANDS = [
    ["forecast", "{data}"], ["backtest", "{data}"], ["variance", "{data}"],
    ["report", "{data}", "-o", "{tmp}/r.html"], ["scenario", "{data}", "{scenario}"],
    ["levers", "{data}"], ["curves", "{data}"], ["sample", "{tmp}/out"],
]


@pytest.mark.parametrize("seed", ["-1", "-9999999999", "2e3", "many", str(2**64)])
@pytest.mark.parametrize("command", SEED_COMMANDS, ids=[c[0] for c in SEED_COMMANDS])
def test_bad_seed_is_a_usage_error(command: list[str], seed: str, tiny: Path, tmp_path: Path) -> None:
    scenario = ROOT / "configs" / "scenarios" / "asr_15_to_20.toml"
    args = [a.format(data=tiny, tmp=tmp_path, scenario=scenario) for a in command]
    result = invoke(*args, "--seed", seed, "--workspace", tmp_path / "ws") \
        if command[0] not in ("sample",) else invoke(*args, "--seed", seed)
    assert_usage_error(result, "Invalid value for '--seed'")
    assert not (tmp_path / "ws").exists() and not (tmp_path / "out").exists()


def test_negative_seed_in_config_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[simulation]\nseed = -1\n[sampler]\nrandom_seed = -3\n")
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    assert "simulation.seed" in str(info.value) and "sampler.random_seed" in str(info.value)


# -- as-of far past the data ---------------------------------------------------------------------
def test_as_of_far_past_the_data_warns_once(tiny: Path) -> None:
    export = load_export(tiny)
    latest = export.latest_date
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        near = export.as_of(latest + pd.Timedelta(days=STALE_AS_OF_DAYS))  # the limit: no warning
        export.as_of(TINY_DEFAULT_AS_OF)
    assert near.warnings == export.warnings
    with pytest.warns(DataWarning, match=r"as-of 2030-01-01 is 1,191 days after the latest date "
                                         r"in the data \(2026-09-28\)"):
        far = export.as_of("2030-01-01")
    assert len(far.warnings) == len(export.warnings) + 1
    assert far.warnings[-1].severity == "warning" and "is --as-of right?" in str(far.warnings[-1])
    with warnings.catch_warnings():  # a view of the view does not repeat it
        warnings.simplefilter("error", DataWarning)
        far.as_of("2029-12-01")


def test_kpis_far_past_the_data_is_not_silent(tiny: Path) -> None:
    result = invoke("kpis", tiny, "--as-of", "2030-01-01")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("warning: as-of 2030-01-01 is 1,191 days after")
    assert "WARNING:" in result.stdout and "zero by construction" in result.stdout
    result = invoke("kpis", tiny, "--as-of", "2030-01-01", "--format", "json")
    assert result.exit_code == 0, result.output
    meta = json.loads(result.stdout)["meta"]
    assert any("1,191 days after the latest date" in w for w in meta["warnings"])
    quiet = invoke("kpis", tiny)
    assert quiet.exit_code == 0 and "warning" not in quiet.stderr.lower()


# -- scenario starting before the forecast ---------------------------------------------------------
EARLY = """
[[scenario]]
name = "early"
  [[scenario.change]]
  lever = "activation_rate"
  set = 0.2
  start = "{start}"
"""


@pytest.mark.parametrize("start, early", [("2026Q2", True), ("2026-10-15", True),
                                          ("2026Q4", False), ("2026-11-15", False),
                                          ("2027Q1", False)])
def test_scenario_start_before_the_forecast_is_a_warning(start: str, early: bool,
                                                          tmp_path: Path) -> None:
    path = tmp_path / "early.toml"
    path.write_text(EARLY.format(start=start))
    scenario = load_scenario_files([path])[0]
    inputs = degenerate_inputs(n_draws=8, quarters=("2026Q4", "2027Q1"), as_of="2026-11-02")
    plan = apply_scenario(scenario, inputs)
    notes = [n for n in plan.notes if "before the forecast starts" in n]
    if early:
        assert notes == [f"{path}: scenario 'early', change 1 (lever 'activation_rate'), key "
                         f"'start': {scenario.changes[0].start} is before the forecast starts "
                         "(as-of 2026-11-02, first simulated quarter 2026Q4): the change applies "
                         "from the start of the forecast"]
    else:
        assert notes == []


# -- packaging ---------------------------------------------------------------------------------------
def test_checkout_sample_is_found() -> None:
    assert sample_data_dir() == CHECKOUT_SAMPLE
    assert (CHECKOUT_SAMPLE / "partners.csv").is_file()


def test_no_bundled_sample_makes_data_required(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cli_common, "SAMPLE_DATA", None)
    for args in (["validate"], ["kpis"], ["scenario", str(tmp_path / "s.toml")], ["levers"]):
        result = invoke(*args)
        assert_usage_error(result, "no DATA given and this installation has no bundled sample")


def _third_party_imports() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "src" / "partner_forecast").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module"
                  and node.args and isinstance(node.args[0], ast.Constant)):
                names.add(str(node.args[0].value).split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names
            and n not in ("partner_forecast", "__future__")}


def test_every_direct_import_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    declared = {Requirement(r).name.lower().replace("_", "-") for r in project["dependencies"]}
    optional = {Requirement(r).name.lower().replace("_", "-")
                for reqs in project["optional-dependencies"].values() for r in reqs}
    dists = packages_distributions()
    missing = []
    for module in sorted(_third_party_imports()):
        names = {d.lower().replace("_", "-") for d in dists.get(module, [module])}
        if not names & (declared | optional):
            missing.append(f"{module} ({', '.join(sorted(names))})")
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"
    assert {"pydantic", "xarray", "zarr"} <= declared
