"""The Monte Carlo engine: posterior draws of the five models -> partner ARR by quarter.

For each posterior draw (DESIGN.md section 4):

1. **Open pipeline.** Every open deal walks from its current stage through the semi-Markov
   path of :mod:`partner_forecast.simulate.inputs`: the rest of its current stage is drawn from
   the log-normal conditional on the days it has already spent there (truncated below), later
   stages from the untruncated log-normal; on leaving a stage it advances with the
   continuation probability of its type, partner, covariates, time spent and the quarter
   shock of the calendar quarter it leaves in, and is otherwise lost. An advancing deal goes
   to the next stage, skips to a later one or is won directly, with the type's learned
   destination probabilities (``stage_jumps``); advancing from negotiation is a win, dated at
   that moment. A deal whose next move falls after the last
   forecast quarter is still open.
2. **New pipeline.** Per partner and forecast quarter: active sellers ~ Binomial(pool, ASR);
   opportunities ~ NegativeBinomial(mean active x opp_rate, alpha opp_dispersion) (a Gamma
   mixed Poisson), created uniformly within the quarter in a stage drawn from the type's
   entry mix (``stage_entry``: discovery unless the history says otherwise); covariates drawn per
   deal (booleans ~ Bernoulli(new_covariates), engagement at its mean); the same stage path;
   for won deals, the role ~ Categorical(role_probs[type]), log ARR ~ StudentT(size_nu,
   size_mu[p] + size_role[r], size_sigma), marketplace / expansion flags ~ Bernoulli.
3. **Attribution.** Open deals carry their own ``attribution``; new deals use the role weights
   of :class:`~partner_forecast.config.AttributionSettings` (sourced 1, co-sell .5, influenced
   = ``influence_share[type]`` when ``use_influence_pct`` else ``influenced``, fulfillment 0).
4. **Aggregation.** ARR is summed by the forecast quarter in which the deal is won and by
   segment.

Time starts at ``inputs.as_of``: wins before it are actuals, not forecasts. When ``as_of`` is
inside the first forecast quarter, new opportunities are created only in the rest of it
(``[as_of, quarter end)``) and their expected number is scaled by the remaining share of the
quarter's days (the activation draw itself is for the whole quarter). Shocks exist for every
calendar quarter from the one containing ``as_of``. New pipeline is generated only in the
forecast quarters (``asr`` and ``pool`` exist only for them): start ``inputs.quarters`` at the
quarter containing ``as_of`` (as :mod:`partner_forecast.forecast` does) so that no stretch of
time between ``as_of`` and the first forecast quarter goes without new opportunities.

Random numbers are counter-based (:mod:`._rng`): each is a function of the run key, the
global draw index, the entity and a slot, so results do not depend on ``chunk_draws`` or on
the number of threads, and scenario runs (:class:`~partner_forecast.simulate.levers.Levers`)
share the baseline's numbers decision by decision. Results are bit-identical run to run on
a machine; on another CPU (e.g. without fused multiply-add) rounding may differ in the last bit
and flip a rare borderline decision. The only numerical approximations are
the float32 walk (normal quantile < 1e-6 relative, survival function for the truncation of
the current stage < 3e-5 relative, 24-bit duration uniforms), and the ``max_deal_ratio`` cap on a
single drawn deal size; nothing is aggregated into cells, every deal of every draw is walked.

Cost (``benchmarks/simulate.py``): 4,000 draws x 50,000 open deals + ~15,000 sellers at 300
partners take ~9 CPU-seconds for a one-quarter horizon (~10.5 before the float32 walk; measured
on a loaded shared machine), with a few hundred MB of memory. Nearly all of it is the numba
kernel: the stage passes of :func:`._walk.walk_group` run in float32 (16 lanes on AVX-512;
times in days carry ~1e-7 relative rounding, the normal quantile ~2e-7, uniforms 24 or 20 bits,
far below Monte Carlo error), in short loops with one transcendental each. A scenario run
given its baseline (``reuse``) skips the open pipeline when it is unchanged. The first call
compiles the numba kernel (~30 CPU-seconds), cached on disk afterwards; after editing
``_rng.py``, ``_vmath.py`` or ``_walk.py`` update the ``HELPERS_DIGEST`` of ``_walk.py`` and
``_kernel.py`` (a test says so and gives the values), which makes numba recompile the walk and
the kernel (its cache checks only the date and size of the file a function is defined in).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numba
import numpy as np

from partner_forecast.calendar import Quarter
from partner_forecast.config import AttributionSettings, load_settings
from partner_forecast.data.schema import COVARIATES, OPEN_STAGES, ROLES
from partner_forecast.simulate import _kernel as K
from partner_forecast.simulate._walk import NO_AGE_LOG
from partner_forecast.simulate.inputs import SimulationInputs
from partner_forecast.simulate.levers import Levers, ResolvedLevers
from partner_forecast.simulate.result import DRIVERS, OpenPipelinePart, SimulationResult
from partner_forecast.simulate.segments import SegmentSpec

BOOLEAN_COVARIATES: frozenset[str] = frozenset({"technical_validation", "executive_sponsor"})
"""Covariates drawn as Bernoulli(new_covariates) for new deals (the others take their mean)."""

MAX_DEAL_RATIO = 1000.0
"""Default cap on a new deal's ARR relative to its partner/role median (see ``simulate``)."""

