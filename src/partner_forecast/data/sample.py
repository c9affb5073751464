"""Synthetic CRM export with known true parameters (``partner-forecast sample``).

:func:`generate_sample` writes every file of the data contract (DESIGN.md section 2) for a
synthetic partner program, plus ``truth.json`` holding the parameters it was drawn from, so
that the models can be checked to recover them. The generative process uses the same forms
as the models (and :mod:`partner_forecast.simulate.inputs`):

Partners
    Type, tier and region; ~60% onboarded before ``start``, the rest spread through the
    window; a few offboarded (all their sellers leave on or before that day).
Sellers
    An initial pool per partner (lognormal around a median by tier x type, 5-150), then per
    quarter hires ``~ Poisson(seller_hire_rate x initial pool)`` and exponential tenures
    (``seller_attrition_rate`` per quarter). ``left_on`` is the last day employed.
Activation
    For partner ``p`` in window quarter ``q`` (``q_index`` = 0 for the first window quarter,
    ``q_center = (quarters - 1) / 2``; ``tenure_q`` = whole quarters since the onboarding
    quarter, 0 in it)::

        logit theta_pq = act_intercept + act_type[type] + act_tier[tier] + act_partner[p]
                         + act_ramp * exp(-tenure_q / 2) + act_trend * (q_index - q_center)
                         + act_noise[p][q]

    with ``act_partner ~ N(0, act_partner_sigma)`` and ``act_noise ~ N(0, act_noise_sigma)``.
    The pool is every seller employed on any day of the quarter; ``active ~ Binomial(pool,
    theta)`` sellers are drawn among them, and only they get selling activities in that quarter
    (the deal_closed of a won deal is only written when its seller is active in the close
    quarter). Learning activities go to many pool sellers, active or not.
Productivity
    ``opportunities_pq ~ NegBinomial(mean = active_pq * rate_p, alpha = opp_alpha)`` (variance
    ``mu + mu^2 / alpha``), ``log rate_p = prod_intercept + prod_type[type] + prod_partner[p]``.
    Each opportunity is created (in discovery) by one of the quarter's active sellers on a day
    they are employed, with a ``lead_converted`` activity on that day.
Deal path (semi-Markov)
    In open stage ``s`` the deal stays ``d = max(1, round(exp(N(time_mu[type, s],
    time_sigma[type, s]))))`` whole days; on leaving it advances with probability::

        sigmoid(conv_logit[type, s] + conv_partner[p] + conv_beta . x
                + conv_duration[s] * log(d / 30) + conv_shock[calendar quarter of exit day])

    and is otherwise lost; advancing from negotiation is a win. ``x = (technical_validation,
    executive_sponsor, engagement)`` with ``engagement = min(n / 5, 1)``, ``n`` the deal's
    engagement activities over its whole life (dated between creation and close; all of them
    visible for a deal closed before the export date).
Deal size
    ``log arr ~ StudentT(size_nu, size_intercept + size_type[type] + size_partner[p] +
    size_role[role], size_sigma)``, rounded to whole currency units (ARR, per year).

Effects by label (``act_type``, ``act_tier``, ``prod_type``, ``size_type``, ``size_role``) sum
to zero; per-partner effects are drawn from their normal distributions (so do not sum to zero
exactly). The export date is ``start + quarters`` quarters and nothing is dated on or after
it: stage history entries after it are unknown, a deal open then sits in the stage it reached;
``expected_close_on`` is the close date of a closed deal and, for an open one, its planned date
when that is before the export date (else blank). Activities exist only inside the window
(sellers employed before ``start`` have no recorded activity before it), and every deal is
created inside it. Optional fields that no model uses (region, names, referring seller,
influence %, motion, route, marketplace flag, deal registration, lead dates) have a little
missingness for the data-quality audit; model covariates are complete.
Random numbers come from independent streams spawned from one ``numpy.random.SeedSequence``:
the same seed gives byte-identical files.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.data.schema import (
    ACTIVITY_TYPES,
    OPEN_STAGES,
    REVENUE_MOTIONS,
    ROUTES_TO_MARKET,
    TABLES,
    PartnerRole,
    PartnerType,
    Tier,
)

GENERATOR_VERSION = 1
TYPES: tuple[str, ...] = tuple(t.value for t in PartnerType)
TIERS: tuple[str, ...] = tuple(t.value for t in Tier)
ROLES: tuple[str, ...] = tuple(r.value for r in PartnerRole)
COVARIATES: tuple[str, ...] = ("technical_validation", "executive_sponsor", "engagement")
ENGAGEMENT_FULL_AT = 5  # engagement covariate = min(n / 5, 1)
DURATION_SCALE_DAYS = 30.0
DAYS_PER_QUARTER = 365.25 / 4
PARQUET_OVER_MB = 25.0  # CSV exports above this write their biggest table(s) as Parquet
_NO_DAY = np.iinfo(np.int64).min // 4  # missing day sentinel
_FAR = np.iinfo(np.int64).max // 4  # "not yet" day sentinel (e.g. still employed)
_EXTRA_QUARTERS = 400  # calendar quarters simulated past the window for deal paths
_CALIBRATION_SEED = 20261123  # fixed population on which conv_logit is calibrated

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

ACT = {
    "act_intercept": -1.6,
    "act_type": {"msp": .2, "reseller": .3, "distributor": -.4, "si": 0.0, "gsi": -.3,
                 "tech_alliance": -.2, "marketplace": .4},
    "act_tier": {"strategic": .4, "growth": 0.0, "transactional": -.4},
    "act_partner_sigma": 0.5,
    "act_ramp": -1.2,
    "act_trend": 0.03,
    "act_noise_sigma": 0.25,
}
PROD = {
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
CONV = {
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
SIZE = {
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
ATTRIBUTION = {"sourced": 1.0, "co_sell": 0.5, "influenced": 0.25, "fulfillment": 0.0}
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


@dataclass(frozen=True)
class Truth:
    """The true parameters of a synthetic export and what they realised.

    Attributes
    ----------
    settings
        Generator settings (partners, quarters, seed, start, format, export date, ...).
    parameters
        Every model parameter under its model name (``act_type``, ``conv_logit``, ...), arrays
        keyed by label or partner_id. Rates are per quarter, durations in days, ARR per year.
    mix
        Deal-mix shares used by the generator (roles, motions, routes, covariate rates).
    realised
        Realised totals per quarter (won ARR gross and partner-attributed, ASR, counts).

    """

    settings: dict[str, Any]
    parameters: dict[str, Any]
    mix: dict[str, Any]
    realised: dict[str, Any]
    forms: dict[str, str] = field(default_factory=lambda: dict(FORMS))

    def __getitem__(self, name: str) -> Any:
        """A parameter by name, e.g. ``truth["act_ramp"]``."""
        return self.parameters[name]

    def to_dict(self) -> dict[str, Any]:
        """JSON layout: parameters at the top level beside settings, forms, mix and realised."""
        return {"settings": self.settings, "forms": self.forms, **self.parameters,
                "mix": self.mix, "realised": self.realised}

    def to_json(self) -> str:
        """The ``truth.json`` text (deterministic)."""
        return json.dumps(_jsonable(self.to_dict()), indent=1) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Truth:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        settings = data.pop("settings")
        forms = data.pop("forms", dict(FORMS))
        mix = data.pop("mix", {})
        realised = data.pop("realised", {})
        return cls(settings=settings, parameters=data, mix=mix, realised=realised, forms=forms)

    @classmethod
    def load(cls, path: str | Path) -> Truth:
        """Read a ``truth.json`` file (or the one in a sample folder)."""
        p = Path(path)
        if p.is_dir():
            p = p / "truth.json"
        return cls.from_dict(json.loads(p.read_text("utf-8")))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None
    return value


# -- helpers ------------------------------------------------------------------------------------
def _r6(x: np.ndarray) -> np.ndarray:
    """Round to 6 decimals: the values used are exactly those written to truth.json."""
    return np.round(np.asarray(x, dtype=float), 6)


def _probs(table: dict[str, tuple[float, ...]] | dict[str, float], keys: tuple[str, ...]
           ) -> np.ndarray:
    arr = np.array([table[k] for k in keys], dtype=float)
    return arr / arr.sum(axis=-1, keepdims=True)


def _categorical(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray | None = None,
                 size: int | None = None) -> np.ndarray:
    """Draw category indices: one per row of ``probs[rows]`` (or ``size`` draws from ``probs``)."""
    if rows is None:
        cum = np.cumsum(probs)
        u = rng.random(size)
        return np.minimum(np.searchsorted(cum, u, side="right"), len(probs) - 1)
    cum = np.cumsum(probs, axis=1)[rows]
    u = rng.random(len(rows))
    return np.minimum((u[:, None] >= cum).sum(axis=1), probs.shape[1] - 1)


def _allocate(n: int, shares: np.ndarray) -> np.ndarray:
    """Counts summing to ``n`` proportional to ``shares`` (largest remainders)."""
    raw = shares / shares.sum() * n
    counts = np.floor(raw).astype(int)
    rest = n - counts.sum()
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:rest]] += 1
    return counts


def _uniform_day(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A uniform whole day in ``[lo, hi]`` (inclusive) per element."""
    span = np.maximum(hi - lo + 1, 1)
    return lo + np.floor(rng.random(len(lo)) * span).astype(np.int64)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _zero_sum(d: dict[str, float], keys: tuple[str, ...]) -> np.ndarray:
    v = np.array([d[k] for k in keys], dtype=float)
    return _r6(v - v.mean())


