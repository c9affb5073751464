"""Fits -> SimulationInputs, summaries, workspace cache and CLI, on fake posteriors (no MCMC)."""

import json
import time

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from partner_forecast.calendar import Quarter
from partner_forecast.cli import main
from partner_forecast.data.schema import OPEN_DEAL_COLUMNS, OPEN_STAGES
from partner_forecast.models import MODEL_CLASSES, ActivationModel, TimingModel
from partner_forecast.models.errors import ModelMismatchError
from partner_forecast.models.fitted import FitMismatchError, FittedModels
from partner_forecast.models.saved import read_tree, write_tree
from partner_forecast.posterior.inputs import (
    deal_mix,
    draw_indices,
    open_deals,
    pool_at,
    simulation_inputs,
)
from partner_forecast.posterior.summaries import (
    conversion_curves,
    new_partner_activation,
    posterior_activation,
)
from partner_forecast.testing.fake_fit import fake_fit
from partner_forecast.workspace import Workspace, data_fingerprint, fit_all


def _quarters(export, n=2):
    q = Quarter.containing(export.default_as_of)
    return [q + i for i in range(n)]


# -- simulation inputs ------------------------------------------------------------------------


def test_simulation_inputs_fill_the_contract(fake_fits, models_export, models_settings):
    qs = _quarters(models_export)
    si = simulation_inputs(fake_fits, models_export, models_settings, qs, 300, seed=5)
    P = models_export.partners["partner_id"].nunique()
    assert si.n_draws == 300 and si.asr.shape == (300, P, 2) and si.horizon == 2
    assert si.types == fake_fits.conversion.spec.coords["partner_type"]
    assert list(si.open_deals.columns) == list(OPEN_DEAL_COLUMNS)
    opps = models_export.opportunities
    assert len(si.open_deals) == opps["stage"].isin(OPEN_STAGES).sum()
    assert si.open_deals["days_in_stage"].ge(0).all()
    assert set(si.open_deals["commit_factor"].unique()) <= {0.0, 0.75, 1.0}
    assert si.open_deals["confidence_score"].between(0, 100).all()
    assert si.open_deals["attribution"].between(0, 1).all()
    np.testing.assert_allclose(si.role_probs.sum(axis=1), 1.0)
    assert si.warnings == ()
    # Fresh noise per future quarter: the two quarters' ASR draws differ.
    assert not np.allclose(si.asr[:, :, 0], si.asr[:, :, 1])


def test_simulation_inputs_are_seeded(fake_fits, models_export, models_settings):
    qs = _quarters(models_export, 1)
    a = simulation_inputs(fake_fits, models_export, models_settings, qs, 120, seed=1)
    b = simulation_inputs(fake_fits, models_export, models_settings, qs, 120, seed=1)
    c = simulation_inputs(fake_fits, models_export, models_settings, qs, 120, seed=2)
    np.testing.assert_array_equal(a.asr, b.asr)
    np.testing.assert_array_equal(a.time_mu, b.time_mu)
    assert not np.array_equal(a.asr, c.asr)


def test_draws_are_cycled_evenly():
    idx = draw_indices(100, 250, np.random.default_rng(0))
    counts = np.bincount(idx, minlength=100)
    assert counts.min() == 2 and counts.max() == 3
    assert sorted(draw_indices(100, 100, np.random.default_rng(0))) == list(range(100))


def test_pool_is_sellers_employed_at_as_of(models_export):
    pool = pool_at(models_export)
    s = models_export.sellers
    as_of = models_export.default_as_of
    employed = s[(s["joined_on"] < as_of) & (s["left_on"].isna() | (s["left_on"] >= as_of))]
    off = models_export.partners
    gone = set(off.loc[off["offboarded_on"].notna(), "partner_id"])
    expect = employed[~employed["partner_id"].isin(gone)].groupby("partner_id").size()
    assert pool.sum() == expect.sum()
    assert all(pool[p] == 0 for p in gone)


def test_deal_mix_is_a_mix(models_export, models_settings, fake_fits):
    types = fake_fits.activation.spec.coords["partner_type"]
    mix = deal_mix(models_export, models_settings, types)
    np.testing.assert_allclose(mix["role_probs"].sum(axis=1), 1.0)
    for key in ("new_covariates", "marketplace_rate", "expansion_rate", "influence_share"):
        assert np.all((mix[key] >= 0) & (mix[key] <= 1)), key


