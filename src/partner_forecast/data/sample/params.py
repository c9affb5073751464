"""The fixed true parameters of the sample generator (the default, in-family process).

Label-keyed tables; effects by label sum to zero once centred. Rates are per quarter, durations
in days, ARR in currency per year. Profiles (:mod:`.profiles`) change some of them or the forms
they enter; what they change is recorded in ``truth.json``.
"""

from __future__ import annotations

import functools
import math
from typing import TypedDict

import numpy as np

from partner_forecast.config import load_settings
from partner_forecast.data.sample.common import r6, sigmoid, zero_sum
from partner_forecast.data.schema import (
    COVARIATES,
    DURATION_SCALE_DAYS,
    OPEN_STAGES,
    ROLES,
    PartnerType,
    Tier,
)

GENERATOR_VERSION = 1
TYPES: tuple[str, ...] = tuple(t.value for t in PartnerType)
TIERS: tuple[str, ...] = tuple(t.value for t in Tier)
_DEFAULTS = load_settings()  # the packaged default.toml: what a forecast of the sample reads
ENGAGEMENT_FULL_AT = _DEFAULTS.confidence.engagement_full_at  # engagement = min(n / 5, 1)
DAYS_PER_QUARTER = 365.25 / 4
CALIBRATION_SEED = 20261123  # fixed population on which conv_logit is calibrated



# -- shapes of the model-parameter tables (each holds scalars and label-keyed effects) ---------
class ActParams(TypedDict):
    """Activation: logit intercept, effects by type and tier, sds, ramp and trend (per quarter)."""

    act_intercept: float
    act_type: dict[str, float]
    act_tier: dict[str, float]
    act_partner_sigma: float
    act_ramp: float
    act_trend: float
    act_noise_sigma: float


class ProdParams(TypedDict):
    """Productivity: log opportunities per active seller-quarter, effects, NegBinomial alpha."""

    prod_intercept: float
    prod_type: dict[str, float]
    prod_partner_sigma: float
    opp_alpha: float


class ConvParams(TypedDict):
    """Conversion: partner sd, covariate and duration slopes, quarter-shock sd (logit scale)."""

    conv_partner_sigma: float
    conv_beta: dict[str, float]
    conv_duration: dict[str, float]
    conv_shock_sigma: float


class SizeParams(TypedDict):
    """Deal size: role effects, partner sd, residual sd and StudentT dof of log ARR."""

    size_role: dict[str, float]
    size_partner_sigma: float
    size_sigma: float
    size_nu: float


# -- fixed parameters (the truth); label-keyed, effects by label sum to zero ------------------
TYPE_MIX = {"msp": .25, "reseller": .28, "distributor": .06, "si": .12, "gsi": .05,
            "tech_alliance": .14, "marketplace": .10}
TIER_MIX = {"strategic": .12, "growth": .33, "transactional": .55}
REGION_MIX = {"NA": .45, "EMEA": .30, "APAC": .17, "LATAM": .08}
SHARE_ONBOARDED_BEFORE = 0.6
SHARE_OFFBOARDED = 0.04
ONBOARDED_BEFORE_MAX_YEARS = 4.0

POOL_MEDIAN_BY_TIER = {"strategic": 62.0, "growth": 28.0, "transactional": 12.0}
POOL_MULT_BY_TYPE = {"msp": .7, "reseller": 1.0, "distributor": 1.6, "si": 1.1, "gsi": 2.0,
                     "tech_alliance": .6, "marketplace": .5}
POOL_SIGMA = 0.45
POOL_MIN, POOL_MAX = 5, 150
SELLER_HIRE_RATE = 0.05  # hires per quarter as a share of the initial pool
SELLER_ATTRITION_RATE = 0.045  # exponential leaving hazard per quarter
SELLER_ROLES = {"Account Executive": .35, "Inside Sales Representative": .2,
                "Sales Engineer": .15, "Partner Sales Manager": .1, "Solutions Architect": .1,
                "Sales Director": .1}

