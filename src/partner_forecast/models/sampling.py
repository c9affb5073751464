"""Sampling a model's posterior: NUTS runs, retries when diagnostics fail, draws by need.

:func:`fit_with_retries` is the body of :meth:`PartnerModel.fit
<partner_forecast.models.base.PartnerModel.fit>`: it samples with nutpie (PyMC's own NUTS when
nutpie is not installed), judges the diagnostics and retries with other settings
(:func:`draws_needed`, :func:`other_parametrisation`) until they pass or the retries run out.
Chains are seeded from the model's ``random_seed`` and name, so a fit is reproducible.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pymc as pm
import xarray as xr

from partner_forecast.models import model_config
from partner_forecast.models.diagnostics import Diagnostics, compute_diagnostics
from partner_forecast.models.effects import CENTRED_SUFFIX, OFFSET_SUFFIX
from partner_forecast.models.errors import NotEnoughDataError
from partner_forecast.models.model_config import nutpie_available

if TYPE_CHECKING:
    from partner_forecast.models.base import PartnerModel


def fit_with_retries(model: PartnerModel, progress: Callable[[str], None] | None = None,
                     thresholds: dict[str, Any] | None = None) -> xr.DataTree:
    """Sample ``model``'s posterior, retrying when diagnostics fail; keep the best attempt.

    As :meth:`PartnerModel.fit <partner_forecast.models.base.PartnerModel.fit>` describes; the
    result is stored in ``model.idata`` (and ``model.diagnostics``) and returned.
    """
    if model.cells == 0:
        raise NotEnoughDataError(
            f"nothing to fit the {model.name} model on: the export has no "
            f"{model.data_description} before the as-of date")
    limits = model_config.thresholds(thresholds)
    cfg = dict(model.sampler_config)
    retries = int(cfg.get("retries", 2))
    parametrisation = model.parametrisation
    cfg["draws"] = first_draws(int(cfg["draws"]), model._scalars(parametrisation))
    best: tuple[tuple, xr.Dataset, xr.Dataset, Diagnostics] | None = None
    spent_compile = spent_sample = 0.0
    extend: tuple[xr.Dataset, xr.Dataset, int] | None = None
    for attempt in range(1 + retries):
        post, stats, diag = sample_once(model, cfg, parametrisation, limits, progress, attempt,
                                        extend)
        spent_compile += diag.compile_seconds
        spent_sample += diag.sample_seconds
        note = (f"attempt {attempt + 1}: target_accept {float(cfg['target_accept']):g}, "
                f"tune {int(cfg['tune'])}, {diag.chains} chains x {diag.draws} draws, "
                f"{parametrisation}")
        diag = replace(diag, attempts=attempt + 1, settings_used=note)
        rank = (len(diag.failures), diag.divergences,
                diag.max_rhat if not math.isnan(diag.max_rhat) else 0.0)
        if best is None or rank < best[0]:
            best = (rank, post, stats, diag)
        if diag.ok:
            break
        if attempt == retries:
            break
        if progress:
            progress(f"{model.name}: diagnostics failed ({'; '.join(diag.failures)}); retrying")
        extend = None
        rhat_failed = not math.isnan(diag.max_rhat) and diag.max_rhat > limits["max_rhat"]
        if diag.divergences > limits["max_divergences"]:
            cfg["target_accept"] = max(float(cfg["target_accept"]), 0.97 if attempt == 0 else 0.99)
            cfg["tune"] = int(cfg["tune"]) * 2
        elif attempt + 1 < retries or not rhat_failed:
            # Converged but short of ESS (or R-hat just above its bar before the last
            # retry): keep these chains and add as many new ones as the shortfall asks
            # for, run side by side on the compiled model (a restart would pay the tuning
            # again for the same draws; another parametrisation would compile again).
            extra = int(cfg["chains"]) * max(1, math.ceil(
                draws_needed(int(cfg["draws"]), diag, limits["min_ess"]) / int(cfg["draws"]) - 1))
            extend = (post, stats, extra)
        else:
            cfg["draws"] = draws_needed(int(cfg["draws"]), diag, limits["min_ess"])
            cfg["tune"] = int(int(cfg["tune"]) * 1.5)
        if attempt + 1 == retries and extend is None:
            parametrisation = other_parametrisation(parametrisation, diag,
                                                    model._centred_share(parametrisation))
    assert best is not None
    # compiled code is cached on disk; free its memory before the next model
    model._compiled.clear()
    model._built.clear()
    _, post, stats, diag = best
    model.diagnostics = replace(diag, attempts=attempt + 1,
                                compile_seconds=spent_compile, sample_seconds=spent_sample)
    post = model.prune_posterior(post)
    stats = stats[["diverging"]]
    post.attrs, stats.attrs = {}, {}
    model.idata = xr.DataTree.from_dict({"posterior": post, "sample_stats": stats,
                                         "spec": model.spec.to_dataset()})
    model.idata.attrs.update(model.stamp())
    model._samples = {}
    return model.idata



def sample_once(model: PartnerModel, cfg: dict[str, Any], parametrisation: str,
                limits: dict[str, Any], progress: Callable[[str], None] | None, attempt: int,
                extend: tuple[xr.Dataset, xr.Dataset, int] | None = None
                ) -> tuple[xr.Dataset, xr.Dataset, Diagnostics]:
    """One NUTS run with the given sampler settings and parametrisation.

    With ``extend = (posterior, stats, n)``, ``n`` new chains are run and appended to
    the given ones (same model, settings and draws; new seeds), and the diagnostics are
    those of all chains together.
    """
    if extend is not None:
        cfg = dict(cfg, chains=extend[2])
    sampler = cfg.get("nuts_sampler", "nutpie")
    if sampler == "nutpie" and not nutpie_available():
        sampler = "pymc"
    seeds = model.chain_seeds()
    if attempt:
        seeds = [int(x) for x in np.random.SeedSequence([*seeds, attempt]).generate_state(
            int(cfg["chains"]))]
    if progress and extend is not None:
        progress(f"{model.name}: {extend[2]} more chains x {cfg['draws']} draws for the ESS "
                 f"target (retry {attempt})")
    elif progress:
        again = f" (retry {attempt})" if attempt else ""
        cached = sampler == "nutpie" and parametrisation in model._compiled
        progress(f"{model.name}: {'sampling' if cached else 'compiling and sampling'} on "
                 f"{model.cells:,} cells{again} ({cfg['chains']} chains x {cfg['draws']} draws, "
                 f"{sampler})")
    t0 = time.perf_counter()
    if sampler == "nutpie":
        idata, sample_s = sample_nutpie(model, cfg, parametrisation, seeds[0])
    else:
        idata, sample_s = sample_pymc(model, cfg, parametrisation, seeds)
    total = time.perf_counter() - t0
    post = drop_helpers(idata["posterior"].to_dataset())
    stats = idata["sample_stats"].to_dataset()
    stats = stats[[v for v in ("diverging", "n_steps") if v in stats.data_vars]]
    if extend is not None:
        prev_post, prev_stats, _ = extend
        shift = prev_post.sizes["chain"]
        post = xr.concat([prev_post, post.assign_coords(chain=post["chain"] + shift)],
                         dim="chain")
        stats = xr.concat([prev_stats, stats.assign_coords(chain=stats["chain"] + shift)],
                          dim="chain")
    diag = compute_diagnostics(
        xr.DataTree.from_dict({"posterior": post, "sample_stats": stats}), model.name,
        cells=model.cells, compile_seconds=total - sample_s, sample_seconds=sample_s,
        sampler=sampler, **limits)
    return post, stats, diag


def sample_nutpie(model: PartnerModel, cfg: dict[str, Any], parametrisation: str, seed: int
                  ) -> tuple[xr.DataTree, float]:
    """Sample with nutpie, compiling the model once per parametrisation.

    A retry with other sampler settings (target_accept, tuning, draws) reuses the compiled
    logp and gradient: only a retry in the other parametrisation compiles again. Shows a
    live bar on stderr where someone can see it (:func:`~.progress.bars_wanted`).
    """
    import nutpie

    from partner_forecast.models.progress import SamplingBar, bars_wanted

    if parametrisation not in model._compiled:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning)
            model._compiled[parametrisation] = nutpie.compile_pymc_model(
                model._build(parametrisation))
        model.compile_log.append(parametrisation)
    chains, draws, tune = int(cfg["chains"]), int(cfg["draws"]), int(cfg["tune"])
    if model.sampling_bar is not None:
        bar = model.sampling_bar(model.name, chains * (draws + tune))
    else:
        bar = SamplingBar(model.name, chains * (draws + tune)) if bars_wanted() else None
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=RuntimeWarning)
            idata = nutpie.sample(
                model._compiled[parametrisation], draws=draws, tune=tune, chains=chains,
                cores=min(chains, os.cpu_count() or 1), seed=seed, save_warmup=False,
                target_accept=float(cfg["target_accept"]), progress_bar=False,
                progress_callback=bar)
    finally:
        if bar is not None:
            bar.close()
    return idata, time.perf_counter() - t0


def sample_pymc(model: PartnerModel, cfg: dict[str, Any], parametrisation: str, seeds: list[int]
                ) -> tuple[xr.DataTree, float]:
    """Sample with PyMC's own NUTS (the fallback when nutpie is not installed)."""
    with model._build(parametrisation), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="pymc")
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        idata = pm.sample(draws=int(cfg["draws"]), tune=int(cfg["tune"]),
                          chains=int(cfg["chains"]),
                          cores=min(int(cfg["chains"]), os.cpu_count() or 1),
                          target_accept=float(cfg["target_accept"]), random_seed=seeds,
                          nuts_sampler="pymc", progressbar=False, quiet=True,
                          compute_convergence_checks=False)
    return idata, float(idata["posterior"].attrs.get("sampling_time", np.nan))