_DRAW_PARAMS: tuple[str, ...] = (
    "asr", "opp_rate", "opp_dispersion", "adv_logit", "adv_partner", "adv_beta", "adv_duration",
    "shock_sigma", "time_mu", "time_sigma", "size_mu", "size_role", "size_sigma", "size_nu",
)


def simulate(inputs: SimulationInputs, *, seed: int | np.random.Generator,
             segments: SegmentSpec | None = None, chunk_draws: int = 250,
             levers: Levers | None = None, attribution: AttributionSettings | None = None,
             max_deal_ratio: float = MAX_DEAL_RATIO,
             progress: Callable[[int, int], None] | None = None, keep_open: bool = False,
             reuse: SimulationResult | None = None,
             pace_quarter: Quarter | None = None) -> SimulationResult:
    """Simulate partner ARR won per posterior draw, forecast quarter and segment.

    Parameters
    ----------
    inputs : SimulationInputs
        Posterior draws and the open pipeline (checked with :meth:`SimulationInputs.check`).
    seed : int or numpy.random.Generator
        Seed of the run. A Generator is used to draw the run's 64-bit key (one draw from it);
        an int seeds ``numpy.random.default_rng``. Same seed, same arrays.
    segments : SegmentSpec, optional
        How to split ARR (default one segment, ``"total"``).
    chunk_draws : int
        Draws simulated per kernel call; bounds working memory (~ chunk_draws x H x G x 9 x 8
        bytes of accumulators). Results do not depend on it.
    levers : Levers, optional
        Scenario adjustments (default none). With the same seed, no-op levers reproduce the
        baseline exactly.
    attribution : AttributionSettings, optional
        Role weights for new deals (default: the ``[attribution]`` table of the default config).
    max_deal_ratio : float
        Cap on a drawn new deal's ARR as a multiple of its partner/role median
        ``exp(size_mu + size_role)``. A log-Student-t deal size has an infinite mean, so
        without a cap a single absurd draw could dominate means; the default (1,000) is
        reached by fewer than 0.3% of deals even at ``size_nu`` 3 and ``size_sigma`` 0.9.
    progress : callable, optional
        Called as ``progress(draws_done, draws_total)`` after each chunk.
    keep_open : bool
        Keep the open pipeline's accumulators in the result (``open_part``, about
        D x H x G x 40 bytes) so that scenario runs can reuse them.
    reuse : SimulationResult, optional
        A run kept with ``keep_open`` (typically the baseline of a scenario). When everything
        the open pipeline reads is unchanged (run key, draws, open deals, segments, calendar,
        the draws of the parameters it uses and the levers of its partners; compared by
        digest), its open pipeline is taken from there instead of walked again: exactly the
        arrays a full run gives, since the engine keeps the open and new pipelines apart.
    pace_quarter : Quarter, optional
        A forecast quarter whose wins to keep by day as well (``SimulationResult.pace``:
        attributed ARR won per draw and day of the quarter, all segments), the path in-quarter
        pacing compares with. Costs one compare per won deal and D x days x 8 bytes; the other
        arrays are the same with or without it. Not kept when the open pipeline is reused.

    Returns
    -------
    SimulationResult
        ARR arrays (D, H, G) in currency per year, per-deal win probabilities, driver totals.
    """
    inputs.check()
    if chunk_draws < 1:
        raise ValueError("chunk_draws must be >= 1")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    key = np.uint64(rng.integers(0, 2**64, dtype=np.uint64))
    segments = (SegmentSpec.total(inputs) if segments is None else segments).check(inputs)
    attribution = load_settings().attribution if attribution is None else attribution

    D, H, G = inputs.n_draws, inputs.horizon, segments.n_segments
    P, S = len(inputs.partner_ids), len(OPEN_STAGES)
    pool = np.ascontiguousarray(inputs.pool, dtype=np.int64)
    lv = _full_levers((levers or Levers()).resolve(P, S, pool), P, S, H)
    if not max_deal_ratio > 1.0:
        raise ValueError("max_deal_ratio must be > 1")
    ends, starts, out_offset = _calendar(inputs)
    pace_h, pace_start, pace_days = _pace_slot(inputs, pace_quarter, starts, out_offset)

    static = _static_arrays(inputs, attribution)
    jump_cum = _cumulative(inputs.stage_jumps(), axis=-1)
    deals = _open_deal_arrays(inputs, P, S)
    N = len(deals["o_partner"])
    # Open deals sorted by (partner type, stage) so the kernel walks groups with shared
    # parameters; each keeps its original row as its random-number key.
    o_type = static["ptype"][deals["o_partner"]]
    order = np.lexsort((deals["o_stage"], o_type)) if N else np.zeros(0, dtype=np.int64)
    sorted_deals = {k: np.ascontiguousarray(v[order]) for k, v in deals.items()}
    o_seg = np.ascontiguousarray(segments.open_codes[order])
    age = sorted_deals["o_age"]
    o_la = np.full(N, NO_AGE_LOG)
    np.log(age, out=o_la, where=age > 0)  # log(days in stage), once for all draws
    group_key = o_type[order] * S + sorted_deals["o_stage"]
    o_groups = np.flatnonzero(np.r_[True, group_key[1:] != group_key[:-1], True]).astype(np.int64)
    if N == 0:
        o_groups = np.zeros(1, dtype=np.int64)
    p_order = np.argsort(static["ptype"], kind="stable").astype(np.int64)
    part = reuse.open_part if reuse is not None else None
    fingerprint = "" if part is None and not keep_open else _open_fingerprint(
        key, inputs, deals, order, o_seg, G, lv, ends, out_offset, jump_cum, static["ptype"])
    do_open = part is None or part.fingerprint != fingerprint
    n_threads = numba.get_num_threads()
    deal_wins = np.zeros((n_threads if do_open else 1, N, H), dtype=np.int32)
    if keep_open:
        kept = OpenPipelinePart(fingerprint, np.zeros((D, H, G, _N_ACC_OPEN)),
                                np.zeros((D, len(ends), _N_DRV_OPEN)), np.zeros((N, H), np.int64))

    out = {name: np.zeros((D, H, G), dtype=np.float32) for name in
           ("attributed_open", "attributed_new", "gross_open", "gross_new", "committed", "upside",
            "marketplace", "expansion")}
    drivers = {name: np.zeros((D, H), dtype=np.float64) for name in DRIVERS}
    if not do_open:  # the reused run's open pipeline wins are not known by day
        pace_h = -1
    pace = np.zeros((D, pace_days) if pace_h >= 0 else (0, 1), dtype=np.float64)

    for d0 in range(0, D, chunk_draws):
        d1 = min(D, d0 + chunk_draws)
        n = d1 - d0
        params = [np.ascontiguousarray(getattr(inputs, name)[d0:d1], dtype=np.float64)
                  for name in _DRAW_PARAMS]
        params.append(np.ascontiguousarray(jump_cum[d0:d1]))
        acc = np.zeros((n, H, G, K.N_ACC), dtype=np.float64)
        drv = np.zeros((n, len(ends), K.N_DRV), dtype=np.float64)
        pace_chunk = pace[d0:d1] if pace_h >= 0 else np.zeros((n, 1), dtype=np.float64)
        if not do_open:  # the open pipeline as the reused run had it
            assert part is not None
            acc[..., _ACC_OPEN] = part.acc[d0:d1]
            drv[..., _DRV_OPEN] = part.drv[d0:d1]
        args = (  # the kernel's 60 arguments, in its order
            key, d0, *params,
            static["ptype"], pool, p_order, static["entry_cum"], static["role_cum"],
            static["role_weight"],
            static["new_cov"], static["cov_bool"], static["market_rate"], static["expan_rate"],
            np.ascontiguousarray(order.astype(np.int64)), sorted_deals["o_partner"],
            sorted_deals["o_stage"], sorted_deals["o_age"], o_la, sorted_deals["o_arr"],
            sorted_deals["o_attr"], np.ascontiguousarray(sorted_deals["o_cov"].T), sorted_deals["o_market"],
            sorted_deals["o_expan"], sorted_deals["o_commit"], o_seg, o_groups,
            np.ascontiguousarray(segments.new_codes), ends, starts, out_offset,
            float(np.log(max_deal_ratio)),
            lv.asr_multiplier, lv.asr_add, lv.productivity_multiplier, lv.log_win_odds,
            lv.log_time_in_stage, lv.deal_size_multiplier, lv.pool_add, do_open, True,
            acc, drv, deal_wins, pace_h, pace_start, pace_chunk)
        K.simulate_chunk(*args)
        _store_chunk(out, drivers, acc, drv, d0, d1, out_offset, N)
        if keep_open:
            kept.acc[d0:d1] = acc[..., _ACC_OPEN]
            kept.drv[d0:d1] = drv[..., _DRV_OPEN]
        if progress is not None:
            progress(d1, D)

    if do_open:
        wins = deal_wins.sum(axis=0, dtype=np.int64)
    else:
        assert part is not None
        wins = part.wins
    if keep_open:
        kept.wins[:] = wins
    win_prob = np.empty((N, H), dtype=np.float64)
    win_prob[order] = wins / max(D, 1)
    return SimulationResult(
        quarters=tuple(inputs.quarters), segment_key=segments.key, segments=tuple(segments.labels),
        deal_ids=inputs.open_deals["opportunity_id"].to_numpy(dtype=object).astype(str),
        deal_win_probability=win_prob, drivers=drivers, seed_key=int(key),
        open_part=kept if keep_open else None,
        pace_quarter=pace_quarter if pace_h >= 0 else None,
        pace=pace if pace_h >= 0 else None, **out)


