"""Smoke tier of the models: real NUTS fits with tiny settings (1 chain, 100 tune, 100 draws).

The fast tier fits one model (timing: the quickest to compile); the slow tier checks that a
fit is reproducible and runs PyMC's own NUTS as the fallback sampler. All five models are fitted
for real (through the CLI and the workspace) in ``test_models_recovery.py``.
"""

import numpy as np
import pytest

from partner_forecast.models import MODEL_CLASSES, TimingModel


@pytest.fixture(scope="module")
def timing_fit(models_export, models_settings):
    model = TimingModel.from_export(models_export, models_settings)
    model.fit()
    return model


def test_timing_smoke_fit(timing_fit, tmp_path):
    d = timing_fit.diagnostics
    assert d.chains == 1 and d.draws == 100 and d.sampler == "nutpie"
    assert d.parameters > 0 and d.cells == timing_fit.cells and d.mean_steps >= 1
    assert np.isnan(d.max_rhat)  # one chain: R-hat is not judged
    assert d.min_ess_bulk > 0 and d.sample_seconds > 0 and d.compile_seconds > 0
    post = timing_fit.posterior
    assert post["time_mu"].dims == ("chain", "draw", "partner_type", "stage")
    assert not any(str(v).endswith(("__centred", "__offset")) for v in post.data_vars)
    assert set(timing_fit.idata.children) == {"posterior", "sample_stats", "spec"}
    mu = timing_fit.time_mu()
    assert mu.shape[0] == 100 and np.all(np.isfinite(mu))
    # Durations of a few days to a few months (log days).
    assert 1.0 < float(np.median(mu)) < 5.0
    assert np.all(timing_fit.time_sigma() > 0)
    path = timing_fit.save(tmp_path / "timing.zarr.zip")
    back = TimingModel.load(path, data_fingerprint=timing_fit.data_fingerprint,
                            config_hash=timing_fit.config_hash)
    np.testing.assert_array_equal(back.time_sigma(), timing_fit.time_sigma())
    assert back.diagnostics.min_ess_bulk == d.min_ess_bulk


def test_chain_seeds_are_fixed_per_model(timing_fit):
    assert timing_fit.chain_seeds() == timing_fit.chain_seeds()
    other = MODEL_CLASSES[0](timing_fit.spec, sampler_config=timing_fit.sampler_config)
    assert other.chain_seeds() != timing_fit.chain_seeds()


@pytest.mark.slow
def test_fit_is_reproducible(timing_fit, models_export, models_settings):
    again = TimingModel.from_export(models_export, models_settings)
    again.fit()
    np.testing.assert_array_equal(again.time_mu(), timing_fit.time_mu())


@pytest.mark.slow
def test_pymc_fallback_sampler(models_export, models_settings):
    model = TimingModel.from_export(models_export, models_settings)
    model.sampler_config["nuts_sampler"] = "pymc"
    model.fit()
    assert model.diagnostics.sampler == "pymc" and model.diagnostics.draws == 100
    assert np.all(np.isfinite(model.time_mu()))


@pytest.mark.slow
def test_an_ess_shortfall_adds_chains_to_the_compiled_model(models_export, models_settings):
    model = TimingModel.from_export(models_export, models_settings)
    model.sampler_config["retries"] = 2
    model.fit(thresholds={"max_rhat": 10.0, "min_ess": 1e9, "max_divergences": 10**6})
    d = model.diagnostics
    assert d.attempts == 3 and not d.ok  # an ESS of 1e9 cannot be met: every retry is made
    # Each retry keeps the chains so far and adds twice the configured chains (the 3x cap):
    # one compile, and the kept posterior holds every chain of the best attempt.
    c = int(model.sampler_config["chains"])
    assert (d.chains, d.draws) in ((c, 100), (3 * c, 100), (5 * c, 100))
    assert model.posterior.sizes["chain"] == d.chains
    assert model.compile_log == ["auto"] and model._compiled == {}
    assert np.all(np.isfinite(model.time_mu()))


@pytest.mark.slow
def test_an_rhat_failure_retries_then_restarts_on_the_compiled_model(
        models_export, models_settings):
    model = TimingModel.from_export(models_export, models_settings)
    model.sampler_config.update(retries=2, chains=2)
    model.fit(thresholds={"max_rhat": 1.0, "min_ess": 1e9, "max_divergences": 10**6})
    d = model.diagnostics
    assert d.attempts == 3 and not d.ok
    assert "draws" in d.settings_used and "chains x" in d.settings_used
    # Attempt 2 extends attempt 1's chains; attempt 3 restarts with 3x the draws. The timing
    # model's effects all have fixed forms (no parametrisation to switch), so the restart
    # reuses the compiled model: one compile in all.
    assert (d.chains, d.draws) in ((2, 100), (6, 100), (2, 300))
    assert model.compile_log == ["auto"]
    assert np.all(np.isfinite(model.time_mu()))


def test_every_model_says_there_is_nothing_to_fit_before_any_history(tmp_path, models_settings):
    """An as-of before the export's first record: a clear NotEnoughDataError from each model
    (the stage-stay views of an empty history once lost their columns: KeyError 'y' in timing,
    'opportunity_id' in conversion)."""
    from partner_forecast.data.export import load_export
    from partner_forecast.models import MODEL_CLASSES
    from partner_forecast.models.errors import NotEnoughDataError
    from partner_forecast.testing.exports import write_tiny_export

    export = load_export(write_tiny_export(tmp_path / "tiny"), as_of="2020-01-01")
    for cls in MODEL_CLASSES:
        model = cls.from_export(export, models_settings)
        assert model.cells == 0
        with pytest.raises(NotEnoughDataError, match=f"nothing to fit the {cls.name} model"):
            model.fit()
