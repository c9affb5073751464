"""Readable summaries of the fits: posterior activation per partner, learned conversion curves.

:func:`posterior_activation` sets each partner's raw ASR of the last complete quarter beside
its posterior (shrunk) ASR and flags raw values that are noise. :func:`conversion_curves` is
the learned version of DOMAIN.md's conversion table: ``P(won | deal at stage s)`` per partner
type with P10/P90, beside the seed table from the config, plus median days to close.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.special import expit

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data import views
from partner_forecast.data.export import Export
from partner_forecast.data.schema import DURATION_SCALE_DAYS, OPEN_STAGES
from partner_forecast.models.fitted import FittedModels

TINY_POOL = 5
"""A partner-quarter with fewer sellers in the pool than this is flagged as noise."""
CURVE_DEALS = 400
"""Pseudo-deals per type and posterior draw used to average the curves over deal variety."""
CURVE_DRAWS = 500
"""Posterior draws (at most) used for the curves."""


def posterior_activation(fits: FittedModels, export: Export, seed: int = 0) -> pd.DataFrame:
    """Raw vs posterior ASR per partner in the last complete quarter, and next quarter's.

    Parameters
    ----------
    fits : FittedModels
        Fits made on ``export``.
    export : Export
        Gives partner types and tiers.
    seed : int
        Seeds the fresh partner-quarter noise of the next-quarter prediction.

    Returns
    -------
    pandas.DataFrame
        One row per partner: partner_id, partner_type, tier, quarter, pool, active, raw_asr
        (NaN without a pool), posterior_mean, p10, p90 (posterior ASR of that quarter with its
        partner-quarter noise; 0-1), noise (raw ASR outside the posterior 80% interval, or pool
        below :data:`TINY_POOL`), next_quarter, next_mean, next_p10, next_p90 (predictive ASR
        of the quarter after, with fresh noise).
    """
    act = fits.activation
    d, meta = act.spec.data, act.spec.meta
    pf = views.partner_frame(export)
    partners = act.spec.coords["partner"]
    last = meta.get("last_quarter")
    cells = pd.DataFrame({"partner": d["cell_partner"], "pool": d["pool"], "active": d["active"],
                          "cell": act.spec.coords["cell"]})
    cells = cells[cells["cell"].str.endswith(f"|{last}")].set_index("partner")
    theta = act.last_quarter_asr()
    labels = pf.set_index("partner_id").loc[list(partners)]
    out = pd.DataFrame({"partner_id": list(partners),
                        "partner_type": labels["partner_type"].to_numpy(),
                        "tier": labels["tier"].to_numpy(), "quarter": last})
    idx = np.arange(len(partners))
    out["pool"] = cells["pool"].reindex(idx).fillna(0).astype(np.int64).to_numpy()
    out["active"] = cells["active"].reindex(idx).fillna(0).astype(np.int64).to_numpy()
    out["raw_asr"] = np.where(out["pool"] > 0, out["active"] / out["pool"].clip(lower=1), np.nan)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # partners without a cell: all NaN
        out["posterior_mean"] = np.nanmean(theta, axis=0)
        out["p10"] = np.nanquantile(theta, 0.1, axis=0)
        out["p90"] = np.nanquantile(theta, 0.9, axis=0)
    outside = (out["raw_asr"] < out["p10"]) | (out["raw_asr"] > out["p90"])
    out["noise"] = (outside | (out["pool"] < TINY_POOL)).to_numpy(dtype=bool)
    nxt = Quarter.parse(last, meta.get("fiscal_year_start_month", 1)) + 1 if last else None
    if nxt is not None:
        pred = act.predict_asr([nxt], np.random.default_rng(seed))[:, :, 0]
        out["next_quarter"] = str(nxt)
        out["next_mean"] = pred.mean(axis=0)
        out["next_p10"], out["next_p90"] = np.quantile(pred, [0.1, 0.9], axis=0)
    return out


def new_partner_activation(fits: FittedModels, quarter: Quarter | None = None, seed: int = 0
                           ) -> pd.DataFrame:
    """Predictive ASR of a newly recruited partner (tenure 0) by partner type and tier.

    Parameters
    ----------
    fits : FittedModels
        Its activation fit is used.
    quarter : Quarter, optional
        Quarter of the prediction (default: the one after the last complete quarter).
    seed : int
        Seeds the new partner's effect and its partner-quarter noise.

    Returns
    -------
    pandas.DataFrame
        partner_type, tier, quarter, mean, p10, p90 (ASR, 0-1).
    """
    act = fits.activation
    meta = act.spec.meta
    if quarter is None:
        quarter = Quarter.parse(meta["last_quarter"], meta.get("fiscal_year_start_month", 1)) + 1
    rng = np.random.default_rng(seed)
    rows = []
    for t in act.spec.coords["partner_type"]:
        for r in act.spec.coords["tier"]:
            draws = act.new_partner_asr(t, r, quarter, rng)
            p10, p90 = np.quantile(draws, [0.1, 0.9])
            rows.append({"partner_type": t, "tier": r, "quarter": str(quarter),
                         "mean": float(draws.mean()), "p10": float(p10), "p90": float(p90)})
    return pd.DataFrame(rows)


def _curve_draws(fits: FittedModels, export: Export, settings: Settings, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per posterior draw and type: P(won | s), median days to close and to win from s.

    Returns arrays shaped (draws, T, S): win probability, days to close, days to win (NaN
    when no pseudo-deal won).
    """
    conv, tim = fits.conversion, fits.timing
    types = conv.spec.coords["partner_type"]
    T, S, M = len(types), len(OPEN_STAGES), CURVE_DEALS
    n = min(conv.n_samples, tim.n_samples, CURVE_DRAWS)
    ci = rng.choice(conv.n_samples, n, replace=False)
    ti = rng.choice(tim.n_samples, n, replace=False)
    adv, beta = conv.samples("adv_logit")[ci], conv.samples("beta")[ci]
    dur, shock_sd = conv.samples("duration")[ci], conv.samples("shock_sigma")[ci]
    psd = conv.samples("partner_sigma")[ci]
    jumps = conv.samples("jump_probs")[ci]
    x_mean = np.asarray(conv.spec.data["x_stage_mean"], dtype=float)         # (S, K)
    mu, sd = tim.samples("time_mu")[ti], tim.samples("time_sigma")[ti]
    win = np.zeros((n, T, S))
    close_days = np.full((n, T, S), np.nan)
    win_days = np.full((n, T, S), np.nan)
    for t in range(T):
        # Covariates at each stage's average (as the simulation walks new deals): the stage
        # logits were learned on covariates known at stage entry, centred per stage.
        base = rng.standard_normal((n, M)) * psd[:, None]                   # (n, M)
        days = np.maximum(np.exp(mu[:, None, t, :] + sd[:, None, t, :]
                                 * rng.standard_normal((n, M, S))), 1.0)   # (n, M, S)
        logit = (adv[:, None, t, :] + (beta @ x_mean.T)[:, None, :] + base[:, :, None]
                 + dur[:, None, :] * np.log(days / DURATION_SCALE_DAYS)
                 + rng.standard_normal((n, M, S)) * shock_sd[:, None, None])
        p_adv = expit(logit)
        advanced = rng.random((n, M, S)) < p_adv
        jt = jumps[:, t]                                                     # (n, S, S)
        # P(won | at s) by backward recursion over destinations (next stage, later, won).
        w_from = np.ones((n, M, S + 1))
        for s in range(S - 1, -1, -1):
            dest = w_from[:, :, s + 1:]                                       # (n, M, S - s)
            w_from[:, :, s] = p_adv[:, :, s] * np.einsum("nmj,nj->nm", dest, jt[:, s, :S - s])
        # Pseudo-deals start in discovery; those that reach a later stage are the favourable
        # ones (partner, covariates, quick stays), so each stage's figures are weighted by the
        # probability of reaching it, as P(won | deal at s) is in the data.
        reach = np.zeros((n, M, S))
        reach[:, :, 0] = 1.0
        for s in range(1, S):
            for s0 in range(s):
                reach[:, :, s] += reach[:, :, s0] * p_adv[:, :, s0] * jt[:, None, s0, s - s0 - 1]
        # Simulated paths (destinations drawn from the jump probabilities).
        u_dest = rng.random((n, M, S))
        cum = np.cumsum(jt, axis=2)                                           # (n, S, S)
        for s in range(S):
            win[:, t, s] = (reach[:, :, s] * w_from[:, :, s]).sum(axis=1) / np.maximum(
                reach[:, :, s].sum(axis=1), 1e-300)
            cur = np.full((n, M), s)
            total = np.zeros((n, M))
            alive = np.ones((n, M), dtype=bool)
            won = np.zeros((n, M), dtype=bool)
            for _ in range(S):
                c = np.minimum(cur, S - 1)
                total += np.where(alive, np.take_along_axis(days, c[:, :, None], axis=2)[:, :, 0], 0.0)
                adv_now = np.take_along_axis(advanced, c[:, :, None], axis=2)[:, :, 0]
                u = np.take_along_axis(u_dest, c[:, :, None], axis=2)[:, :, 0]
                cum_c = cum[np.arange(n)[:, None], c]                         # (n, M, S)
                nxt = c + 1 + (u[:, :, None] >= cum_c[:, :, :-1]).sum(axis=2)
                won |= alive & adv_now & (nxt >= S)
                alive &= adv_now & (nxt < S)
                cur = np.where(alive, nxt, cur)
            # A pseudo-deal reached s if it started in discovery and its path passed through s;
            # weight by the chance of reaching s, as for the win probability.
            keep = rng.random((n, M)) < reach[:, :, s]
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a draw where none reached s
                close_days[:, t, s] = np.nanmedian(np.where(keep, total, np.nan), axis=1)
                win_days[:, t, s] = np.nanmedian(np.where(keep & won, total, np.nan), axis=1)
    return win, close_days, win_days


