"""The sample generator's driver: run the phases in order and assemble the truth."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from partner_forecast.data.sample.activation import Activation, draw_activation
from partner_forecast.data.sample.activities import draw_activities
from partner_forecast.data.sample.calls import calls_frame
from partner_forecast.data.sample.common import (
    NO_DAY,
    Calendar,
    label_dict,
    make_calendar,
    probs,
    r6,
    table_dict,
)
from partner_forecast.data.sample.messy import make_messy
from partner_forecast.data.sample.params import (
    ACT,
    ATTRIBUTION,
    CONV,
    DEAL_REGISTRATION_RATE,
    ENGAGEMENT_FULL_AT,
    ENGAGEMENT_MEAN,
    EXEC_SPONSOR_RATE,
    EXPANSION_RATE,
    FORMS,
    GENERATOR_VERSION,
    INFLUENCE_PCT_RANGE,
    LEAD_RATE,
    LEAD_RESPONSE_MEDIAN_DAYS,
    LEAD_RESPONSE_SIGMA,
    MISSING,
    MOTION_PROBS,
    PROD,
    REGION_MIX,
    ROLE_PROBS,
    ROUTE_PROBS,
    SELLER_ATTRITION_RATE,
    SELLER_HIRE_RATE,
    SIZE,
    TECH_VALIDATION_RATE,
    TIER_MIX,
    TIERS,
    TYPE_MIX,
    TYPES,
    WIN_FROM_STAGE,
)
from partner_forecast.data.sample.paths import Paths, walk_paths
from partner_forecast.data.sample.pipeline import Deals, Opportunities, draw_deals, draw_opportunities
from partner_forecast.data.sample.plans import plans
from partner_forecast.data.sample.population import draw_population
from partner_forecast.data.sample.profiles import ActiveProfiles, parse_profiles
from partner_forecast.data.sample.tables import Ids, build_tables, field_history_frame
from partner_forecast.data.sample.truth import Truth
from partner_forecast.data.schema import (
    DURATION_SCALE_DAYS,
    OPEN_STAGES,
    REVENUE_MOTIONS,
    ROLES,
    ROUTES_TO_MARKET,
)

_STREAMS = ("partners", "sellers", "activation", "productivity", "deals", "paths", "engagement",
            "activities", "missing", "names", "plans", "spare")

# How the profiles change the generative forms (``truth.json`` ``forms``).
_FORM_CHANGES: dict[str, dict[str, str]] = {
    "stage_times_gamma": {
        "timing": "days in open stage s: d = max(1, round(Gamma(shape[s], scale[type][s]))) with "
                  "median exp(time_mu[type][s]) (profiles.stage_times_gamma)",
        "conversion": FORMS["conversion"].replace(" + conv_duration[s] * log(d / 30)", "")
        + " (no duration term: conv_duration = 0)"},
    "stage_times_weibull": {
        "timing": "days in open stage s: d = max(1, round(scale[type][s] * Weibull(shape[s]))) "
                  "with median exp(time_mu[type][s]) (profiles.stage_times_weibull)",
        "conversion": FORMS["conversion"].replace(" + conv_duration[s] * log(d / 30)", "")
        + " (no duration term: conv_duration = 0)"},
    "hidden_quality": {
        "hidden_quality": "prod_partner, size_partner and conv_partner each = sqrt(1 - w) * own "
                          "+ sqrt(w) * sigma * z_p, z_p ~ N(0, 1) the partner's hidden quality"},
    "progress_flags": {
        "flags": "technical_validation / executive_sponsor: set at creation with a small "
                 "probability, else set on entering a later stage; x holds a flag's value on "
                 "the day of the stage exit; the export shows the value on the export date"},
    "stage_skips": {
        "skips": "created in discovery, qualified or proposal; on advancing, a deal may skip to a "
                 "later stage or straight to won (profiles.stage_skips)"},
    "two_stage_crm": {
        "crm": "the CRM records every open deal as 'qualified' (stage_history: qualified on "
               "created_on, then won/lost); the path underneath is the four-stage walk"},
    "quarter_end_push": {
        "push": "won deals closing early in a quarter may be pulled into the previous quarter's "
                "last window_days; other closes before the window move, with push_share, to a "
                "uniform day within it"},
    "heavy_tails": {
        "deal_size": FORMS["deal_size"] + "; then, for a share tail_share of deals, arr *= "
                     "min(1 + Lomax(tail_alpha), tail_cap)"},
}


def generate_tables(partners: int = 300, quarters: int = 12, seed: int = 2026,
                    start: str | pd.Timestamp = "2024-01-01",
                    progress: Callable[[str], None] | None = None,
                    profiles: str | Iterable[str] | None = None, field_history: bool = False,
                    ) -> tuple[dict[str, pd.DataFrame], Truth]:
    """Generate the export's typed tables and the truth, without writing anything.

    Parameters
    ----------
    partners
        Number of partner companies (``few_partners`` draws 10-40 instead).
    quarters
        Length of the history window in quarters; the export date is ``start + quarters``.
    seed
        Seed of every random stream.
    start
        First day of the window (a calendar quarter start).
    progress
        Called with a short message at each step (e.g. ``click.echo`` to stderr).
    profiles
        Names of the profiles to switch on (``"a,b"`` or a list; see
        :data:`partner_forecast.data.sample.profiles.PROFILES`); none: the default process.
    field_history
        Also return ``field_history`` (the flags' change log). ``calls`` (the team's calls,
        :mod:`.calls`, with a known bias per caller) is always returned.

    Returns
    -------
    tables, truth
        One frame per contract file (dates ``datetime64[s]``, ARR in currency per year,
        booleans nullable; under ``messy_labels`` labels and booleans are text as written) and
        the :class:`Truth`.

    Raises
    ------
    ValueError
        Sizes below 1, a start that is not a quarter start, unknown or conflicting profiles.

    """
    if partners < 1:
        raise ValueError("partners must be at least 1")
    if quarters < 1:
        raise ValueError("quarters must be at least 1")
    prof = ActiveProfiles(parse_profiles(profiles), seed)
    say = progress or (lambda msg: None)
    cal = make_calendar(start, quarters)
    streams = np.random.SeedSequence(seed).spawn(len(_STREAMS))
    rng = {name: np.random.default_rng(s) for name, s in zip(_STREAMS, streams, strict=True)}
    if prof:
        say(f"profiles: {', '.join(prof.names)}")
    requested = partners
    if "few_partners" in prof:
        lo, hi = prof.params("few_partners")["partners_range"]
        partners = int(prof.rng("few_partners").integers(lo, hi + 1))

    say(f"partners: {partners}")
    pop = draw_population(rng["partners"], rng["sellers"], cal, partners)
    say(f"sellers: {pop.sellers:,}")
    act = draw_activation(rng["activation"], pop, cal)
    say(f"seller-quarters in pool: {len(act.row_g):,}, active: {int(act.row_active.sum()):,} "
        f"(ASR {act.row_active.mean() if len(act.row_g) else 0:.1%})")
    quality, weight = None, 0.0
    if "hidden_quality" in prof:
        quality = r6(prof.rng("hidden_quality").standard_normal(partners))
        weight = float(prof.params("hidden_quality")["weight"])
    opps = draw_opportunities(rng["productivity"], pop, act, cal, quality, weight)
    say(f"opportunities: {opps.n:,}")
    deals = draw_deals(rng["deals"], opps, partners, prof, quality, weight)
    paths = walk_paths(rng["paths"], opps, deals, cal, partners, prof, quality, weight)
    closed, won = paths.closed, paths.won
    say(f"deals closed by the export date: {int(closed.sum()):,} "
        f"(won {int((closed & won).sum()):,}); open: {int((~closed).sum()):,}")
    acts = draw_activities(rng["activities"], rng["engagement"], act, opps, deals, paths,
                           pop.left, cal)
    say(f"activities: {len(acts.day):,}")

    ids = Ids.make(partners, pop.sellers, opps)
    tables = build_tables(rng["missing"], rng["names"], cal, pop, opps, deals, paths, acts, ids,
                          prof)
    realised, by_type_attr, won_arr, open_arr_end = _realised(cal, act, opps, deals, paths)
    tables["targets"], tables["company"] = plans(rng["plans"], cal, by_type_attr, won_arr,
                                                 open_arr_end)
    if "messy_labels" in prof:
        tables = make_messy(prof.rng("messy_labels"), tables, prof.params("messy_labels"))
    if field_history:
        tables["field_history"] = field_history_frame(cal, opps, paths, ids)
    tables["calls"], calls_truth = calls_frame(seed, cal, TYPES, by_type_attr)

    labels = cal.labels()
    settings: dict[str, Any] = {
        "generator_version": GENERATOR_VERSION, "partners": partners, "quarters": quarters,
        "seed": seed, "start": cal.start.date().isoformat(),
        "export_date": (cal.start + pd.Timedelta(days=cal.export_day)).date().isoformat(),
        "first_quarter": labels[0], "last_quarter": labels[-1], "q_center": act.q_center,
        "engagement_full_at": ENGAGEMENT_FULL_AT, "duration_scale_days": DURATION_SCALE_DAYS,
        "seller_hire_rate": SELLER_HIRE_RATE, "seller_attrition_rate": SELLER_ATTRITION_RATE,
        "counts": {name: int(len(tables[name])) for name in
                   ("partners", "sellers", "activities", "opportunities", "stage_history")},
    }
    forms = dict(FORMS)
    profile_truth = prof.truth()
    if prof:
        settings["profiles"] = list(prof.names)
        for name in prof.names:
            forms.update(_FORM_CHANGES.get(name, {}))
        if field_history:
            settings["counts"]["field_history"] = int(len(tables["field_history"]))
    if "few_partners" in prof:
        profile_truth["few_partners"]["partners_requested"] = requested
        profile_truth["few_partners"]["partners_drawn"] = partners
    if quality is not None:
        profile_truth["hidden_quality"]["hidden_quality"] = label_dict(tuple(ids.partner), quality)
    if "stage_times_gamma" in prof or "stage_times_weibull" in prof:
        name = "stage_times_gamma" if "stage_times_gamma" in prof else "stage_times_weibull"
        profile_truth[name]["median_days"] = table_dict(TYPES, OPEN_STAGES,
                                                        r6(np.exp(paths.time_mu)))
    truth = Truth(settings=settings,
                  parameters=_parameters(ids, labels, act, opps, deals, paths),
                  mix=_mix(), realised=realised, forms=forms, profiles=profile_truth,
                  calls=calls_truth)
    return tables, truth


def _realised(cal: Calendar, act: Activation, opps: Opportunities, deals: Deals, paths: Paths
              ) -> tuple[dict[str, Any], np.ndarray, np.ndarray, np.ndarray]:
    """Realised totals per quarter, and the arrays the plans are set from."""
    Q = cal.quarters
    o_t, created = opps.o_t, opps.created
    closed, won, outcome_day, arr = paths.closed, paths.won, paths.outcome_day, deals.arr
    weight = np.array([ATTRIBUTION[x] for x in ROLES])[deals.role]
    weight = np.where(deals.pct_known, deals.pct / 100.0, weight)
    labels = cal.labels()
    cq = np.where(closed, cal.quarter_of(np.maximum(outcome_day, 0)), -1)
    wq = closed & won
    won_arr = np.bincount(cq[wq], weights=arr[wq], minlength=Q)[:Q]
    won_attr = np.bincount(cq[wq], weights=(arr * weight)[wq], minlength=Q)[:Q]
    T = len(TYPES)
    by_type = np.zeros((T, Q))
    by_type_attr = np.zeros((T, Q))
    np.add.at(by_type, (o_t[wq], cq[wq]), arr[wq])
    np.add.at(by_type_attr, (o_t[wq], cq[wq]), (arr * weight)[wq])
    pool_q = act.pool.sum(axis=0)
    active_q = act.active.sum(axis=0)
    created_q = np.bincount(opps.o_q, minlength=Q)
    open_end = np.array([int(((created < b) & (outcome_day >= b)).sum())
                         for b in cal.bounds[1:Q + 1]])
    open_arr_end = np.array([float(arr[(created < b) & (outcome_day >= b)].sum())
                             for b in cal.bounds[1:Q + 1]])

    def per_q(v: np.ndarray) -> dict[str, float]:
        return {lbl: float(x) for lbl, x in zip(labels, v, strict=True)}

    stage_win: dict[str, dict[str, float | None]] = {}
    for i, t in enumerate(TYPES):
        m = o_t == i
        stage_win[t] = {}
        for s, sname in enumerate(OPEN_STAGES):
            reach = m & (paths.entered[:, s] != NO_DAY)
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
    return realised, by_type_attr, won_arr, open_arr_end


def _parameters(ids: Ids, labels: list[str], act: Activation, opps: Opportunities,
                deals: Deals, paths: Paths) -> dict[str, Any]:
    """Every model parameter under its model name, as used by the generator."""
    pid = tuple(ids.partner.tolist())
    Q = len(labels)
    return {
        "act_intercept": ACT["act_intercept"],
        "act_type": label_dict(TYPES, act.act_type),
        "act_tier": label_dict(TIERS, act.act_tier),
        "act_partner_sigma": ACT["act_partner_sigma"],
        "act_partner": label_dict(pid, act.act_partner),
        "act_ramp": ACT["act_ramp"], "act_trend": ACT["act_trend"],
        "act_noise_sigma": ACT["act_noise_sigma"],
        "act_noise": {p: label_dict(tuple(labels), act.act_noise[i]) for i, p in enumerate(pid)},
        "prod_intercept": PROD["prod_intercept"],
        "prod_type": label_dict(TYPES, opps.prod_type),
        "prod_partner_sigma": PROD["prod_partner_sigma"],
        "prod_partner": label_dict(pid, opps.prod_partner),
        "opp_alpha": PROD["opp_alpha"],
        "time_mu": table_dict(TYPES, OPEN_STAGES, paths.time_mu),
        "time_sigma": table_dict(TYPES, OPEN_STAGES, paths.time_sigma),
        "conv_logit": table_dict(TYPES, OPEN_STAGES, paths.conv_logit),
        "conv_partner_sigma": CONV["conv_partner_sigma"],
        "conv_partner": label_dict(pid, paths.conv_partner),
        "conv_beta": dict(CONV["conv_beta"]),
        "conv_duration": label_dict(OPEN_STAGES, paths.conv_duration),
        "conv_shock_sigma": CONV["conv_shock_sigma"],
        "conv_shock": label_dict(tuple(labels), paths.conv_shock[:Q]),
        "size_intercept": deals.size_intercept,
        "size_type": label_dict(TYPES, deals.size_type),
        "size_role": label_dict(ROLES, deals.size_role),
        "size_partner_sigma": SIZE["size_partner_sigma"],
        "size_partner": label_dict(pid, deals.size_partner),
        "size_sigma": SIZE["size_sigma"], "size_nu": SIZE["size_nu"],
    }


def _mix() -> dict[str, Any]:
    """Deal-mix shares and rates used by the generator."""
    return {
        "type_mix": TYPE_MIX, "tier_mix": TIER_MIX, "region_mix": REGION_MIX,
        "role_probs": table_dict(TYPES, ROLES, probs(ROLE_PROBS, TYPES)),
        "revenue_motion_probs": table_dict(TYPES, REVENUE_MOTIONS, probs(MOTION_PROBS, TYPES)),
        "route_to_market_probs": table_dict(TYPES, ROUTES_TO_MARKET, probs(ROUTE_PROBS, TYPES)),
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
