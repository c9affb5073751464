"""Phase 3 of the sample generator: opportunities created by active sellers, and their attributes.

Productivity: ``opportunities_pq ~ NegBinomial(mean = active_pq * rate_p, alpha = opp_alpha)``
(variance ``mu + mu^2 / alpha``), ``log rate_p = prod_intercept + prod_type[type] +
prod_partner[p]``. Each opportunity is created by one of the quarter's active sellers on a day
they are employed.

Attributes: role, motion and route by the partner type's mix; covariates
``x = (technical_validation, executive_sponsor, engagement)`` with ``engagement = min(n / 5,
1)`` (``n`` engagement activities over the deal's life); deal size ``log arr ~
StudentT(size_nu, size_intercept + size_type[type] + size_partner[p] + size_role[role],
size_sigma)`` rounded to whole currency units (ARR, per year). Profiles: ``hidden_quality``
correlates ``prod_partner`` and ``size_partner`` with a hidden quality, ``progress_flags``
moves the flags from creation to later stages, ``heavy_tails`` adds a Pareto tail to ARR.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from partner_forecast.data.sample.activation import Activation
from partner_forecast.data.sample.common import Calendar, categorical, probs, r6, uniform_day, zero_sum
from partner_forecast.data.sample.params import (
    DEAL_REGISTRATION_RATE,
    ENGAGEMENT_FULL_AT,
    ENGAGEMENT_MEAN,
    EXEC_SPONSOR_RATE,
    EXPANSION_RATE,
    INFLUENCE_PCT_RANGE,
    LEAD_RATE,
    LEAD_RESPONSE_MEDIAN_DAYS,
    LEAD_RESPONSE_SIGMA,
    MOTION_PROBS,
    PROD,
    ROLE_PROBS,
    ROUTE_PROBS,
    SIZE,
    TECH_VALIDATION_RATE,
    TYPES,
    size_params,
)
from partner_forecast.data.sample.population import Population
from partner_forecast.data.sample.profiles import ActiveProfiles, missing_share
from partner_forecast.data.schema import OPEN_STAGES, ROLES, ROUTES_TO_MARKET


@dataclass
class Opportunities:
    """Who created each opportunity (index ``i``, generation order), where and when."""

    prod_type: np.ndarray
    prod_partner: np.ndarray
    o_seller: np.ndarray
    o_q: np.ndarray  # window quarter of creation
    o_p: np.ndarray  # partner
    o_t: np.ndarray  # partner type
    created: np.ndarray  # creation day

    @property
    def n(self) -> int:
        """Number of opportunities."""
        return len(self.created)


@dataclass
class Deals:
    """Attributes of each opportunity (generation order)."""

    role: np.ndarray
    motion: np.ndarray
    route: np.ndarray
    is_marketplace: np.ndarray
    expansion: np.ndarray
    tv: np.ndarray  # technical_validation at creation
    es: np.ndarray  # executive_sponsor at creation
    n_eng: np.ndarray
    engagement: np.ndarray
    pct: np.ndarray
    pct_known: np.ndarray
    has_reg: np.ndarray
    has_lead: np.ndarray
    response: np.ndarray
    lead_day: np.ndarray
    contact_known: np.ndarray
    size_intercept: float
    size_type: np.ndarray
    size_role: np.ndarray
    size_partner: np.ndarray
    arr: np.ndarray  # ARR, currency per year
    # progress_flags: set on entering stage index *_stage (or later) when *_set; else None
    tv_set: np.ndarray | None = None
    es_set: np.ndarray | None = None
    tv_stage: int = 0
    es_stage: int = 0


def blend_quality(own: np.ndarray, sigma: float, quality: np.ndarray | None, weight: float
                  ) -> np.ndarray:
    """A partner effect correlated with the hidden quality (``hidden_quality`` profile).

    ``sqrt(1 - weight) * own + sqrt(weight) * sigma * quality``: the same spread as ``own``
    (``~ Normal(0, sigma)``), correlation ``weight`` between effects blended with one quality.
    Without a quality, ``own`` unchanged.
    """
    if quality is None:
        return own
    return r6(math.sqrt(1 - weight) * own + math.sqrt(weight) * sigma * quality)


def draw_opportunities(r: np.random.Generator, pop: Population, act: Activation, cal: Calendar,
                       quality: np.ndarray | None, weight: float) -> Opportunities:
    """Opportunity counts per partner-quarter, their sellers and creation days."""
    P, Q = pop.partners, cal.quarters
    prod_type = zero_sum(PROD["prod_type"], TYPES)
    prod_partner = r6(r.normal(0, PROD["prod_partner_sigma"], P))
    prod_partner = blend_quality(prod_partner, PROD["prod_partner_sigma"], quality, weight)
    rate = np.exp(PROD["prod_intercept"] + prod_type[pop.ptype] + prod_partner)
    mu = act.active * rate[:, None]
    alpha = PROD["opp_alpha"]
    lam = r.gamma(alpha, 1.0, size=(P, Q)) * mu / alpha
    n_opp = r.poisson(lam).reshape(-1)
    og = np.repeat(np.arange(P * Q), n_opp)
    k = act.active.reshape(-1)[og]
    pick = act.g_start[og] + np.floor(r.random(len(og)) * k).astype(np.int64)
    o_row = act.by_group[pick]
    o_seller = act.row_s[o_row]
    o_p = pop.sp[o_seller]
    created = uniform_day(r, act.row_lo[o_row], act.row_hi[o_row])
    return Opportunities(prod_type=prod_type, prod_partner=prod_partner, o_seller=o_seller,
                         o_q=act.row_q[o_row], o_p=o_p, o_t=pop.ptype[o_p], created=created)


def draw_deals(r: np.random.Generator, opps: Opportunities, partners: int,
               prof: ActiveProfiles, quality: np.ndarray | None, weight: float) -> Deals:
    """Role, motion, route, covariates, lead and registration data and ARR of each deal."""
    N, o_t, o_p = opps.n, opps.o_t, opps.o_p
    role = categorical(r, probs(ROLE_PROBS, TYPES), o_t)
    motion = categorical(r, probs(MOTION_PROBS, TYPES), o_t)
    route = categorical(r, probs(ROUTE_PROBS, TYPES), o_t)
    is_marketplace = route == ROUTES_TO_MARKET.index("marketplace")
    expansion = r.random(N) < EXPANSION_RATE
    tv = r.random(N) < np.array([TECH_VALIDATION_RATE[t] for t in TYPES])[o_t]
    es = r.random(N) < np.array([EXEC_SPONSOR_RATE[t] for t in TYPES])[o_t]
    n_eng = r.poisson(np.array([ENGAGEMENT_MEAN[t] for t in TYPES])[o_t])
    engagement = np.minimum(n_eng / ENGAGEMENT_FULL_AT, 1.0)
    influenced = role == ROLES.index("influenced")
    pct = r.integers(INFLUENCE_PCT_RANGE[0], INFLUENCE_PCT_RANGE[1] + 1, N)
    pct_known = influenced & (r.random(N) >= missing_share(prof, "influence_pct"))
    has_reg = r.random(N) < np.array([DEAL_REGISTRATION_RATE[x] for x in ROLES])[role]
    has_lead = r.random(N) < np.array([LEAD_RATE[x] for x in ROLES])[role]
    response = np.maximum(np.rint(np.exp(r.normal(math.log(LEAD_RESPONSE_MEDIAN_DAYS),
                                                   LEAD_RESPONSE_SIGMA, N))), 0).astype(np.int64)
    lead_gap = r.integers(0, 5, N)
    lead_day = opps.created - response - lead_gap
    contact_known = has_lead & (r.random(N) >= missing_share(prof, "first_contact_on"))
    size_intercept, size_type, size_role = size_params()
    size_partner = r6(r.normal(0, SIZE["size_partner_sigma"], partners))
    size_partner = blend_quality(size_partner, SIZE["size_partner_sigma"], quality, weight)
    log_arr = (size_intercept + size_type[o_t] + size_partner[o_p] + size_role[role]
               + SIZE["size_sigma"] * r.standard_t(SIZE["size_nu"], N))
    arr = np.maximum(np.rint(np.exp(log_arr)), 1.0)
    if "heavy_tails" in prof:
        arr = _pareto_tail(prof.rng("heavy_tails"), arr, prof.params("heavy_tails"))
    deals = Deals(role=role, motion=motion, route=route, is_marketplace=is_marketplace,
                  expansion=expansion, tv=tv, es=es, n_eng=n_eng, engagement=engagement,
                  pct=pct, pct_known=pct_known, has_reg=has_reg, has_lead=has_lead,
                  response=response, lead_day=lead_day, contact_known=contact_known,
                  size_intercept=size_intercept, size_type=size_type, size_role=size_role,
                  size_partner=size_partner, arr=arr)
    if "progress_flags" in prof:
        _progress_flags(prof.rng("progress_flags"), deals, prof.params("progress_flags"))
    return deals


def _pareto_tail(r: np.random.Generator, arr: np.ndarray, p: Mapping[str, Any]) -> np.ndarray:
    """ARR with a share of deals multiplied by ``min(1 + Lomax(alpha), cap)``."""
    tail = r.random(len(arr)) < p["tail_share"]
    mult = np.minimum(1.0 + r.pareto(p["tail_alpha"], len(arr)), p["tail_cap"])
    return np.where(tail, np.rint(arr * mult), arr)


def _progress_flags(r: np.random.Generator, deals: Deals, p: Mapping[str, Any]) -> None:
    """Creation values and "set later" draws of both flags (``progress_flags`` profile)."""
    n = len(deals.tv)
    tvp, esp = p["technical_validation"], p["executive_sponsor"]
    deals.tv = r.random(n) < tvp["at_creation"]
    deals.es = r.random(n) < esp["at_creation"]
    deals.tv_set = r.random(n) < tvp["rate"]
    deals.es_set = r.random(n) < esp["rate"]
    deals.tv_stage = OPEN_STAGES.index(tvp["set_on_entering"])
    deals.es_stage = OPEN_STAGES.index(esp["set_on_entering"])
