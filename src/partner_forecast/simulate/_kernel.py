"""The numba kernel of the Monte Carlo engine: one chunk of posterior draws.

Parallel over draws (``prange``): every draw writes only its own rows of the accumulators,
and per-deal win counts go to per-thread rows, so results do not depend on thread scheduling.
Random numbers come from :mod:`._rng`, keyed by (run key, global draw, entity, slot). Within a
draw, open deals and then the draw's new opportunities walk their stages in blocks of deals
that share a partner type (:func:`._walk.walk_group`); this module draws the new pipeline and
sums the won deals' ARR into the accumulators.

Times are days from the as-of date; ``ends[j]`` is the end of calendar quarter ``j`` (quarter
0 contains the as-of date); ARR is currency per year.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from partner_forecast.simulate._rng import (
    TAG_NEW,
    TAG_OPEN,
    TAG_OPP,
    TAG_SHOCK,
    binomial_count,
    ndtri,
    poisson_count,
    std_gamma,
    student_t,
    subkey,
    unit,
)
from partner_forecast.simulate._vmath import FASTMATH
from partner_forecast.simulate._walk import BLOCK, LOST, WON, scratch, walk_group

# -- accumulator layout ------------------------------------------------------------------------
# acc[draw, quarter, segment, m]
ACC_ATTR_OPEN, ACC_GROSS_OPEN, ACC_COMMITTED, ACC_MARKET_OPEN, ACC_EXPAN_OPEN = 0, 1, 2, 3, 4
ACC_ATTR_NEW, ACC_GROSS_NEW, ACC_MARKET_NEW, ACC_EXPAN_NEW = 5, 6, 7, 8
N_ACC = 9
# drv[draw, calendar quarter, m]
DRV_ACTIVE, DRV_OPPS, DRV_NEW_WON, DRV_NEW_WON_ARR = 0, 1, 2, 3
DRV_OPEN_WON, DRV_OPEN_LOST, DRV_OPEN_WON_ARR = 4, 5, 6
N_DRV = 7

SLOT_NEW_PATH = 16  # slots 16.. of a new opportunity's stream hold its stage path
SLOT_ENTRY = 8  # slot of a new opportunity's stream that draws the stage it is created in
HELPERS_DIGEST = "4f510f074d83e372"
"""sha256 (first 16 hex digits) of ``_rng.py`` + ``_vmath.py`` + ``_walk.py``, whose functions
are compiled into the kernel.