ACT: ActParams = {
    "act_intercept": -1.6,
    "act_type": {"msp": .2, "reseller": .3, "distributor": -.4, "si": 0.0, "gsi": -.3,
                 "tech_alliance": -.2, "marketplace": .4},
    "act_tier": {"strategic": .4, "growth": 0.0, "transactional": -.4},
    "act_partner_sigma": 0.5,
    "act_ramp": -1.2,
    "act_trend": 0.03,
    "act_noise_sigma": 0.25,
}
PROD: ProdParams = {
    "prod_intercept": round(math.log(2.0), 6),
    "prod_type": {"msp": .1, "reseller": .25, "distributor": .3, "si": -.2, "gsi": -.35,
                  "tech_alliance": -.25, "marketplace": .15},
    "prod_partner_sigma": 0.3,
    "opp_alpha": 8.0,
}
# Probability that a deal at this stage ends won (DOMAIN.md section 3's table; the types it
# lacks are set near it). Stage-wise advance targets are ratios of consecutive entries.
WIN_FROM_STAGE = {
    "msp": (.10, .25, .45, .70),
    "reseller": (.15, .30, .50, .75),
    "distributor": (.13, .27, .47, .72),
    "si": (.08, .20, .40, .65),
    "gsi": (.08, .20, .40, .65),
    "tech_alliance": (.09, .22, .42, .68),
    "marketplace": (.18, .34, .52, .76),
}
CONV: ConvParams = {
    "conv_partner_sigma": 0.35,
    "conv_beta": {"technical_validation": 0.5, "executive_sponsor": 0.4, "engagement": 0.8},
    "conv_duration": {"discovery": -.3, "qualified": -.3, "proposal": -.4, "negotiation": -.5},
    "conv_shock_sigma": 0.15,
}
STAGE_MEDIAN_DAYS = (18.0, 28.0, 32.0, 21.0)
TIME_MULT_BY_TYPE = {"msp": 1.0, "reseller": .9, "distributor": .8, "si": 1.4, "gsi": 1.7,
                     "tech_alliance": 1.3, "marketplace": .6}
STAGE_TIME_SIGMA = (.7, .65, .6, .55)
TIME_SIGMA_EXTRA = {"si": .1, "gsi": .1}
DEAL_MEDIAN_BY_TYPE = {"msp": 25_000.0, "reseller": 12_000.0, "distributor": 6_000.0,
                       "si": 70_000.0, "gsi": 140_000.0, "tech_alliance": 40_000.0,
                       "marketplace": 15_000.0}
SIZE: SizeParams = {
    "size_role": {"sourced": -.05, "co_sell": .15, "influenced": .1, "fulfillment": -.2},
    "size_partner_sigma": 0.35,
    "size_sigma": 0.5,
    "size_nu": 10.0,
}
# Deal mix by partner type.
ROLE_PROBS = {
    "msp": (.60, .15, .15, .10), "reseller": (.70, .10, .10, .10),
    "distributor": (.30, .05, .05, .60), "si": (.20, .40, .35, .05),
    "gsi": (.15, .45, .40, .00), "tech_alliance": (.25, .35, .40, .00),
    "marketplace": (.35, .05, .05, .55),
}  # order: ROLES (sourced, co_sell, influenced, fulfillment)
MOTION_PROBS = {
    "msp": (.10, .15, .75, .00), "reseller": (.85, .15, .00, .00),
    "distributor": (.95, .05, .00, .00), "si": (.10, .80, .05, .05),
    "gsi": (.05, .85, .05, .05), "tech_alliance": (.00, .35, .00, .65),
    "marketplace": (.90, .10, .00, .00),
}  # order: REVENUE_MOTIONS (resell, referral, managed_service, embedded_tech)
ROUTE_PROBS = {
    "msp": (.40, .55, .05), "reseller": (.05, .85, .10), "distributor": (.00, .90, .10),
    "si": (.90, .05, .05), "gsi": (.90, .05, .05), "tech_alliance": (.80, .00, .20),
    "marketplace": (.00, .10, .90),
}  # order: ROUTES_TO_MARKET (partner_assist, partner_resale, marketplace)
TECH_VALIDATION_RATE = {"msp": .45, "reseller": .35, "distributor": .25, "si": .55, "gsi": .6,
                        "tech_alliance": .6, "marketplace": .2}