def _pace_slot(inputs: SimulationInputs, quarter: Quarter | None, starts: np.ndarray,
               out_offset: int) -> tuple[int, float, int]:
    """(forecast quarter index, its start in days from as-of, its days) of ``pace_quarter``.

    (-1, 0.0, 1) without one.
    """
    if quarter is None:
        return -1, 0.0, 1
    labels = [str(q) for q in inputs.quarters]
    if str(quarter) not in labels:
        raise ValueError(f"pace_quarter {quarter} is not a forecast quarter ({', '.join(labels)})")
    h = labels.index(str(quarter))
    return h, float(starts[h + out_offset]), quarter.days


_ACC_OPEN = slice(K.ACC_ATTR_OPEN, K.ACC_EXPAN_OPEN + 1)  # the open pipeline's accumulators
_DRV_OPEN = slice(K.DRV_OPEN_WON, K.DRV_OPEN_WON_ARR + 1)  # and driver totals
_N_ACC_OPEN = K.ACC_EXPAN_OPEN + 1 - K.ACC_ATTR_OPEN
_N_DRV_OPEN = K.DRV_OPEN_WON_ARR + 1 - K.DRV_OPEN_WON


def _open_fingerprint(key: np.uint64, inputs: SimulationInputs, deals: dict[str, np.ndarray],
                      order: np.ndarray, o_seg: np.ndarray, n_segments: int, lv: ResolvedLevers,
                      ends: np.ndarray, out_offset: int, jump_cum: np.ndarray,
                      ptype: np.ndarray) -> str:
    """Digest of everything the kernel's open pipeline reads (see ``simulate(reuse=...)``).

    Only the open deals' partners' columns of per-partner arrays enter, so recruiting
    partners or changing the new pipeline of others leaves it unchanged.
    """
    used = np.unique(deals["o_partner"])
    h = hashlib.blake2b(digest_size=20)
    h.update(np.array([key], dtype=np.uint64).tobytes())
    h.update(np.array([inputs.n_draws, inputs.horizon, n_segments, out_offset], np.int64).tobytes())
    parts = [order, o_seg, ends, jump_cum, ptype[used], lv.log_win_odds[used],
             lv.log_time_in_stage[used], np.asarray(inputs.adv_partner)[:, used],
             *(deals[k] for k in sorted(deals)),
             *(np.asarray(getattr(inputs, k)) for k in ("adv_logit", "adv_beta", "adv_duration",
                                                         "shock_sigma", "time_mu", "time_sigma"))]
    for a in parts:
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.view(np.uint8) if a.ndim else a.tobytes())  # no copy of contiguous arrays
    return h.hexdigest()


