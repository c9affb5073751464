"""Run scenarios against a baseline with common random numbers and compare them draw by draw.

The baseline and every scenario simulate one :class:`~partner_forecast.forecast.ForecastContext`
(one fit, one set of posterior draws) with the same seed, so the engine consumes the same random
numbers decision by decision (:mod:`partner_forecast.simulate.levers`) and the difference of two
runs in a draw is the effect of the levers, not Monte Carlo noise. For each scenario, quarter and
segment the comparison reports the P10/P50/P90 and mean of partner-attributed ARR (ARR won to
date in the as-of quarter included), the P10/P50/P90 and mean of the draw-by-draw delta from the
baseline, P(scenario > baseline) and, where a target exists, P(ARR >= target) for both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from partner_forecast.forecast import ForecastContext, ForecastResult, partner_motion, prepare, run
from partner_forecast.model_source import FITTED_MODELS, ModelSource
from partner_forecast.scenarios.apply import PartnerAttributes, ScenarioPlan, apply_scenario
from partner_forecast.scenarios.recruit import NewPartnerPredictive, fitted_models, predictive_for
from partner_forecast.scenarios.spec import Scenario
from partner_forecast.simulate.inputs import SimulationInputs
from partner_forecast.simulate.segments import SegmentSpec

BASELINE = "baseline"
QUANTILES = (0.1, 0.5, 0.9)


# -- context and segments -------------------------------------------------------------------------
def segments_for(inputs: SimulationInputs, by: str | None, partners: PartnerAttributes,
                 export: Any = None) -> SegmentSpec:
    """Segments of ``inputs`` (recruited partners included) by ``by``.

    ``region`` (not a :class:`SegmentSpec` key) is built here from the partners' regions;
    ``revenue_motion`` gives a recruit the most common motion of its type's partners.
    """
    if by is None or by == "total":
        return SegmentSpec.total(inputs)
    if by == "region":
        return SegmentSpec.by(inputs, by, partner_region=partners.region)
    if by == "revenue_motion":
        ids = np.asarray(inputs.partner_ids).astype(str)
        motion = (partner_motion(export, ids) if export is not None
                  else np.full(len(ids), "resell", dtype=object))
        known = set(map(str, export.partners["partner_id"])) if export is not None else set()
        for p, pid in enumerate(ids):
            if pid not in known:  # a recruit: its type's most common motion
                same = [m for q, m in enumerate(motion) if partners.partner_type[q] ==
                        partners.partner_type[p] and ids[q] in known]
                motion[p] = pd.Series(same).mode().iloc[0] if same else "resell"
        return SegmentSpec.by(inputs, by, partner_motion=motion)
    return SegmentSpec.by(inputs, by)


def plan_for(context: ForecastContext, scenario: Scenario, *,
             predictive: NewPartnerPredictive | None = None, strict: bool = True) -> ScenarioPlan:
    """Apply ``scenario`` to the context's inputs (recruits drawn from the context's fits)."""
    n0 = len(context.inputs.partner_ids)
    if predictive is None:
        predictive = predictive_for(fitted_models(context.fits), context.n_draws, context.seed, n0)
    return apply_scenario(scenario, context.inputs, partners=context.export.partners,
                          predictive=predictive, seed=context.seed,
                          fiscal_year_start_month=context.settings.calendar.fiscal_year_start_month,
                          strict=strict)


def context_for(context: ForecastContext, plan: ScenarioPlan) -> ForecastContext:
    """The context with the plan's inputs and matching segments (same fit, draws and seed)."""
    if plan.inputs is context.inputs:
        return context
    segments = segments_for(plan.inputs, context.segment_by, plan.partners, context.export)
    return replace(context, inputs=plan.inputs, segments=segments)


def run_plan(context: ForecastContext, plan: ScenarioPlan, *, record: bool = True,
             progress: bool = False, baseline: ForecastResult | None = None) -> ForecastResult:
    """Simulate a plan with the baseline's seed.

    Recorded (``record``) as kind ``scenario`` with the scenario's name and content hash. A
    ``baseline`` run of the context made with ``keep_open=True`` lends its open pipeline when
    the plan leaves it unchanged (same result, without walking the open deals again).
    """
    return run(context_for(context, plan), levers=plan.levers, record=record, progress=progress,
               kind="scenario", name=plan.scenario.name,
               content_hash=plan.scenario.content_hash, baseline=baseline)


