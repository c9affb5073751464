"""The generator's own forecast of a quarter's open pipeline: is a miss model error or luck?

A replicate of ``benchmarks/calibration.py`` compares the forecast with *one* realisation of the
quarter, so its P50 error mixes two things: how far the fitted models are from the process that
made the export, and how far the realised quarter fell from what that process itself expected
(the quarter's conversion shock, which deals happened to win). This module measures the second.
On an export of ``partner-forecast sample`` (any of its profiles, :data:`SUPPORTED`), it reruns
the generator's phases from the settings in ``truth.json`` to recover each deal's latent state
(lifetime engagement and flags, true partner effect, stage and days in it at the cut, also
where the CRM does not record the stage: :func:`regenerate`, :func:`open_at_cut`) and walks
every deal open at the quarter start through the generator's own semi-Markov process with its
true parameters (:func:`truth_walk`, Monte Carlo): the family of the stays, stage skips, flags
that count only from a stage on, and the quarter-end push that moves closes (a deal open at the
cut is conditioned on its close not having been pulled before it). :func:`open_pipeline_truth` returns,
for the partner-attributed ARR those deals win in the quarter (currency per year):

- the truth's forecast with a fresh quarter shock per draw (what a forecaster knowing every
  parameter but not the quarter's luck would say): P10/P50/P90, mean, expected wins, and the
  PIT of the realised figure under it (near 1: a lucky quarter, whatever the model);
- the same at the quarter's realised shock (``*_at_shock``): what is left is which deals won;
- ``engine_over_truth``: the library's Monte Carlo engine run with the true parameters and each
  deal's true covariates in place of posteriors, over the truth's mean (a check of the
  simulation path: ages, censoring of the current stay, the duration term, attribution; 1 up to
  Monte Carlo error on log-normal profiles, with the true skip probabilities on
  ``stage_skips`` and the unrecorded true stages on ``two_stage_crm``; the engine's stays are
  log-normal, so on ``stage_times_gamma`` / ``stage_times_weibull`` it runs the log-normal with
  the truth's median and log-sd and the ratio is what that family costs; it has no quarter-end
  push, nor flags that change after the cut);
- expected wins per open stage beside the realised ones.

:func:`compare_model` adds a fitted model's view of the same deals (its per-deal probability of
a win in the quarter): ``model_over_truth`` above 1 over-forecasts the open pipeline, below 1
under-forecasts it. ``benchmarks/calibration.py`` runs both per replicate, prints them and
summarises them per profile. Deals created in the quarter (:func:`new_pipeline_truth`) are
walked from their creation the same way, given the quarter's realised new deals (their number
against the truth's expectation for the realised active sellers is shown beside it), and added
draw by draw (the same shocks) to give the truth's view of the quarter's total.

Usage (one generated export, no model fit)::

    python benchmarks/truth_check.py EXPORT_DIR [--quarter 2025Q4] [--draws 1000] [--seed 0]
        [--no-engine]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from partner_forecast.data.schema import OPEN_STAGES

SUPPORTED: tuple[str, ...] = ("default", "messy_labels", "heavy_tails", "few_partners",
                              "hidden_quality", "stage_times_gamma", "stage_times_weibull",
                              "stage_skips", "two_stage_crm", "quarter_end_push",
                              "progress_flags")
"""Profiles whose stage walk :func:`truth_walk` reproduces (every profile of the generator)."""
QUANTILES = (0.1, 0.5, 0.9)


def supported(profiles: str | Iterable[str] | None) -> bool:
    """Whether every profile of ``"a,b"`` (or a list; None or empty = default) is supported."""
    if profiles is None:
        return True
    names = profiles.split(",") if isinstance(profiles, str) else list(profiles)
    return all(n.strip() in SUPPORTED for n in names if n.strip())


# -- the generator's latent state --------------------------------------------------------------
class Latent(NamedTuple):
    """The generator's internals for one export (generation order, see ``data/sample``)."""

    cal: Any
    opps: Any
    deals: Any
    paths: Any
    ids: Any
    prof: Any
    pop: Any = None
    act: Any = None


