"""Group effects with the parametrisation chosen member by member from the data.

A group effect ``effect[j] ~ Normal(0, sigma)`` can be written *centred* (sample ``effect[j]``
itself) or *non-centred* (sample ``z[j] ~ Normal(0, 1)``, ``effect[j] = sigma * z[j]``). Which
one samples well depends on how much the data say about each member relative to the spread of
the group (PERF-NOTES: non-centred partner effects mixed badly with ~600 seller-quarters per
partner; small and new partners are the non-centred case). Rule used here, per member ``j``::

    centred  if  info[j] * scale**2 > 1        (data precision beats the prior spread)

where ``info[j]`` is the Fisher information the member's data carry about its effect on the
linear-predictor scale (e.g. ``sum n p (1 - p)`` for binomial cells at the pooled rate,
``n / s**2`` for normal data) and ``scale`` a typical magnitude of ``sigma`` under its prior
(:func:`~partner_forecast.models.priors.prior_scale`). Both parts are sampled as separate
vectors and gathered into one deterministic ``effect`` with the group's dims, so downstream
code never sees the split. ``mode`` forces one form for every member. Centred members are
centred on their mean (hierarchical centring), so that an intercept does not trade off against
the effects; small fixed label sets (types, tiers, roles) use zero-sum effects instead
(:func:`label_effect`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc_extras.prior import Prior

PARAMETRISATIONS: tuple[str, ...] = ("auto", "centred", "non_centred")
CENTRED_SUFFIX = "__centred"
OFFSET_SUFFIX = "__offset"


def centred_members(info: np.ndarray, scale: float, mode: str = "auto") -> np.ndarray:
    """Boolean mask of the members to parametrise centred.

    Parameters
    ----------
    info : numpy.ndarray
        Fisher information per member about its effect (linear-predictor scale, >= 0).
    scale : float
        Typical magnitude of the group's standard deviation under its prior.
    mode : {"auto", "centred", "non_centred"}
        ``auto`` applies the rule of the module docstring.
    """
    info = np.asarray(info, dtype=float)
    if mode not in PARAMETRISATIONS:
        raise ValueError(f"parametrisation must be one of {PARAMETRISATIONS}, got {mode!r}")
    if mode == "centred":
        return np.ones(info.shape, dtype=bool)
    if mode == "non_centred":
        return np.zeros(info.shape, dtype=bool)
    return info * scale**2 > 1.0


def group_effect(name: str, sigma: pt.TensorVariable, info: np.ndarray, scale: float,
                 dims: str | Sequence[str], mode: str = "auto",
                 mu: pt.TensorVariable | float = 0.0) -> pt.TensorVariable:
    """Add a group effect ``name ~ Normal(0, sigma)`` over ``dims``; return ``mu + effect``.

    Centred members are sampled *around their mean* (hierarchical centring:
    ``total[j] ~ Normal(mu[j], sigma)``), so an intercept and the effects do not form a ridge;
    non-centred members are ``mu[j] + sigma * z[j]``. The deviation ``total - mu`` is
    registered as ``pm.Deterministic(name)`` with ``dims``.

    Parameters
    ----------
    name : str
        Name of the deterministic holding the effect (deviation from ``mu``).
    sigma : TensorVariable
        Group standard deviation (scalar).
    info : numpy.ndarray
        Information per member, shaped like the effect (see :func:`centred_members`).
    scale : float
        Typical magnitude of ``sigma`` under its prior.
    dims : str or sequence of str
        Dims of the effect (coordinates of the current model).
    mode : {"auto", "centred", "non_centred"}
        Parametrisation rule (see :func:`centred_members`).
    mu : TensorVariable or float
        Mean of each member, broadcastable to ``info``'s shape (e.g. intercept + type effect
        of each partner).

    Returns
    -------
    TensorVariable
        ``mu + effect``, shaped like ``info``.
    """
    info = np.asarray(info, dtype=float)
    flat = centred_members(info, scale, mode).ravel()
    idx_c, idx_n = np.flatnonzero(flat), np.flatnonzero(~flat)
    mu_flat = pt.broadcast_to(pt.as_tensor_variable(mu), info.shape).flatten()
    totals = []
    if idx_c.size:
        totals.append(pm.Normal(f"{name}{CENTRED_SUFFIX}", mu=mu_flat[idx_c], sigma=sigma,
                                shape=idx_c.size))
    if idx_n.size:
        z = pm.Normal(f"{name}{OFFSET_SUFFIX}", mu=0.0, sigma=1.0, shape=idx_n.size)
        totals.append(mu_flat[idx_n] + sigma * z)
    joined = totals[0] if len(totals) == 1 else pt.concatenate(totals)
    order = np.argsort(np.concatenate([idx_c, idx_n]), kind="stable")
    total = joined if np.array_equal(order, np.arange(order.size)) else joined[order]
    total = total.reshape(info.shape)
    dims = (dims,) if isinstance(dims, str) else tuple(dims)
    pm.Deterministic(name, total - mu_flat.reshape(info.shape), dims=dims)
    return total


FEW_MEMBERS_SCALE = 0.25
"""Share of the prior scale at which a few-member effect's spread is assumed when choosing."""


