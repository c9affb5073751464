"""Phase 2 of the sample generator: which sellers are active in each quarter.

For partner ``p`` in window quarter ``q`` (``q_index`` = 0 for the first window quarter,
``q_center = (quarters - 1) / 2``; ``tenure_q`` = whole quarters since the onboarding quarter,
0 in it)::

    logit theta_pq = act_intercept + act_type[type] + act_tier[tier] + act_partner[p]
                     + act_ramp * exp(-tenure_q / 2) + act_trend * (q_index - q_center)
                     + act_noise[p][q]

The pool is every seller employed on any day of the quarter; ``active ~ Binomial(pool,
theta)`` sellers are drawn among them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from partner_forecast.data.sample.common import Calendar, r6, sigmoid, zero_sum
from partner_forecast.data.sample.params import ACT, TIERS, TYPES
from partner_forecast.data.sample.population import Population


@dataclass
class Activation:
    """Pool rows (one per seller employed in a window quarter) and who is active.

    Rows are ordered by seller; ``by_group`` orders them by partner-quarter group
    ``g = p * quarters + q`` with the active rows first within a group (``g_start`` is each
    group's first position in that order).
    """

    act_type: np.ndarray
    act_tier: np.ndarray
    act_partner: np.ndarray
    act_noise: np.ndarray  # (partners, quarters)
    q_center: float
    pool: np.ndarray  # (partners, quarters) sellers employed
    active: np.ndarray  # (partners, quarters) active sellers
    row_s: np.ndarray  # seller of each pool row
    row_q: np.ndarray  # window quarter of each pool row
    row_g: np.ndarray  # partner-quarter group of each pool row
    row_active: np.ndarray
    row_lo: np.ndarray  # first day the seller is employed in the row's quarter
    row_hi: np.ndarray  # last such day
    by_group: np.ndarray
    g_start: np.ndarray


def draw_activation(r: np.random.Generator, pop: Population, cal: Calendar) -> Activation:
    """Activation probabilities per partner-quarter and the active sellers drawn from them."""
    P, Q = pop.partners, cal.quarters
    act_type = zero_sum(ACT["act_type"], TYPES)
    act_tier = zero_sum(ACT["act_tier"], TIERS)
    act_partner = r6(r.normal(0, ACT["act_partner_sigma"], P))
    act_noise = r6(r.normal(0, ACT["act_noise_sigma"], (P, Q)))
    onb_quarter = cal.abs_quarter(pop.onb)
    q_abs = cal.first.index + np.arange(Q)
    tenure_q = np.maximum(q_abs[None, :] - onb_quarter[:, None], 0)
    q_center = (Q - 1) / 2
    logit_theta = (ACT["act_intercept"] + act_type[pop.ptype][:, None]
                   + act_tier[pop.ptier][:, None] + act_partner[:, None]
                   + ACT["act_ramp"] * np.exp(-tenure_q / 2)
                   + ACT["act_trend"] * (np.arange(Q)[None, :] - q_center) + act_noise)
    theta = sigmoid(logit_theta)
    emp = ((pop.joined[:, None] < cal.bounds[1:Q + 1][None, :])
           & (pop.left[:, None] >= cal.bounds[:Q][None, :]))
    row_s, row_q = np.nonzero(emp)  # pool rows (seller, quarter), ordered by seller
    row_g = pop.sp[row_s] * Q + row_q
    pool = np.bincount(row_g, minlength=P * Q).reshape(P, Q)
    active = r.binomial(pool, theta)
    u = r.random(len(row_g))
    by_group = np.lexsort((u, row_g))
    g_sorted = row_g[by_group]
    g_start = np.searchsorted(g_sorted, np.arange(P * Q))
    rank = np.arange(len(g_sorted)) - g_start[g_sorted]
    row_active = np.zeros(len(row_g), dtype=bool)
    row_active[by_group] = rank < active.reshape(-1)[g_sorted]
    row_lo = np.maximum(cal.bounds[row_q], pop.joined[row_s])
    row_hi = np.minimum(cal.bounds[row_q + 1] - 1, pop.left[row_s])
    return Activation(act_type=act_type, act_tier=act_tier, act_partner=act_partner,
                      act_noise=act_noise, q_center=q_center, pool=pool, active=active,
                      row_s=row_s, row_q=row_q, row_g=row_g, row_active=row_active,
                      row_lo=row_lo, row_hi=row_hi, by_group=by_group, g_start=g_start)
