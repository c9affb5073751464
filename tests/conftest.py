"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

# ==== models section (tests/test_models*.py) ==================================================
# A small synthetic export from the sample generator, tiny sampler settings, and fake fits
# (posteriors with the real variables and dims, no sampling) shared by the model tests.

MODELS_TINY_SAMPLER = """\
[sampler]
draws = 100
tune = 100
chains = 1
retries = 0
"""


@pytest.fixture(scope="session")
def models_sample_dir(tmp_path_factory) -> Path:
    """A 40-partner, 6-quarter synthetic export (with truth.json), written once per session."""
    from partner_forecast.data.sample import generate_sample

    folder = tmp_path_factory.mktemp("models_sample")
    generate_sample(folder, partners=40, quarters=6, seed=11)
    return folder


@pytest.fixture(scope="session")
def models_export(models_sample_dir):
    """The small synthetic export, loaded."""
    from partner_forecast.data.export import load_export

    return load_export(models_sample_dir)


@pytest.fixture(scope="session")
def models_tiny_config(tmp_path_factory) -> Path:
    """A config file with tiny sampler settings (1 chain, 100 tune, 100 draws)."""
    path = tmp_path_factory.mktemp("models_config") / "tiny.toml"
    path.write_text(MODELS_TINY_SAMPLER, "utf-8")
    return path


@pytest.fixture(scope="session")
def models_settings(models_tiny_config):
    """Settings with the tiny sampler."""
    from partner_forecast.config import load_settings

    return load_settings(models_tiny_config)


@pytest.fixture(scope="session")
def fake_fits(models_export, models_settings):
    """The five models built on the small export with fake posteriors (2 chains x 50 draws)."""
    from partner_forecast.models import MODEL_CLASSES
    from partner_forecast.models.fitted import FittedModels
    from partner_forecast.testing.fake_fit import fake_fit

    models = {cls.name: fake_fit(cls.from_export(models_export, models_settings), seed=i)
              for i, cls in enumerate(MODEL_CLASSES)}
    return FittedModels(**models)


@pytest.fixture(scope="session")
def fake_workspace(tmp_path_factory, fake_fits, models_export, models_settings):
    """A workspace holding the fake fits under the keys of the small export + tiny settings."""
    from partner_forecast.workspace import Workspace, data_fingerprint

    ws = Workspace(tmp_path_factory.mktemp("models_ws"))
    fp = data_fingerprint(models_export)
    for model in fake_fits:
        model.save(ws.path(type(model), fp, models_settings))
    return ws
# ==== end of models section ===================================================================
