"""Lever sensitivity (a tornado table): which lever moves partner ARR most, per segment.

Each lever is moved by a standard step (:data:`STANDARD_STEPS`) for every partner from the as-of
quarter, simulated with the baseline's seed (common random numbers), and ranked by the change
in the P50 and in the mean of partner-attributed ARR summed over the reported quarters.

Standard steps: activation rate +5 percentage points, productivity +10%, win odds +10% at every
stage, deal size +10%, sales cycle -10% (time in every stage), sellers +10% at every partner
(rounded per partner), and recruiting 5 typical partners: of the most common type and, within
it, tier among partners with sellers, with the median pool of that type and tier. When the
table is split by partner type or tier, each segment recruits 5 partners typical of itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from partner_forecast.forecast import ForecastContext, run
from partner_forecast.scenarios.apply import PartnerAttributes
from partner_forecast.scenarios.recruit import NewPartnerPredictive, fitted_models, predictive_for
from partner_forecast.scenarios.run import (
    aligned_draws,
    context_for,
    plan_for,
    segment_labels,
)
from partner_forecast.scenarios.spec import Change, Scenario
from partner_forecast.simulate.progress import progress_bar

RECRUIT_COUNT = 5


@dataclass(frozen=True)
class LeverStep:
    """A lever moved by a standard step.

    Attributes
    ----------
    lever : str
        Lever name (as in scenario files).
    step : str
        Human-readable size of the step.
    changes : callable
        ``changes(partners, pool, segment_by) -> tuple of Change``: the step as scenario
        changes, given the partners' attributes, the (P, H) seller pool and the segment key.
    """

    lever: str
    step: str
    changes: Callable[[PartnerAttributes, np.ndarray, str | None], tuple[Change, ...]]

    def scenario(self, partners: PartnerAttributes, pool: np.ndarray,
                 segment_by: str | None) -> Scenario:
        """The step as a scenario named after the lever."""
        return Scenario(name=f"{self.lever} {self.step}", changes=self.changes(partners, pool,
                                                                                segment_by),
                        description=f"standard step: {self.lever} {self.step}")


def _const(lever: str, operation: str, value: float) -> Callable[..., tuple[Change, ...]]:
    def build(partners: PartnerAttributes, pool: np.ndarray, segment_by: str | None
              ) -> tuple[Change, ...]:
        return (Change(lever=lever, operation=operation, value=value),)
    return build


def typical_partner(partners: PartnerAttributes, pool: np.ndarray,
                    mask: np.ndarray | None = None) -> tuple[str, str, int] | None:
    """(partner_type, tier, sellers) of a typical partner among ``mask`` (default all).

    The most common type among partners with sellers in the first simulated quarter, the most
    common tier within it, and the median pool of that type and tier (at least 1 seller).
    """
    first = np.asarray(pool)[:, 0] if np.ndim(pool) == 2 else np.asarray(pool)
    keep = first > 0
    if mask is not None:
        keep &= mask
    if not keep.any():
        return None
    types = pd.Series(partners.partner_type[keep])
    ptype = str(types.value_counts().index[0])
    same = keep & (partners.partner_type == ptype)
    tier = str(pd.Series(partners.tier[same]).value_counts().index[0])
    both = same & (partners.tier == tier)
    sellers = max(1, int(round(float(np.median(first[both])))))
    return ptype, tier, sellers


def _recruit(partners: PartnerAttributes, pool: np.ndarray, segment_by: str | None
             ) -> tuple[Change, ...]:
    groups: list[np.ndarray | None] = [None]
    if segment_by in ("partner_type", "tier"):
        column = partners.partner_type if segment_by == "partner_type" else partners.tier
        groups = [column == value for value in dict.fromkeys(column)]
    out: list[Change] = []
    for mask in groups:
        typical = typical_partner(partners, pool, mask)
        if typical is None:
            continue
        ptype, tier, sellers = typical
        out.append(Change(lever="recruit", count=RECRUIT_COUNT, partner_type=ptype, tier=tier,
                          sellers=sellers, position=len(out) + 1))
    return tuple(out)


STANDARD_STEPS: tuple[LeverStep, ...] = (
    LeverStep("activation_rate", "+5 pp", _const("activation_rate", "add_pp", 5.0)),
    LeverStep("productivity", "+10%", _const("productivity", "multiply", 1.10)),
    LeverStep("win_rate", "odds +10%", _const("win_rate", "odds_multiplier", 1.10)),
    LeverStep("deal_size", "+10%", _const("deal_size", "multiply", 1.10)),
    LeverStep("sales_cycle", "-10%", _const("sales_cycle", "multiply", 0.90)),
    LeverStep("sellers", "+10%", _const("sellers", "add_pct", 10.0)),
    LeverStep("recruit", f"+{RECRUIT_COUNT} typical partners", _recruit),
)
"""The standard steps of the tornado table (see the module docstring)."""


def lever_sensitivity(context: ForecastContext, *, steps: Sequence[LeverStep] = STANDARD_STEPS,
                      predictive: NewPartnerPredictive | None = None, progress: bool = False,
                      baseline: Any = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The tornado table of ``context``: each step's effect on ARR over the reported quarters.

    Parameters
    ----------
    context : ForecastContext
        From :func:`partner_forecast.forecast.prepare`.
    steps : sequence of LeverStep
        Levers and steps (default :data:`STANDARD_STEPS`).
    predictive : NewPartnerPredictive, optional
        Source of recruited partners' draws (default from the context's fits).
    progress : bool
        A bar on stderr with one tick per run (the baseline, then each lever's step).
    baseline : ForecastResult, optional
        A baseline run of ``context`` to reuse (ideally made with ``keep_open=True``: steps
        that cannot reach the open deals then reuse its open pipeline).

    Returns
    -------
    (pandas.DataFrame, dict)
        Table with one row per segment (``total`` first when split) and step, ranked within the
        segment by the change in P50 (then mean): segment, rank, lever, step, baseline_p50, p50,
        delta_p50, delta_p50_pct, baseline_mean, mean, delta_mean, delta_mean_pct,
        delta_draw_p10, delta_draw_p50, delta_draw_p90 (quantiles of the draw-by-draw
        change), p_above_baseline, rank_mean; ARR in currency per year summed over the reported
        quarters. And metadata (run settings, notes).
    """
    bar = progress_bar(len(steps) + (baseline is None), "levers", unit="run") if progress else None
    try:
        base = baseline
        if base is None:
            base = run(context, record=False, progress=False, keep_open=True)
            if bar is not None:
                bar.update()
        partners = PartnerAttributes.from_inputs(context.inputs, context.export.partners)
        if predictive is None:
            predictive = predictive_for(fitted_models(context.fits), context.n_draws, context.seed,
                                        len(context.inputs.partner_ids))
        results = []
        notes: list[str] = []
        for step in steps:
            if bar is not None:
                bar.set_postfix_str(step.lever)
            scenario = step.scenario(partners, np.asarray(context.inputs.pool), context.segment_by)
            if scenario.changes:
                plan = plan_for(context, scenario, predictive=predictive, strict=False)
                notes.extend(n for n in plan.notes if n not in notes)
                result = run(context_for(context, plan), levers=plan.levers, record=False,
                             progress=False, baseline=base)
                results.append((step, result))
            if bar is not None:
                bar.update()
    finally:
        if bar is not None:
            bar.close()
    labels = [s for s in segment_labels([base]) if s in base.simulation.segments or s == "total"]
    labels = ["total", *[s for s in labels if s != "total"]]
    b = aligned_draws(base, labels).sum(axis=1)  # (D, G) over the reported quarters
    xs = [aligned_draws(result, labels).sum(axis=1) for _, result in results]
    used = np.any(b != 0, axis=0) | np.any([np.any(x != 0, axis=0) for x in xs], axis=0)
    used[0] = True  # total
    labels = [s for s, u in zip(labels, used, strict=True) if u]
    b = b[:, used]
    rows = []
    for (step, _), x in zip(results, xs, strict=True):
        x = x[:, used]
        d = x - b
        for g, segment in enumerate(labels):
            bp50, p50 = float(np.median(b[:, g])), float(np.median(x[:, g]))
            bmean, mean = float(b[:, g].mean()), float(x[:, g].mean())
            dq = np.quantile(d[:, g], (0.1, 0.5, 0.9))
            rows.append({"segment": segment, "lever": step.lever, "step": step.step,
                         "baseline_p50": bp50, "p50": p50, "delta_p50": p50 - bp50,
                         "delta_p50_pct": 100 * (p50 - bp50) / bp50 if bp50 else np.nan,
                         "baseline_mean": bmean, "mean": mean, "delta_mean": mean - bmean,
                         "delta_mean_pct": 100 * (mean - bmean) / bmean if bmean else np.nan,
                         "delta_draw_p10": dq[0], "delta_draw_p50": dq[1], "delta_draw_p90": dq[2],
                         "p_above_baseline": float((d[:, g] > 0).mean())})
    table = pd.DataFrame(rows)
    if len(table):
        order = {s: i for i, s in enumerate(labels)}
        table["_seg"] = table["segment"].map(order)
        table = table.sort_values(["_seg", "delta_p50", "delta_mean"], ascending=[True, False, False],
                                  kind="stable")
        table["rank"] = table.groupby("_seg").cumcount() + 1
        table["rank_mean"] = table.groupby("_seg")["delta_mean"].rank(ascending=False,
                                                                       method="min").astype(int)
        table = table.drop(columns="_seg").reset_index(drop=True)
        cols = ["segment", "rank", "lever", "step", *[c for c in table.columns
                                                     if c not in ("segment", "rank", "lever", "step")]]
        table = table[cols]
        for col in ("segment", "lever", "step"):
            table[col] = table[col].astype("str")
    meta = {k: v for k, v in base.meta.items() if k != "run_id"}
    meta["measure"] = ("partner-attributed ARR summed over the reported quarters "
                       f"({', '.join(str(q) for q in context.report)})")
    meta["recruit_source"] = getattr(predictive, "source", type(predictive).__name__)
    meta["notes"] = notes
    return table, meta


__all__ = ["RECRUIT_COUNT", "STANDARD_STEPS", "LeverStep", "lever_sensitivity", "typical_partner"]
