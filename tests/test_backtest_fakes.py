"""Test doubles for the backtest and variance tests: fake fitted models, no MCMC.

The fake ``fit_all`` returns an object with diagnostics; the fake ``simulation_inputs`` builds a
degenerate posterior (DOMAIN.md's 100-seller example, with a seller pool the size of the view's
sellers) whose open pipeline is the as-of view's open deals -- their current stage, ARR and
attribution -- so a fold's output depends on what its view contains (a leak into the view
changes the forecast). :func:`install_fake_models` is module level so that worker processes
(spawned, or Dask workers) can run it as their initializer.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pandas as pd

SMALL_SAMPLE = {"partners": 12, "quarters": 6, "seed": 3}
"""A small generated export: 2024Q1-2025Q2, as of 2025-07-01 (six complete quarters)."""


class FakeFits:
    def diagnostics_table(self) -> pd.DataFrame:
        return pd.DataFrame([{"model": "fake", "divergences": 0, "max_rhat": 1.0}])


def fake_fit_all(export, settings, workspace, progress=True):
    return FakeFits()


def fake_simulation_inputs(fits, export, settings, quarters, n_draws, seed):
    from partner_forecast.data.schema import OPEN_STAGES
    from partner_forecast.metrics.attribution import attribution_weight
    from partner_forecast.testing.posteriors import degenerate_inputs, open_deals_frame

    opps = export.opportunities
    pipe = opps[opps["stage"].isin(OPEN_STAGES)]
    deals = None
    if len(pipe):
        weight = attribution_weight(pipe["partner_role"], pipe["influence_pct"], settings.attribution)
        deals = open_deals_frame(stage=list(pipe["stage"]), arr=pipe["arr"].to_numpy(float),
                                 attribution=weight.to_numpy(float),
                                 opportunity_id=list(pipe["opportunity_id"]), n=len(pipe))
    return degenerate_inputs(n_draws=n_draws, quarters=[str(q) for q in quarters],
                             as_of=str(export.default_as_of.date()),
                             pool=max(1, len(export.sellers)), duration_days=25.0, time_sigma=0.8,
                             open_deals=deals)


def fake_modules() -> dict[str, types.ModuleType]:
    ws = types.ModuleType("partner_forecast.workspace")
    ws.fit_all = fake_fit_all
    mi = types.ModuleType("partner_forecast.posterior.inputs")
    mi.simulation_inputs = fake_simulation_inputs
    return {"partner_forecast.workspace": ws, "partner_forecast.posterior.inputs": mi}


def install_fake_models() -> None:
    """Worker initializer: replace the fitted models with the fakes in this process."""
    sys.modules.update(fake_modules())


def _broken_simulation_inputs(*args, **kwargs):
    raise RuntimeError("boom")


def install_broken_models() -> None:
    """Worker initializer: fakes whose simulation inputs fail (a fold that errors)."""
    modules = fake_modules()
    modules["partner_forecast.posterior.inputs"].simulation_inputs = _broken_simulation_inputs
    sys.modules.update(modules)


def use_fake_models(monkeypatch) -> None:
    """Install the fakes in the test process for the duration of a test."""
    for name, module in fake_modules().items():
        monkeypatch.setitem(sys.modules, name, module)


def small_sample(folder: Path) -> Path:
    """Generate (once per folder) the small sample export and return its folder."""
    from partner_forecast.data.sample import generate_sample

    if not (folder / "opportunities.csv").exists():
        generate_sample(folder, **SMALL_SAMPLE)
    return folder


def test_fake_inputs_follow_the_view(monkeypatch, tmp_path):
    from partner_forecast import forecast as fc
    from partner_forecast.testing.exports import write_tiny_export

    use_fake_models(monkeypatch)
    tiny = write_tiny_export(tmp_path / "tiny")
    ctx = fc.prepare(tiny, as_of="2026-07-01", draws=10, workspace=tmp_path / "ws", progress=False)
    open_ids = set(ctx.export.opportunities.loc[ctx.export.opportunities["stage"].isin(
        ["discovery", "qualified", "proposal", "negotiation"]), "opportunity_id"])
    assert set(ctx.inputs.open_deals["opportunity_id"]) == open_ids