def conversion_curves(fits: FittedModels, export: Export, settings: Settings, seed: int = 0
                      ) -> pd.DataFrame:
    """Learned ``P(won | stage)`` per partner type beside the seed table, with days to close.

    The curve averages over the variety of deals of each type: pseudo-deals start in
    discovery with a partner effect drawn from its population, covariates resampled from the
    type's deals, time in each stage drawn from the timing model (feeding the duration slope)
    and a fresh quarter shock per exit; a stage's figures are averaged over the pseudo-deals
    weighted by their probability of reaching it (deals that get further are the favourable
    ones, as in the data).

    Parameters
    ----------
    fits : FittedModels
        Conversion and timing fits.
    export : Export
        Supplies the covariate mix of each type's deals.
    settings : Settings
        Supplies the seed conversion table (DOMAIN.md section 3).
    seed : int
        Seeds the Monte Carlo average.

    Returns
    -------
    pandas.DataFrame
        partner_type, stage, p_won (posterior mean, 0-1), p10, p90, seed_table,
        median_days_to_close (from entering the stage, won or lost), median_days_to_win
        (paths that win).
    """
    rng = np.random.default_rng(seed)
    win, close_days, win_days = _curve_draws(fits, export, settings, rng)
    rows = []
    for t, name in enumerate(fits.conversion.spec.coords["partner_type"]):
        for s, stage in enumerate(OPEN_STAGES):
            w = win[:, t, s]
            with np.errstate(all="ignore"):
                rows.append({
                    "partner_type": name, "stage": stage, "p_won": float(w.mean()),
                    "p10": float(np.quantile(w, 0.1)), "p90": float(np.quantile(w, 0.9)),
                    "seed_table": settings.conversion_probability(name, stage),
                    "median_days_to_close": float(np.nanmedian(close_days[:, t, s])),
                    "median_days_to_win": float(np.nanmedian(win_days[:, t, s])),
                })
    return pd.DataFrame(rows)


__all__ = ["posterior_activation", "new_partner_activation", "conversion_curves", "TINY_POOL"]
