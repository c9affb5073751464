"""Phase 4 of the sample generator: each deal's path through the open stages (semi-Markov).

In open stage ``s`` the deal stays ``d = max(1, round(exp(N(time_mu[type, s], time_sigma[type,
s]))))`` whole days; on leaving it advances with probability::

    sigmoid(conv_logit[type, s] + conv_partner[p] + conv_beta . x
            + conv_duration[s] * log(d / 30) + conv_shock[calendar quarter of exit day])

and is otherwise lost; advancing from negotiation is a win. Profiles change this walk:
``stage_times_gamma`` / ``stage_times_weibull`` draw ``d`` from another family and drop the
duration term, ``stage_skips`` lets a deal start later and jump ahead, ``progress_flags`` lets
the flags enter ``x`` only once set, ``hidden_quality`` correlates ``conv_partner`` with the
partner's quality and ``quarter_end_push`` moves closes to the end of their quarter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from partner_forecast.data.sample.common import NO_DAY, Calendar, categorical, r6, sigmoid, uniform_day
from partner_forecast.data.sample.params import CONV, conversion_logits, time_params
from partner_forecast.data.sample.pipeline import Deals, Opportunities, blend_quality
from partner_forecast.data.sample.profiles import ActiveProfiles
from partner_forecast.data.schema import COVARIATES, DURATION_SCALE_DAYS, OPEN_STAGES

WON = len(OPEN_STAGES)  # destination index of a win
_TIME_PROFILES = ("stage_times_gamma", "stage_times_weibull")


@dataclass
class Paths:
    """Stage entry days, outcomes and the parameters of the walk (generation order)."""

    conv_logit: np.ndarray  # (types, open stages)
    time_mu: np.ndarray  # log median days, (types, open stages)
    time_sigma: np.ndarray  # sd of log days, (types, open stages)
    conv_duration: np.ndarray  # (open stages,)
    conv_partner: np.ndarray
    conv_shock: np.ndarray  # by calendar quarter from the window start
    entered: np.ndarray  # (deals, open stages) entry day, NO_DAY if never entered
    outcome_day: np.ndarray  # day of won/lost (may be after the export date)
    won: np.ndarray
    closed: np.ndarray  # closed before the export date
    reached: np.ndarray  # (deals, open stages) entered before the export date
    current: np.ndarray  # stage index on the export date (4 won, 5 lost)
    tv: np.ndarray  # technical_validation on the export date
    es: np.ndarray  # executive_sponsor on the export date
    tv0: np.ndarray  # technical_validation at creation
    es0: np.ndarray  # executive_sponsor at creation
    tv_day: np.ndarray  # day technical_validation was set after creation, NO_DAY if not
    es_day: np.ndarray


def _durations(r: np.random.Generator, prof: ActiveProfiles, time_mu: np.ndarray,
               time_sigma: np.ndarray, o_t: np.ndarray, st: np.ndarray) -> np.ndarray:
    """Whole days in the current stage ``st`` of every deal (at least 1)."""
    mu = time_mu[o_t, st]
    if "stage_times_gamma" in prof:
        from scipy import stats  # only this profile needs it (a slow import)

        shape = _shapes(prof, "stage_times_gamma")[st]
        raw = r.gamma(shape, np.exp(mu) / stats.gamma.median(shape))
    elif "stage_times_weibull" in prof:
        shape = _shapes(prof, "stage_times_weibull")[st]
        raw = np.exp(mu) / np.log(2.0) ** (1 / shape) * r.weibull(shape)
    else:
        raw = np.exp(r.normal(mu, time_sigma[o_t, st]))
    return np.maximum(np.rint(raw), 1.0)


def _shapes(prof: ActiveProfiles, name: str) -> np.ndarray:
    return np.array([prof.params(name)["shape"][s] for s in OPEN_STAGES])


def _time_sigma(prof: ActiveProfiles, time_sigma: np.ndarray) -> np.ndarray:
    """Standard deviation of log days: the lognormal's, or that of the profile's gamma / Weibull."""
    if "stage_times_gamma" in prof:
        from scipy import special

        k = _shapes(prof, "stage_times_gamma")
        sd = np.sqrt(special.polygamma(1, k))
    elif "stage_times_weibull" in prof:
        sd = math.pi / (_shapes(prof, "stage_times_weibull") * math.sqrt(6))
    else:
        return time_sigma
    return r6(np.broadcast_to(sd, time_sigma.shape))


def _skip_table(prof: ActiveProfiles) -> np.ndarray | None:
    """``P(destination | advance from s)``, shape (open stages, open stages + won)."""
    if "stage_skips" not in prof:
        return None
    n = len(OPEN_STAGES)
    table = np.zeros((n, n + 1))
    names = (*OPEN_STAGES, "won")
    for s, stage in enumerate(OPEN_STAGES):
        skips = prof.params("stage_skips")["skip_on_advance"].get(stage, {})
        for dest, p in skips.items():
            table[s, names.index(dest)] = p
        table[s, s + 1] = 1.0 - table[s].sum()
    return table


def walk_paths(r: np.random.Generator, opps: Opportunities, deals: Deals, cal: Calendar,
               partners: int, prof: ActiveProfiles, quality: np.ndarray | None,
               weight: float) -> Paths:
    """Walk every deal from its creation stage to won or lost (also past the export date)."""
    N, o_t, o_p = opps.n, opps.o_t, opps.o_p
    E = cal.export_day
    n_open = len(OPEN_STAGES)
    link = not any(p in prof for p in _TIME_PROFILES)
    conv_logit = conversion_logits(duration_link=link)
    time_mu, time_sigma = time_params()
    conv_partner = r6(r.normal(0, CONV["conv_partner_sigma"], partners))
    conv_partner = blend_quality(conv_partner, CONV["conv_partner_sigma"], quality, weight)
    n_cal = len(cal.bounds) - 1
    conv_shock = r6(r.normal(0, CONV["conv_shock_sigma"], n_cal))
    beta = np.array([CONV["conv_beta"][c] for c in COVARIATES])
    dur = np.array([CONV["conv_duration"][s] if link else 0.0 for s in OPEN_STAGES])
    skip = _skip_table(prof)
    st = np.zeros(N, dtype=np.int64)
    if skip is not None:
        created_in = prof.params("stage_skips")["created_in"]
        st = categorical(prof.rng("stage_skips"),
                         np.array([created_in.get(s, 0.0) for s in OPEN_STAGES]), size=N)
    entered = np.full((N, n_open), NO_DAY, dtype=np.int64)
    entered[np.arange(N), st] = opps.created
    outcome_day = np.full(N, NO_DAY, dtype=np.int64)
    won = np.zeros(N, dtype=bool)
    alive = np.ones(N, dtype=bool)
    cur = opps.created.copy()
    for _ in range(n_open):
        d = _durations(r, prof, time_mu, time_sigma, o_t, st)
        exit_day = cur + d.astype(np.int64)
        qx = np.minimum(cal.quarter_of(exit_day), n_cal - 1)
        tv, es = deals.tv, deals.es
        if deals.tv_set is not None and deals.es_set is not None:
            tv = tv | (deals.tv_set & (st >= deals.tv_stage))
            es = es | (deals.es_set & (st >= deals.es_stage))
        xb = beta[0] * tv + beta[1] * es + beta[2] * deals.engagement
        p_adv = sigmoid(conv_logit[o_t, st] + conv_partner[o_p] + xb
                        + dur[st] * np.log(d / DURATION_SCALE_DAYS) + conv_shock[qx])
        adv = r.random(N) < p_adv
        dest = st + 1
        if skip is not None:
            dest = categorical(prof.rng("stage_skips"), skip, st)
        leaves = alive & ~adv
        outcome_day[leaves] = exit_day[leaves]
        moves = alive & adv & (dest < WON)
        entered[moves, dest[moves]] = exit_day[moves]
        wins = alive & adv & (dest == WON)
        won[wins] = True
        outcome_day[wins] = exit_day[wins]
        cur = exit_day
        alive &= adv & (dest < WON)
        st = np.minimum(dest, n_open - 1)
    if "quarter_end_push" in prof:
        outcome_day = _push_to_quarter_end(prof.rng("quarter_end_push"), outcome_day, won,
                                           entered.max(axis=1), cal,
                                           prof.params("quarter_end_push"))
    closed = outcome_day < E
    reached = (entered < E) & (entered != NO_DAY)
    last_open = np.where(reached, np.arange(n_open)[None, :], -1).max(axis=1)
    current = np.where(closed, np.where(won, 4, 5), last_open)
    tv0, tv_final, tv_day = _flag_on_export(deals.tv, deals.tv_set, deals.tv_stage, entered,
                                            opps.created, outcome_day, won, E)
    es0, es_final, es_day = _flag_on_export(deals.es, deals.es_set, deals.es_stage, entered,
                                            opps.created, outcome_day, won, E)
    return Paths(conv_logit=conv_logit, time_mu=time_mu, time_sigma=_time_sigma(prof, time_sigma),
                 conv_duration=dur, conv_partner=conv_partner, conv_shock=conv_shock,
                 entered=entered, outcome_day=outcome_day, won=won, closed=closed,
                 reached=reached, current=current, tv=tv_final, es=es_final, tv0=tv0, es0=es0,
                 tv_day=tv_day, es_day=es_day)


def _push_to_quarter_end(r: np.random.Generator, outcome_day: np.ndarray, won: np.ndarray,
                         last_entry: np.ndarray, cal: Calendar, p: Mapping[str, Any]) -> np.ndarray:
    """Closes bunched into the last ``window_days`` days of their quarter.

    A won deal closing in the first ``pull_days`` days of a quarter is pulled, with probability
    ``pull_share``, into the previous quarter's window when that is after its last stage entry
    (a quarter-end deal). Any other close before its quarter's window moves, with probability
    ``push_share`` (won / lost), to a uniform day of the window: later, same quarter.
    """
    n = len(outcome_day)
    q = cal.quarter_of(outcome_day)
    q_start = cal.bounds[q]
    q_end = cal.bounds[np.minimum(q + 1, len(cal.bounds) - 1)]  # first day of the next quarter
    window = p["window_days"]
    u_pull, u_push = r.random(n), r.random(n)
    pulled_to = uniform_day(r, q_start - window, q_start - 1)
    pushed_to = uniform_day(r, q_end - window, q_end - 1)
    pull = (won & (outcome_day < q_start + p["pull_days"]) & (u_pull < p["pull_share"])
            & (pulled_to > last_entry) & (q_start - window > 0))
    share = np.where(won, p["push_share"]["won"], p["push_share"]["lost"])
    push = ~pull & (outcome_day < q_end - window) & (u_push < share)
    return np.where(pull, pulled_to, np.where(push, pushed_to, outcome_day))


def _flag_on_export(drawn: np.ndarray, will_set: np.ndarray | None, stage: int,
                    entered: np.ndarray, created: np.ndarray, outcome_day: np.ndarray,
                    won: np.ndarray, E: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A flag's value at creation, on the export date, and the day it was set later (or NO_DAY).

    Without ``progress_flags`` (``will_set`` None) the flag keeps its drawn creation value.
    Otherwise it is set on the first day the deal was in stage index ``stage`` or a later one
    (a win counts as later): at creation for a deal created there, else on entering, if that
    day is before the export date.
    """
    if will_set is None:
        return drawn, drawn, np.full(len(drawn), NO_DAY, dtype=np.int64)
    never = np.iinfo(np.int64).max
    later = np.where(entered[:, stage:] == NO_DAY, never, entered[:, stage:])
    first = np.minimum(later.min(axis=1), np.where(won, outcome_day, never))
    at_creation = drawn | (will_set & (first <= created))
    set_now = ~at_creation & will_set & (first < E)
    return at_creation, at_creation | set_now, np.where(set_now, first, NO_DAY)