def test_marketplace_is_read_as_the_metrics_read_it(models_export, models_settings, fake_fits):
    """A blank marketplace flag with route_to_market = marketplace is a marketplace deal for the
    simulation too (as for attribution metrics), not False."""
    from dataclasses import replace

    opps = models_export.opportunities.copy()
    opps["marketplace"] = pd.array([pd.NA] * len(opps), dtype="boolean")
    opps["route_to_market"] = "marketplace"
    export = replace(models_export, opportunities=opps)
    assert open_deals(export, models_settings)["marketplace"].all()
    types = fake_fits.activation.spec.coords["partner_type"]
    np.testing.assert_allclose(deal_mix(export, models_settings, types)["marketplace_rate"], 1.0,
                               atol=0.15)  # shrunk toward the all-type rate (also 1)


def test_failed_diagnostics_travel_into_the_inputs(fake_fits, models_export, models_settings):
    bad = fake_fits.timing.diagnostics.judged(max_rhat=1.01, min_ess=10**6, max_divergences=0)
    timing = fake_fit(TimingModel.from_export(models_export, models_settings))
    timing.diagnostics = bad
    fits = FittedModels(fake_fits.activation, fake_fits.productivity, fake_fits.conversion,
                        timing, fake_fits.deal_size)
    si = simulation_inputs(fits, models_export, models_settings, _quarters(models_export, 1), 10, 0)
    assert any("timing: min bulk ESS" in w for w in si.warnings)


def test_fits_from_other_data_are_refused(fake_fits, models_export, models_settings):
    fewer = models_export.as_of(models_export.default_as_of - pd.Timedelta(days=400))
    with pytest.raises(FitMismatchError):
        simulation_inputs(fake_fits, fewer, models_settings, _quarters(fewer, 1), 10, 0)


# -- summaries ----------------------------------------------------------------------------------


def test_posterior_activation_table(fake_fits, models_export):
    table = posterior_activation(fake_fits, models_export)
    assert list(table.columns[:4]) == ["partner_id", "partner_type", "tier", "quarter"]
    assert len(table) == models_export.partners["partner_id"].nunique()
    has = table["pool"] > 0
    assert (table.loc[has, "p10"] <= table.loc[has, "posterior_mean"]).all()
    assert (table.loc[has, "posterior_mean"] <= table.loc[has, "p90"]).all()
    outside = (table["raw_asr"] < table["p10"]) | (table["raw_asr"] > table["p90"])
    assert (table["noise"] == (outside | (table["pool"] < 5))).all()
    assert (table["next_p10"] <= table["next_mean"]).all() and (table["next_mean"] <= table["next_p90"]).all()
    assert table["next_quarter"].iloc[0] == str(Quarter.parse(table["quarter"].iloc[0]) + 1)


def test_conversion_curves_are_monotone_and_carry_the_seed_table(fake_fits, models_export,
                                                                 models_settings):
    curves = conversion_curves(fake_fits, models_export, models_settings, seed=1)
    types = fake_fits.conversion.spec.coords["partner_type"]
    assert len(curves) == len(types) * len(OPEN_STAGES)
    for _, g in curves.groupby("partner_type"):
        assert g["p_won"].is_monotonic_increasing
        assert (g["p10"] <= g["p_won"]).all() and (g["p_won"] <= g["p90"]).all()
        assert (g["median_days_to_close"] > 0).all()
    row = curves[(curves["partner_type"] == types[0]) & (curves["stage"] == "proposal")].iloc[0]
    assert row["seed_table"] == models_settings.conversion_probability(types[0], "proposal")
    again = conversion_curves(fake_fits, models_export, models_settings, seed=1)
    pd.testing.assert_frame_equal(curves, again)


def test_new_partner_asr_is_a_probability(fake_fits):
    act = fake_fits.activation
    p = act.new_partner_asr(act.spec.coords["partner_type"][0], act.spec.coords["tier"][0],
                            Quarter(2030, 1), np.random.default_rng(0))
    assert p.shape == (act.n_samples,) and np.all((p > 0) & (p < 1))
    table = new_partner_activation(fake_fits)
    assert len(table) == len(act.spec.coords["partner_type"]) * len(act.spec.coords["tier"])
    assert ((table["p10"] <= table["mean"]) & (table["mean"] <= table["p90"])).all()


# -- save / load and the workspace ------------------------------------------------------------


