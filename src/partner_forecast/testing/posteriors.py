"""Fabricated posteriors (:class:`SimulationInputs`) with known answers, for the engine's tests.

- :func:`degenerate_inputs`: a posterior with no uncertainty left in it but the counting noise
  of the simulation itself, e.g. DOMAIN.md's 100-seller example (pool 100, ASR 15%, 4
  opportunities per active seller, 20% won from discovery, ARR 4,200, sourced: 50,400 ARR a
  quarter in expectation).
- :func:`open_deals_frame`: an ``open_deals`` table from a few broadcastable columns.
- :func:`random_inputs`: small (or, for benchmarks, large) random but plausible posteriors.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.data.schema import COVARIATES, OPEN_DEAL_COLUMNS, OPEN_STAGES, ROLES
from partner_forecast.simulate.inputs import SimulationInputs

DEFAULT_ROLE_WEIGHTS: dict[str, float] = {"sourced": 1.0, "co_sell": 0.5, "influenced": 0.25,
                                          "fulfillment": 0.0}
TYPES: tuple[str, ...] = ("reseller", "msp", "gsi", "si", "distributor", "tech_alliance", "marketplace")
TIERS: tuple[str, ...] = ("strategic", "growth", "transactional")


def logit(p: npt.ArrayLike) -> np.ndarray:
    """Log-odds of probabilities ``p``."""
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.log(p) - np.log1p(-p)


def _quarters(quarters: Sequence[str | Quarter]) -> tuple[Quarter, ...]:
    return tuple(q if isinstance(q, Quarter) else Quarter.parse(q) for q in quarters)


def _index(values: npt.ArrayLike, labels: Sequence[str]) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=object))
    return np.array([labels.index(v) if isinstance(v, str) else int(v) for v in arr], dtype=np.int64)


def open_deals_frame(*, partner: npt.ArrayLike = 0, stage: npt.ArrayLike = "discovery",
                     days_in_stage: npt.ArrayLike = 0.0, arr: npt.ArrayLike = 10_000.0,
                     role: npt.ArrayLike = "sourced", attribution: npt.ArrayLike | None = None,
                     technical_validation: npt.ArrayLike = 0.0, executive_sponsor: npt.ArrayLike = 0.0,
                     engagement: npt.ArrayLike = 0.0, marketplace: npt.ArrayLike = False,
                     is_expansion: npt.ArrayLike = False, commit_factor: npt.ArrayLike = 1.0,
                     confidence_score: npt.ArrayLike = 80.0, influence_share: float = 0.25,
                     opportunity_id: Sequence[str] | None = None, n: int | None = None) -> pd.DataFrame:
    """An ``open_deals`` table (columns ``OPEN_DEAL_COLUMNS``) from broadcastable columns.

    Parameters
    ----------
    partner : int or array
        Index into ``partner_ids``.
    stage, role : str, int or array
        Labels (``"proposal"``, ``"co_sell"``) or indices into OPEN_STAGES / ROLES.
    days_in_stage : float or array
        Days already spent in the current stage.
    arr : float or array
        Deal ARR (currency per year).
    attribution : float or array, optional
        Attributed share; by default from the role (sourced 1, co-sell .5, influenced
        ``influence_share``, fulfillment 0).
    technical_validation, executive_sponsor, engagement : float or array
        Deal covariates in [0, 1].
    marketplace, is_expansion : bool or array
        Deal flags.
    commit_factor : float or array
        Share of the deal counted as committed (1, 0.75 or 0).
    confidence_score : float or array
        Deal confidence score 0-100 (informative only).
    influence_share : float
        Attribution of influenced deals when ``attribution`` is not given.
    opportunity_id : sequence of str, optional
        Deal ids (default ``o000000``, ``o000001``, ...).
    n : int, optional
        Number of deals (default: the longest array given).

    Returns
    -------
    pandas.DataFrame
    """
    stage_idx = _index(stage, OPEN_STAGES)
    role_idx = _index(role, ROLES)
    cols: dict[str, np.ndarray] = {
        "partner": np.atleast_1d(np.asarray(partner, dtype=np.int64)),
        "stage": stage_idx, "days_in_stage": np.atleast_1d(np.asarray(days_in_stage, dtype=float)),
        "arr": np.atleast_1d(np.asarray(arr, dtype=float)), "role": role_idx,
        "technical_validation": np.atleast_1d(np.asarray(technical_validation, dtype=float)),
        "executive_sponsor": np.atleast_1d(np.asarray(executive_sponsor, dtype=float)),
        "engagement": np.atleast_1d(np.asarray(engagement, dtype=float)),
        "marketplace": np.atleast_1d(np.asarray(marketplace, dtype=bool)),
        "is_expansion": np.atleast_1d(np.asarray(is_expansion, dtype=bool)),
        "commit_factor": np.atleast_1d(np.asarray(commit_factor, dtype=float)),
        "confidence_score": np.atleast_1d(np.asarray(confidence_score, dtype=float)),
    }
    if attribution is not None:
        cols["attribution"] = np.atleast_1d(np.asarray(attribution, dtype=float))
    size = n if n is not None else max(len(v) for v in cols.values())
    cols = {k: np.broadcast_to(v, (size,)).copy() for k, v in cols.items()}
    if attribution is None:
        weights = np.array([DEFAULT_ROLE_WEIGHTS[r] if r != "influenced" else influence_share
                            for r in ROLES])
        cols["attribution"] = weights[cols["role"]]
    ids = list(opportunity_id) if opportunity_id is not None else [f"o{i:06d}" for i in range(size)]
    frame = pd.DataFrame({"opportunity_id": pd.Series(ids, dtype="str"), **cols})
    return frame[list(OPEN_DEAL_COLUMNS)]


def empty_open_deals() -> pd.DataFrame:
    """An ``open_deals`` table with no rows."""
    return open_deals_frame(n=0)


def degenerate_inputs(*, n_draws: int = 4000, pool: int = 100, asr: float = 0.15,
                      opp_per_active: float = 4.0, p_win: float = 0.2, arr: float = 4200.0,
                      role: str = "sourced", role_probs: npt.ArrayLike | None = None,
                      partner_type: str = "reseller", tier: str = "growth", n_partners: int = 1,
                      quarters: Sequence[str | Quarter] = ("2026Q4",), as_of: str | None = None,
                      stage_advance: npt.ArrayLike | None = None, duration_days: float = 0.01,
                      time_sigma: float = 1e-3, influence_share: float = 0.25,
                      marketplace_rate: float = 0.0, expansion_rate: float = 0.0,
                      open_deals: pd.DataFrame | None = None) -> SimulationInputs:
    """A posterior whose every draw is the same point (DOMAIN.md section 3 example by default).

    Expected partner-attributed new ARR per quarter and partner is
    ``pool x asr x opp_per_active x p_win x arr x attribution`` (50,400 with the defaults):
    opportunities are Poisson (opp_dispersion 1e12), every stage is passed with probability
    ``p_win ** (1/4)`` (or ``stage_advance``), durations are ``duration_days`` with a tiny
    log-sd and no effect on conversion (adv_duration 0), no quarter shock, ARR is ``arr``
    exactly (size_sigma ~ 0). The default ``duration_days`` (0.01) lets deals created on a
    quarter's last day close inside it, so nothing slips.

    Parameters
    ----------
    n_draws : int
        Posterior draws D (all identical).
    pool, asr, opp_per_active : int, float, float
        Addressable sellers per partner and quarter, activation probability, opportunities
        per active seller per quarter.
    p_win : float
        P(won | discovery); each of the four stages is passed with probability p_win ** (1/4).
    arr : float
        ARR of every new deal (currency per year).
    role : str
        Role of every new deal (unless ``role_probs``).
    role_probs : array (R,), optional
        Role mix of new deals (default all ``role``).
    partner_type, tier : str
        Type and tier of every partner.
    n_partners : int
        Number of identical partners P.
    quarters : sequence of str or Quarter
        Forecast quarters.
    as_of : str, optional
        As-of date (default the first quarter's start).
    stage_advance : array (4,), optional
        P(advance | leave stage) for discovery ... negotiation; overrides ``p_win``.
    duration_days, time_sigma : float
        Median days in every stage and the log-sd of those days.
    influence_share : float
        Attribution of influenced new deals.
    marketplace_rate, expansion_rate : float
        Share of new deals that are marketplace / expansion deals.
    open_deals : pandas.DataFrame, optional
        Open pipeline (default none), e.g. from :func:`open_deals_frame`.

    Returns
    -------
    SimulationInputs
    """
    qs = _quarters(quarters)
    D, P, H, S, R, K = n_draws, n_partners, len(qs), len(OPEN_STAGES), len(ROLES), len(COVARIATES)
    types = TYPES
    T = len(types)
    adv = (np.full(S, p_win ** (1.0 / S)) if stage_advance is None
           else np.asarray(stage_advance, dtype=np.float64))
    if role_probs is None:
        rp = np.zeros(R)
        rp[ROLES.index(role)] = 1.0
    else:
        rp = np.asarray(role_probs, dtype=np.float64)
    inputs = SimulationInputs(
        partner_ids=np.array([f"p{i:03d}" for i in range(P)]),
        partner_type=np.full(P, types.index(partner_type), dtype=np.int64),
        partner_tier=np.full(P, TIERS.index(tier), dtype=np.int64),
        types=types, tiers=TIERS, quarters=qs,
        as_of=pd.Timestamp(as_of) if as_of is not None else qs[0].start,
        asr=np.full((D, P, H), asr), pool=np.full((P, H), pool, dtype=np.int64),
        opp_rate=np.full((D, P), opp_per_active), opp_dispersion=np.full(D, 1e12),
        adv_logit=np.broadcast_to(logit(adv), (D, T, S)).copy(), adv_partner=np.zeros((D, P)),
        adv_beta=np.zeros((D, K)), adv_duration=np.zeros((D, S)), shock_sigma=np.zeros(D),
        time_mu=np.full((D, T, S), np.log(duration_days)), time_sigma=np.full((D, T, S), time_sigma),
        size_mu=np.full((D, P), np.log(arr)), size_role=np.zeros((D, R)), size_sigma=np.full(D, 1e-9),
        size_nu=np.full(D, 1e9),
        role_probs=np.broadcast_to(rp, (T, R)).copy(), new_covariates=np.zeros((T, K)),
        marketplace_rate=np.full(T, marketplace_rate), expansion_rate=np.full(T, expansion_rate),
        influence_share=np.full(T, influence_share),
        open_deals=empty_open_deals() if open_deals is None else open_deals,
    )
    return inputs.check()


def random_inputs(seed: int | np.random.Generator, *, n_draws: int = 40, n_partners: int = 4,
                  n_open: int = 25, horizon: int = 2, sellers: int | None = None,
                  mid_quarter: bool | None = None, first_quarter: str = "2026Q3") -> SimulationInputs:
    """A random but plausible posterior and open pipeline.

    Parameters
    ----------
    seed : int or numpy.random.Generator
        Randomness for the fabricated values.
    n_draws, n_partners, n_open, horizon : int
        D, P, N open deals, H forecast quarters.
    sellers : int, optional
        Total addressable sellers, spread over partners with log-normal shares (default:
        about 10-60 per partner).
    mid_quarter : bool, optional
        Put as-of inside the first forecast quarter (default: random).
    first_quarter : str
        First forecast quarter.

    Returns
    -------
    SimulationInputs
        ASR ~ 5-35%, 0.5-4 opportunities per active seller, per-stage advance probabilities
        around 0.4-0.85, stage durations with medians of 5-60 days, deal sizes with medians
        of 2k-100k and Student-t tails.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    D, P, H, S, R, K = n_draws, n_partners, horizon, len(OPEN_STAGES), len(ROLES), len(COVARIATES)
    types, T = TYPES[:3], 3
    q0 = Quarter.parse(first_quarter)
    qs = tuple(q0 + h for h in range(H))
    if mid_quarter is None:
        mid_quarter = bool(rng.random() < 0.5)
    as_of = q0.start + pd.Timedelta(days=int(rng.integers(1, 80))) if mid_quarter else q0.start
    if sellers is None:
        pool_p = rng.integers(0, 60, size=P)
    else:
        share = rng.lognormal(0.0, 0.8, size=P)
        pool_p = np.floor(sellers * share / share.sum()).astype(np.int64)
    partner_asr = rng.uniform(0.05, 0.35, size=P)
    partner_rate = rng.uniform(0.5, 4.0, size=P)
    base_logit = rng.normal(0.8, 0.5, size=(T, S))
    base_tmu = np.log(rng.uniform(5.0, 60.0, size=(T, S)))
    partner_size = np.log(rng.uniform(2e3, 1e5, size=P))

    def jitter(loc: np.ndarray, sd: float) -> np.ndarray:
        return loc + rng.normal(0.0, sd, size=(D, *np.shape(loc)))

    asr = 1.0 / (1.0 + np.exp(-jitter(logit(partner_asr)[:, None].repeat(H, axis=1), 0.3)))
    inputs = SimulationInputs(
        partner_ids=np.array([f"p{i:03d}" for i in range(P)]),
        partner_type=rng.integers(0, T, size=P), partner_tier=rng.integers(0, len(TIERS), size=P),
        types=types, tiers=TIERS, quarters=qs, as_of=as_of,
        asr=asr, pool=np.repeat(pool_p[:, None], H, axis=1).astype(np.int64),
        opp_rate=np.exp(jitter(np.log(partner_rate), 0.1)),
        opp_dispersion=rng.uniform(0.5, 20.0, size=D),
        adv_logit=jitter(base_logit, 0.2), adv_partner=rng.normal(0.0, 0.3, size=(D, P)),
        adv_beta=jitter(np.array([0.4, 0.3, 0.5]), 0.1),
        adv_duration=jitter(np.full(S, -0.2), 0.1), shock_sigma=rng.uniform(0.0, 0.3, size=D),
        time_mu=jitter(base_tmu, 0.1), time_sigma=rng.uniform(0.3, 1.0, size=(D, T, S)),
        size_mu=jitter(partner_size, 0.1), size_role=jitter(np.array([0.0, 0.2, -0.1, -0.3]), 0.05),
        size_sigma=rng.uniform(0.3, 0.9, size=D), size_nu=rng.uniform(3.0, 30.0, size=D),
        role_probs=rng.dirichlet(np.ones(R), size=T), new_covariates=rng.uniform(0, 1, size=(T, K)),
        marketplace_rate=rng.uniform(0, 0.3, size=T), expansion_rate=rng.uniform(0, 0.3, size=T),
        influence_share=rng.uniform(0.2, 0.3, size=T),
        open_deals=open_deals_frame(
            partner=rng.integers(0, P, size=n_open), stage=rng.integers(0, S, size=n_open),
            days_in_stage=rng.exponential(30.0, size=n_open),
            arr=rng.lognormal(np.log(20_000.0), 1.0, size=n_open),
            role=rng.integers(0, R, size=n_open),
            technical_validation=(rng.random(n_open) < 0.4).astype(float),
            executive_sponsor=(rng.random(n_open) < 0.3).astype(float),
            engagement=rng.uniform(0, 1, size=n_open), marketplace=rng.random(n_open) < 0.1,
            is_expansion=rng.random(n_open) < 0.2,
            commit_factor=rng.choice([0.0, 0.75, 1.0], size=n_open),
            confidence_score=rng.uniform(0, 100, size=n_open), n=n_open),
    )
    return inputs.check()


__all__ = ["DEFAULT_ROLE_WEIGHTS", "degenerate_inputs", "empty_open_deals", "logit",
           "open_deals_frame", "random_inputs"]
