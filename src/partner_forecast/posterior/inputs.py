"""Fitted models + export -> :class:`~partner_forecast.simulate.inputs.SimulationInputs`.

The five posteriors are independent, so joint draws are formed by resampling each model's
draws separately: a seeded permutation of its chain x draw samples, cycled to ``n_draws``
(every sample used equally often, in a random order). On top of the posteriors:

- ``asr``: the activation model extrapolated to the forecast quarters (ramp by tenure, trend
  by quarter) with *fresh* partner-quarter noise per draw;
- ``pool``: sellers employed at as-of (joined before it, not yet left), carried forward;
  0 for an offboarded partner;
- ``role_probs`` / ``new_covariates`` / ``marketplace_rate`` / ``expansion_rate`` /
  ``influence_share``: empirical per partner type from every deal created before as-of, each
  shrunk toward the all-type value with :data:`MIX_PRIOR_DEALS` pseudo-deals (a type with no
  deals gets the overall mix);
- ``entry_probs``: the share of deals created in each open stage per type (empirical, shrunk
  like the mix); ``jump_probs`` from the conversion model;
- ``adv_logit`` is the conversion model's logit at each stage's average covariates, and the
  covariates of open deals are their deviations from their current stage's average (new deals:
  none), so covariates known only at later stages never bias the stage odds;
- ``open_deals``: one row per open deal (columns ``OPEN_DEAL_COLUMNS``): attribution from
  :func:`~partner_forecast.metrics.attribution.attribution_weight`, commit factor and
  confidence score from :func:`~partner_forecast.metrics.confidence.confidence_scores`.

Fits that failed their diagnostics put their messages in ``SimulationInputs.warnings``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data import views
from partner_forecast.data.export import Export
from partner_forecast.data.schema import COVARIATES, OPEN_DEAL_COLUMNS, OPEN_STAGES, ROLES
from partner_forecast.metrics.attribution import attribution_weight, is_marketplace
from partner_forecast.metrics.confidence import confidence_scores
from partner_forecast.models import aggregate
from partner_forecast.models.fitted import FitMismatchError, FittedModels
from partner_forecast.simulate.inputs import SimulationInputs

MIX_PRIOR_DEALS = 5.0
"""Pseudo-deals at the all-type mix added to each type's counts (smooths thin types)."""