def regenerate(partners: int, quarters: int, seed: int,
               profiles: str | Iterable[str] | None = None, start: str = "2024-01-01") -> Latent:
    """Rerun the generator's phases up to the stage walk (same streams as ``generate_tables``).

    Raises
    ------
    ValueError
        A profile outside :data:`SUPPORTED`.
    """
    from partner_forecast.data.sample import generate as gen
    from partner_forecast.data.sample.profiles import ActiveProfiles, parse_profiles
    from partner_forecast.data.sample.tables import Ids

    if isinstance(profiles, str):
        profiles = [p.strip() for p in profiles.split(",") if p.strip()]
    names = [p for p in (profiles or []) if p != "default"]
    if not supported(names):
        raise ValueError(f"profile(s) {', '.join(p for p in names if p not in SUPPORTED)} unknown "
                         f"to the truth check; supported: {', '.join(SUPPORTED)}")
    prof = ActiveProfiles(parse_profiles(names or None), seed)
    cal = gen.make_calendar(start, quarters)
    streams = np.random.SeedSequence(seed).spawn(len(gen._STREAMS))
    rng = {n: np.random.default_rng(s) for n, s in zip(gen._STREAMS, streams, strict=True)}
    if "few_partners" in prof:  # as generate_tables: the profile draws the partner count
        lo, hi = prof.params("few_partners")["partners_range"]
        partners = int(prof.rng("few_partners").integers(lo, hi + 1))
    pop = gen.draw_population(rng["partners"], rng["sellers"], cal, partners)
    act = gen.draw_activation(rng["activation"], pop, cal)
    quality, weight = None, 0.0
    if "hidden_quality" in prof:
        quality = gen.r6(prof.rng("hidden_quality").standard_normal(partners))
        weight = float(prof.params("hidden_quality")["weight"])
    opps = gen.draw_opportunities(rng["productivity"], pop, act, cal, quality, weight)
    deals = gen.draw_deals(rng["deals"], opps, partners, prof, quality, weight)
    paths = gen.walk_paths(rng["paths"], opps, deals, cal, partners, prof, quality, weight)
    return Latent(cal, opps, deals, paths, Ids.make(partners, pop.sellers, opps), prof, pop, act)


def regenerate_from(truth: Any) -> Latent:
    """:func:`regenerate` with the settings a ``truth.json`` records."""
    s = truth.settings
    return regenerate(int(s["partners"]), int(s["quarters"]), int(s["seed"]),
                      list(s.get("profiles") or []), str(s["start"]))


def stay_distribution(prof: Any, mu: np.ndarray, sigma: np.ndarray, stage: np.ndarray):
    """The generator's (frozen, vectorised) distribution of days in a stage, before rounding."""
    from scipy import stats

    from partner_forecast.data.sample.paths import _shapes

    if "stage_times_gamma" in prof:
        k = _shapes(prof, "stage_times_gamma")[stage]
        return stats.gamma(k, scale=np.exp(mu) / stats.gamma.median(k))
    if "stage_times_weibull" in prof:
        k = _shapes(prof, "stage_times_weibull")[stage]
        return stats.weibull_min(k, scale=np.exp(mu) / np.log(2.0) ** (1 / k))
    return stats.lognorm(s=sigma, scale=np.exp(mu))


def stage_covariates(lat: Latent, idx: np.ndarray) -> np.ndarray:
    """(deals, open stages, covariates): each deal's true ``x`` on leaving each open stage.

    The flags are the creation values, except under ``progress_flags``, where a flag to be set
    counts from its stage on (``paths.walk_paths``); engagement is the deal's lifetime level.
    """
    d, S = lat.deals, len(OPEN_STAGES)
    st = np.arange(S)[None, :]
    tv = np.repeat(d.tv[idx, None], S, axis=1)
    es = np.repeat(d.es[idx, None], S, axis=1)
    if d.tv_set is not None and d.es_set is not None:
        tv = tv | (d.tv_set[idx, None] & (st >= d.tv_stage))
        es = es | (d.es_set[idx, None] & (st >= d.es_stage))
    eng = np.repeat(d.engagement[idx, None], S, axis=1)
    return np.stack([tv, es, eng], axis=-1).astype(float)


def open_at_cut(lat: Latent, cut: int) -> pd.DataFrame:
    """Deals open at day ``cut`` (created before it, not closed before it) and their state.

    Columns: ``i`` (generation index), opportunity_id, stage (index, the true one also when the
    CRM records fewer stages), entered (day the current stage was entered), age (days in it at
    the cut), type, ``offset`` (the true partner effect + ``beta . x`` with the deal's true
    covariates on leaving its current stage) and ``offset_<stage>`` (the same on leaving each
    open stage: they differ under ``progress_flags``), arr, won_in (day of a win, -1 if lost
    or never), and the true covariates on leaving the current stage.
    """
    from partner_forecast.data.sample.common import NO_DAY
    from partner_forecast.data.sample.params import CONV
    from partner_forecast.data.schema import COVARIATES

    opps, deals, paths = lat.opps, lat.deals, lat.paths
    S = len(OPEN_STAGES)
    ent = paths.entered
    reached = (ent != NO_DAY) & (ent < cut)
    last = np.where(reached, np.arange(S)[None, :], -1).max(axis=1)
    idx = np.flatnonzero((opps.created < cut) & (paths.outcome_day >= cut) & (last >= 0))
    st = last[idx]
    xs = stage_covariates(lat, idx)
    x = xs[np.arange(len(idx)), st]
    beta = np.array([CONV["conv_beta"][c] for c in COVARIATES])
    offsets = paths.conv_partner[opps.o_p[idx]][:, None] + xs @ beta
    return pd.DataFrame({
        "i": idx, "opportunity_id": lat.ids.opp_of[idx], "stage": st,
        "entered": ent[idx, st], "age": cut - ent[idx, st], "type": opps.o_t[idx],
        "offset": offsets[np.arange(len(idx)), st],
        **{f"offset_{name}": offsets[:, s] for s, name in enumerate(OPEN_STAGES)},
        "arr": deals.arr[idx], "won_in": np.where(paths.won[idx], paths.outcome_day[idx], -1),
        **{c: x[:, k] for k, c in enumerate(COVARIATES)},
    })