def few_members_scale(scale: float) -> float:
    """The scale to choose the parametrisation of an effect with few members (types, tiers).

    Their spread is estimated from a handful of members, so it is poorly identified and can
    sit far below its prior's typical value; a member centred because its data beat the
    *prior* spread then makes a funnel when the posterior spread is small (seen on exports of
    20-120 partners: hundreds of divergences in the type x stage effects). A member is centred
    only when its data would pin it even at :data:`FEW_MEMBERS_SCALE` of the prior scale
    (rich data, e.g. time in stage, or conversion on hundreds of partners).
    """
    return scale * FEW_MEMBERS_SCALE


def few_members_mode(mode: str, info: np.ndarray | None = None, scale: float | None = None
                     ) -> str:
    """Parametrisation of a zero-sum label effect (few labels).

    Forced modes win. Under ``auto`` the effect is centred only when the data pin *every*
    label even at :func:`few_members_scale` of the prior scale (``info * (scale/4)**2 > 1``,
    e.g. tiers of hundreds of partners, quarters of thousands of stage exits): the group
    sigma then mixes in a few draws, where the non-centred form ties it to the labels in a
    long ridge (an ESS of 200 in 2,000 draws on ``data/sample``). Otherwise (thin data,
    unknown information) non-centred, which small exports need.
    """
    if mode in ("centred", "non_centred"):
        return mode
    if info is None or scale is None:
        return "non_centred"
    info = np.asarray(info, dtype=float)
    strong = info.size > 0 and bool(np.all(info * few_members_scale(scale) ** 2 > 1.0))
    return "centred" if strong else "non_centred"


def label_effect(name: str, sigma: pt.TensorVariable, dims: str, size: int,
                 mode: str = "auto", info: np.ndarray | None = None,
                 scale: float | None = None) -> pt.TensorVariable:
    """Effects of a small fixed label set (types, tiers, roles, quarters) that sum to zero.

    ``ZeroSumNormal(sigma)`` over ``dims`` (the intercept carries the mean, so the two do not
    trade off), centred or non-centred as ``sigma * ZeroSumNormal(1)`` per
    :func:`few_members_mode` (``info`` per label, ``scale`` of the sigma's prior); a single
    label gets a constant 0.
    """
    if size < 2:
        return pm.Deterministic(name, pt.zeros(size), dims=dims)
    if few_members_mode(mode, info, scale) == "centred":
        return pm.ZeroSumNormal(name, sigma=sigma, dims=dims)
    z = pm.ZeroSumNormal(f"{name}{OFFSET_SUFFIX}", sigma=1.0, dims=dims)
    return pm.Deterministic(name, sigma * z, dims=dims)


def fixed_label_effect(prior: Prior, name: str, dims: str | Sequence[str]) -> pt.TensorVariable:
    """Effects of a small label set (types, tiers) under a fixed-scale prior (no learned spread).

    With a handful of labels a learned group spread is barely identified: its posterior is
    its prior's long tail, and its funnel against the labels was what diverged on exports of
    20-120 partners (type_sigma, tier_sigma, type x stage spreads with ESS 100-300). A fixed
    weakly-informative scale (the config's prior, e.g. ``ZeroSumNormal(0.5)``) regularises the
    same way without a funnel; partners, many per label, keep their learned spread.

    The label axis is the first of ``dims``. A ``ZeroSumNormal`` prior sums to zero over it
    (for ``("partner_type", "stage")``: over types within each stage), so the stage-level term
    it is added to is the types' average and the two do not trade off along a ridge (stage
    logits had ESS ~200 in 2,000 draws with an unconstrained Normal). A single label gets 0.
    The effect is registered as ``name`` with ``dims``.
    """
    dims = (dims,) if isinstance(dims, str) else tuple(dims)
    coords = pm.modelcontext(None).coords
    shape = tuple(len(coords[d]) for d in dims)
    out = prior.deepcopy()
    if out.distribution != "ZeroSumNormal":
        out.dims = dims
        return out.create_variable(name)
    if shape[0] < 2:
        return pm.Deterministic(name, pt.zeros(shape), dims=dims)
    if len(dims) == 1:
        out.dims = dims
        return out.create_variable(name)
    # ZeroSumNormal sums over its last axis: draw with the label axis last, then move it back.
    out.dims = (*dims[1:], dims[0])
    raw = out.create_variable(f"{name}{OFFSET_SUFFIX}")
    return pm.Deterministic(name, pt.moveaxis(raw, -1, 0), dims=dims)