@functools.cache
def conversion_logits() -> np.ndarray:
    """``conv_logit[type, stage]`` calibrated to :data:`WIN_FROM_STAGE`.

    Chosen so that, averaged over the other terms of the advance logit (partner effect,
    covariates at their type's rates, stay durations, quarter shocks), a deal of each type that
    reaches stage ``s`` is won with probability ``WIN_FROM_STAGE[type][s]``: the stage-wise
    advance rate among deals reaching ``s`` is ``P(won | s) / P(won | s + 1)``. Deals that
    reach later stages are selected for favourable terms, so this is solved numerically on a
    fixed calibration population (a constant of the code, not of the seed).

    Returns
    -------
    numpy.ndarray
        Shape (types, open stages), in :data:`TYPES` x :data:`OPEN_STAGES` order.

    """
    rng = np.random.default_rng(_CALIBRATION_SEED)
    n = 40_000
    beta = np.array([CONV["conv_beta"][c] for c in COVARIATES])
    dur = np.array([CONV["conv_duration"][s] for s in OPEN_STAGES])
    time_mu, time_sigma = _time_params()
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
            p = _sigmoid(logit + other)
            reach = np.cumprod(np.column_stack([np.ones(n), p[:, :-1]]), axis=1)
            rate = (reach * p).sum(axis=0) / reach.sum(axis=0)
            logit += np.log(target / (1 - target)) - np.log(rate / (1 - rate))
        out[i] = logit
    return _r6(out)


def _time_params() -> tuple[np.ndarray, np.ndarray]:
    mu = np.log(np.array(STAGE_MEDIAN_DAYS)[None, :]
                * np.array([TIME_MULT_BY_TYPE[t] for t in TYPES])[:, None])
    sigma = (np.array(STAGE_TIME_SIGMA)[None, :]
             + np.array([TIME_SIGMA_EXTRA.get(t, 0.0) for t in TYPES])[:, None])
    return _r6(mu), _r6(sigma)


def _size_params() -> tuple[float, np.ndarray, np.ndarray]:
    logs = np.log(np.array([DEAL_MEDIAN_BY_TYPE[t] for t in TYPES]))
    intercept = float(np.round(logs.mean(), 6))
    return intercept, _r6(logs - logs.mean()), _zero_sum(SIZE["size_role"], ROLES)


def _label_dict(keys: tuple[str, ...], values: np.ndarray) -> dict[str, float]:
    return {k: float(v) for k, v in zip(keys, values, strict=True)}


def _table_dict(rows: tuple[str, ...], cols: tuple[str, ...], values: np.ndarray
                ) -> dict[str, dict[str, float]]:
    return {r: _label_dict(cols, values[i]) for i, r in enumerate(rows)}


_FIRST_NAMES = ("Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery",
                "Priya", "Wei", "Chen", "Fatima", "Omar", "Lucas", "Sofia", "Mateo", "Elena",
                "Noah", "Emma", "Liam", "Olivia", "Hiro", "Yuki", "Ana", "Joao", "Ines", "Lars",
                "Freya", "Kofi", "Amara", "Ravi", "Anil", "Mei", "Sara", "David", "Grace",
                "Ethan", "Chloe", "Marta")
_LAST_NAMES = ("Smith", "Johnson", "Garcia", "Martinez", "Brown", "Lee", "Kim", "Nguyen", "Patel",
               "Shah", "Singh", "Chen", "Wang", "Müller", "Schmidt", "Rossi", "Silva", "Santos",
               "Dubois", "Martin", "Novak", "Kowalski", "Jensen", "Larsen", "Okafor", "Mensah",
               "Tanaka", "Sato", "Cohen", "O'Brien", "Murphy", "Walsh", "Costa", "Lopez",
               "Hughes", "Clarke", "Evans", "Fischer", "Berg", "Ito")