numba's disk cache checks only the date and size of the file a cached function is defined in,
so an edit of a helper module alone would leave a stale compiled kernel in use.
``tests/test_simulate_api.py`` fails until this digest is updated, and updating it changes this
file, which invalidates the cached kernel."""


@nb.njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _won_list(res_code, n_blk, won_idx):
    """Indices of the won deals among the first ``n_blk`` into ``won_idx``; their count.

    Branch-free (the index is always written, the count moves only on a win), so the loop
    vectorises; open and new pipeline share it after each block walk.
    """
    n_won = 0
    for k in range(n_blk):
        won_idx[n_won] = k
        n_won += res_code[k] == WON
    return n_won


@nb.njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _pace_day(t, start, n_days):
    """Day of the paced quarter (0 .. n_days - 1) of a win at ``t`` days from as-of."""
    d = int(math.floor(np.float64(t) - start))
    return min(max(d, 0), n_days - 1)


@nb.njit(cache=True, parallel=True, error_model="numpy", fastmath=FASTMATH)
def simulate_chunk(key, d0,
                   asr, opp_rate, opp_alpha, adv_logit, adv_partner, adv_beta, adv_duration,
                   shock_sigma, time_mu, time_sigma, size_mu, size_role, size_sigma, size_nu,
                   jump_cum, ptype, pool, p_order, entry_cum, role_cum, role_weight, new_cov,
                   cov_bool, market_rate,
                   expan_rate, o_id, o_partner, o_stage, o_age, o_la, o_arr, o_attr, o_cov,
                   o_market, o_expan, o_commit, o_seg, o_groups, new_seg, ends, starts,
                   out_offset, max_log_ratio, lv_asr_mult, lv_asr_add, lv_prod, lv_logodds,
                   lv_logtime, lv_size, lv_pool_add, do_open, do_new, acc, drv, deal_wins,
                   pace_h, pace_start, pace):
    """Simulate draws ``d0 .. d0 + Dc - 1`` (parameter arrays are the chunk's rows).

    Open deals come sorted by (partner type, stage) with ``o_groups`` the start of each run
    (and N at the end) and ``o_id`` their original row (which keys their random numbers);
    ``o_la`` is log(days in stage) (``NO_AGE_LOG`` for 0), computed once for all draws;
    ``o_cov`` is (K, N); ``p_order`` lists partners by type; ``jump_cum`` (Dc, T, S, S) the
    cumulative destination probabilities of an advance (see :func:`._walk.walk_deal`) and
    ``entry_cum`` (T, S) the cumulative probabilities of a new deal's first stage.
    ``do_open`` / ``do_new`` select the open and the new pipeline (their accumulators are
    disjoint, so a run of one is exactly that part of a run of both). Outputs (zeroed by the
    caller): ``acc`` (Dc, H, G, N_ACC) ARR by win quarter and segment, ``drv`` (Dc, J,
    N_DRV) driver totals by calendar quarter, ``deal_wins`` (threads, N, H) draws in which
    each open deal (sorted order) is won in each quarter, and, when ``pace_h >= 0``, ``pace``
    (Dc, days) attributed ARR won per day of forecast quarter ``pace_h`` (all segments; day
    ``d`` is ``[pace_start + d, pace_start + d + 1)`` in days from as-of), the path pacing
    compares with; ``pace_h = -1`` leaves it untouched.
    """
    n_draws = asr.shape[0]
    n_partners = asr.shape[1]
    n_out = asr.shape[2]
    n_cal = ends.shape[0]
    n_cov = adv_beta.shape[1]
    n_roles = role_cum.shape[1]
    n_groups = o_groups.shape[0] - 1
    n_open_stages = adv_logit.shape[2]
    time_lever = np.any(lv_logtime != 0.0)
    odds_lever = np.any(lv_logodds != 0.0)
    for i in nb.prange(n_draws):
        tid = nb.get_thread_id()
        kd = subkey(key, d0 + i)
        shocks = np.empty(n_cal)
        ks = kd ^ TAG_SHOCK
        for j in range(n_cal):
            shocks[j] = shock_sigma[i] * ndtri(unit(ks, j))
        sc_f, sc_i, res_code, res_time, res_j = scratch()
        won_idx = np.empty(BLOCK, dtype=np.int64)

        # ---- open pipeline, by (type, stage) group and block ----------------------------
        if do_open:
            b_keys = np.empty(BLOCK, dtype=np.uint64)
            b_off = np.empty(BLOCK)
            b_t0 = np.zeros(BLOCK)
            lost_j = np.zeros(n_cal)
            won_j = np.zeros(n_cal)
            won_arr_j = np.zeros(n_cal)
            kopen = kd ^ TAG_OPEN
            for grp in range(n_groups):
                g0, g1 = o_groups[grp], o_groups[grp + 1]
                if g1 <= g0:
                    continue
                typ = ptype[o_partner[g0]]
                for n0 in range(g0, g1, BLOCK):
                    nb_ = min(BLOCK, g1 - n0)
                    for k in range(nb_):
                        b_keys[k] = subkey(kopen, o_id[n0 + k])
                    for k in range(nb_):  # a gather: kept out of the vectorised loops
                        b_off[k] = adv_partner[i, o_partner[n0 + k]]
                    for c in range(n_cov):
                        beta = adv_beta[i, c]
                        for k in range(nb_):
                            b_off[k] += o_cov[c, n0 + k] * beta
                    walk_group(nb_, b_keys, b_off, o_partner[n0:], b_t0, o_la[n0:], o_age[n0:],
                               o_stage[n0:], True, typ, 0, i, adv_logit, adv_duration, jump_cum,
                               time_mu, time_sigma, lv_logodds, lv_logtime, time_lever, odds_lever,
                               shocks, ends, out_offset, res_code, res_time, res_j, sc_f, sc_i)
                    for j in range(n_cal):  # lost deals by quarter (vectorised counts)
                        n_lost = 0
                        for k in range(nb_):
                            n_lost += (res_code[k] == LOST) & (res_j[k] == j)
                        lost_j[j] += n_lost
                    n_won = _won_list(res_code, nb_, won_idx)
                    for w in range(n_won):
                        k = won_idx[w]
                        n = n0 + k
                        j = res_j[k]
                        arr = o_arr[n]
                        won_j[j] += 1.0
                        won_arr_j[j] += arr
                        h = j - out_offset
                        if h < 0:
                            continue
                        g = o_seg[n]
                        wa = arr * o_attr[n]
                        acc[i, h, g, ACC_ATTR_OPEN] += wa
                        if h == pace_h:
                            pace[i, _pace_day(res_time[k], pace_start, pace.shape[1])] += wa
                        acc[i, h, g, ACC_GROSS_OPEN] += arr
                        acc[i, h, g, ACC_COMMITTED] += wa * o_commit[n]
                        # flags as 0 / 1 factors: random branches mispredict (adding 0.0
                        # leaves the non-negative sums unchanged bit for bit)
                        acc[i, h, g, ACC_MARKET_OPEN] += wa * o_market[n]
                        acc[i, h, g, ACC_EXPAN_OPEN] += wa * o_expan[n]
                        deal_wins[tid, n, h] += 1
            for j in range(n_cal):
                drv[i, j, DRV_OPEN_LOST] += lost_j[j]
                drv[i, j, DRV_OPEN_WON] += won_j[j]
                drv[i, j, DRV_OPEN_WON_ARR] += won_arr_j[j]
        if not do_new:
            continue

        # ---- new pipeline: counts per partner and quarter -------------------------------
        knew = kd ^ TAG_NEW
        alpha = opp_alpha[i]
        counts = np.zeros((n_partners, n_out), dtype=np.int64)
        for p in range(n_partners):
            kpart = subkey(knew, p)
            for hq in range(n_out):
                j0 = hq + out_offset
                frac = (ends[j0] - max(starts[j0], 0.0)) / (ends[j0] - starts[j0])
                kq = subkey(kpart, hq)
                n_pool = pool[p, hq] + lv_pool_add[p, hq]
                prob = asr[i, p, hq] * lv_asr_mult[p, hq] + lv_asr_add[p, hq]
                active = binomial_count(subkey(kq, 1), n_pool, min(max(prob, 0.0), 1.0))
                drv[i, j0, DRV_ACTIVE] += active
                lam = active * opp_rate[i, p] * lv_prod[p, hq] * frac
                if lam > 0.0 and alpha < 1e12:
                    lam *= std_gamma(subkey(kq, 2), alpha) / alpha
                count = poisson_count(subkey(kq, 3), lam)
                counts[p, hq] = count
                drv[i, j0, DRV_OPPS] += count

        # ---- new pipeline: opportunities, partners in type order ------------------------
        n_new = counts.sum()
        nw_keys = np.empty(n_new, dtype=np.uint64)
        nw_part = np.empty(n_new, dtype=np.int64)
        nw_typ = np.empty(n_new, dtype=np.int64)
        nw_off = np.empty(n_new)
        nw_t0 = np.empty(n_new)
        nw_u = np.empty(n_new)
        nw_stage = np.empty(n_new, dtype=np.int64)
        m = 0
        for pi in range(n_partners):
            p = p_order[pi]
            typ = ptype[p]
            kpart = subkey(knew, p)
            base = adv_partner[i, p]
            for hq in range(n_out):
                j0 = hq + out_offset
                start = max(starts[j0], 0.0)
                width = ends[j0] - start
                kopp = subkey(kpart, hq) ^ TAG_OPP
                cnt = counts[p, hq]
                for r in range(cnt):
                    ko = subkey(kopp, r)
                    nw_keys[m + r] = ko
                    nw_part[m + r] = p
                    nw_typ[m + r] = typ
                    nw_off[m + r] = base
                    nw_t0[m + r] = start + unit(ko, 0) * width
                m += cnt
        for c in range(n_cov):  # Bernoulli covariates, or the type's mean
            beta = adv_beta[i, c]
            if cov_bool[c]:
                for r in range(n_new):
                    hit = unit(nw_keys[r], 1 + c) < new_cov[nw_typ[r], c]
                    nw_off[r] += (1.0 if hit else 0.0) * beta
            else:
                for r in range(n_new):
                    nw_off[r] += new_cov[nw_typ[r], c] * beta
        for r in range(n_new):  # the stage each is created in
            nw_u[r] = unit(nw_keys[r], SLOT_ENTRY)
            nw_stage[r] = 0
        for e in range(n_open_stages - 1):
            for r in range(n_new):
                nw_stage[r] += nw_u[r] >= entry_cum[nw_typ[r], e]

        # ---- new pipeline: paths by type, then size / role / flags of won deals ---------
        zeros = np.zeros(BLOCK)  # new deals have spent no time in their first stage
        g0 = 0
        while g0 < n_new:
            typ = nw_typ[g0]
            g1 = g0 + 1
            while g1 < n_new and nw_typ[g1] == typ:
                g1 += 1
            for n0 in range(g0, g1, BLOCK):
                nb_ = min(BLOCK, g1 - n0)
                walk_group(nb_, nw_keys[n0:], nw_off[n0:], nw_part[n0:], nw_t0[n0:], zeros,
                           zeros, nw_stage[n0:], False, typ, SLOT_NEW_PATH, i, adv_logit,
                           adv_duration, jump_cum, time_mu, time_sigma, lv_logodds, lv_logtime,
                           time_lever, odds_lever, shocks, ends, out_offset, res_code,
                           res_time, res_j, sc_f, sc_i)
                n_won = _won_list(res_code, nb_, won_idx)
                for w in range(n_won):
                    k = won_idx[w]
                    n = n0 + k
                    ko = nw_keys[n]
                    p = nw_part[n]
                    j = res_j[k]
                    h = j - out_offset
                    ur = unit(ko, 5)
                    r = 0
                    while r < n_roles - 1 and ur >= role_cum[typ, r]:
                        r += 1
                    centre = size_mu[i, p] + size_role[i, r]
                    dev = min(size_sigma[i] * student_t(subkey(ko, 9), size_nu[i]), max_log_ratio)
                    arr = math.exp(centre + dev) * lv_size[p, h]
                    drv[i, j, DRV_NEW_WON] += 1.0
                    drv[i, j, DRV_NEW_WON_ARR] += arr
                    g = new_seg[p, r]
                    wt = arr * role_weight[typ, r]
                    acc[i, h, g, ACC_ATTR_NEW] += wt
                    if h == pace_h:
                        pace[i, _pace_day(res_time[k], pace_start, pace.shape[1])] += wt
                    acc[i, h, g, ACC_GROSS_NEW] += arr
                    if unit(ko, 6) < market_rate[typ]:
                        acc[i, h, g, ACC_MARKET_NEW] += wt
                    if unit(ko, 7) < expan_rate[typ]:
                        acc[i, h, g, ACC_EXPAN_NEW] += wt
            g0 = g1