def truth_walk(stage: np.ndarray, entered: np.ndarray, age: np.ndarray, typ: np.ndarray,
               offset: np.ndarray, conv_logit: np.ndarray, conv_duration: np.ndarray,
               time_mu: np.ndarray, time_sigma: np.ndarray, shock_sigma: float, cut: int,
               end: int, n_draws: int, rng: np.random.Generator, prof: Any = (),
               scale_days: float = 30.0, shock: float | None = None,
               jumps: np.ndarray | None = None, push: Any = None) -> np.ndarray:
    """(n_draws, deals) whether each open deal is won in days ``[cut, end)`` under the truth.

    The generator's semi-Markov walk (``data/sample/paths.py``): in stage ``s`` a deal stays
    ``d = max(1, round(D))`` days (``D`` from :func:`stay_distribution`; the current stay
    conditioned on lasting at least until the cut, ``d >= age``, i.e. ``D >= age - 1/2`` for
    ``age > 1``) and then advances with probability
    ``sigmoid(conv_logit[type, s] + offset[s] + conv_duration[s] log(d / scale_days) + shock)``,
    else it is lost. ``offset`` is per deal, ``(deals,)``, or per deal and stage,
    ``(deals, stages)`` (flags that enter the logit only from a stage on: ``progress_flags``).
    An advancing deal goes to the next stage, or with ``jumps`` (``(stages, stages + 1)``,
    ``P(destination | advance from s)``, the last column won: ``stage_skips``) to a later
    destination; advancing from the last open stage is a win. The quarter shock is ``shock``
    when given, else ``N(0, shock_sigma)`` per draw, shared by all deals.

    ``push`` (a :class:`Push`: ``quarter_end_push``) moves each simulated close as the
    generator does (:func:`partner_forecast.data.sample.paths._push_to_quarter_end`): a win
    early in the next quarter may be pulled into this one, and a path whose win would have
    been pulled to before the cut is inconsistent with the deal being open there, so it is
    drawn again (rejection: the deal is conditioned on not having been pulled). With a fresh
    shock, what the pulls seen before the cut say about the quarter's shock is not used.

    Closes on or after ``end`` do not count. Without ``push`` the stays and uniforms drawn do
    not depend on the shock, so two calls with the same ``rng`` state and different shocks use
    common random numbers.
    """
    n = len(stage)
    shape = (n_draws, n)
    S = conv_logit.shape[1]
    fresh = rng.normal(0.0, max(shock_sigma, 0.0), (n_draws, 1))
    q_shock = np.full((n_draws, 1), float(shock)) if shock is not None else fresh
    offset = np.asarray(offset, dtype=float)
    off = np.repeat(offset[:, None], S, axis=1) if offset.ndim == 1 else offset
    flat = {
        "stage": np.broadcast_to(np.asarray(stage, dtype=np.int64), shape).ravel(),
        "entered": np.broadcast_to(np.asarray(entered, dtype=np.int64), shape).ravel(),
        "age": np.broadcast_to(np.asarray(age, dtype=float), shape).ravel(),
        "typ": np.broadcast_to(np.asarray(typ, dtype=np.int64), shape).ravel(),
        "deal": np.broadcast_to(np.arange(n), shape).ravel(),
        "shock": np.broadcast_to(q_shock, shape).ravel(),
    }
    params = (off, conv_logit, conv_duration, time_mu, time_sigma, prof, scale_days, jumps)

    def walk(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        won, day, last = _paths({k: v[rows] for k, v in flat.items()}, *params, rng)
        if push is not None:
            from partner_forecast.data.sample.paths import _push_to_quarter_end

            day = _push_to_quarter_end(rng, day, won, last, push.calendar, push.params)
        return won, day

    won, day = walk(np.arange(n_draws * n))
    if push is not None:
        for _ in range(200):  # P(pulled) <= pull_share < 1: a handful of rounds
            again = np.flatnonzero(day < cut)
            if not len(again):
                break
            won[again], day[again] = walk(again)
        else:  # pragma: no cover - probability below 1e-60
            raise RuntimeError("the quarter-end push rejection did not converge")
    return (won & (day >= cut) & (day < end)).reshape(shape)


class Push(NamedTuple):
    """``quarter_end_push``'s parameters and the generator's calendar (for :func:`truth_walk`)."""

    calendar: Any
    params: Any


def _paths(deal: dict[str, np.ndarray], offset: np.ndarray, conv_logit: np.ndarray,
           conv_duration: np.ndarray, time_mu: np.ndarray, time_sigma: np.ndarray, prof: Any,
           scale_days: float, jumps: np.ndarray | None, rng: np.random.Generator
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Walk flat (draw, deal) entries to their end: (won, outcome day, last stage entry day)."""
    S = conv_logit.shape[1]
    m = len(deal["stage"])
    s, typ, age, sh = deal["stage"].copy(), deal["typ"], deal["age"], deal["shock"]
    off = offset[deal["deal"]]
    t = deal["entered"].astype(np.int64)
    last = t.copy()
    won = np.zeros(m, dtype=bool)
    day = np.full(m, -1, dtype=np.int64)
    alive = np.ones(m, dtype=bool)
    cum = None if jumps is None else np.cumsum(jumps, axis=1)
    rows = np.arange(m)
    for step in range(S):
        sc = np.minimum(s, S - 1)
        dist = stay_distribution(prof, time_mu[typ, sc], time_sigma[typ, sc], sc)
        u = rng.random(m)
        if step == 0:  # the current stay, conditioned on lasting until the cut
            # d = max(1, rint(D)) >= age: any D when age <= 1, else D >= age - 1/2.
            floor = np.where(age > 1.0, age - 0.5, 0.0)
            raw = dist.isf(np.maximum(u * dist.sf(floor), 1e-300))
            d = np.maximum(np.maximum(np.rint(raw), 1.0), age)
        else:
            d = np.maximum(np.rint(dist.isf(u)), 1.0)
        exit_day = t + d.astype(np.int64)
        logit = (conv_logit[typ, sc] + off[rows, sc] + conv_duration[sc] * np.log(d / scale_days)
                 + sh)
        adv = rng.random(m) < 1.0 / (1.0 + np.exp(-logit))
        # destinations as data.sample.common.categorical draws them
        dest = (sc + 1 if cum is None
                else np.minimum((rng.random(m)[:, None] >= cum[sc]).sum(axis=1), S))
        ends = alive & (~adv | (dest >= S))
        day[ends] = exit_day[ends]
        won |= alive & adv & (dest >= S)
        moves = alive & adv & (dest < S)
        last[moves] = exit_day[moves]
        alive = moves
        s, t = np.minimum(dest, S - 1), exit_day
    return won, day, last


# -- one quarter of one export -------------------------------------------------------------------
def quarter_days(lat: Latent, quarter: Any) -> tuple[int, int, int]:
    """(cut, end, index) of ``quarter`` on the generator's day axis (a complete window quarter).

    Raises
    ------
    ValueError
        The quarter is not a calendar quarter of the window ending by the export date.
    """
    cut = int((pd.Timestamp(quarter.start) - lat.cal.start).days)
    hits = np.flatnonzero(lat.cal.bounds[:lat.cal.quarters] == cut)
    if not len(hits):
        raise ValueError(f"{quarter} is not a complete quarter of the export's window "
                         f"({lat.cal.labels()[0]} to {lat.cal.labels()[-1]})")
    q = int(hits[0])
    return cut, int(lat.cal.bounds[q + 1]), q


def _pit(values: np.ndarray, actual: float) -> float:
    return float(np.mean(values < actual) + 0.5 * np.mean(values == actual))


def _walk(lat: Latent, deals: pd.DataFrame, cut: int, end: int, draws: int, seed: int,
          shock: float | None) -> np.ndarray:
    from partner_forecast.data.sample.params import CONV
    from partner_forecast.data.sample.paths import _skip_table

    p, prof = lat.paths, lat.prof
    offsets = deals[[f"offset_{name}" for name in OPEN_STAGES]].to_numpy(dtype=float)
    push = (Push(lat.cal, prof.params("quarter_end_push")) if "quarter_end_push" in prof
            else None)
    return truth_walk(deals["stage"].to_numpy(), deals["entered"].to_numpy(),
                      deals["age"].to_numpy(), deals["type"].to_numpy(), offsets,
                      p.conv_logit, p.conv_duration, p.time_mu, p.time_sigma,
                      float(CONV["conv_shock_sigma"]), cut, end, draws,
                      np.random.default_rng(seed), prof, shock=shock,
                      jumps=_skip_table(prof), push=push)


def truth_deals(export: Any, lat: Latent, quarter: Any, settings: Any) -> pd.DataFrame:
    """:func:`open_at_cut` at ``quarter``'s start, checked against the export's open pipeline.

    Adds ``attribution`` (the library's weight, as the forecast and the realised figure use
    it), ``weight`` (arr x attribution) and ``won`` (won inside the quarter).

    Raises
    ------
    RuntimeError
        The regenerated deals, stages or ARR differ from the export's (the generator changed).
    """
    from partner_forecast.posterior.inputs import open_deals

    cut, end, _ = quarter_days(lat, quarter)
    deals = open_at_cut(lat, cut)
    od = open_deals(export.as_of(quarter.start), settings).set_index("opportunity_id")
    if set(deals["opportunity_id"]) != set(od.index):
        raise RuntimeError("the regenerated open deals differ from the export's: the generator "
                           "changed since this benchmark was written")
    ids = deals["opportunity_id"]
    recorded = deals["stage"].to_numpy()
    if "two_stage_crm" in lat.prof:  # the CRM shows every open deal in its one open stage
        one = lat.prof.params("two_stage_crm")["recorded_open_stages"][0]
        recorded = np.full(len(deals), OPEN_STAGES.index(one))
    if not (np.array_equal(ids.map(od["stage"]).to_numpy(), recorded)
            and np.allclose(ids.map(od["arr"]).to_numpy(dtype=float), deals["arr"].to_numpy())):
        raise RuntimeError("regenerated stages or ARR differ from the export's")
    deals["attribution"] = ids.map(od["attribution"]).to_numpy(dtype=float)
    deals["weight"] = deals["arr"].to_numpy() * deals["attribution"].to_numpy()
    deals["won"] = ((deals["won_in"] >= cut) & (deals["won_in"] < end)).to_numpy()
    return deals


def engine_inputs(export: Any, lat: Latent, deals: pd.DataFrame, quarter: Any, settings: Any, *,
                  draws: int) -> Any:
    """:class:`SimulationInputs` of the open pipeline with the generator's true parameters.

    Every draw holds the truth (conversion, partner effects, covariate effects, duration term,
    time in stage, shock spread, stage skips); open deals carry their true stage, days in it
    and covariates on leaving it (under ``two_stage_crm`` the stage the CRM does not record;
    under ``progress_flags`` the engine's covariates are fixed, so flags set in a later stage
    are not counted). The quarter-end push has no counterpart in the engine. No new pipeline
    (pool 0): only the open deals are walked.
    """
    from partner_forecast.data.sample.params import CONV, TYPES
    from partner_forecast.data.sample.paths import _skip_table
    from partner_forecast.data.schema import COVARIATES, ROLES
    from partner_forecast.posterior.inputs import open_deals
    from partner_forecast.simulate.inputs import SimulationInputs

    view = export.as_of(quarter.start)
    partners = view.partners.sort_values("partner_id", kind="stable").reset_index(drop=True)
    pids = partners["partner_id"].astype(str).to_numpy()
    ptype = partners["partner_type"].map({t: i for i, t in enumerate(TYPES)})
    if ptype.isna().any():
        raise ValueError("the export has partner types the generator has no parameters for: "
                         + ", ".join(sorted(set(partners["partner_type"][ptype.isna()]))))
    p, pid = lat.paths, {str(x): k for k, x in enumerate(lat.ids.partner)}
    D, P, T, R, K = draws, len(pids), len(TYPES), len(ROLES), len(COVARIATES)

    def rep(x: Any) -> np.ndarray:
        return np.repeat(np.asarray(x, dtype=float)[None], D, axis=0)

    od = open_deals(view, settings)
    true = deals.set_index("opportunity_id")
    for c in COVARIATES:
        od[c] = od["opportunity_id"].map(true[c]).to_numpy(dtype=float)
    od["stage"] = od["opportunity_id"].map(true["stage"]).to_numpy(dtype=np.int64)
    od["days_in_stage"] = od["opportunity_id"].map(true["age"]).to_numpy(dtype=float)
    skip, S = _skip_table(lat.prof), len(OPEN_STAGES)
    jumps = None
    if skip is not None:  # P(destination s + 1 + j | advance from s), j = 0 .. S - 1 - s
        table = np.zeros((T, S, S))
        for s in range(S):
            table[:, s, :S - s] = skip[s, s + 1:]
        jumps = np.repeat(table[None], D, axis=0)
    return SimulationInputs(
        partner_ids=pids, partner_type=ptype.to_numpy(dtype=np.int64),
        partner_tier=np.zeros(P, dtype=np.int64), types=tuple(TYPES), tiers=("all",),
        quarters=(quarter,), as_of=quarter.start,
        asr=np.zeros((D, P, 1)), pool=np.zeros((P, 1), dtype=np.int64),
        opp_rate=np.zeros((D, P)), opp_dispersion=np.ones(D),
        adv_logit=rep(p.conv_logit), adv_partner=rep(p.conv_partner[[pid[x] for x in pids]]),
        adv_beta=rep([CONV["conv_beta"][c] for c in COVARIATES]),
        adv_duration=rep(p.conv_duration), shock_sigma=np.full(D, float(CONV["conv_shock_sigma"])),
        time_mu=rep(p.time_mu), time_sigma=rep(p.time_sigma),
        size_mu=np.zeros((D, P)), size_role=np.zeros((D, R)), size_sigma=np.ones(D),
        size_nu=np.full(D, 10.0), role_probs=np.full((T, R), 1.0 / R),
        new_covariates=np.zeros((T, K)), marketplace_rate=np.zeros(T), expansion_rate=np.zeros(T),
        influence_share=np.full(T, settings.attribution.influenced), open_deals=od,
        jump_probs=jumps,
    ).check()


def open_pipeline_truth(export: Any, truth: Any, quarter: Any, settings: Any, *,
                        draws: int = 1000, seed: int = 0, engine: bool = True,
                        lat: Latent | None = None) -> tuple[dict[str, Any], pd.DataFrame]:
    """The truth's forecast of the partner-attributed ARR the open pipeline wins in ``quarter``.

    Parameters
    ----------
    export : Export
        The full generated export (loaded with ``settings``).
    truth : Truth
        Its ``truth.json`` (the generator settings to rerun and the realised shocks).
    quarter : Quarter
        A complete quarter of the export's window; deals open at its start are walked.
    settings : Settings
        Attribution weights (as the forecast and the realised figure use them).
    draws, seed : int
        Monte Carlo draws and seed of the walk (and of the engine check).
    engine : bool
        Also run the library's engine with the true parameters (``engine_over_truth``).
    lat : Latent, optional
        The regenerated latent state (default: :func:`regenerate_from` ``truth``).

    Returns
    -------
    summary : dict
        JSON-ready: ``open_deals``; ``p10``/``p50``/``p90``/``mean``/``wins`` (fresh shock),
        ``pit`` of ``actual`` (what those deals won, ``actual_wins`` of them) under it;
        ``shock`` (the quarter's realised logit shock) and ``p50_at_shock``/``wins_at_shock``/
        ``pit_at_shock``; ``realised_over_truth``; ``engine_mean``/``engine_over_truth`` (None
        without ``engine``); ``by_stage`` (open, truth and realised wins per open stage);
        ``new`` (:func:`new_pipeline_truth` of the deals created in the quarter, with
        ``mean_at_shock``); ``total``: the open pipeline and those new deals together
        (``p10``/``p50``/``p90``/``mean``, ``actual``, ``pit``, ``p50_at_shock``,
        ``pit_at_shock``), given the quarter's realised new deals (their number and ARR).
    deals : pandas.DataFrame
        :func:`truth_deals` with ``p_truth``, each deal's probability of a win in the quarter
        (fresh shock), for :func:`compare_model`.

    Raises
    ------
    ValueError
        Unsupported profiles, or a quarter outside the window.
    RuntimeError
        The regenerated state does not match the export or its truth.
    """
    lat = lat or regenerate_from(truth)
    cut, end, q = quarter_days(lat, quarter)
    realised_shock = float(lat.paths.conv_shock[q])
    recorded = truth["conv_shock"].get(str(quarter))
    if recorded is not None and abs(float(recorded) - realised_shock) > 1e-6:
        raise RuntimeError("the regenerated quarter shock differs from truth.json's")
    deals = truth_deals(export, lat, quarter, settings)
    weight = deals["weight"].to_numpy()
    wins = _walk(lat, deals, cut, end, draws, seed, None)
    at_shock = _walk(lat, deals, cut, end, draws, seed, realised_shock)
    values, values_at = wins.astype(float) @ weight, at_shock.astype(float) @ weight
    actual = float(weight[deals["won"].to_numpy()].sum())
    deals["p_truth"] = wins.mean(axis=0)
    mean = float(values.mean())
    qs = np.quantile(values, QUANTILES)
    engine_mean = None
    if engine:
        from partner_forecast.simulate import simulate

        inputs = engine_inputs(export, lat, deals, quarter, settings, draws=draws)
        sim = simulate(inputs, seed=seed, attribution=settings.attribution)
        engine_mean = float(sim.measure("attributed_open")[:, 0, 0].mean())
    stage = deals["stage"].to_numpy()
    by_stage = {name: {"open": int((stage == s).sum()),
                       "truth": float(deals["p_truth"].to_numpy()[stage == s].sum()),
                       "won": int(deals["won"].to_numpy()[stage == s].sum())}
                for s, name in enumerate(OPEN_STAGES)}
    summary = {
        "open_deals": int(len(deals)), "p10": float(qs[0]), "p50": float(qs[1]),
        "p90": float(qs[2]), "mean": mean, "wins": float(wins.sum(axis=1).mean()),
        "actual": actual, "actual_wins": int(deals["won"].sum()), "pit": _pit(values, actual),
        "shock": realised_shock, "p50_at_shock": float(np.median(values_at)),
        "wins_at_shock": float(at_shock.sum(axis=1).mean()),
        "pit_at_shock": _pit(values_at, actual),
        "realised_over_truth": actual / mean if mean else None,
        "engine_mean": engine_mean,
        "engine_over_truth": engine_mean / mean if engine_mean is not None and mean else None,
        "by_stage": by_stage,
    }
    new, summary["new"] = new_pipeline_values(export, lat, quarter, settings, draws=draws,
                                              seed=seed)
    new_at, at = new_pipeline_values(export, lat, quarter, settings, draws=draws, seed=seed,
                                     shock=realised_shock)
    summary["new"]["mean_at_shock"] = at["mean"]
    total, total_at = values + new, values_at + new_at
    total_actual = actual + summary["new"]["actual"]
    tq = np.quantile(total, QUANTILES)
    summary["total"] = {"p10": float(tq[0]), "p50": float(tq[1]), "p90": float(tq[2]),
                        "mean": float(total.mean()), "actual": total_actual,
                        "pit": _pit(total, total_actual),
                        "p50_at_shock": float(np.median(total_at)),
                        "pit_at_shock": _pit(total_at, total_actual)}
    return summary, deals[["opportunity_id", "stage", "weight", "won", "p_truth"]]


def new_pipeline_truth(export: Any, lat: Latent, quarter: Any, settings: Any, *,
                       draws: int = 1000, seed: int = 0, shock: float | None = None
                       ) -> dict[str, Any]:
    """The deals created inside ``quarter`` and what the truth expected them to win in it.

    JSON-ready :func:`new_pipeline_values` without the per-draw values.
    """
    return new_pipeline_values(export, lat, quarter, settings, draws=draws, seed=seed,
                               shock=shock)[1]


def new_pipeline_values(export: Any, lat: Latent, quarter: Any, settings: Any, *,
                        draws: int = 1000, seed: int = 0, shock: float | None = None
                        ) -> tuple[np.ndarray, dict[str, Any]]:
    """Per-draw attributed ARR the quarter's new deals win in it under the truth, and a summary.

    Volume: ``expected_created`` is the generator's mean count given the quarter's realised
    active sellers (``sum_p active[p, q] exp(prod_intercept + prod_type + prod_partner[p])``;
    the negative-binomial noise and the activation draw are the quarter's luck), beside the
    ``created`` count and their attributed ARR (``created_arr``, currency per year).
    Conversion: those realised deals walked from their creation stage and day with the true
    parameters (:func:`truth_walk`; ``shock`` fixed, or fresh per draw when None): ``mean``
    attributed ARR won in the quarter and ``wins``, beside the ``actual`` (``actual_wins``).
    The fresh shocks are those of :func:`truth_walk` with the same ``seed`` and ``draws``
    (the open pipeline's, so the two add up draw by draw).
    """
    from partner_forecast.data.sample.common import NO_DAY
    from partner_forecast.data.sample.params import CONV, PROD
    from partner_forecast.data.sample.paths import _skip_table
    from partner_forecast.data.schema import COVARIATES
    from partner_forecast.metrics.attribution import attribution_weight

    cut, end, q = quarter_days(lat, quarter)
    opps, paths = lat.opps, lat.paths
    idx = np.flatnonzero((opps.created >= cut) & (opps.created < end))
    expected_created = None
    if lat.pop is not None and lat.act is not None:
        rate = np.exp(PROD["prod_intercept"] + opps.prod_type[lat.pop.ptype] + opps.prod_partner)
        expected_created = float((lat.act.active[:, q] * rate).sum())
    full = export.opportunities.set_index("opportunity_id")
    ids = pd.Index(lat.ids.opp_of[idx])
    rows = full.reindex(ids)
    if rows["arr"].isna().any():
        raise RuntimeError("the regenerated new deals differ from the export's")
    weight = (rows["arr"].to_numpy(dtype=float)
              * attribution_weight(rows["partner_role"], rows["influence_pct"],
                                   settings.attribution).to_numpy(dtype=float))
    stage = np.argmax(paths.entered[idx] != NO_DAY, axis=1)
    beta = np.array([CONV["conv_beta"][c] for c in COVARIATES])
    offsets = paths.conv_partner[opps.o_p[idx]][:, None] + stage_covariates(lat, idx) @ beta
    push = (Push(lat.cal, lat.prof.params("quarter_end_push")) if "quarter_end_push" in lat.prof
            else None)
    wins = truth_walk(stage, opps.created[idx], np.zeros(len(idx)), opps.o_t[idx], offsets,
                      paths.conv_logit, paths.conv_duration, paths.time_mu, paths.time_sigma,
                      float(CONV["conv_shock_sigma"]), cut, end, draws,
                      np.random.default_rng(seed), lat.prof, shock=shock,
                      jumps=_skip_table(lat.prof), push=push)
    won = paths.won[idx] & (paths.outcome_day[idx] >= cut) & (paths.outcome_day[idx] < end)
    values = wins.astype(float) @ weight
    return values, {"created": int(len(idx)), "expected_created": expected_created,
            "created_arr": float(weight.sum()), "mean": float(values.mean()),
            "wins": float(wins.sum(axis=1).mean()), "actual": float(weight[won].sum()),
            "actual_wins": int(won.sum()),
            "by_entry_stage": {name: int((stage == k).sum())
                               for k, name in enumerate(OPEN_STAGES)}}


def compare_model(summary: dict[str, Any], deals: pd.DataFrame,
                  probabilities: pd.Series, model_mean: float | None = None) -> dict[str, Any]:
    """``summary`` with a model's view of the same deals added.

    ``probabilities`` is the model's P(won in the quarter) by opportunity_id (a deal it does not
    list counts 0). Adds ``model_open`` (its expected attributed ARR of the open pipeline),
    ``model_over_truth`` and the model's expected wins per stage in ``by_stage``; with
    ``model_mean`` (the model's expected total for the quarter) also ``model_new``, the rest:
    its expected attributed ARR won from deals created in the quarter.
    """
    p = deals["opportunity_id"].map(probabilities).fillna(0.0).to_numpy(dtype=float)
    model_open = float((p * deals["weight"].to_numpy()).sum())
    stage = deals["stage"].to_numpy()
    by_stage = {name: dict(summary["by_stage"][name], model=float(p[stage == s].sum()))
                for s, name in enumerate(OPEN_STAGES)}
    return summary | {"model_open": model_open,
                      "model_over_truth": model_open / summary["mean"] if summary["mean"] else None,
                      "by_stage": by_stage,
                      "model_new": None if model_mean is None else float(model_mean) - model_open}


def _money(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x / 1e6:,.2f}M" if abs(x) >= 1e6 else f"{x / 1e3:,.1f}k"


def truth_line(o: dict[str, Any]) -> str:
    """One printed line of a :func:`open_pipeline_truth` summary (and :func:`compare_model`)."""
    def ratio(key: str) -> str:
        return "n/a" if o.get(key) is None else f"{o[key]:.2f}"

    t, n = o.get("total"), o.get("new")
    extra = ("" if not t or not n else
             f"; with the {n['created']} new deals (truth {_money(n['mean'])}, actual "
             f"{_money(n['actual'])}): P10/P50/P90 {_money(t['p10'])}/{_money(t['p50'])}/"
             f"{_money(t['p90'])}, actual {_money(t['actual'])}, PIT {t['pit']:.2f}")
    return (f"truth, open pipeline ({o['open_deals']} deals): P10/P50/P90 {_money(o['p10'])}/"
            f"{_money(o['p50'])}/{_money(o['p90'])} ({o['wins']:.1f} wins expected); actual "
            f"{_money(o['actual'])} ({o['actual_wins']} wins), PIT {o['pit']:.2f}; at the "
            f"quarter's shock {o['shock']:+.2f}: P50 {_money(o['p50_at_shock'])}, PIT "
            f"{o['pit_at_shock']:.2f}; engine/truth {ratio('engine_over_truth')}"
            + ("" if "model_over_truth" not in o else f", model/truth {ratio('model_over_truth')}")
            + extra)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the truth's forecast of one export; 2 on bad arguments or unsupported profiles."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path, help="a generated export with its truth.json")
    parser.add_argument("--quarter", default=None,
                        help="forecast quarter (default: the export's last complete one)")
    parser.add_argument("--draws", type=int, default=1000, help="Monte Carlo draws")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-engine", action="store_true",
                        help="skip the engine run with the true parameters")
    args = parser.parse_args(argv)
    if args.draws < 1:
        parser.error("--draws must be at least 1")
    truth_path = args.export / "truth.json"
    if not truth_path.exists():
        print(f"error: {truth_path} not found: the truth check needs a generated export",
              file=sys.stderr)
        return 2

    from partner_forecast.calendar import Quarter
    from partner_forecast.config import load_settings
    from partner_forecast.data.export import load_export
    from partner_forecast.data.sample.truth import Truth
    from partner_forecast.errors import PartnerForecastError
    from partner_forecast.evaluate.folds import fold_quarters

    truth = Truth.load(truth_path)
    if not supported(list(truth.settings.get("profiles") or [])):
        print(f"error: profiles {', '.join(truth.settings['profiles'])} unknown to the truth check; "
              f"supported: {', '.join(SUPPORTED)}", file=sys.stderr)
        return 2
    settings = load_settings(None)
    export = load_export(args.export, settings=settings)
    fym = settings.calendar.fiscal_year_start_month
    try:
        quarter = (Quarter.parse(args.quarter, fym) if args.quarter
                   else fold_quarters(export, 1, fym)[0])
        summary, _ = open_pipeline_truth(export, truth, quarter, settings, draws=args.draws,
                                         seed=args.seed, engine=not args.no_engine)
    except (ValueError, PartnerForecastError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{quarter}: " + truth_line(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