_NAME_A = ("North", "Blue", "Bright", "Summit", "Iron", "Silver", "Clear", "Red", "Cloud", "Peak",
           "Harbor", "Vertex", "Atlas", "Nova", "Cedar", "Granite", "Pioneer", "Quantum",
           "Horizon", "Keystone", "Beacon", "Apex", "Crescent", "Falcon", "Meridian", "Orbit",
           "Prairie", "River", "Stone", "Zenith")
_NAME_B = ("wind", "path", "gate", "bridge", "field", "point", "line", "stack", "wave", "forge",
           "works", "logic", "sphere", "bay", "ridge", "core", "link", "shift", "leaf", "mark")
_NAME_SUFFIX = {"msp": ("Managed Services", "IT Services", "Cloud Ops"),
                "reseller": ("Solutions", "Technologies", "Direct"),
                "distributor": ("Distribution", "Supply", "Trade"),
                "si": ("Consulting", "Integration", "Partners"),
                "gsi": ("Global Consulting", "Group", "Global Services"),
                "tech_alliance": ("Software", "Labs", "Platforms"),
                "marketplace": ("Marketplace", "Cloud Store", "Exchange")}


# -- the generator ------------------------------------------------------------------------------
@dataclass
class _Calendar:
    start: pd.Timestamp
    quarters: int
    first: Quarter
    bounds: np.ndarray  # day offsets of quarter starts: window + _EXTRA_QUARTERS (+1 end)

    @property
    def export_day(self) -> int:
        return int(self.bounds[self.quarters])

    def labels(self, n: int | None = None) -> list[str]:
        return [str(self.first + i) for i in range(self.quarters if n is None else n)]

    def quarter_of(self, days: np.ndarray) -> np.ndarray:
        """Window-relative quarter index of each day offset (>= 0)."""
        return np.searchsorted(self.bounds, days, side="right") - 1

    def dates(self, days: np.ndarray) -> np.ndarray:
        """``datetime64[s]`` of day offsets (NaT for the missing sentinel)."""
        days = np.asarray(days, dtype=np.int64)
        missing = (days == _NO_DAY) | (days >= _FAR)
        base = np.datetime64(self.start.date(), "D")
        out = (base + np.where(missing, 0, days).astype("timedelta64[D]")).astype("datetime64[s]")
        out[missing] = np.datetime64("NaT", "s")
        return out

    def abs_quarter(self, days: np.ndarray) -> np.ndarray:
        """Absolute :attr:`Quarter.index` of day offsets (any sign)."""
        d = np.datetime64(self.start.date(), "D") + np.asarray(days).astype("timedelta64[D]")
        months = d.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
        year = months // 12 + 1970
        return year * 4 + (months % 12) // 3


def _make_calendar(start: str | pd.Timestamp, quarters: int) -> _Calendar:
    ts = pd.Timestamp(start).normalize()
    first = Quarter.containing(ts)
    if ts != first.start:
        raise ValueError(f"start must be the first day of a calendar quarter (e.g. "
                         f"{first.start.date()} or {first.end.date()}), got {ts.date()}")
    bounds = np.array([((first + i).start - ts).days for i in range(quarters + _EXTRA_QUARTERS + 1)],
                      dtype=np.int64)
    return _Calendar(ts, quarters, first, bounds)


