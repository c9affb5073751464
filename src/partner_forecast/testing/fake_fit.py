"""Fake fits for tests: a posterior of plausible values without compiling or sampling.

:func:`fake_fit` gives a model a posterior whose variables, dims and coordinates are exactly
those a real fit stores (read from the PyMC graph, which is built but never compiled), filled
with seeded random values near :data:`FAKE_CENTRES`. Code downstream of the fits (simulation
inputs, summaries, the workspace cache, the CLI) can then be tested in milliseconds; the
statistics are tested on real fits in the slow tier.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from partner_forecast.models.base import PartnerModel
from partner_forecast.models.diagnostics import Diagnostics
from partner_forecast.models.effects import CENTRED_SUFFIX, OFFSET_SUFFIX
from partner_forecast.models.sampling import drop_helpers

FAKE_CENTRES: dict[str, dict[str, float]] = {
    "activation": {"intercept": -1.7},
    "productivity": {"intercept": 0.7, "alpha": 8.0},
    "conversion": {"adv_logit": 0.8, "stage_effect": 0.8},
    "timing": {"time_mu": 3.0, "stage_mu": 3.0, "time_sigma": 0.6, "stage_sigma": 0.6},
    "deal_size": {"intercept": 10.0, "nu": 10.0, "sigma": 0.5},
}
"""Centre of the fake draws per model and variable (others: 0, or 0.3 for scales)."""
POSITIVE_HINTS = ("sigma", "_sd", "alpha", "nu")
FAKE_ESS = 1e5
"""ESS reported by fake fits: high enough to pass any threshold (the draws are independent)."""


def fake_jump_probs(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Destination probabilities (..., S, S): mostly the next stage, a few % skips, 0 beyond won."""
    S = shape[-1]
    logits = rng.normal(-3.0, 0.3, shape)
    logits[..., 0] = 0.0
    beyond = np.arange(S)[None, :] > (S - 1 - np.arange(S))[:, None]
    logits[..., beyond] = -np.inf
    p = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return p / p.sum(axis=-1, keepdims=True)


def fake_fit(model: PartnerModel, draws: int = 50, chains: int = 2, seed: int = 0,
             spread: float = 0.05) -> PartnerModel:
    """Attach a fake posterior (and passing diagnostics) to ``model``; return it.

    Parameters
    ----------
    model : PartnerModel
        Built from a spec (e.g. ``Model.from_export``); its graph is built, not compiled.
    draws, chains : int
        Size of the fake posterior.
    seed : int
        Seeds the values.
    spread : float
        Standard deviation of the draws around their centre (log scale for positive ones).
    """
    rng = np.random.default_rng(seed)
    pm_model = model.build_model()
    centres = FAKE_CENTRES.get(model.name, {})
    dims_of = pm_model.named_vars_to_dims
    names = [v.name for v in (*pm_model.free_RVs, *pm_model.deterministics)]
    data = {}
    for name in names:
        if name.endswith((CENTRED_SUFFIX, OFFSET_SUFFIX)):
            continue
        dims = tuple(dims_of.get(name, ()))
        shape = tuple(len(pm_model.coords[d]) for d in dims)
        positive = any(h in name for h in POSITIVE_HINTS)
        centre = centres.get(name, 0.3 if positive else 0.0)
        noise = rng.normal(0.0, spread, (chains, draws, *shape))
        values = centre * np.exp(noise) if positive else centre + noise
        if name == "jump_probs":
            values = fake_jump_probs(rng, (chains, draws, *shape))
        data[name] = (("chain", "draw", *dims), values)
    coords = {d: list(v) for d, v in pm_model.coords.items()}
    post = xr.Dataset(data, coords={"chain": np.arange(chains), "draw": np.arange(draws),
                                    **{d: v for d, v in coords.items()
                                       if any(d in dd for _, (dd, _) in data.items())}})
    post = model.prune_posterior(drop_helpers(post))
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((chains, draws), dtype=bool))})
    model.diagnostics = Diagnostics(
        model=model.name, chains=chains, draws=draws, divergences=0, max_rhat=1.0,
        min_ess_bulk=FAKE_ESS, min_ess_tail=FAKE_ESS, worst_rhat="",
        worst_ess="", parameters=sum(int(np.prod(v.shape[2:])) for v in post.data_vars.values()),
        cells=model.cells, compile_seconds=0.0, sample_seconds=0.0, sampler="fake",
        mean_steps=1.0)
    model.idata = xr.DataTree.from_dict({"posterior": post, "sample_stats": stats,
                                         "spec": model.spec.to_dataset()})
    model.idata.attrs.update(model.stamp())
    model._samples = {}
    return model


__all__ = ["fake_fit", "FAKE_CENTRES"]