def _store_chunk(out: dict[str, np.ndarray], drivers: dict[str, np.ndarray], acc: np.ndarray,
                 drv: np.ndarray, d0: int, d1: int, out_offset: int, n_open: int) -> None:
    """Copy one chunk's float64 accumulators into the float32 outputs and driver arrays."""
    out["attributed_open"][d0:d1] = acc[..., K.ACC_ATTR_OPEN]
    out["gross_open"][d0:d1] = acc[..., K.ACC_GROSS_OPEN]
    out["committed"][d0:d1] = acc[..., K.ACC_COMMITTED]
    out["upside"][d0:d1] = acc[..., K.ACC_ATTR_OPEN] - acc[..., K.ACC_COMMITTED]
    out["attributed_new"][d0:d1] = acc[..., K.ACC_ATTR_NEW]
    out["gross_new"][d0:d1] = acc[..., K.ACC_GROSS_NEW]
    out["marketplace"][d0:d1] = acc[..., K.ACC_MARKET_OPEN] + acc[..., K.ACC_MARKET_NEW]
    out["expansion"][d0:d1] = acc[..., K.ACC_EXPAN_OPEN] + acc[..., K.ACC_EXPAN_NEW]
    closed = np.cumsum(drv[..., K.DRV_OPEN_WON] + drv[..., K.DRV_OPEN_LOST], axis=1)
    sl = slice(out_offset, None)
    drivers["new_active_sellers"][d0:d1] = drv[:, sl, K.DRV_ACTIVE]
    drivers["new_opportunities"][d0:d1] = drv[:, sl, K.DRV_OPPS]
    drivers["new_won_deals"][d0:d1] = drv[:, sl, K.DRV_NEW_WON]
    drivers["new_won_arr"][d0:d1] = drv[:, sl, K.DRV_NEW_WON_ARR]
    drivers["open_won_deals"][d0:d1] = drv[:, sl, K.DRV_OPEN_WON]
    drivers["open_lost_deals"][d0:d1] = drv[:, sl, K.DRV_OPEN_LOST]
    drivers["open_won_arr"][d0:d1] = drv[:, sl, K.DRV_OPEN_WON_ARR]
    drivers["open_still_open"][d0:d1] = n_open - closed[:, sl]


