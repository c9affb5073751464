"""The stage walk of the numba kernel: deals from their stage to won, lost or still open.

Deals are walked in groups that share a partner type, a block at a time, one stage per pass
(:func:`walk_group`): within a pass every live deal is in the same stage, so the draw's
parameters are scalars and each pass is a few contiguous loops written with the branch-free
math of :mod:`._vmath`, which LLVM vectorises (it will not vectorise table look-ups on current
x86, hence the grouping). This computes exactly what the per-deal walk :func:`walk_deal`
computes (same random numbers, same formulas; it is kept as the reference the tests compare
against, through :func:`walk_groups_and_reference`), several times faster. The chunk kernel
(:mod:`._kernel`) walks open and new deals with it.

Times are days from the as-of date; ``ends[j]`` is the end of calendar quarter ``j`` (quarter
0 contains the as-of date).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from partner_forecast.simulate._rng import stage_units
from partner_forecast.simulate._vmath import F32, FASTMATH, vexpf, vndtrif, vsff

OPEN, WON, LOST, ADV = 0, 1, 2, 3  # ADV: advanced to a later open stage (internal)
LOG30 = F32(math.log(30.0))
MIN_SIGMA = F32(1e-12)
MIN_PROB = F32(1e-37)  # float32 normals reach 1.2e-38
NO_AGE_LOG = -1e30  # log(days in stage) of a deal that has just entered its stage
BLOCK = 1024  # deals per block of the stage passes (fits in L1/L2 with all scratch arrays)
HELPERS_DIGEST = "f1bfff834f7136c6"
"""sha256 (first 16 hex digits) of ``_rng.py`` + ``_vmath.py``, whose functions are inlined here.