def generate_tables(partners: int = 300, quarters: int = 12, seed: int = 2026,
                    start: str | pd.Timestamp = "2024-01-01",
                    progress: Callable[[str], None] | None = None
                    ) -> tuple[dict[str, pd.DataFrame], Truth]:
    """Generate the export's typed tables and the truth, without writing anything.

    Parameters
    ----------
    partners
        Number of partner companies.
    quarters
        Length of the history window in quarters; the export date is ``start + quarters``.
    seed
        Seed of every random stream.
    start
        First day of the window (a calendar quarter start).
    progress
        Called with a short message at each step (e.g. ``click.echo`` to stderr).

    Returns
    -------
    tables, truth
        One frame per contract file (dates ``datetime64[s]``, ARR in currency per year,
        booleans nullable) and the :class:`Truth`.

    """
    if partners < 1:
        raise ValueError("partners must be at least 1")
    if quarters < 1:
        raise ValueError("quarters must be at least 1")
    say = progress or (lambda msg: None)
    cal = _make_calendar(start, quarters)
    E = cal.export_day
    Q = quarters
    streams = np.random.SeedSequence(seed).spawn(12)
    rng = {name: np.random.default_rng(s) for name, s in zip(
        ("partners", "sellers", "activation", "productivity", "deals", "paths", "engagement",
         "activities", "missing", "names", "plans", "spare"), streams, strict=True)}

    # ---- partners ------------------------------------------------------------------------
    say(f"partners: {partners}")
    r = rng["partners"]
    P = partners
    ptype = r.permutation(np.repeat(np.arange(len(TYPES)), _allocate(P, _probs(TYPE_MIX, TYPES))))
    ptier = _categorical(r, _probs(TIER_MIX, TIERS), size=P)
    regions = tuple(REGION_MIX)
    pregion = _categorical(r, _probs(REGION_MIX, regions), size=P)
    n_new = int(round((1 - SHARE_ONBOARDED_BEFORE) * P))
    is_new = np.zeros(P, dtype=bool)
    is_new[r.permutation(P)[:n_new]] = True
    before_span = int(ONBOARDED_BEFORE_MAX_YEARS * 365)
    onb = np.where(is_new,
                   np.floor(r.random(P) * max(E - 30, 1)).astype(np.int64),
                   -1 - np.floor(r.random(P) * before_span).astype(np.int64))
    eligible = np.flatnonzero(onb < E - 180)
    n_off = min(int(round(SHARE_OFFBOARDED * P)), len(eligible))
    off = np.full(P, _FAR, dtype=np.int64)
    chosen = r.permutation(eligible)[:n_off]
    lo = np.maximum(onb[chosen] + 90, 0)
    off[chosen] = _uniform_day(r, lo, np.full(n_off, E - 1))

    # ---- sellers ---------------------------------------------------------------------------
    r = rng["sellers"]
    median = (np.array([POOL_MEDIAN_BY_TIER[t] for t in TIERS])[ptier]
              * np.array([POOL_MULT_BY_TYPE[t] for t in TYPES])[ptype])
    pool0 = np.clip(np.rint(median * np.exp(r.normal(0, POOL_SIGMA, P))), POOL_MIN, POOL_MAX
                    ).astype(np.int64)
    mean_tenure_days = DAYS_PER_QUARTER / SELLER_ATTRITION_RATE
    # initial sellers
    sp = np.repeat(np.arange(P), pool0)
    n0 = len(sp)
    join_lo = np.maximum(onb[sp], -3 * 365)
    joined_old = _uniform_day(r, join_lo, np.full(n0, -1))
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
    h_join = _uniform_day(r, h_lo, h_hi)
    h_left = h_join + np.floor(r.exponential(mean_tenure_days, len(hp))).astype(np.int64)
    keep_h = h_lo <= h_hi
    sp = np.concatenate([sp, hp[keep_h]])
    joined = np.concatenate([joined, h_join[keep_h]])
    left = np.concatenate([left, h_left[keep_h]])
    keep = (joined < E) & (joined < off[sp])
    sp, joined, left = sp[keep], joined[keep], left[keep]
    left = np.minimum(left, off[sp])
    left = np.where(left >= E, _FAR, left)
    order = np.lexsort((joined, sp))
    sp, joined, left = sp[order], joined[order], left[order]
    S = len(sp)
    say(f"sellers: {S:,}")

    # ---- activation --------------------------------------------------------------------------
    r = rng["activation"]
    act_type = _zero_sum(ACT["act_type"], TYPES)
    act_tier = _zero_sum(ACT["act_tier"], TIERS)
    act_partner = _r6(r.normal(0, ACT["act_partner_sigma"], P))
    act_noise = _r6(r.normal(0, ACT["act_noise_sigma"], (P, Q)))
    onb_quarter = cal.abs_quarter(onb)
    q_abs = cal.first.index + np.arange(Q)
    tenure_q = np.maximum(q_abs[None, :] - onb_quarter[:, None], 0)
    q_center = (Q - 1) / 2
    logit_theta = (ACT["act_intercept"] + act_type[ptype][:, None] + act_tier[ptier][:, None]
                   + act_partner[:, None] + ACT["act_ramp"] * np.exp(-tenure_q / 2)
                   + ACT["act_trend"] * (np.arange(Q)[None, :] - q_center) + act_noise)
    theta = _sigmoid(logit_theta)
    emp = (joined[:, None] < cal.bounds[1:Q + 1][None, :]) & (left[:, None] >= cal.bounds[:Q][None, :])
    row_s, row_q = np.nonzero(emp)  # pool rows (seller, quarter), ordered by seller
    row_g = sp[row_s] * Q + row_q
    pool = np.bincount(row_g, minlength=P * Q).reshape(P, Q)
    active = r.binomial(pool, theta)
    u = r.random(len(row_g))
    by_group = np.lexsort((u, row_g))
    g_sorted = row_g[by_group]
    g_start = np.searchsorted(g_sorted, np.arange(P * Q))
    rank = np.arange(len(g_sorted)) - g_start[g_sorted]
    row_active = np.zeros(len(row_g), dtype=bool)
    row_active[by_group] = rank < active.reshape(-1)[g_sorted]
    row_lo = np.maximum(cal.bounds[row_q], joined[row_s])
    row_hi = np.minimum(cal.bounds[row_q + 1] - 1, left[row_s])
    say(f"seller-quarters in pool: {len(row_g):,}, active: {int(row_active.sum()):,} "
        f"(ASR {row_active.mean() if len(row_g) else 0:.1%})")

    # ---- productivity: opportunities ---------------------------------------------------------
    r = rng["productivity"]
    prod_type = _zero_sum(PROD["prod_type"], TYPES)
    prod_partner = _r6(r.normal(0, PROD["prod_partner_sigma"], P))
    rate = np.exp(PROD["prod_intercept"] + prod_type[ptype] + prod_partner)
    mu = active * rate[:, None]
    alpha = PROD["opp_alpha"]
    lam = r.gamma(alpha, 1.0, size=(P, Q)) * mu / alpha
    n_opp = r.poisson(lam).reshape(-1)
    og = np.repeat(np.arange(P * Q), n_opp)
    k = active.reshape(-1)[og]
    pick = g_start[og] + np.floor(r.random(len(og)) * k).astype(np.int64)
    o_row = by_group[pick]
    o_seller = row_s[o_row]
    o_q = row_q[o_row]
    o_p = sp[o_seller]
    o_t = ptype[o_p]
    created = _uniform_day(r, row_lo[o_row], row_hi[o_row])
    N = len(og)
    say(f"opportunities: {N:,}")

    # ---- deal attributes -----------------------------------------------------------------------
    r = rng["deals"]
    role = _categorical(r, _probs(ROLE_PROBS, TYPES), o_t)
    motion = _categorical(r, _probs(MOTION_PROBS, TYPES), o_t)
    route = _categorical(r, _probs(ROUTE_PROBS, TYPES), o_t)
    is_marketplace = route == ROUTES_TO_MARKET.index("marketplace")
    expansion = r.random(N) < EXPANSION_RATE
    tv = r.random(N) < np.array([TECH_VALIDATION_RATE[t] for t in TYPES])[o_t]
    es = r.random(N) < np.array([EXEC_SPONSOR_RATE[t] for t in TYPES])[o_t]
    n_eng = r.poisson(np.array([ENGAGEMENT_MEAN[t] for t in TYPES])[o_t])
    engagement = np.minimum(n_eng / ENGAGEMENT_FULL_AT, 1.0)
    influenced = role == ROLES.index("influenced")
    pct = r.integers(INFLUENCE_PCT_RANGE[0], INFLUENCE_PCT_RANGE[1] + 1, N)
    pct_known = influenced & (r.random(N) >= MISSING["influence_pct"])
    has_reg = r.random(N) < np.array([DEAL_REGISTRATION_RATE[x] for x in ROLES])[role]
    has_lead = r.random(N) < np.array([LEAD_RATE[x] for x in ROLES])[role]
    response = np.maximum(np.rint(np.exp(r.normal(math.log(LEAD_RESPONSE_MEDIAN_DAYS),
                                                   LEAD_RESPONSE_SIGMA, N))), 0).astype(np.int64)
    lead_gap = r.integers(0, 5, N)
    lead_day = created - response - lead_gap
    contact_known = has_lead & (r.random(N) >= MISSING["first_contact_on"])
    size_intercept, size_type, size_role = _size_params()
    size_partner = _r6(r.normal(0, SIZE["size_partner_sigma"], P))
    log_arr = (size_intercept + size_type[o_t] + size_partner[o_p] + size_role[role]
               + SIZE["size_sigma"] * r.standard_t(SIZE["size_nu"], N))
    arr = np.maximum(np.rint(np.exp(log_arr)), 1.0)

    # ---- deal paths ----------------------------------------------------------------------------
    r = rng["paths"]
    conv_logit = conversion_logits()
    time_mu, time_sigma = _time_params()
    conv_partner = _r6(r.normal(0, CONV["conv_partner_sigma"], P))
    n_cal = len(cal.bounds) - 1
    conv_shock = _r6(r.normal(0, CONV["conv_shock_sigma"], n_cal))
    beta = np.array([CONV["conv_beta"][c] for c in COVARIATES])
    dur = np.array([CONV["conv_duration"][s] for s in OPEN_STAGES])
    xb = beta[0] * tv + beta[1] * es + beta[2] * engagement
    entered = np.full((N, len(OPEN_STAGES)), _NO_DAY, dtype=np.int64)
    entered[:, 0] = created
    outcome_day = np.full(N, _NO_DAY, dtype=np.int64)
    won = np.zeros(N, dtype=bool)
    alive = np.ones(N, dtype=bool)
    cur = created.copy()
    for s in range(len(OPEN_STAGES)):
        d = np.maximum(np.rint(np.exp(r.normal(time_mu[o_t, s], time_sigma[o_t, s]))), 1.0)
        exit_day = cur + d.astype(np.int64)
        qx = np.minimum(cal.quarter_of(exit_day), n_cal - 1)
        p_adv = _sigmoid(conv_logit[o_t, s] + conv_partner[o_p] + xb
                         + dur[s] * np.log(d / DURATION_SCALE_DAYS) + conv_shock[qx])
        adv = r.random(N) < p_adv
        leaves = alive & ~adv
        outcome_day[leaves] = exit_day[leaves]
        if s + 1 < len(OPEN_STAGES):
            moves = alive & adv
            entered[moves, s + 1] = exit_day[moves]
        else:
            wins = alive & adv
            won[wins] = True
            outcome_day[wins] = exit_day[wins]
        cur = exit_day
        alive &= adv
    closed = outcome_day < E
    reached = entered < E  # (N, S); missing sentinel is negative: mask with != _NO_DAY
    reached &= entered != _NO_DAY
    current = np.where(closed, np.where(won, 4, 5), reached.sum(axis=1) - 1)
    say(f"deals closed by the export date: {int(closed.sum()):,} "
        f"(won {int((closed & won).sum()):,}); open: {int((~closed).sum()):,}")

    # ---- activities ----------------------------------------------------------------------------
    r = rng["activities"]
    type_code = {t: i for i, t in enumerate(ACTIVITY_TYPES)}
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []  # seller, day, type, opp
    # base selling activities of active seller-quarters
    ar = np.flatnonzero(row_active)
    cnt = 1 + r.poisson(SELLING_EXTRA_MEAN, len(ar))
    rows = np.repeat(ar, cnt)
    kinds = np.array([type_code[t] for t in SELLING_BASE_TYPES])[
        _categorical(r, _probs(SELLING_BASE_TYPES, tuple(SELLING_BASE_TYPES)), size=len(rows))]
    parts.append((row_s[rows], _uniform_day(r, row_lo[rows], row_hi[rows]), kinds,
                  np.full(len(rows), -1)))
    # lead_converted: one per opportunity, by its seller on its creation day
    parts.append((o_seller, created, np.full(N, type_code["lead_converted"]), np.arange(N)))
    # deal_closed: won deals, only when the seller is active in the close quarter and employed
    close_q = np.where(closed, cal.quarter_of(np.maximum(outcome_day, 0)), -1)
    active_keys = row_s[row_active].astype(np.int64) * Q + row_q[row_active]
    wc = np.flatnonzero(closed & won)
    ok = (np.isin(o_seller[wc].astype(np.int64) * Q + close_q[wc], active_keys)
          & (left[o_seller[wc]] >= outcome_day[wc]))
    wc = wc[ok]
    parts.append((o_seller[wc], outcome_day[wc], np.full(len(wc), type_code["deal_closed"]), wc))
    # learning activities: many pool seller-quarters, active or not
    share = np.where(row_active, LEARNING_SHARE["active"], LEARNING_SHARE["inactive"])
    lr = np.flatnonzero(r.random(len(row_g)) < share)
    cnt = 1 + r.poisson(LEARNING_EXTRA_MEAN, len(lr))
    rows = np.repeat(lr, cnt)
    kinds = np.array([type_code[t] for t in LEARNING_TYPES])[
        _categorical(r, _probs(LEARNING_TYPES, tuple(LEARNING_TYPES)), size=len(rows))]
    parts.append((row_s[rows], _uniform_day(r, row_lo[rows], row_hi[rows]), kinds,
                  np.full(len(rows), -1)))
    # engagement activities on deals: n_eng over the deal's life, by its seller (while employed)
    r = rng["engagement"]
    eo = np.repeat(np.arange(N), n_eng)
    first = np.ones(len(eo), dtype=bool)
    first[1:] = eo[1:] != eo[:-1]
    eday = _uniform_day(r, created[eo], outcome_day[eo])
    eday = np.where(first & has_reg[eo], created[eo], eday)
    ekind = np.where(r.random(len(eo)) < 0.5, type_code["joint_call"], type_code["deal_update"])
    ekind = np.where(first & has_reg[eo], type_code["deal_registration"], ekind)
    eday = np.minimum(eday, left[o_seller[eo]])
    vis = eday < E
    parts.append((o_seller[eo][vis], eday[vis], ekind[vis], eo[vis]))
    a_seller = np.concatenate([p[0] for p in parts])
    a_day = np.concatenate([p[1] for p in parts]).astype(np.int64)
    a_kind = np.concatenate([p[2] for p in parts])
    a_opp = np.concatenate([p[3] for p in parts])
    a_order = np.lexsort((a_opp, a_kind, a_seller, a_day))
    say(f"activities: {len(a_day):,}")

    # ---- ids, missingness and tables ----------------------------------------------------------
    r = rng["missing"]
    o_order = np.lexsort((np.arange(N), o_p, created))
    o_rank = np.empty(N, dtype=np.int64)
    o_rank[o_order] = np.arange(N)
    opp_ids = np.array([f"OPP-{i + 1:06d}" for i in range(N)], dtype=object)
    opp_id_of = opp_ids[o_rank]  # id of opportunity i (generation order)
    partner_ids = np.array([f"P{i + 1:04d}" for i in range(P)], dtype=object)
    seller_ids = np.array([f"S{i + 1:05d}" for i in range(S)], dtype=object)

    names = _partner_names(rng["names"], ptype)
    region = np.array(regions, dtype=object)[pregion]
    region[r.random(P) < MISSING["region"]] = None
    partners_df = pd.DataFrame({
        "partner_id": partner_ids, "partner_name": names,
        "partner_type": np.array(TYPES, dtype=object)[ptype],
        "tier": np.array(TIERS, dtype=object)[ptier],
        "onboarded_on": cal.dates(onb), "offboarded_on": cal.dates(off), "region": region,
    })

    rn = rng["names"]
    first_names = np.array(_FIRST_NAMES, dtype=object)[rn.integers(0, len(_FIRST_NAMES), S)]
    last_names = np.array(_LAST_NAMES, dtype=object)[rn.integers(0, len(_LAST_NAMES), S)]
    seller_name = (first_names + " " + last_names).astype(object)
    seller_name[r.random(S) < MISSING["seller_name"]] = None
    seller_role = np.array(tuple(SELLER_ROLES), dtype=object)[
        _categorical(rn, _probs(SELLER_ROLES, tuple(SELLER_ROLES)), size=S)]
    seller_role[r.random(S) < MISSING["seller_role"]] = None
    sellers_df = pd.DataFrame({
        "seller_id": seller_ids, "partner_id": partner_ids[sp], "seller_name": seller_name,
        "role": seller_role, "joined_on": cal.dates(joined), "left_on": cal.dates(left),
    })

    o = o_order  # table order
    ref = seller_ids[o_seller].astype(object)
    ref[r.random(N) < MISSING["referring_seller_id"]] = None
    motion_lbl = np.array(REVENUE_MOTIONS, dtype=object)[motion]
    motion_lbl[r.random(N) < MISSING["revenue_motion"]] = None
    route_lbl = np.array(ROUTES_TO_MARKET, dtype=object)[route]
    route_lbl[r.random(N) < MISSING["route_to_market"]] = None
    mkt = pd.array(is_marketplace, dtype="boolean")
    mkt[r.random(N) < MISSING["marketplace"]] = pd.NA
    reg_ids = np.array([f"DR-{100001 + i}" for i in range(N)], dtype=object)
    reg_id = np.where(has_reg, reg_ids[o_rank], None)
    planned = np.array([np.exp(time_mu[i]).sum() for i in range(len(TYPES))])[o_t]
    expected = created + np.rint(planned * np.exp(rn.normal(0, 0.25, N))).astype(np.int64)
    # Closed deals show their close date (the CRM's last value); an open deal's plan is kept
    # only when before the export date (overdue), else blank, as in an as-of view of the export.
    expected = np.where(closed, outcome_day, np.where(expected < E, expected, _NO_DAY))
    opps_df = pd.DataFrame({
        "opportunity_id": opp_id_of,
        "partner_id": partner_ids[o_p],
        "referring_seller_id": ref,
        "partner_role": np.array(ROLES, dtype=object)[role],
        "influence_pct": pd.array(np.where(pct_known, pct, 0), dtype="Int64"),
        "revenue_motion": motion_lbl,
        "route_to_market": route_lbl,
        "deal_registration_id": reg_id,
        "marketplace": mkt,
        "is_expansion": pd.array(expansion, dtype="boolean"),
        "created_on": cal.dates(created),
        "lead_submitted_on": cal.dates(np.where(has_lead, lead_day, _NO_DAY)),
        "first_contact_on": cal.dates(np.where(contact_known, lead_day + response, _NO_DAY)),
        "stage": np.array(OPEN_STAGES + ("won", "lost"), dtype=object)[current],
        "expected_close_on": cal.dates(expected),
        "closed_on": cal.dates(np.where(closed, outcome_day, _NO_DAY)),
        "arr": pd.array(arr.astype(np.int64), dtype="Int64"),
        "technical_validation": pd.array(tv, dtype="boolean"),
        "executive_sponsor": pd.array(es, dtype="boolean"),
    })
    opps_df.loc[~pct_known, "influence_pct"] = pd.NA
    opps_df = opps_df.iloc[o].reset_index(drop=True)

    h_opp = np.concatenate([np.repeat(np.arange(N), reached.sum(axis=1)), np.flatnonzero(closed)])
    h_stage = np.concatenate([np.nonzero(reached)[1], np.where(won[closed], 4, 5)])
    h_day = np.concatenate([entered[reached], outcome_day[closed]])
    h_order = np.lexsort((h_stage, h_day, o_rank[h_opp]))
    history_df = pd.DataFrame({
        "opportunity_id": opp_id_of[h_opp][h_order],
        "stage": np.array(OPEN_STAGES + ("won", "lost"), dtype=object)[h_stage][h_order],
        "entered_on": cal.dates(h_day[h_order]),
    })

    a_opp_o = a_opp[a_order]
    acts_df = pd.DataFrame({
        "activity_id": np.array([f"A{i + 1:07d}" for i in range(len(a_order))], dtype=object),
        "seller_id": seller_ids[a_seller[a_order]],
        "occurred_on": cal.dates(a_day[a_order]),
        "activity_type": np.array(ACTIVITY_TYPES, dtype=object)[a_kind[a_order]],
        "opportunity_id": np.where(a_opp_o >= 0, opp_id_of[np.maximum(a_opp_o, 0)], None),
    })

    # ---- realised totals, targets, company ----------------------------------------------------
    weight = np.array([ATTRIBUTION[x] for x in ROLES])[role]
    weight = np.where(pct_known, pct / 100.0, weight)
    labels = cal.labels()
    cq = np.where(closed, close_q, -1)
    wq = closed & won
    won_arr = np.bincount(cq[wq], weights=arr[wq], minlength=Q)[:Q]
    won_attr = np.bincount(cq[wq], weights=(arr * weight)[wq], minlength=Q)[:Q]
    T = len(TYPES)
    by_type = np.zeros((T, Q))
    by_type_attr = np.zeros((T, Q))
    np.add.at(by_type, (o_t[wq], cq[wq]), arr[wq])
    np.add.at(by_type_attr, (o_t[wq], cq[wq]), (arr * weight)[wq])
    pool_q = pool.sum(axis=0)
    active_q = active.sum(axis=0)
    created_q = np.bincount(o_q, minlength=Q)
    open_end = np.array([int(((created < b) & (outcome_day >= b)).sum()) for b in cal.bounds[1:Q + 1]])
    open_arr_end = np.array([float(arr[(created < b) & (outcome_day >= b)].sum())
                             for b in cal.bounds[1:Q + 1]])

    def per_q(v: np.ndarray) -> dict[str, float]:
        return {lbl: float(x) for lbl, x in zip(labels, v, strict=True)}

    stage_win: dict[str, dict[str, float | None]] = {}
    for i, t in enumerate(TYPES):
        m = o_t == i
        stage_win[t] = {}
        for s, sname in enumerate(OPEN_STAGES):
            reach = m & (entered[:, s] != _NO_DAY)
            stage_win[t][sname] = float(won[reach].mean()) if reach.any() else None
    realised = {
        "quarters": labels,
        "asr": {lbl: (float(a / p) if p else None)
                for lbl, a, p in zip(labels, active_q, pool_q, strict=True)},
        "pool": per_q(pool_q), "active": per_q(active_q),
        "opportunities_created": per_q(created_q),
        "won_deals": per_q(np.bincount(cq[wq], minlength=Q)[:Q]),
        "won_arr": per_q(won_arr), "won_arr_attributed": per_q(won_attr),
        "won_arr_by_type": {t: per_q(by_type[i]) for i, t in enumerate(TYPES)},
        "won_arr_attributed_by_type": {t: per_q(by_type_attr[i]) for i, t in enumerate(TYPES)},
        "open_deals_at_quarter_end": per_q(open_end),
        "open_pipeline_arr_at_quarter_end": per_q(open_arr_end),
        "win_rate_from_stage_by_type": stage_win,
        "notes": "won ARR by close date (closed before the export date); attribution: sourced 1, "
                 "co_sell .5, influenced influence_pct/100 or .25, fulfillment 0. "
                 "win_rate_from_stage_by_type: share won among every simulated path (including "
                 "those finishing after the export date) that reached the stage.",
    }
    targets_df, company_df = _plans(rng["plans"], cal, by_type_attr, won_arr, open_arr_end)

    settings = {
        "generator_version": GENERATOR_VERSION, "partners": P, "quarters": Q, "seed": seed,
        "start": cal.start.date().isoformat(),
        "export_date": (cal.start + pd.Timedelta(days=E)).date().isoformat(),
        "first_quarter": labels[0], "last_quarter": labels[-1], "q_center": q_center,
        "engagement_full_at": ENGAGEMENT_FULL_AT, "duration_scale_days": DURATION_SCALE_DAYS,
        "seller_hire_rate": SELLER_HIRE_RATE, "seller_attrition_rate": SELLER_ATTRITION_RATE,
        "counts": {"partners": P, "sellers": S, "activities": int(len(a_day)),
                   "opportunities": N, "stage_history": int(len(h_day))},
    }
    pid = partner_ids.tolist()
    parameters: dict[str, Any] = {
        "act_intercept": ACT["act_intercept"],
        "act_type": _label_dict(TYPES, act_type),
        "act_tier": _label_dict(TIERS, act_tier),
        "act_partner_sigma": ACT["act_partner_sigma"],
        "act_partner": _label_dict(tuple(pid), act_partner),
        "act_ramp": ACT["act_ramp"], "act_trend": ACT["act_trend"],
        "act_noise_sigma": ACT["act_noise_sigma"],
        "act_noise": {p: _label_dict(tuple(labels), act_noise[i]) for i, p in enumerate(pid)},
        "prod_intercept": PROD["prod_intercept"],
        "prod_type": _label_dict(TYPES, prod_type),
        "prod_partner_sigma": PROD["prod_partner_sigma"],
        "prod_partner": _label_dict(tuple(pid), prod_partner),
        "opp_alpha": PROD["opp_alpha"],
        "time_mu": _table_dict(TYPES, OPEN_STAGES, time_mu),
        "time_sigma": _table_dict(TYPES, OPEN_STAGES, time_sigma),
        "conv_logit": _table_dict(TYPES, OPEN_STAGES, conv_logit),
        "conv_partner_sigma": CONV["conv_partner_sigma"],
        "conv_partner": _label_dict(tuple(pid), conv_partner),
        "conv_beta": dict(CONV["conv_beta"]),
        "conv_duration": dict(CONV["conv_duration"]),
        "conv_shock_sigma": CONV["conv_shock_sigma"],
        "conv_shock": _label_dict(tuple(labels), conv_shock[:Q]),
        "size_intercept": size_intercept,
        "size_type": _label_dict(TYPES, size_type),
        "size_role": _label_dict(ROLES, size_role),
        "size_partner_sigma": SIZE["size_partner_sigma"],
        "size_partner": _label_dict(tuple(pid), size_partner),
        "size_sigma": SIZE["size_sigma"], "size_nu": SIZE["size_nu"],
    }
    mix = {
        "type_mix": TYPE_MIX, "tier_mix": TIER_MIX, "region_mix": REGION_MIX,
        "role_probs": _table_dict(TYPES, ROLES, _probs(ROLE_PROBS, TYPES)),
        "revenue_motion_probs": _table_dict(TYPES, REVENUE_MOTIONS, _probs(MOTION_PROBS, TYPES)),
        "route_to_market_probs": _table_dict(TYPES, ROUTES_TO_MARKET, _probs(ROUTE_PROBS, TYPES)),
        "technical_validation_rate": TECH_VALIDATION_RATE,
        "executive_sponsor_rate": EXEC_SPONSOR_RATE,
        "engagement_mean_count": ENGAGEMENT_MEAN,
        "expansion_rate": EXPANSION_RATE,
        "deal_registration_rate_by_role": DEAL_REGISTRATION_RATE,
        "influence_pct_range": list(INFLUENCE_PCT_RANGE),
        "lead_rate_by_role": LEAD_RATE,
        "lead_response_median_days": LEAD_RESPONSE_MEDIAN_DAYS,
        "lead_response_sigma": LEAD_RESPONSE_SIGMA,
        "win_from_stage_target": {t: dict(zip(OPEN_STAGES, v, strict=True))
                                  for t, v in WIN_FROM_STAGE.items()},
        "missing_share": MISSING,
    }
    truth = Truth(settings=settings, parameters=parameters, mix=mix, realised=realised)
    tables = {"partners": partners_df, "sellers": sellers_df, "activities": acts_df,
              "opportunities": opps_df, "stage_history": history_df, "targets": targets_df,
              "company": company_df}
    return tables, truth


