"""Phase 5 of the sample generator: the activity log.

Active seller-quarters get base selling activities; each opportunity a ``lead_converted`` on
its creation day by its seller; a won deal a ``deal_closed`` when its seller is active in the
close quarter and still employed; many pool seller-quarters (active or not) learning
activities; and each deal its engagement activities over its life (a ``deal_registration`` on
the creation day for registered deals). Only what happens before the export date is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from partner_forecast.data.sample.activation import Activation
from partner_forecast.data.sample.common import Calendar, categorical, probs, uniform_day
from partner_forecast.data.sample.params import (
    LEARNING_EXTRA_MEAN,
    LEARNING_SHARE,
    LEARNING_TYPES,
    SELLING_BASE_TYPES,
    SELLING_EXTRA_MEAN,
)
from partner_forecast.data.sample.paths import Paths
from partner_forecast.data.sample.pipeline import Deals, Opportunities
from partner_forecast.data.schema import ACTIVITY_TYPES


@dataclass
class Activities:
    """One entry per activity, in table order (``opp`` is -1 for none)."""

    seller: np.ndarray
    day: np.ndarray
    kind: np.ndarray  # index into ACTIVITY_TYPES
    opp: np.ndarray  # opportunity index (generation order)


def draw_activities(r: np.random.Generator, r_eng: np.random.Generator, act: Activation,
                    opps: Opportunities, deals: Deals, paths: Paths, left: np.ndarray,
                    cal: Calendar) -> Activities:
    """Every activity dated before the export date, ordered by day, seller, type, deal."""
    E, Q, N = cal.export_day, cal.quarters, opps.n
    type_code = {t: i for i, t in enumerate(ACTIVITY_TYPES)}
    row_s, row_lo, row_hi = act.row_s, act.row_lo, act.row_hi
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []  # seller, day, type, opp
    # base selling activities of active seller-quarters
    ar = np.flatnonzero(act.row_active)
    cnt = 1 + r.poisson(SELLING_EXTRA_MEAN, len(ar))
    rows = np.repeat(ar, cnt)
    kinds = np.array([type_code[t] for t in SELLING_BASE_TYPES])[
        categorical(r, probs(SELLING_BASE_TYPES, tuple(SELLING_BASE_TYPES)), size=len(rows))]
    parts.append((row_s[rows], uniform_day(r, row_lo[rows], row_hi[rows]), kinds,
                  np.full(len(rows), -1)))
    # lead_converted: one per opportunity, by its seller on its creation day
    parts.append((opps.o_seller, opps.created, np.full(N, type_code["lead_converted"]),
                  np.arange(N)))
    # deal_closed: won deals, only when the seller is active in the close quarter and employed
    closed, won, outcome_day = paths.closed, paths.won, paths.outcome_day
    close_q = np.where(closed, cal.quarter_of(np.maximum(outcome_day, 0)), -1)
    active_keys = row_s[act.row_active].astype(np.int64) * Q + act.row_q[act.row_active]
    wc = np.flatnonzero(closed & won)
    ok = (np.isin(opps.o_seller[wc].astype(np.int64) * Q + close_q[wc], active_keys)
          & (left[opps.o_seller[wc]] >= outcome_day[wc]))
    wc = wc[ok]
    parts.append((opps.o_seller[wc], outcome_day[wc], np.full(len(wc), type_code["deal_closed"]),
                  wc))
    # learning activities: many pool seller-quarters, active or not
    share = np.where(act.row_active, LEARNING_SHARE["active"], LEARNING_SHARE["inactive"])
    lr = np.flatnonzero(r.random(len(act.row_g)) < share)
    cnt = 1 + r.poisson(LEARNING_EXTRA_MEAN, len(lr))
    rows = np.repeat(lr, cnt)
    kinds = np.array([type_code[t] for t in LEARNING_TYPES])[
        categorical(r, probs(LEARNING_TYPES, tuple(LEARNING_TYPES)), size=len(rows))]
    parts.append((row_s[rows], uniform_day(r, row_lo[rows], row_hi[rows]), kinds,
                  np.full(len(rows), -1)))
    # engagement activities on deals: n_eng over the deal's life, by its seller (while employed)
    created = opps.created
    eo = np.repeat(np.arange(N), deals.n_eng)
    first = np.ones(len(eo), dtype=bool)
    first[1:] = eo[1:] != eo[:-1]
    eday = uniform_day(r_eng, created[eo], outcome_day[eo])
    eday = np.where(first & deals.has_reg[eo], created[eo], eday)
    ekind = np.where(r_eng.random(len(eo)) < 0.5, type_code["joint_call"], type_code["deal_update"])
    ekind = np.where(first & deals.has_reg[eo], type_code["deal_registration"], ekind)
    eday = np.minimum(eday, left[opps.o_seller[eo]])
    vis = eday < E
    parts.append((opps.o_seller[eo][vis], eday[vis], ekind[vis], eo[vis]))
    a_seller = np.concatenate([p[0] for p in parts])
    a_day = np.concatenate([p[1] for p in parts]).astype(np.int64)
    a_kind = np.concatenate([p[2] for p in parts])
    a_opp = np.concatenate([p[3] for p in parts])
    order = np.lexsort((a_opp, a_kind, a_seller, a_day))
    return Activities(seller=a_seller[order], day=a_day[order], kind=a_kind[order],
                      opp=a_opp[order])