def draw_indices(n_samples: int, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``n_draws`` posterior samples: a seeded permutation, cycled as needed."""
    return np.resize(rng.permutation(n_samples), n_draws)


def pool_at(export: Export) -> pd.Series:
    """Sellers employed at as-of per partner (0 for offboarded partners), indexed by partner_id."""
    as_of = export.default_as_of
    s = export.sellers
    employed = (s["joined_on"] < as_of) & (s["left_on"].isna() | (s["left_on"] >= as_of))
    counts = s[employed].groupby("partner_id").size()
    pf = views.partner_frame(export)
    out = counts.reindex(pf["partner_id"].to_numpy(), fill_value=0).astype(np.int64)
    gone = pf["offboarded_on"].notna().to_numpy() & (pf["offboarded_on"] < as_of).to_numpy()
    out[gone] = 0
    return out


def _shrunk_mean(values: pd.Series, groups: pd.Series, labels: Sequence[str],
                 fallback: float) -> np.ndarray:
    """Per-label mean of ``values`` with MIX_PRIOR_DEALS pseudo-rows at the overall mean."""
    v = pd.to_numeric(values, errors="coerce").astype(float)
    ok = v.notna()
    overall = float(v[ok].mean()) if ok.any() else fallback
    agg = v[ok].groupby(groups[ok]).agg(["sum", "count"]).reindex(list(labels), fill_value=0)
    return ((agg["sum"] + MIX_PRIOR_DEALS * overall) / (agg["count"] + MIX_PRIOR_DEALS)).to_numpy()


def deal_mix(export: Export, settings: Settings, types: Sequence[str]) -> dict[str, np.ndarray]:
    """Empirical mix of new deals per partner type (see module docstring).

    Returns
    -------
    dict
        role_probs (T, R), new_covariates (T, K), marketplace_rate (T,), expansion_rate (T,),
        influence_share (T,) as shares in [0, 1].
    """
    opps = export.opportunities
    ptype = views.deal_partner_type(export)
    T, R = len(types), len(ROLES)
    counts = pd.crosstab(ptype, opps["partner_role"]).reindex(
        index=list(types), columns=list(ROLES), fill_value=0).to_numpy(dtype=float)
    total = counts.sum(axis=0)
    overall = total / total.sum() if total.sum() > 0 else np.full(R, 1.0 / R)
    role_probs = (counts + MIX_PRIOR_DEALS * overall) / (counts.sum(axis=1, keepdims=True)
                                                         + MIX_PRIOR_DEALS)
    cov = views.deal_covariates(export, settings.confidence.engagement_full_at)
    new_cov = np.column_stack([
        _shrunk_mean(pd.Series(cov[c].to_numpy(), index=opps.index), ptype, types, 0.0)
        for c in COVARIATES]) if len(opps) else np.zeros((T, len(COVARIATES)))
    # Marketplace as the metrics read it: the flag or route_to_market = marketplace.
    flags = {"marketplace": _shrunk_mean(is_marketplace(opps).astype(float), ptype, types, 0.0),
             "is_expansion": _shrunk_mean(opps["is_expansion"].astype("boolean").astype(float),
                                          ptype, types, 0.0)}
    influenced = opps["partner_role"].eq("influenced")
    weight = attribution_weight(opps["partner_role"], opps["influence_pct"], settings.attribution)
    influence = _shrunk_mean(weight[influenced], ptype[influenced], types,
                             settings.attribution.influenced)
    return {"role_probs": role_probs, "new_covariates": new_cov,
            "marketplace_rate": flags["marketplace"], "expansion_rate": flags["is_expansion"],
            "influence_share": influence}


def entry_mix(export: Export, types: Sequence[str]) -> np.ndarray:
    """(T, S) share of deals created in each open stage per type, shrunk to the all-type mix.

    With :data:`MIX_PRIOR_DEALS` pseudo-deals at the overall mix; with no history at all every
    deal starts in discovery.
    """
    counts = aggregate.entry_counts(export).astype(float)
    present = views.present_types(export)
    full = np.zeros((len(types), len(OPEN_STAGES)))
    for t, name in enumerate(types):
        if name in present:
            full[t] = counts[present.index(name)]
    total = full.sum(axis=0)
    if total.sum() == 0:
        overall = np.zeros(len(OPEN_STAGES))
        overall[0] = 1.0
    else:
        overall = total / total.sum()
    return (full + MIX_PRIOR_DEALS * overall) / (full.sum(axis=1, keepdims=True) + MIX_PRIOR_DEALS)


def open_deals(export: Export, settings: Settings) -> pd.DataFrame:
    """The open pipeline at as-of with every ``OPEN_DEAL_COLUMNS`` column."""
    opps = export.opportunities
    open_ = opps[opps["stage"].isin(OPEN_STAGES)].reset_index(drop=True)
    stays = views.stage_stays(export)
    entered = stays[stays["open"]].drop_duplicates("opportunity_id", keep="last").set_index(
        "opportunity_id")["entered_on"]
    since = open_["opportunity_id"].map(entered).fillna(open_["created_on"])
    days = ((export.default_as_of - pd.to_datetime(since)).dt.days).clip(lower=0)
    pidx = views.partner_index(export)
    out = pd.DataFrame({
        "opportunity_id": open_["opportunity_id"].astype(str).to_numpy(dtype=object),
        "partner": open_["partner_id"].astype(str).map(pidx).to_numpy(dtype=np.int64),
        "stage": open_["stage"].map({s: i for i, s in enumerate(OPEN_STAGES)}).to_numpy(dtype=np.int64),
        "days_in_stage": days.to_numpy(dtype=float),
        "arr": open_["arr"].fillna(0.0).to_numpy(dtype=float),
        "role": open_["partner_role"].map({r: i for i, r in enumerate(ROLES)}).to_numpy(dtype=np.int64),
        "attribution": attribution_weight(open_["partner_role"], open_["influence_pct"],
                                          settings.attribution).to_numpy(dtype=float),
        "marketplace": is_marketplace(open_).to_numpy(dtype=bool),
        "is_expansion": open_["is_expansion"].fillna(False).astype(bool).to_numpy(),
    })
    # Covariates as known when the deal entered its current stage (as the model learned them).
    ids, entered_on = open_["opportunity_id"].to_numpy(dtype=object), pd.to_datetime(since).to_numpy()
    level = np.minimum(aggregate.engagement_before(export, ids, entered_on),
                       settings.confidence.engagement_full_at)
    flags = aggregate.flags_at(export, ids, entered_on)
    for c in aggregate.FLAG_COVARIATES:
        out[c] = flags[c].to_numpy(dtype=float)
    out["engagement"] = level / float(settings.confidence.engagement_full_at)
    scores = confidence_scores(export, settings).set_index("opportunity_id")
    out["commit_factor"] = out["opportunity_id"].map(scores["commit_factor"]).astype(float)
    out["confidence_score"] = out["opportunity_id"].map(scores["confidence_score"]).astype(float)
    return out[list(OPEN_DEAL_COLUMNS)]


def simulation_inputs(fits: FittedModels, export: Export, settings: Settings,
                      quarters: Sequence[Quarter | str], n_draws: int, seed: int
                      ) -> SimulationInputs:
    """Everything the Monte Carlo engine needs, from the fits and the export at as-of.

    Parameters
    ----------
    fits : FittedModels
        The five models fitted on ``export`` (same partners, same types).
    export : Export
        The export (its as-of view) the forecast starts from.
    settings : Settings
        Attribution, confidence and calendar settings.
    quarters : sequence of Quarter or str
        Consecutive forecast quarters.
    n_draws : int
        Number of joint posterior draws D.
    seed : int
        Seeds the resampling of draws and the fresh activation noise.

    Returns
    -------
    SimulationInputs
        Checked (``.check()``); ``warnings`` lists failed fit diagnostics.
    """
    fits.check_consistent()
    fy = settings.calendar.fiscal_year_start_month
    qs = tuple(q if isinstance(q, Quarter) else Quarter.parse(q, fy) for q in quarters)
    pf = views.partner_frame(export)
    act = fits.activation
    if tuple(pf["partner_id"]) != act.spec.coords["partner"]:
        raise FitMismatchError("the fits were made on a different set of partners than this "
                               "export; refit (partner-forecast fit) for this data and as-of")
    types, tiers = act.spec.coords["partner_type"], act.spec.coords["tier"]
    rng = np.random.default_rng(seed)
    idx = {m.name: draw_indices(m.n_samples, n_draws, rng) for m in fits}

    def take(model, values: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(values[idx[model.name]])

    conv, tim, size, prod = fits.conversion, fits.timing, fits.deal_size, fits.productivity
    pool = pool_at(export).to_numpy()
    deals = open_deals(export, settings)
    mix = deal_mix(export, settings, types)
    # The conversion model centres covariates per stage: the simulation walks every deal with
    # the stage's average covariates plus the deal's own deviation at its current stage (open
    # deals) or none (new deals), so stage odds stay right whatever the covariates do later.
    beta = take(conv, conv.samples("beta"))                                   # (D, K)
    x_mean = np.asarray(conv.spec.data["x_stage_mean"], dtype=float)         # (S, K)
    adv_logit = take(conv, conv.samples("adv_logit")) + (beta @ x_mean.T)[:, None, :]
    cov_cols = list(COVARIATES)
    deals[cov_cols] = (deals[cov_cols].to_numpy(dtype=float)
                       - x_mean[deals["stage"].to_numpy(dtype=np.int64)])
    mix["new_covariates"] = np.zeros_like(mix["new_covariates"])
    inputs = SimulationInputs(
        partner_ids=pf["partner_id"].to_numpy(dtype=str),
        partner_type=pf["type_idx"].to_numpy(dtype=np.int64),
        partner_tier=pf["tier_idx"].to_numpy(dtype=np.int64),
        types=tuple(types), tiers=tuple(tiers), quarters=qs, as_of=export.default_as_of,
        asr=act.predict_asr(list(qs), rng, draws=idx[act.name]),
        pool=np.repeat(pool[:, None], len(qs), axis=1),
        opp_rate=take(prod, prod.opp_rate()), opp_dispersion=take(prod, prod.samples("alpha")),
        adv_logit=adv_logit,
        adv_partner=take(conv, conv.samples("partner_effect")),
        adv_beta=beta, adv_duration=take(conv, conv.samples("duration")),
        shock_sigma=take(conv, conv.samples("shock_sigma")),
        time_mu=take(tim, tim.samples("time_mu")), time_sigma=take(tim, tim.samples("time_sigma")),
        size_mu=take(size, size.size_mu()), size_role=take(size, size.samples("role_effect")),
        size_sigma=take(size, size.samples("sigma")), size_nu=take(size, size.samples("nu")),
        jump_probs=take(conv, conv.samples("jump_probs")), entry_probs=entry_mix(export, types),
        open_deals=deals, warnings=fits.warnings, notes=fits.notes, **mix)
    return inputs.check()


__all__ = ["simulation_inputs", "draw_indices", "pool_at", "deal_mix", "entry_mix", "open_deals",
           "MIX_PRIOR_DEALS"]