numba's disk cache checks only the date and size of the file a cached function is defined in,
so an edit of a helper module alone would leave stale compiled walks in use.
``tests/test_simulate_api.py`` fails until this digest is updated, and updating it changes this
file, which invalidates the cached walks (and, through :data:`._kernel.HELPERS_DIGEST`, the
cached kernel)."""


# -- the reference walk (one deal, scalar) -------------------------------------------------------
@nb.njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def walk_deal(key, slot0, stage0, age, la, t0, offset, typ, p, i, adv_logit, adv_duration,
              jump_cum, time_mu, time_sigma, logodds, logtime, shocks, ends, out_offset):
    """Walk one deal from ``stage0`` (``age`` days spent there, ``la`` = log(age)) from ``t0``.

    Returns (outcome, time): WON / LOST with the close time, or OPEN (time >= horizon end).
    Stage ``s`` takes the three uniforms of slot ``slot0 + s`` (:func:`._rng.stage_units`):
    its duration, its advance decision and the destination of an advance (the next stage, a
    later one or won; ``jump_cum[i, typ, s, j]`` is the cumulative probability of destinations
    ``s + 1 .. s + 1 + j``, the last one being won). The duration of the first stage is drawn
    from the log-normal conditional on exceeding ``age`` (inverse CDF of the upper tail).
    Levers ``logodds`` and ``logtime`` are (P, S, H): odds by the quarter of the decision,
    durations by the quarter the stage is entered (quarters before the first forecast quarter
    use the first). Times, durations and the decision run in float32 (the
    float32 helpers of :mod:`._vmath`), exactly as :func:`walk_group` computes them.
    """
    t = F32(t0)
    n_cal = ends.shape[0]
    horizon_end = F32(ends[n_cal - 1])
    n_stages = adv_logit.shape[2]
    s = stage0
    first = True
    while s < n_stages:
        je = 0
        while je < n_cal - 1 and F32(ends[je]) <= t:
            je += 1
        mu = F32(time_mu[i, typ, s]) + F32(logtime[p, s, max(je - out_offset, 0)])
        sd = max(F32(time_sigma[i, typ, s]), MIN_SIGMA)
        u, v, w = stage_units(key, slot0 + s)
        if first and age > 0.0:
            a = max((F32(la) - mu) / sd, F32(-40.0))
            u = max(u * vsff(a), MIN_PROB)
        logd = mu - sd * vndtrif(u)
        t = t + max(vexpf(logd) - (F32(age) if first else F32(0.0)), F32(0.0))
        first = False
        if t >= horizon_end:
            return OPEN, t
        j = 0
        while F32(ends[j]) <= t:
            j += 1
        x = (F32(adv_logit[i, typ, s]) + F32(offset) + F32(adv_duration[i, s]) * (logd - LOG30)
             + F32(shocks[j]) + F32(logodds[p, s, max(j - out_offset, 0)]))
        if v * (F32(1.0) + vexpf(-x)) >= F32(1.0):  # v >= sigmoid(x): lost
            return LOST, t
        dest = s + 1
        if n_stages - s > 1 and jump_cum[i, typ, s, 0] < 1.0:
            for d in range(n_stages - s - 1):
                dest += w >= F32(jump_cum[i, typ, s, d])
        s = dest
    return WON, t



# -- the block walk (vectorised passes) ----------------------------------------------------------
@nb.njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def walk_group(n_blk, keys, off, part, t0, la, age, stg, truncate, typ, slot0, i,
                adv_logit, adv_duration, jump_cum, time_mu, time_sigma, logodds, logtime,
                time_lever, odds_lever, shocks, ends, out_offset, res_code, res_time, res_j,
                sc_f, sc_i):
    """Walk ``n_blk`` deals of one partner type, each starting in its stage ``stg[k]``.

    Writes outcome (OPEN / WON / LOST), close time and calendar quarter (-1 when still open)
    per deal. ``la`` is log(days already spent in the first stage) (``NO_AGE_LOG`` for none;
    read only when ``truncate``). Pass ``s`` decides the live deals in stage ``s`` (deals
    that jumped ahead wait for their stage's pass), so the draw's parameters are scalars.

    Deals stay in place: every pass computes all ``n_blk`` lanes and a select keeps the new
    state only where the deal was live in stage ``s`` (``res_code`` is ``ADV`` while a deal
    is live); the wasted lanes cost less than gathering live deals between passes (a scalar
    loop with a store per field). Every per-deal loop is an innermost loop without calls,
    inner loops, branches or table look-ups, in float32, so LLVM vectorises it 16 lanes
    wide on AVX-512 (a nested loop or a gather keeps a loop scalar: 5-7x slower). Lever
    look-ups (``time_lever`` / ``odds_lever``) are the only scalar loops. Passes stop when
    no deal is live. ``sc_f`` (10, BLOCK) float32 and ``sc_i`` (5, BLOCK) int32 are scratch;
    ``res_*`` are (BLOCK,) int32, float32 and int32.
    """
    n_stages = adv_logit.shape[2]
    n_cal = ends.shape[0]
    hend = F32(ends[n_cal - 1])
    w_t0, w_age, w_la, mu_, f_, t_, u_, v_, w_, sh_ = (
        sc_f[0], sc_f[1], sc_f[2], sc_f[3], sc_f[4], sc_f[5], sc_f[6], sc_f[7], sc_f[8], sc_f[9])
    w_stage, j_, lost_, dest_, at_ = sc_i[0], sc_i[1], sc_i[2], sc_i[3], sc_i[4]
    s = n_stages
    s_first = 0  # the last stage any deal starts in (later passes hold no first stays)
    for k in range(n_blk):  # short loops vectorise best (see below)
        w_t0[k] = F32(t0[k])
    for k in range(n_blk):
        w_age[k] = F32(age[k])
    if truncate:
        for k in range(n_blk):
            w_la[k] = F32(la[k])
    else:
        for k in range(n_blk):
            w_la[k] = F32(NO_AGE_LOG)
    for k in range(n_blk):
        w_stage[k] = stg[k]
        res_code[k] = ADV
        res_j[k] = -1
    for k in range(n_blk):
        res_time[k] = F32(0.0)
    for k in range(n_blk):
        s = min(s, stg[k])
        s_first = max(s_first, stg[k])
    n_live = n_blk
    while n_live > 0 and s < n_stages:
        mu = F32(time_mu[i, typ, s])
        sd = max(F32(time_sigma[i, typ, s]), MIN_SIGMA)
        lg = F32(adv_logit[i, typ, s])
        dur = F32(adv_duration[i, s])
        slot = slot0 + s
        n_dest = n_stages - s
        if time_lever:  # by partner, stage and the quarter the stage is entered
            for k in range(n_blk):
                j_[k] = 0
            for q in range(n_cal - 1):  # the calendar quarter by compares (vectorised)
                e = F32(ends[q])
                for k in range(n_blk):
                    j_[k] += w_t0[k] >= e
            for k in range(n_blk):  # the lever by partner: a gather (scalar loop)
                mu_[k] = mu + F32(logtime[part[k], s, max(j_[k] - out_offset, 0)])
        else:
            for k in range(n_blk):
                mu_[k] = mu
        for k in range(n_blk):  # the stage's three uniforms (one hash)
            u, v, w = stage_units(keys[k], slot)
            u_[k] = u
            v_[k] = v
            w_[k] = w
        # One transcendental per loop: LLVM vectorises a long body poorly (register spills),
        # measured 3x slower than these short loops.
        if truncate and s <= s_first:  # first stays: condition on the days already spent
            for k in range(n_blk):  # upper tail beyond the age (exactly 1 without an age)
                u_[k] = max(u_[k] * vsff(max((w_la[k] - mu_[k]) / sd, F32(-40.0))), MIN_PROB)
        for k in range(n_blk):  # log durations
            mu_[k] = mu_[k] - sd * vndtrif(u_[k])
        if truncate and s <= s_first:  # exit times (less the days already spent)
            for k in range(n_blk):
                t_[k] = w_t0[k] + max(vexpf(mu_[k]) - w_age[k], F32(0.0))
        else:
            for k in range(n_blk):
                t_[k] = w_t0[k] + vexpf(mu_[k])
        for k in range(n_blk):  # calendar quarter of exit and its shock
            j_[k] = 0
            sh_[k] = F32(shocks[0])
        for q in range(n_cal - 1):  # compares, not table look-ups: gathers stop vectorising
            e = F32(ends[q])
            nxt = F32(shocks[q + 1])
            for k in range(n_blk):
                past = t_[k] >= e
                j_[k] += past
                old = sh_[k]
                sh_[k] = nxt if past else old
        if odds_lever:  # by partner, stage and the quarter of the decision (scalar loop)
            for k in range(n_blk):
                f_[k] = F32(logodds[part[k], s, max(j_[k] - out_offset, 0)])
        else:
            for k in range(n_blk):
                f_[k] = F32(0.0)
        for k in range(n_blk):  # advance decisions
            x = lg + F32(off[k]) + dur * (mu_[k] - LOG30) + sh_[k] + f_[k]
            lost_[k] = v_[k] * (F32(1.0) + vexpf(-x)) >= F32(1.0)  # v >= sigmoid(x)
        for k in range(n_blk):
            dest_[k] = s + 1
        if n_dest > 1 and jump_cum[i, typ, s, 0] < 1.0:  # skips: destination by one uniform
            for d in range(n_dest - 1):
                c_d = F32(jump_cum[i, typ, s, d])
                for k in range(n_blk):
                    dest_[k] += w_[k] >= c_d
        one = np.int32(1)
        for k in range(n_blk):  # outcome of the stay: OPEN (0), LOST, WON or ADV (selects)
            o = np.int32(t_[k] >= hend)
            lo = lost_[k]
            wo = np.int32(dest_[k] >= n_stages)
            lost_[k] = (one - o) * (lo * LOST + (one - lo) * (wo * WON + (one - wo) * ADV))
            j_[k] = (one - o) * (lo | wo) * (j_[k] + one) - one  # calendar quarter if closed
        for k in range(n_blk):  # live in stage s: 1, else 0 (kept in w_stage's place below)
            at_[k] = (res_code[k] == ADV) & (w_stage[k] == s)
        # Keep the new state where the deal was live in stage s (one array per loop). Both
        # values are loaded before the select: ``a[k] = b[k] if c else a[k]`` is a
        # conditional load, which LLVM does not vectorise (measured 7x slower a lane).
        for k in range(n_blk):
            a, new, old = at_[k] != 0, lost_[k], res_code[k]
            res_code[k] = new if a else old
        for k in range(n_blk):
            a, new, old = at_[k] != 0, j_[k], res_j[k]
            res_j[k] = new if a else old
        for k in range(n_blk):
            a, new, old = at_[k] != 0, t_[k], res_time[k]
            res_time[k] = new if a else old
        for k in range(n_blk):
            a, new, old = at_[k] != 0, dest_[k], w_stage[k]
            w_stage[k] = new if a else old
        for k in range(n_blk):
            a, new, old = at_[k] != 0, t_[k], w_t0[k]
            w_t0[k] = new if a else old
        if truncate and s <= s_first:
            for k in range(n_blk):
                a, old = at_[k] != 0, w_age[k]
                w_age[k] = F32(0.0) if a else old
            for k in range(n_blk):
                a, old = at_[k] != 0, w_la[k]
                w_la[k] = F32(NO_AGE_LOG) if a else old
        n_live = 0
        for k in range(n_blk):
            n_live += res_code[k] == ADV
        s += 1


@nb.njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def scratch():
    """Scratch arrays of one :func:`walk_group` call (see there) and its results."""
    return (np.empty((10, BLOCK), dtype=np.float32), np.empty((5, BLOCK), dtype=np.int32),
            np.empty(BLOCK, dtype=np.int32), np.empty(BLOCK, dtype=np.float32),
            np.empty(BLOCK, dtype=np.int32))



@nb.njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def walk_groups_and_reference(keys, typ, part, off, stage0, t0, age, slot0, i, adv_logit,
                              adv_duration, jump_cum, time_mu, time_sigma, logodds, logtime,
                              shocks, ends, out_offset):
    """Walk deals both ways (grouped passes and :func:`walk_deal`) for the tests.

    Deals must come sorted by type (stages may be mixed within a type). Returns (code_group,
    time_group, code_ref, time_ref), each (n,).
    """
    n = keys.shape[0]
    code_g = np.empty(n, dtype=np.int64)
    time_g = np.empty(n, dtype=np.float32)
    code_r = np.empty(n, dtype=np.int64)
    time_r = np.empty(n, dtype=np.float32)
    la = np.empty(n)
    for d in range(n):
        la[d] = math.log(age[d]) if age[d] > 0.0 else NO_AGE_LOG
    sc_f, sc_i, res_code, res_time, res_j = scratch()
    time_lever = np.any(logtime != 0.0)
    odds_lever = np.any(logodds != 0.0)
    g0 = 0
    while g0 < n:
        g1 = g0 + 1
        while g1 < n and typ[g1] == typ[g0]:
            g1 += 1
        for n0 in range(g0, g1, BLOCK):
            nb_ = min(BLOCK, g1 - n0)
            walk_group(nb_, keys[n0:], off[n0:], part[n0:], t0[n0:], la[n0:], age[n0:],
                       stage0[n0:], True, typ[g0], slot0, i, adv_logit, adv_duration, jump_cum,
                       time_mu, time_sigma, logodds, logtime, time_lever, odds_lever, shocks,
                       ends, out_offset, res_code, res_time, res_j, sc_f, sc_i)
            for k in range(nb_):
                code_g[n0 + k] = res_code[k]
                time_g[n0 + k] = res_time[k]
        g0 = g1
    for d in range(n):
        c, t = walk_deal(keys[d], slot0, stage0[d], age[d], la[d], t0[d], off[d], typ[d], part[d], i,
                         adv_logit, adv_duration, jump_cum, time_mu, time_sigma, logodds, logtime,
                         shocks, ends, out_offset)
        code_r[d] = c
        time_r[d] = t
    return code_g, time_g, code_r, time_r
