"""Phase 1 of the sample generator: partner companies and their sellers.

Partners get a type, tier and region; ~60% are onboarded before the window start, the rest
through the window; a few are offboarded (their sellers all leave on or before that day).
Each partner starts with a seller pool (lognormal around a median by tier x type, 5-150),
then hires ``~ Poisson(seller_hire_rate x initial pool)`` per quarter; tenures are
exponential (``seller_attrition_rate`` per quarter) and ``left`` is the last day employed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from partner_forecast.data.sample.common import (
    FAR,
    Calendar,
    allocate,
    categorical,
    probs,
    uniform_day,
)
from partner_forecast.data.sample.params import (
    DAYS_PER_QUARTER,
    ONBOARDED_BEFORE_MAX_YEARS,
    POOL_MAX,
    POOL_MEDIAN_BY_TIER,
    POOL_MIN,
    POOL_MULT_BY_TYPE,
    POOL_SIGMA,
    REGION_MIX,
    SELLER_ATTRITION_RATE,
    SELLER_HIRE_RATE,
    SHARE_OFFBOARDED,
    SHARE_ONBOARDED_BEFORE,
    TIER_MIX,
    TIERS,
    TYPE_MIX,
    TYPES,
)


@dataclass
class Population:
    """Partners (index ``p``) and sellers (index ``s``); days relative to the window start."""

    ptype: np.ndarray  # type index per partner
    ptier: np.ndarray  # tier index per partner
    pregion: np.ndarray  # index into ``regions`` per partner
    regions: tuple[str, ...]
    onb: np.ndarray  # onboarding day per partner
    off: np.ndarray  # offboarding day per partner (FAR if none)
    is_new: np.ndarray  # onboarded inside the window
    sp: np.ndarray  # partner of each seller
    joined: np.ndarray  # first day employed per seller
    left: np.ndarray  # last day employed per seller (FAR if still employed)

    @property
    def partners(self) -> int:
        """Number of partners."""
        return len(self.ptype)

    @property
    def sellers(self) -> int:
        """Number of sellers."""
        return len(self.sp)


def draw_partners(r: np.random.Generator, cal: Calendar, partners: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Type, tier, region, onboarding and offboarding days, and "new" flag per partner."""
    E = cal.export_day
    P = partners
    ptype = r.permutation(np.repeat(np.arange(len(TYPES)), allocate(P, probs(TYPE_MIX, TYPES))))
    ptier = categorical(r, probs(TIER_MIX, TIERS), size=P)
    regions = tuple(REGION_MIX)
    pregion = categorical(r, probs(REGION_MIX, regions), size=P)
    n_new = int(round((1 - SHARE_ONBOARDED_BEFORE) * P))
    is_new = np.zeros(P, dtype=bool)
    is_new[r.permutation(P)[:n_new]] = True
    before_span = int(ONBOARDED_BEFORE_MAX_YEARS * 365)
    onb = np.where(is_new,
                   np.floor(r.random(P) * max(E - 30, 1)).astype(np.int64),
                   -1 - np.floor(r.random(P) * before_span).astype(np.int64))
    eligible = np.flatnonzero(onb < E - 180)
    n_off = min(int(round(SHARE_OFFBOARDED * P)), len(eligible))
    off = np.full(P, FAR, dtype=np.int64)
    chosen = r.permutation(eligible)[:n_off]
    lo = np.maximum(onb[chosen] + 90, 0)
    off[chosen] = uniform_day(r, lo, np.full(n_off, E - 1))
    return ptype, ptier, pregion, onb, off, is_new


def draw_population(r_partners: np.random.Generator, r_sellers: np.random.Generator,
                    cal: Calendar, partners: int) -> Population:
    """Partners, then the sellers employed by them at any time up to the export date."""
    ptype, ptier, pregion, onb, off, is_new = draw_partners(r_partners, cal, partners)
    r = r_sellers
    E = cal.export_day
    Q = cal.quarters
    P = partners
    median = (np.array([POOL_MEDIAN_BY_TIER[t] for t in TIERS])[ptier]
              * np.array([POOL_MULT_BY_TYPE[t] for t in TYPES])[ptype])
    pool0 = np.clip(np.rint(median * np.exp(r.normal(0, POOL_SIGMA, P))), POOL_MIN, POOL_MAX
                    ).astype(np.int64)
    mean_tenure_days = DAYS_PER_QUARTER / SELLER_ATTRITION_RATE
    # initial sellers
    sp = np.repeat(np.arange(P), pool0)
    n0 = len(sp)
    join_lo = np.maximum(onb[sp], -3 * 365)
    joined_old = uniform_day(r, join_lo, np.full(n0, -1))
    joined_new = onb[sp] + np.floor(r.random(n0) * 31).astype(np.int64)
    joined = np.where(is_new[sp], joined_new, joined_old)
    tenure = np.floor(r.exponential(mean_tenure_days, n0)).astype(np.int64)
    left = np.where(is_new[sp], joined + tenure, tenure)  # old partners: memoryless from day 0
    # hires per partner and window quarter
    hires = r.poisson(SELLER_HIRE_RATE * np.repeat(pool0, Q))
    hp = np.repeat(np.repeat(np.arange(P), Q), hires)
    hq = np.repeat(np.tile(np.arange(Q), P), hires)
    h_lo = np.maximum(cal.bounds[hq], onb[hp] + 1)
    h_hi = np.minimum(np.minimum(cal.bounds[hq + 1] - 1, off[hp] - 1), E - 1)
    h_join = uniform_day(r, h_lo, h_hi)
    h_left = h_join + np.floor(r.exponential(mean_tenure_days, len(hp))).astype(np.int64)
    keep_h = h_lo <= h_hi
    sp = np.concatenate([sp, hp[keep_h]])
    joined = np.concatenate([joined, h_join[keep_h]])
    left = np.concatenate([left, h_left[keep_h]])
    keep = (joined < E) & (joined < off[sp])
    sp, joined, left = sp[keep], joined[keep], left[keep]
    left = np.minimum(left, off[sp])
    left = np.where(left >= E, FAR, left)
    order = np.lexsort((joined, sp))
    return Population(ptype=ptype, ptier=ptier, pregion=pregion, regions=tuple(REGION_MIX),
                      onb=onb, off=off, is_new=is_new, sp=sp[order], joined=joined[order],
                      left=left[order])