EXEC_SPONSOR_RATE = {"msp": .35, "reseller": .3, "distributor": .2, "si": .45, "gsi": .55,
                     "tech_alliance": .35, "marketplace": .15}
ENGAGEMENT_MEAN = {"msp": 3.0, "reseller": 2.5, "distributor": 1.5, "si": 3.5, "gsi": 4.0,
                   "tech_alliance": 3.0, "marketplace": 1.2}  # engagement activities per deal
EXPANSION_RATE = 0.17
DEAL_REGISTRATION_RATE = {"sourced": .9, "co_sell": .7, "influenced": .4, "fulfillment": .6}
INFLUENCE_PCT_RANGE = (20, 30)
LEAD_RATE = {"sourced": .92, "co_sell": .6, "influenced": .3, "fulfillment": .1}
LEAD_RESPONSE_MEDIAN_DAYS = 3.0
LEAD_RESPONSE_SIGMA = 0.6
ATTRIBUTION = {r: _DEFAULTS.attribution.weight(r) for r in ROLES}  # the default [attribution]
# Activity volumes.
SELLING_EXTRA_MEAN = 0.8  # base selling activities per active seller-quarter: 1 + Poisson(0.8)
SELLING_BASE_TYPES = {"vendor_lead_accepted": .3, "pitch": .45, "co_sell_meeting": .25}
LEARNING_SHARE = {"active": .8, "inactive": .45}  # seller-quarters with learning activities
LEARNING_EXTRA_MEAN = 1.0
LEARNING_TYPES = {"portal_login": .35, "content_download": .25, "training": .15,
                  "enablement_session": .15, "certification": .10}
# Missingness of optional fields (the data-quality audit's material; no model covariate).
MISSING = {"region": .03, "seller_name": .01, "seller_role": .05, "referring_seller_id": .04,
           "influence_pct": .15, "revenue_motion": .03, "route_to_market": .02,
           "marketplace": .02, "first_contact_on": .12}

FORMS = {
    "activation": "logit theta_pq = act_intercept + act_type[type] + act_tier[tier] + "
                  "act_partner[p] + act_ramp * exp(-tenure_q / 2) + act_trend * (q_index - "
                  "q_center) + act_noise[p][q]; active_pq ~ Binomial(pool_pq, theta_pq). "
                  "q_index: 0 for the first window quarter; q_center = (quarters - 1) / 2; "
                  "tenure_q: whole quarters since the onboarding quarter (0 in it).",
    "productivity": "opportunities_pq ~ NegBinomial(mu = active_pq * exp(prod_intercept + "
                    "prod_type[type] + prod_partner[p]), alpha = opp_alpha), var = mu + mu^2/alpha",
    "timing": "days in open stage s: d = max(1, round(exp(Normal(time_mu[type][s], "
              "time_sigma[type][s]))))",
    "conversion": "P(advance | leave s) = sigmoid(conv_logit[type][s] + conv_partner[p] + "
                  "conv_beta . x + conv_duration[s] * log(d / 30) + conv_shock[quarter of exit "
                  "day]); x = (technical_validation, executive_sponsor, min(n_engagement / 5, 1)); "
                  "advancing from negotiation = won, else lost",
    "deal_size": "log arr ~ StudentT(size_nu, size_intercept + size_type[type] + size_partner[p] "
                 "+ size_role[role], size_sigma)",
    "attribution": "sourced 1, co_sell 0.5, influenced influence_pct/100 (0.25 if blank), "
                   "fulfillment 0",
}