# -- comparison -----------------------------------------------------------------------------------
def aligned_draws(result: ForecastResult, labels: Sequence[str]) -> np.ndarray:
    """(D, H, len(labels)) attributed ARR draws (won to date included) in ``labels`` order.

    ``"total"`` sums every segment; a label the run lacks is 0.
    """
    draws = result.draws("attributed")
    index = {s: g for g, s in enumerate(result.simulation.segments)}
    out = np.zeros((*draws.shape[:2], len(labels)))
    for j, label in enumerate(labels):
        if label in index:
            out[..., j] = draws[..., index[label]]
        elif label == "total":
            out[..., j] = draws.sum(axis=2)
    return out


def segment_labels(results: Sequence[ForecastResult]) -> list[str]:
    """Union of the runs' segment labels (first run's order first) and ``total`` when split."""
    labels: list[str] = []
    for r in results:
        for s in r.simulation.segments:
            if s not in labels:
                labels.append(s)
    if labels != ["total"]:
        labels.append("total")
    return labels


def target_lookup(export: Any, segment_by: str | None) -> dict[tuple[str, str], float]:
    """ARR targets by (quarter, segment).

    The total from rows without a partner type, per type when segmenting by partner_type (as
    :func:`partner_forecast.forecast.target_table`).
    """
    from partner_forecast.metrics.coverage import segment_targets

    targets = getattr(export, "targets", None)
    if targets is None or targets.empty:
        return {}
    return {(str(quarter), segment): value
            for quarter in targets["quarter"].drop_duplicates()
            for segment, value in segment_targets(export, str(quarter), segment_by).items()}


def _quantiles(x: np.ndarray) -> np.ndarray:
    return np.quantile(x, QUANTILES, axis=0)


def comparison_table(baseline: ForecastResult, runs: Sequence[tuple[Scenario, ForecastResult]],
                     export: Any = None) -> pd.DataFrame:
    """One row per quarter, segment and run (baseline first): quantiles, deltas, probabilities.

    Segments with no ARR in any draw of any run are left out; ``total`` is always there.
    Columns: quarter, segment, scenario, content_hash, p10, p50, p90, mean (attributed ARR,
    currency per year), delta_p10, delta_p50, delta_p90, delta_mean (draw-by-draw scenario minus
    baseline), delta_mean_pct (delta mean / baseline mean, percent), p_above_baseline
    (P(scenario > baseline)), arr_target, p_at_least_target, baseline_p_at_least_target.
    """
    labels = segment_labels([baseline, *(r for _, r in runs)])
    entries = [(None, baseline, aligned_draws(baseline, labels)),
               *((s, r, aligned_draws(r, labels)) for s, r in runs)]
    # Segments without any ARR in any run (e.g. a partner type with no partners) are left out.
    used = np.zeros(len(labels), dtype=bool)
    for _, _, arr in entries:
        used |= np.any(arr != 0, axis=(0, 1))
    used[labels.index("total")] = True
    keep = np.flatnonzero(used)
    labels = [labels[g] for g in keep]
    entries = [(s, r, arr[..., keep]) for s, r, arr in entries]
    base = entries[0][2]
    targets = target_lookup(export, baseline.segment_by)
    quarters = [str(q) for q in baseline.quarters]
    rows: list[dict[str, Any]] = []
    for h, quarter in enumerate(quarters):
        for g, segment in enumerate(labels):
            b = base[:, h, g]
            target = targets.get((quarter, segment))
            p_base = float((b >= target).mean()) if target is not None else np.nan
            b_mean = float(b.mean())
            for scenario, _, arr in entries:
                x = arr[:, h, g]
                d = x - b
                q, dq = _quantiles(x), _quantiles(d)
                rows.append({
                    "quarter": quarter, "segment": segment,
                    "scenario": BASELINE if scenario is None else scenario.name,
                    "content_hash": "" if scenario is None else scenario.content_hash,
                    "p10": q[0], "p50": q[1], "p90": q[2], "mean": float(x.mean()),
                    "delta_p10": dq[0], "delta_p50": dq[1], "delta_p90": dq[2],
                    "delta_mean": float(d.mean()),
                    "delta_mean_pct": 100.0 * float(d.mean()) / b_mean if b_mean else np.nan,
                    "p_above_baseline": np.nan if scenario is None else float((d > 0).mean()),
                    "arr_target": np.nan if target is None else target,
                    "p_at_least_target": float((x >= target).mean()) if target is not None else np.nan,
                    "baseline_p_at_least_target": p_base,
                })
    out = pd.DataFrame(rows)
    for col in ("quarter", "segment", "scenario", "content_hash"):
        out[col] = out[col].astype("str")
    return out