def _calendar(inputs: SimulationInputs) -> tuple[np.ndarray, np.ndarray, int]:
    """Quarter starts and ends (days from as-of) and the index of the first forecast quarter.

    Calendar quarters run from the one containing as-of to the last forecast quarter.
    """
    quarters = tuple(inputs.quarters)
    if not quarters:
        raise ValueError("SimulationInputs.quarters is empty")
    for a, b in zip(quarters, quarters[1:], strict=False):
        if b.index != a.index + 1:
            raise ValueError(f"forecast quarters must be consecutive, got {a} then {b}")
    as_of = inputs.as_of
    first = Quarter.containing(as_of, quarters[0].fiscal_year_start_month)
    if quarters[0] < first:
        raise ValueError(f"forecast quarter {quarters[0]} ends before as-of {as_of.date()}")
    offset = int(quarters[0].index - first.index)
    cal = [first + j for j in range(offset + len(quarters))]
    ends = np.array([(q.end - as_of).total_seconds() / 86400.0 for q in cal], dtype=np.float64)
    starts = np.array([(q.start - as_of).total_seconds() / 86400.0 for q in cal], dtype=np.float64)
    return ends, starts, offset


def _full_levers(lv: ResolvedLevers, P: int, S: int, H: int) -> ResolvedLevers:
    """Levers as contiguous (P, H) and (P, S, H) arrays, whatever shapes ``resolve`` gave."""
    def per_partner(a: np.ndarray, dtype: type = np.float64) -> np.ndarray:
        a = np.asarray(a, dtype=dtype)
        return np.ascontiguousarray(np.broadcast_to(a[:, None] if a.ndim == 1 else a, (P, H)))

    def per_stage(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, dtype=np.float64)
        if a.ndim <= 2:
            a = np.broadcast_to(a, (P, S))[:, :, None]
        return np.ascontiguousarray(np.broadcast_to(a, (P, S, H)))

    return ResolvedLevers(per_partner(lv.asr_multiplier), per_partner(lv.asr_add),
                          per_partner(lv.productivity_multiplier), per_stage(lv.log_win_odds),
                          per_stage(lv.log_time_in_stage), per_partner(lv.deal_size_multiplier),
                          per_partner(lv.pool_add, np.int64))


