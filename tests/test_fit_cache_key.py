"""``fit`` and ``forecast`` share one workspace cache entry per (data, as-of).

Both commands run for real on the small generated export; the workspace holds fake posteriors
(``partner_forecast.testing.fake_fit.fake_fit``) keyed by the raw export, and sampling is made to
fail, so a command that computed another key would refit and fail loudly instead of loading.
"""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from partner_forecast.cli import main
from partner_forecast.cli.common import load_context
from partner_forecast.forecast import as_of_view, load_inputs
from partner_forecast.models import MODEL_CLASSES
from partner_forecast.workspace import Workspace, data_fingerprint


def _keys(export, settings) -> list[str]:
    return [Workspace.key(cls, data_fingerprint(export), settings) for cls in MODEL_CLASSES]


def test_fit_and_forecast_compute_one_key_at_the_default_as_of(models_sample_dir,
                                                               models_tiny_config):
    # `fit`: the command's loader, then the forecast view (no --as-of given).
    settings, raw = load_context(models_sample_dir, None, str(models_tiny_config))
    fit_keys = _keys(as_of_view(raw), settings)
    # `forecast`: load_inputs, then the cut at the default as-of (prepare).
    settings_f, export_f = load_inputs(models_sample_dir, models_tiny_config)
    forecast_keys = _keys(as_of_view(export_f), settings_f)
    assert fit_keys == forecast_keys
    # The raw export and its view at the default as-of: one (data, as-of), one fingerprint.
    assert raw.fingerprint == as_of_view(raw).fingerprint == export_f.as_of(raw.default_as_of).fingerprint
    # ... and a different as-of is a different key.
    earlier = as_of_view(raw, "2025-01-01")
    assert data_fingerprint(earlier) != data_fingerprint(raw)
    _, cut = load_context(models_sample_dir, earlier.default_as_of, str(models_tiny_config))
    assert _keys(as_of_view(cut), settings) == _keys(earlier, settings)


@pytest.fixture
def no_sampling(monkeypatch):
    """Make any refit fail: only cached posteriors can be used."""

    def refuse(*args, **kwargs):
        raise AssertionError("refitted a model the workspace had cached")

    for cls in MODEL_CLASSES:
        monkeypatch.setattr(cls, "fit", refuse)


def test_fit_then_forecast_load_the_same_cache(fake_workspace, models_sample_dir,
                                              models_tiny_config, tmp_path, no_sampling):
    ws = tmp_path / "ws"
    shutil.copytree(fake_workspace.root, ws)
    runner = CliRunner()
    r = runner.invoke(main, ["fit", str(models_sample_dir), "--config", str(models_tiny_config),
                             "--workspace", str(ws)])
    assert r.exit_code == 0, r.output
    assert r.stderr.count("loaded from") == len(MODEL_CLASSES)
    r = runner.invoke(main, ["forecast", str(models_sample_dir), "--config", str(models_tiny_config),
                             "--workspace", str(ws), "--draws", "50", "--no-ledger"])
    assert r.exit_code == 0, r.output
    assert r.stderr.count("loaded from") == len(MODEL_CLASSES)
    assert sorted(p.name for p in (ws / "models").iterdir()) == \
        sorted(p.name for p in (fake_workspace.root / "models").iterdir())  # nothing new cached