def test_save_load_round_trip_and_refusals(tmp_path, fake_fits):
    model = fake_fits.timing
    path = model.save(tmp_path / "t.zarr.zip")
    back = TimingModel.load(path, data_fingerprint=model.data_fingerprint,
                            config_hash=model.config_hash)
    np.testing.assert_array_equal(back.time_mu(), model.time_mu())
    assert back.spec.fingerprint == model.spec.fingerprint
    assert back.diagnostics == model.diagnostics
    assert back.idata.attrs["model_version"] == str(TimingModel.version)
    with pytest.raises(ModelMismatchError, match="data_fingerprint"):
        TimingModel.load(path, data_fingerprint="0" * 16)
    with pytest.raises(ModelMismatchError, match="config_hash"):
        TimingModel.load(path, config_hash="0" * 16)
    with pytest.raises(ModelMismatchError, match="model is 'timing'"):
        ActivationModel.load(path)
    tree = read_tree(path)
    tree.attrs["model_version"] = "0"
    write_tree(tree, tmp_path / "old.zarr.zip")
    with pytest.raises(ModelMismatchError, match="model_version is '0', expected '1'"):
        TimingModel.load(tmp_path / "old.zarr.zip")
    assert TimingModel.load(tmp_path / "old.zarr.zip", check_version=False).name == "timing"
    tree.attrs["format_version"] = "1"  # another layout is refused even without version checks
    write_tree(tree, tmp_path / "format1.zarr.zip")
    with pytest.raises(ModelMismatchError, match="format_version is '1', expected '2'"):
        TimingModel.load(tmp_path / "format1.zarr.zip", check_version=False)
    (tmp_path / "junk.zarr.zip").write_bytes(b"not a zip")
    with pytest.raises(ModelMismatchError, match="not a readable"):
        TimingModel.load(tmp_path / "junk.zarr.zip")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_fit_all_loads_cached_posteriors_fast(fake_workspace, models_export, models_settings,
                                              monkeypatch):
    def no_fitting(*args, **kwargs):
        raise AssertionError("fit_all refitted a cached model")

    for cls in MODEL_CLASSES:
        monkeypatch.setattr(cls, "fit", no_fitting)
    messages = []
    start = time.perf_counter()
    fits = fit_all(models_export, models_settings, fake_workspace, progress=messages.append)
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0, f"loading the cached fits took {elapsed:.2f} s"
    assert sum("loaded from" in m for m in messages) == 5
    assert [m.name for m in fits] == [c.name for c in MODEL_CLASSES] and fits.ok


def test_workspace_keys(models_export, models_settings, tmp_path):
    ws = Workspace(tmp_path)
    fp = data_fingerprint(models_export)
    earlier = models_export.as_of(models_export.default_as_of - pd.Timedelta(days=30))
    assert data_fingerprint(earlier) != fp
    assert ws.path(TimingModel, fp, models_settings) != ws.path(TimingModel, data_fingerprint(earlier),
                                                                 models_settings)
    loose = models_settings.with_overrides(sampler={"min_ess": 1})
    assert ws.path(TimingModel, fp, models_settings) == ws.path(TimingModel, fp, loose)
    assert Workspace.at().root.name == ".partner_forecast"


def test_in_memory_exports_are_fingerprinted_by_content(models_export):
    from dataclasses import replace

    mem = replace(models_export, source_fingerprint="")
    other = replace(mem, opportunities=mem.opportunities.iloc[:-1])
    assert data_fingerprint(mem) != data_fingerprint(other)
    assert data_fingerprint(mem) == data_fingerprint(replace(models_export, source_fingerprint=""))


# -- CLI ------------------------------------------------------------------------------------------


def test_cli_fit_prints_diagnostics_from_the_cache(fake_workspace, models_sample_dir,
                                                   models_tiny_config):
    result = CliRunner().invoke(main, ["fit", str(models_sample_dir), "--workspace",
                                       str(fake_workspace.root), "--config",
                                       str(models_tiny_config)])
    assert result.exit_code == 0, result.output
    for cls in MODEL_CLASSES:
        assert cls.name in result.stdout
    assert "loaded from" in result.stderr


def test_cli_curves_json_and_csv(fake_workspace, models_sample_dir, models_tiny_config):
    args = ["curves", str(models_sample_dir), "--workspace", str(fake_workspace.root),
            "--config", str(models_tiny_config)]
    result = CliRunner().invoke(main, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    rows = doc["conversion_curves"]
    assert {"partner_type", "stage", "p_won", "p10", "p90", "seed_table",
            "median_days_to_close"} <= set(rows[0])
    assert doc["meta"]["diagnostics_ok"] is True
    csv = CliRunner().invoke(main, [*args, "--format", "csv"])
    assert csv.exit_code == 0
    lines = [ln for ln in csv.stdout.splitlines() if not ln.startswith("#")]
    assert lines[0].startswith("partner_type,stage,p_won")


def test_cli_help_documents_the_model_commands():
    for cmd in ("fit", "curves"):
        result = CliRunner().invoke(main, [cmd, "--help"])
        assert result.exit_code == 0 and "--workspace" in result.output