DRAWS_GROWTH = (1.5, 3.0)
"""Least and most a retry multiplies the draws by (see :func:`draws_needed`)."""


MANY_SCALARS = 1000
"""A model with more free scalars than this starts at twice the configured draws."""


def first_draws(draws: int, scalars: int) -> int:
    """Draws per chain of a model's first attempt: twice ``draws`` above :data:`MANY_SCALARS`.

    The R-hat threshold is checked on the *largest* R-hat over every scalar, which grows with
    their number by chance alone: on ``data/sample`` the activation model (3,230 scalars, one
    per partner-quarter) ended at R-hat 1.012 after three attempts from 1,000 draws, and passed
    from 2,000; the models with a few hundred scalars pass from 1,000.
    """
    return draws * 2 if scalars > MANY_SCALARS else draws


def draws_needed(draws: int, diag: Diagnostics, min_ess: float) -> int:
    """Draws per chain for a retry whose ESS should reach ``min_ess`` ("draws by need").

    ESS grows about linearly with the draws of a chain that has converged, so the draws are
    scaled by ``min_ess / ESS reached`` with a 25% margin, between :data:`DRAWS_GROWTH`
    (1.5x: a near miss still gets a visible step; 3x: a fit far off its target is a geometry
    problem more draws will not cure), rounded up to a multiple of 100.
    """
    reached = min(diag.min_ess_bulk, diag.min_ess_tail)
    ratio = min_ess / reached * 1.25 if reached > 0 and not math.isnan(reached) else math.inf
    factor = min(max(ratio, DRAWS_GROWTH[0]), DRAWS_GROWTH[1])
    return int(math.ceil(draws * factor / 100.0) * 100)


