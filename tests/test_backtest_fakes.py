"""Fake fitted models for the backtest and variance tests: no MCMC, through the real code path.

:data:`FAKE_MODELS` is a :class:`~partner_forecast.testing.fits.DegenerateModels` model source:
a degenerate posterior (DOMAIN.md's 100-seller example, with a seller pool the size of the
view's sellers) whose open pipeline is the as-of view's open deals -- their current stage, ARR
and attribution -- so a fold's output depends on what its view contains (a leak into the view
changes the forecast). It is passed as ``models=`` (the backtest carries it into its worker
processes with each fold) or to the CLI as ``obj={"models": FAKE_MODELS}``.
:data:`BROKEN_MODELS` fails to build its simulation inputs (a fold that errors).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from partner_forecast.testing.fits import DegenerateModels

SMALL_SAMPLE = {"partners": 12, "quarters": 6, "seed": 3}
"""A small generated export: 2024Q1-2025Q2, as of 2025-07-01 (six complete quarters)."""

FAKE_MODELS = DegenerateModels(open_deals=True, pool="sellers", duration_days=25.0, time_sigma=0.8)
"""Fitted models that pass their diagnostics, forecasting the view's open deals."""
BROKEN_MODELS = replace(FAKE_MODELS, broken=True)
"""Fitted models whose simulation inputs fail with ``boom``."""


def small_sample(folder: Path) -> Path:
    """Generate (once per folder) the small sample export and return its folder."""
    from partner_forecast.data.sample import generate_sample

    if not (folder / "opportunities.csv").exists():
        generate_sample(folder, **SMALL_SAMPLE)
    return folder


def test_fake_inputs_follow_the_view(tmp_path):
    from partner_forecast import forecast as fc
    from partner_forecast.testing.exports import write_tiny_export

    tiny = write_tiny_export(tmp_path / "tiny")
    ctx = fc.prepare(tiny, as_of="2026-07-01", draws=10, workspace=tmp_path / "ws", progress=False,
                     models=FAKE_MODELS)
    open_ids = set(ctx.export.opportunities.loc[ctx.export.opportunities["stage"].isin(
        ["discovery", "qualified", "proposal", "negotiation"]), "opportunity_id"])
    assert set(ctx.inputs.open_deals["opportunity_id"]) == open_ids