def _partner_names(r: np.random.Generator, ptype: np.ndarray) -> np.ndarray:
    """Plausible, unique company names (a number is appended once combinations run out)."""
    n = len(ptype)
    a = r.integers(0, len(_NAME_A), n)
    b = r.integers(0, len(_NAME_B), n)
    c = r.integers(0, 3, n)
    seen: dict[str, int] = {}
    out = []
    for i in range(n):
        name = f"{_NAME_A[a[i]]}{_NAME_B[b[i]]} {_NAME_SUFFIX[TYPES[ptype[i]]][c[i]]}"
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} {seen[name]}")
    return np.array(out, dtype=object)


def _plans(r: np.random.Generator, cal: _Calendar, attr_by_type: np.ndarray, won_arr: np.ndarray,
           open_arr_end: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Targets (window + 4 quarters) and company figures (window) plausible against the data.

    A type's target for a window quarter is its realised attributed ARR smoothed over three
    quarters times a little ambition (lognormal, median +5%); the next four quarters grow the
    last four quarters' mean by 5% per quarter. Company figures add a direct business to the
    partner channel: total new ARR won in the quarter, total open pipeline at quarter end and
    the direct average deal size (currency per year).
    """
    T, Q = attr_by_type.shape
    horizon = 4
    pad = np.pad(attr_by_type, ((0, 0), (1, 1)), mode="edge")
    smooth = (pad[:, :-2] + pad[:, 1:-1] + pad[:, 2:]) / 3
    window = smooth * np.exp(r.normal(0.05, 0.12, (T, Q)))
    base = attr_by_type[:, max(0, Q - 4):].mean(axis=1)
    future = base[:, None] * 1.05 ** np.arange(1, horizon + 1)[None, :] * np.exp(
        r.normal(0.0, 0.08, (T, horizon)))
    target = np.round(np.concatenate([window, future], axis=1), -3)
    labels = cal.labels(Q + horizon)
    rows = [(lbl, None, float(target[:, j].sum())) for j, lbl in enumerate(labels)]
    rows += [(lbl, TYPES[i], float(target[i, j])) for j, lbl in enumerate(labels) for i in range(T)]
    targets = pd.DataFrame(rows, columns=["quarter", "partner_type", "arr_target"])
    targets["partner_type"] = targets["partner_type"].astype(object)
    targets["arr_target"] = pd.array(targets["arr_target"].round().astype(np.int64), dtype="Int64")

    level = max(float(won_arr[max(0, Q - 4):].mean()), 100_000.0)
    growth = 1.03 ** np.arange(Q)
    direct = 1.8 * level * growth * np.exp(r.normal(0, 0.08, Q))
    direct_pipe = 3.2 * direct * np.exp(r.normal(0, 0.1, Q))
    deal = 42_000 * 1.01 ** np.arange(Q) * np.exp(r.normal(0, 0.05, Q))
    company = pd.DataFrame({
        "quarter": cal.labels(),
        "total_arr": pd.array(np.rint(won_arr + direct).astype(np.int64), dtype="Int64"),
        "total_pipeline": pd.array(np.rint(open_arr_end + direct_pipe).astype(np.int64),
                                   dtype="Int64"),
        "direct_avg_deal_size": pd.array(np.rint(deal).astype(np.int64), dtype="Int64"),
    })
    return targets, company


# -- writing ------------------------------------------------------------------------------------
def _csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Text form of a typed frame: ISO dates, lower-case booleans, '' for missing."""
    out = pd.DataFrame(index=df.index)
    for c in df.columns:
        col = df[c]
        if pd.api.types.is_datetime64_any_dtype(col):
            out[c] = col.dt.strftime("%Y-%m-%d").fillna("")
        elif isinstance(col.dtype, pd.BooleanDtype):
            out[c] = col.map({True: "true", False: "false"}, na_action="ignore").fillna("")
        else:
            out[c] = col.astype(object).where(col.notna(), "").astype(str)
    return out


def _write_table(df: pd.DataFrame, folder: Path, name: str, fmt: str) -> Path:
    for suffix in (".csv", ".parquet", ".pq"):
        (folder / f"{name}{suffix}").unlink(missing_ok=True)
    if fmt == "parquet":
        path = folder / f"{name}.parquet"
        df.to_parquet(path, index=False, engine="pyarrow", compression="zstd")
    else:
        path = folder / f"{name}.csv"
        path.write_text(_csv_frame(df).to_csv(index=False, lineterminator="\n"), "utf-8")
    return path


def generate_sample(out_dir: str | Path, partners: int = 300, quarters: int = 12,
                    seed: int = 2026, start: str | pd.Timestamp = "2024-01-01",
                    fmt: str = "csv", parquet_over_mb: float | None = PARQUET_OVER_MB,
                    progress: Callable[[str], None] | None = None) -> Truth:
    """Write a synthetic CRM export (every contract file) and its ``truth.json`` to ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder to write into (created if missing). Contract files of the other format with the
        same name are removed so the folder holds one version of each table.
    partners, quarters, seed, start
        See :func:`generate_tables`; the export date is ``start + quarters`` quarters.
    fmt
        ``"csv"`` or ``"parquet"``.
    parquet_over_mb
        With ``fmt="csv"``: when the CSV files total more than this many MB, the activities
        table (the biggest) is written as Parquet instead. ``None`` never switches.
    progress
        Called with a short message at each step.

    Returns
    -------
    Truth
        The true parameters and realised totals (also written to ``truth.json``).

    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format must be 'csv' or 'parquet', got {fmt!r}")
    say = progress or (lambda msg: None)
    tables, truth = generate_tables(partners, quarters, seed, start, progress)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    sizes: dict[str, int] = {}
    for name in TABLES:
        if name in tables:  # optional tables the generator does not make are not written
            sizes[name] = _write_table(tables[name], folder, name, fmt).stat().st_size
    if fmt == "csv" and parquet_over_mb is not None and sum(sizes.values()) > parquet_over_mb * 1e6:
        sizes["activities"] = _write_table(tables["activities"], folder, "activities",
                                           "parquet").stat().st_size
        say(f"CSV total above {parquet_over_mb:g} MB: activities written as Parquet")
    formats = {name: ("parquet" if (folder / f"{name}.parquet").exists() else "csv")
               for name in TABLES if name in tables}
    settings = dict(truth.settings, format=fmt, files=formats)
    truth = Truth(settings=settings, parameters=truth.parameters, mix=truth.mix,
                  realised=truth.realised)
    (folder / "truth.json").write_text(truth.to_json(), "utf-8")
    say(f"wrote {folder} ({sum(sizes.values()) / 1e6:.1f} MB: "
        + ", ".join(f"{k} {v / 1e6:.1f}" for k, v in sizes.items()) + ")")
    return truth


__all__ = ["Truth", "generate_sample", "generate_tables", "conversion_logits"]