def _static_arrays(inputs: SimulationInputs, attribution: AttributionSettings) -> dict[str, np.ndarray]:
    """Per type / partner arrays of the new pipeline, cast for the kernel."""
    T = len(inputs.types)
    role_probs = np.asarray(inputs.role_probs, dtype=np.float64)
    role_cum = np.cumsum(role_probs / role_probs.sum(axis=1, keepdims=True), axis=1)
    role_cum[:, -1] = 1.0
    weights = np.array([attribution.weight(r) for r in ROLES], dtype=np.float64)
    role_weight = np.repeat(weights[None, :], T, axis=0)
    if attribution.use_influence_pct:
        role_weight[:, ROLES.index("influenced")] = np.asarray(inputs.influence_share, dtype=np.float64)
    return {
        "entry_cum": np.ascontiguousarray(_cumulative(inputs.stage_entry(), axis=-1)),
        "ptype": np.ascontiguousarray(inputs.partner_type, dtype=np.int64),
        "role_cum": np.ascontiguousarray(role_cum),
        "role_weight": np.ascontiguousarray(role_weight),
        "new_cov": np.ascontiguousarray(inputs.new_covariates, dtype=np.float64),
        "cov_bool": np.array([c in BOOLEAN_COVARIATES for c in COVARIATES], dtype=np.bool_),
        "market_rate": np.ascontiguousarray(inputs.marketplace_rate, dtype=np.float64),
        "expan_rate": np.ascontiguousarray(inputs.expansion_rate, dtype=np.float64),
    }


def _cumulative(probs: np.ndarray, axis: int = -1) -> np.ndarray:
    """Cumulative probabilities along ``axis``, normalised, the last entry exactly 1.

    Rows of zeros (a stage with no destinations, e.g. jumps out of the last open stage are
    all to "won" by construction) are left as all ones, i.e. the first option.
    """
    p = np.clip(np.asarray(probs, dtype=np.float64), 0.0, None)
    total = p.sum(axis=axis, keepdims=True)
    cum = np.cumsum(p, axis=axis) / np.where(total > 0, total, 1.0)
    cum = np.where(total > 0, np.minimum(cum, 1.0), 1.0)
    last = [slice(None)] * cum.ndim
    last[axis] = slice(-1, None)
    cum[tuple(last)] = 1.0
    return np.ascontiguousarray(cum)


def _open_deal_arrays(inputs: SimulationInputs, n_partners: int, n_stages: int) -> dict[str, np.ndarray]:
    """Columns of ``inputs.open_deals`` as contiguous arrays, validated."""
    deals = inputs.open_deals

    def col(name: str, dtype: type, fill: float = 0.0) -> np.ndarray:
        values = deals[name].to_numpy(dtype=np.float64, na_value=fill)
        return np.ascontiguousarray(values.astype(dtype))

    out = {
        "o_partner": col("partner", np.int64, -1),
        "o_stage": col("stage", np.int64, -1),
        "o_age": col("days_in_stage", np.float64),
        "o_arr": col("arr", np.float64),
        "o_attr": col("attribution", np.float64),
        "o_cov": np.ascontiguousarray(np.stack([col(c, np.float64) for c in COVARIATES], axis=1)
                                      .reshape(len(deals), len(COVARIATES))),
        "o_market": col("marketplace", np.bool_),
        "o_expan": col("is_expansion", np.bool_),
        "o_commit": col("commit_factor", np.float64),
    }
    if np.any((out["o_partner"] < 0) | (out["o_partner"] >= n_partners)):
        raise ValueError("open_deals.partner must index partner_ids")
    if np.any((out["o_stage"] < 0) | (out["o_stage"] >= n_stages)):
        raise ValueError("open_deals.stage must index OPEN_STAGES (closed deals are not open)")
    if np.any(out["o_age"] < 0) or np.any(out["o_arr"] < 0):
        raise ValueError("open_deals.days_in_stage and arr must be >= 0")
    return out


__all__ = ["BOOLEAN_COVARIATES", "simulate"]