def binomial_information(n: np.ndarray, k: np.ndarray, groups: np.ndarray, size: int,
                         floor: float = 0.02) -> np.ndarray:
    """Information per group about a logit-scale effect: ``sum over its cells n p (1 - p)``.

    ``p`` is the pooled rate ``sum k / sum n`` (clipped to ``[floor, 1 - floor]``).
    """
    n = np.asarray(n, dtype=float)
    p = float(np.clip(np.asarray(k, dtype=float).sum() / max(n.sum(), 1.0), floor, 1 - floor))
    return np.bincount(np.asarray(groups, dtype=np.int64), weights=n * p * (1 - p), minlength=size)


def binomial_spread(n: np.ndarray, k: np.ndarray, groups: np.ndarray, size: int,
                    labels: np.ndarray | None = None, cell_groups: np.ndarray | None = None
                    ) -> float:
    """Method-of-moments estimate of the spread of group effects on the logit scale.

    Each group's empirical logit ``log((k + 0.5) / (n - k + 0.5))`` over its cells, less the
    mean of its label (e.g. type x tier, so label effects do not count as spread), has variance
    ``tau**2 + sampling variance``; ``tau**2`` is what is left after subtracting the mean
    sampling variance ``1 / (k + 0.5) + 1 / (n - k + 0.5)`` (0 if negative). Used to choose a
    parametrisation (:func:`centred_members`) from the spread the data suggest rather than the
    prior's typical value: a spread near 0 with rich groups is the centred funnel (activation:
    R-hat 1.15, ESS 10 on ``partner_sigma`` for a 40-partner export whose spread was ~0.2).
    ``cell_groups`` (e.g. each cell's stage) first takes out what the cells' own groups explain:
    a group's logit is then measured against the rate its mix of cells would have at their
    pooled rates.
    """
    g = np.asarray(groups, dtype=np.int64)
    nn, kk = np.asarray(n, dtype=float), np.asarray(k, dtype=float)
    n_g = np.bincount(g, weights=nn, minlength=size)
    k_g = np.bincount(g, weights=kk, minlength=size)
    if cell_groups is not None:
        cg = np.asarray(cell_groups, dtype=np.int64)
        rate = np.bincount(cg, weights=kk) / np.maximum(np.bincount(cg, weights=nn), 1.0)
        expected = np.bincount(g, weights=nn * rate[cg], minlength=size)
        p_exp = np.clip(expected / np.maximum(n_g, 1.0), 1e-3, 1 - 1e-3)
        offset = np.log(p_exp / (1 - p_exp))
    else:
        offset = np.zeros(size)
    seen = n_g > 0
    if seen.sum() < 3:
        return 0.0
    y = (np.log((k_g + 0.5) / (n_g - k_g + 0.5)) - offset)[seen]
    v = (1.0 / (k_g + 0.5) + 1.0 / (n_g - k_g + 0.5))[seen]
    if labels is not None:
        lab = np.asarray(labels, dtype=np.int64)[seen]
        means = np.bincount(lab, weights=y) / np.maximum(np.bincount(lab), 1)
        y = y - means[lab]
    return float(np.sqrt(max(np.var(y) - v.mean(), 0.0)))


SPREAD_FLOOR = 1.0 / 8.0
"""Lowest share of the prior's typical spread a data-suggested spread is taken at."""


def suggested_scale(spread: float, prior_typical: float) -> float:
    """The scale to choose partners' parametrisation with: the data's spread, within bounds.

    ``spread`` (:func:`binomial_spread`) is clipped to ``[prior_typical * SPREAD_FLOOR,
    prior_typical]``: a moment estimate near 0 is noise, and one above the prior's typical
    value would centre members the prior says are thin.
    """
    return float(np.clip(spread, prior_typical * SPREAD_FLOOR, prior_typical))


def count_information(counts: np.ndarray, groups: np.ndarray, size: int, alpha: float
                      ) -> np.ndarray:
    """Information per group about a log-rate effect of negative-binomial counts.

    ``sum over cells mu alpha / (mu + alpha)`` with ``mu`` the observed count.
    """
    mu = np.asarray(counts, dtype=float)
    w = mu * alpha / (mu + alpha)
    return np.bincount(np.asarray(groups, dtype=np.int64), weights=w, minlength=size)


def normal_information(groups: np.ndarray, size: int, sd: float,
                       weights: np.ndarray | None = None) -> np.ndarray:
    """Information per group about a mean of normal data with standard deviation ``sd``."""
    w = np.ones(len(groups)) if weights is None else np.asarray(weights, dtype=float)
    return np.bincount(np.asarray(groups, dtype=np.int64), weights=w, minlength=size) / sd**2


__all__ = ["PARAMETRISATIONS", "FEW_MEMBERS_SCALE", "centred_members", "few_members_mode",
           "few_members_scale", "fixed_label_effect", "group_effect", "label_effect",
           "binomial_information", "binomial_spread", "suggested_scale", "SPREAD_FLOOR",
           "count_information", "normal_information"]
