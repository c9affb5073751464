"""``levers`` and a ``recruit`` scenario through the real path: CLI -> prepare -> fit_all (loading
fake posteriors from the workspace cache) -> simulation inputs -> recruits from the activation
posterior. No module is swapped: the fake fits (``partner_forecast.testing.fake_fit.fake_fit``)
carry the real variables and dims, they are only not sampled.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from partner_forecast.cli import main
from partner_forecast.models import MODEL_CLASSES
from partner_forecast.models.fitted import FittedModels
from partner_forecast.posterior.inputs import simulation_inputs
from partner_forecast.scenarios.recruit import (
    ModelPredictive,
    fitted_models,
    predictive_for,
    sample_indices,
)
from partner_forecast.testing.fake_fit import fake_fit
from partner_forecast.workspace import Workspace, data_fingerprint

RECRUIT = """
[[scenario]]
name = "three_msps"
  [[scenario.change]]
  lever = "recruit"
  count = 3
  partner_type = "msp"
  tier = "growth"
  sellers = 40
"""


@pytest.fixture(scope="module")
def view(models_export):
    """The small export as a forecast at the default as-of sees it."""
    return models_export.as_of(models_export.default_as_of)


@pytest.fixture(scope="module")
def view_fits(view, models_settings) -> FittedModels:
    """The five models built on the view with fake posteriors (no sampling)."""
    return FittedModels(**{cls.name: fake_fit(cls.from_export(view, models_settings), seed=i)
                           for i, cls in enumerate(MODEL_CLASSES)})


@pytest.fixture(scope="module")
def cached_fakes(tmp_path_factory, view_fits, view, models_settings) -> Workspace:
    """A workspace holding the fake fits under the key a forecast at the default as-of uses."""
    ws = Workspace(tmp_path_factory.mktemp("fake_ws"))
    for model in view_fits:
        model.save(ws.path(type(model), data_fingerprint(view), models_settings))
    return ws


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_levers_runs_on_fitted_models(cached_fakes, models_sample_dir, models_tiny_config):
    r = invoke("levers", models_sample_dir, "--config", models_tiny_config, "--draws", 60,
               "--seed", 3, "--workspace", cached_fakes.root, "--format", "json")
    assert r.exit_code == 0, r.output
    assert "fitted in" not in r.stderr  # loaded from the cache, nothing sampled
    doc = json.loads(r.stdout)
    levers = pd.DataFrame(doc["levers"])
    recruit = levers[(levers["segment"] == "total") & (levers["lever"] == "recruit")]
    assert len(recruit) == 1 and recruit["delta_mean"].iloc[0] > 0
    assert doc["meta"]["recruit_source"].startswith("activation model")
    assert not any("assumed rule" in w for w in doc["meta"]["warnings"])


def test_recruit_scenario_runs_on_fitted_models(cached_fakes, models_sample_dir, models_tiny_config,
                                                tmp_path):
    path = tmp_path / "recruit.toml"
    path.write_text(RECRUIT)
    r = invoke("scenario", models_sample_dir, path, "--config", models_tiny_config, "--draws", 60,
               "--seed", 3, "--workspace", cached_fakes.root, "--no-ledger", "--format", "json")
    assert r.exit_code == 0, r.output
    table = pd.DataFrame(json.loads(r.stdout)["scenarios"])
    added = table[(table["segment"] == "total") & (table["scenario"] == "three_msps")]
    assert added["delta_mean"].iloc[0] > 0 and added["p_above_baseline"].iloc[0] > 0.5


def test_recruits_use_the_posterior_samples_behind_each_draw(view_fits, view, models_settings):
    """Draw d of a recruit reads the same posterior sample as draw d of the simulation inputs."""
    fake_fits = view_fits
    quarters = [view.quarter()]
    inputs = simulation_inputs(fake_fits, view, models_settings, quarters, 70, seed=11)
    idx = sample_indices(fake_fits, 70, 11)
    np.testing.assert_array_equal(
        inputs.opp_rate, fake_fits.productivity.opp_rate()[idx["productivity"]])
    np.testing.assert_array_equal(
        inputs.adv_partner, fake_fits.conversion.samples("partner_effect")[idx["conversion"]])
    np.testing.assert_array_equal(inputs.size_mu, fake_fits.deal_size.size_mu()[idx["deal_size"]])
    assert fitted_models(fake_fits) is fake_fits
    predictive = predictive_for(fitted_models(fake_fits), 70, 11)
    assert isinstance(predictive, ModelPredictive)