@dataclass
class ScenarioComparison:
    """Baseline and scenario runs of one context, and their comparison.

    Attributes
    ----------
    baseline : ForecastResult
        The run without changes.
    plans : list of ScenarioPlan
        Each scenario as applied.
    results : list of ForecastResult
        Each scenario's run (same order as ``plans``).
    table : pandas.DataFrame
        :func:`comparison_table`.
    meta : dict
        As-of, quarters, fingerprints, seed, draws, run ids, scenario hashes, notes.
    """

    baseline: ForecastResult
    plans: list[ScenarioPlan]
    results: list[ForecastResult]
    table: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def notes(self) -> list[str]:
        """Approximations and no-effect changes of every plan."""
        return [n for plan in self.plans for n in plan.notes]

    def tables(self) -> dict[str, pd.DataFrame]:
        """``scenarios`` (the comparison), ``changes`` and, when any, ``recruited``."""
        out = {"scenarios": self.table,
               "changes": pd.concat([p.changes for p in self.plans], ignore_index=True)
               if self.plans else pd.DataFrame()}
        recruited = [p.recruited.assign(scenario=p.scenario.name) for p in self.plans
                     if len(p.recruited)]
        if recruited:
            frame = pd.concat(recruited, ignore_index=True)
            out["recruited"] = frame[["scenario", *[c for c in frame.columns if c != "scenario"]]]
        return out


def compare_scenarios(context: ForecastContext, scenarios: Sequence[Scenario], *,
                      record: bool = True, progress: bool = False,
                      predictive: NewPartnerPredictive | None = None) -> ScenarioComparison:
    """Simulate the baseline and every scenario of ``context`` with common random numbers.

    Parameters
    ----------
    context : ForecastContext
        From :func:`partner_forecast.forecast.prepare`.
    scenarios : sequence of Scenario
        Parsed scenarios; every one is applied (and validated) before anything is simulated.
    record : bool
        Append the runs to the ledger: the baseline as kind ``scenario`` named ``baseline``, each
        scenario as kind ``scenario`` with its name and content hash.
    progress : bool
        Progress bars on stderr.
    predictive : NewPartnerPredictive, optional
        Source of recruited partners' draws (default: from the context's fits).

    Returns
    -------
    ScenarioComparison
    """
    plans = [plan_for(context, s, predictive=predictive) for s in scenarios]
    baseline = run(context, record=record, progress=progress, kind="scenario", name=BASELINE,
                   content_hash=Scenario(BASELINE).content_hash, keep_open=True)
    results = [run_plan(context, plan, record=record, progress=progress, baseline=baseline)
               for plan in plans]
    table = comparison_table(baseline, list(zip(scenarios, results, strict=True)), context.export)
    meta = {k: v for k, v in baseline.meta.items() if k not in ("scenario",
                                                                  "scenario_hash", "run_id")}
    meta["baseline_run_id"] = baseline.run_id
    meta["scenarios"] = [{"name": p.scenario.name, "content_hash": p.scenario.content_hash,
                          "file": p.scenario.source, "description": p.scenario.description,
                          "run_id": r.run_id} for p, r in zip(plans, results, strict=True)]
    notes = [n for p in plans for n in p.notes]
    meta["notes"] = notes
    return ScenarioComparison(baseline=baseline, plans=plans, results=results, table=table, meta=meta)


def compare_files(data: str | Path | Any, files: Sequence[str | Path], *, by: str | None = None,
                  record: bool = True, progress: bool = False,
                  models: ModelSource = FITTED_MODELS, **kwargs: Any) -> ScenarioComparison:
    """Read scenario files, prepare the forecast context and compare (the CLI's ``scenario``).

    Files are parsed and validated before the (possibly slow) fit. ``models`` fits the models
    (or stands in for them); other keyword arguments go to
    :func:`partner_forecast.forecast.prepare`.
    """
    from partner_forecast.scenarios.parse import load_scenario_files

    scenarios = load_scenario_files(files)
    context = prepare(data, by=by, progress=progress, models=models, **kwargs)
    return compare_scenarios(context, scenarios, record=record, progress=progress)


__all__ = ["BASELINE", "ScenarioComparison", "aligned_draws", "compare_files", "compare_scenarios",
           "comparison_table", "context_for", "plan_for", "run_plan",
           "segment_labels", "segments_for", "target_lookup"]