# -- derived parameters -------------------------------------------------------------------------
@functools.cache
def conversion_logits(duration_link: bool = True) -> np.ndarray:
    """``conv_logit[type, stage]`` calibrated to :data:`WIN_FROM_STAGE`.

    Chosen so that, averaged over the other terms of the advance logit (partner effect,
    covariates at their type's rates, stay durations, quarter shocks), a deal of each type that
    reaches stage ``s`` is won with probability ``WIN_FROM_STAGE[type][s]``: the stage-wise
    advance rate among deals reaching ``s`` is ``P(won | s) / P(won | s + 1)``. Deals that
    reach later stages are selected for favourable terms, so this is solved numerically on a
    fixed calibration population (a constant of the code, not of the seed).

    Parameters
    ----------
    duration_link
        Whether the advance logit has the duration term ``conv_duration[s] * log(d / 30)``
        (the default process); profiles whose time in stage says nothing about the outcome
        calibrate without it.

    Returns
    -------
    numpy.ndarray
        Shape (types, open stages), in :data:`TYPES` x :data:`OPEN_STAGES` order.

    """
    rng = np.random.default_rng(CALIBRATION_SEED)
    n = 40_000
    beta = np.array([CONV["conv_beta"][c] for c in COVARIATES])
    dur = np.array([CONV["conv_duration"][s] if duration_link else 0.0 for s in OPEN_STAGES])
    time_mu, time_sigma = time_params()
    out = np.zeros((len(TYPES), len(OPEN_STAGES)))
    for i, t in enumerate(TYPES):
        win = np.array(WIN_FROM_STAGE[t] + (1.0,))
        target = win[:-1] / win[1:]
        x = np.stack([rng.random(n) < TECH_VALIDATION_RATE[t], rng.random(n) < EXEC_SPONSOR_RATE[t],
                      np.minimum(rng.poisson(ENGAGEMENT_MEAN[t], n) / ENGAGEMENT_FULL_AT, 1.0)],
                     axis=1).astype(float)
        other = (x @ beta + rng.normal(0, CONV["conv_partner_sigma"], n))[:, None] + (
            rng.normal(0, CONV["conv_shock_sigma"], (n, len(OPEN_STAGES)))
            + dur * np.log(np.maximum(np.rint(np.exp(rng.normal(time_mu[i], time_sigma[i],
                                                                    (n, len(OPEN_STAGES))))), 1.0)
                           / DURATION_SCALE_DAYS))
        logit = np.log(target / (1 - target)) - other.mean(axis=0)
        for _ in range(8):
            p = sigmoid(logit + other)
            reach = np.cumprod(np.column_stack([np.ones(n), p[:, :-1]]), axis=1)
            rate = (reach * p).sum(axis=0) / reach.sum(axis=0)
            logit += np.log(target / (1 - target)) - np.log(rate / (1 - rate))
        out[i] = logit
    return r6(out)


def time_params() -> tuple[np.ndarray, np.ndarray]:
    """``time_mu`` (log median days) and ``time_sigma`` (sd of log days) by type x open stage."""
    mu = np.log(np.array(STAGE_MEDIAN_DAYS)[None, :]
                * np.array([TIME_MULT_BY_TYPE[t] for t in TYPES])[:, None])
    sigma = (np.array(STAGE_TIME_SIGMA)[None, :]
             + np.array([TIME_SIGMA_EXTRA.get(t, 0.0) for t in TYPES])[:, None])
    return r6(mu), r6(sigma)


def size_params() -> tuple[float, np.ndarray, np.ndarray]:
    """``size_intercept``, ``size_type`` (by type) and ``size_role`` (by role) of log ARR."""
    logs = np.log(np.array([DEAL_MEDIAN_BY_TYPE[t] for t in TYPES]))
    intercept = float(np.round(logs.mean(), 6))
    return intercept, r6(logs - logs.mean()), zero_sum(SIZE["size_role"], ROLES)