def other_parametrisation(current: str, diag: Diagnostics, centred_share: dict[str, float]
                           ) -> str:
    """The parametrisation of the last retry: a form the worst variable's effects lacked.

    Only group effects whose form follows the parametrisation (partners, conversion's quarter
    shocks: ``centred_share``, the share of each one's members centred under ``current``) can
    change; type, tier and stage effects have fixed-scale priors and look the same under any
    parametrisation. So:

    - a model without such effects (timing) keeps ``current``: its last retry restarts on the
      compiled model with more tuning and draws instead of compiling the same graph again;
    - a forced form is switched to the other one;
    - under ``auto``, the effect named by the worst variable (``partner_sigma`` ->
      ``partner``, ``shock_sigma`` -> ``shock``), else the partners (the one large group), is
      made non-centred: a failure with a learned spread is mostly the centred members'
      funnel when the spread is small (deal sizes on 17-40 partners: restarting *centred*
      gave R-hat 1.13 and an ESS of 12). Only when all its members were non-centred already
      is it made centred, the one form not yet tried.

    Parameters
    ----------
    current : {"auto", "centred", "non_centred"}
        Parametrisation of the attempts so far.
    diag : Diagnostics
        The last attempt's diagnostics (its worst R-hat and ESS variables).
    centred_share : dict
        Effect name (``"partner"``, ``"shock"``) -> share of its members centred.
    """
    if not centred_share:
        return current
    if current == "centred":
        return "non_centred"
    if current == "non_centred":
        return "centred"
    worst = f"{diag.worst_rhat} {diag.worst_ess}"
    group = next((g for g in centred_share if g in worst),
                 "partner" if "partner" in centred_share else next(iter(centred_share)))
    return "centred" if centred_share[group] == 0.0 else "non_centred"


def drop_helpers(posterior: xr.Dataset) -> xr.Dataset:
    """The posterior without the centred/non-centred parts of group effects.

    The full effects are deterministics with the group's dims; the parts they are gathered
    from are implementation detail.
    """
    helpers = [v for v in posterior.data_vars if str(v).endswith((CENTRED_SUFFIX, OFFSET_SUFFIX))]
    return posterior.drop_vars(helpers)


__all__ = ["fit_with_retries", "sample_once", "sample_nutpie", "sample_pymc", "first_draws",
           "draws_needed", "other_parametrisation", "drop_helpers", "DRAWS_GROWTH", "MANY_SCALARS"]
