"""Through the CLI on cached fake fits: a failed fit changes the headline and the exit code in
every format, and `forecast --recalibrate` puts corrected quantiles beside the model's."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest
from click.testing import CliRunner

from partner_forecast.cli import main
from partner_forecast.models import MODEL_CLASSES
from partner_forecast.recalibration import CALIBRATION_FILE, Recalibration
from partner_forecast.testing.fake_fit import fake_fit
from partner_forecast.workspace import Workspace, data_fingerprint


@pytest.fixture()
def copied_workspace(tmp_path, fake_workspace):
    """A private copy of the session's fake-fit workspace (tests may write into it)."""
    dest = tmp_path / "ws"
    shutil.copytree(fake_workspace.root, dest)
    return dest


@pytest.fixture()
def failing_workspace(tmp_path, models_export, models_settings):
    """Fake fits where the conversion model had divergent transitions."""
    ws = Workspace(tmp_path / "failing")
    fp = data_fingerprint(models_export)
    for i, cls in enumerate(MODEL_CLASSES):
        model = fake_fit(cls.from_export(models_export, models_settings), seed=i)
        if cls.name == "conversion":
            model.diagnostics = replace(model.diagnostics, divergences=7)
            model.idata.attrs.update(model.stamp())
        model.save(ws.path(cls, fp, models_settings))
    return ws.root


def _run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_failed_fit_changes_headline_and_exit_code(fmt, failing_workspace, models_sample_dir,
                                                   models_tiny_config):
    res = _run("forecast", models_sample_dir, "--workspace", failing_workspace, "--config",
               models_tiny_config, "--draws", "100", "--no-ledger", "--format", fmt)
    assert res.exit_code == 1, res.output
    if fmt == "json":
        meta = json.loads(res.stdout)["meta"]
        assert meta["alert"].startswith("UNRELIABLE")
        assert meta["diagnostics_ok"] is False
    elif fmt == "csv":
        assert res.stdout.splitlines()[0].startswith("# alert: UNRELIABLE")
    else:
        assert res.stdout.startswith("!! UNRELIABLE: the conversion model(s) failed")


def test_fit_command_exits_1_when_diagnostics_fail(failing_workspace, models_sample_dir,
                                                   models_tiny_config):
    res = _run("fit", models_sample_dir, "--workspace", failing_workspace, "--config",
               models_tiny_config, "--format", "json")
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert doc["meta"]["diagnostics_ok"] is False
    statuses = {r["model"]: r["status"] for r in doc["diagnostics"]}
    assert statuses["conversion"] == "FAIL" and statuses["activation"] == "ok"


def test_healthy_fits_exit_0_without_headline(copied_workspace, models_sample_dir,
                                              models_tiny_config):
    res = _run("forecast", models_sample_dir, "--workspace", copied_workspace, "--config",
               models_tiny_config, "--draws", "100", "--no-ledger", "--format", "json")
    assert res.exit_code == 0, res.output
    assert "alert" not in json.loads(res.stdout)["meta"]


def test_recalibrate_adds_corrected_quantiles_beside_the_model(copied_workspace, models_sample_dir,
                                                               models_tiny_config):
    Recalibration(shift=0.5, widen=2.0, folds=6, coverage=0.33).save(
        copied_workspace / CALIBRATION_FILE)
    res = _run("forecast", models_sample_dir, "--workspace", copied_workspace, "--config",
               models_tiny_config, "--draws", "200", "--no-ledger", "--format", "json",
               "--recalibrate")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    row = doc["forecast"][0]
    assert row["attributed_p10_recalibrated"] <= row["attributed_p10"]
    assert row["attributed_p90_recalibrated"] >= row["attributed_p90"]
    assert "interval width x2.00" in doc["meta"]["recalibration"]


def test_recalibrate_without_a_backtest_is_a_clear_error(copied_workspace, models_sample_dir,
                                                         models_tiny_config):
    res = _run("forecast", models_sample_dir, "--workspace", copied_workspace, "--config",
               models_tiny_config, "--draws", "100", "--no-ledger", "--recalibrate")
    assert res.exit_code == 2
    assert "run `partner-forecast backtest` first" in res.output
    assert "Traceback" not in res.output


def test_other_model_commands_carry_the_alert_and_exit_1(failing_workspace, models_sample_dir,
                                                         models_tiny_config):
    res = _run("curves", models_sample_dir, "--workspace", failing_workspace, "--config",
               models_tiny_config, "--format", "csv")
    assert res.exit_code == 1, res.output
    assert res.stdout.splitlines()[0].startswith("# alert: UNRELIABLE")


def test_unknown_and_retired_priors_exit_2_naming_each_before_any_fit(tmp_path, models_sample_dir,
                                                                      models_tiny_config):
    """A misspelt prior key would leave the default in force silently; a retired one (a learned
    few-member spread) names the fixed-scale prior that replaced it."""
    config = tmp_path / "priors.toml"
    config.write_text(models_tiny_config.read_text("utf-8") + "\n[priors]\n"
                      'activaton_ramp = { dist = "Normal", mu = 0.0, sigma = 1.0 }\n'
                      'timing_group_sigma = { dist = "HalfNormal", sigma = 0.5 }\n', "utf-8")
    res = CliRunner().invoke(main, ["fit", str(models_sample_dir), "--config", str(config),
                                    "--workspace", str(tmp_path / "ws")])
    assert res.exit_code == 2, res.output
    assert "activaton_ramp" in res.output and "did you mean activation_ramp" in res.output
    assert "timing_group_sigma" in res.output and "timing_type_mu" in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "ws").exists() or not any((tmp_path / "ws").rglob("*.zarr.zip"))
