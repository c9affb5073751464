"""Test doubles for the report, spreadsheet and docs tests: fitted models without MCMC.

:func:`fake_fit_workspace` goes through the real code path: it saves the library's fake fits
(:func:`partner_forecast.testing.fake_fit.fake_fit`: the real posterior variables and dims, seeded
values, no sampling) into a workspace under the keys ``fit_all`` looks up, so ``forecast``,
``report`` and the variance review load them as cached fits.

The older doubles below replace modules instead (kept for the tests not yet moved to the
workspace):

``fit_all`` returns an object with diagnostics; ``simulation_inputs`` builds a degenerate
posterior (DOMAIN.md's 100-seller example, pool sized to the view's sellers) over the export's
own partners (ids, types, tiers, so scenario selectors find them) whose open pipeline is the
view's open deals. ``partner_forecast.posterior.summaries`` is replaced by a module without
``posterior_activation`` / ``conversion_curves`` (the report then falls back to raw ASR with
Wilson intervals and to the learned stage table), or by one returning fixed frames.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.data.sample import generate_sample

SMALL_SAMPLE = {"partners": 12, "quarters": 6, "seed": 3}
"""2024Q1-2025Q2, as of 2025-07-01 (six complete quarters, targets and company figures)."""


class FakeFits:
    def diagnostics_table(self) -> pd.DataFrame:
        return pd.DataFrame([{"model": "fake", "divergences": 0, "max_rhat": 1.0}])


def fake_fit_all(export, settings, workspace=None, progress=True, refit=False):
    return FakeFits()


def fake_simulation_inputs(fits, export, settings, quarters, n_draws, seed):
    from partner_forecast.data.schema import OPEN_STAGES
    from partner_forecast.metrics.attribution import attribution_weight
    from partner_forecast.testing.posteriors import TIERS, degenerate_inputs, open_deals_frame

    partners = export.partners.sort_values("partner_id").reset_index(drop=True)
    index = {p: i for i, p in enumerate(partners["partner_id"])}
    opps = export.opportunities
    pipe = opps[opps["stage"].isin(OPEN_STAGES)]
    deals = None
    if len(pipe):
        weight = attribution_weight(pipe["partner_role"], pipe["influence_pct"], settings.attribution)
        deals = open_deals_frame(partner=pipe["partner_id"].map(index).to_numpy(dtype=np.int64),
                                 stage=list(pipe["stage"]), arr=pipe["arr"].to_numpy(float),
                                 attribution=weight.to_numpy(float),
                                 opportunity_id=list(pipe["opportunity_id"]), n=len(pipe))
    pool = max(1, len(export.sellers) // max(1, len(partners)))
    inputs = degenerate_inputs(n_draws=n_draws, quarters=[str(q) for q in quarters],
                               as_of=str(export.default_as_of.date()), n_partners=len(partners),
                               pool=pool, opp_per_active=0.3, duration_days=25.0, time_sigma=0.8,
                               open_deals=deals)
    return inputs.replace(
        partner_ids=partners["partner_id"].to_numpy(dtype=str),
        partner_type=np.array([inputs.types.index(t) for t in partners["partner_type"]]),
        partner_tier=np.array([TIERS.index(t) for t in partners["tier"]])).check()


def fake_modules(summaries: types.ModuleType | None = None) -> dict[str, types.ModuleType]:
    ws = types.ModuleType("partner_forecast.workspace")
    ws.fit_all = fake_fit_all
    mi = types.ModuleType("partner_forecast.posterior.inputs")
    mi.simulation_inputs = fake_simulation_inputs
    sm = summaries or types.ModuleType("partner_forecast.posterior.summaries")
    return {"partner_forecast.workspace": ws, "partner_forecast.posterior.inputs": mi,
            "partner_forecast.posterior.summaries": sm}


def use_fake_models(monkeypatch, summaries: types.ModuleType | None = None) -> None:
    """Install the fakes for the duration of a test."""
    for name, module in fake_modules(summaries).items():
        monkeypatch.setitem(sys.modules, name, module)


def small_sample(folder: Path) -> Path:
    """Generate (once per folder) the small sample export and return its folder."""
    if not (folder / "opportunities.csv").exists():
        generate_sample(folder, **SMALL_SAMPLE)
    return folder


def fake_fit_workspace(data: Path, workspace: Path, cuts: tuple[pd.Timestamp, ...] | None = None,
                       config: Path | None = None) -> Path:
    """Save fake fits of the export at ``data`` as of each cut into ``workspace``; return it.

    Default cuts: the export's default as-of (the report's forecast) and the start of the last
    closed quarter before it (the variance review's forecast).
    """
    from partner_forecast.config import load_settings
    from partner_forecast.data.export import load_export
    from partner_forecast.models import MODEL_CLASSES
    from partner_forecast.testing.fake_fit import fake_fit
    from partner_forecast.workspace import Workspace, data_fingerprint

    export = load_export(data)
    settings = load_settings(config)
    if cuts is None:
        current = Quarter.containing(export.default_as_of, settings.calendar.fiscal_year_start_month)
        cuts = (export.default_as_of, (current - 1).start)
    ws = Workspace(Path(workspace))
    for cut in cuts:
        view = export.as_of(cut)
        fp = data_fingerprint(view)
        for i, cls in enumerate(MODEL_CLASSES):
            path = ws.path(cls, fp, settings)
            if not path.exists():
                fake_fit(cls.from_export(view, settings, data_fingerprint=fp), seed=i).save(path)
    return Path(workspace)
