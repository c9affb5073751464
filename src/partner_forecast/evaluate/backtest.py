"""Rolling-origin backtests: forecast past quarters from their start, score against what closed.

For each of the last ``K`` complete quarters (a *fold*), :func:`backtest`

1. cuts the export at the quarter's start (:meth:`Export.as_of`: nothing dated on or after
   the origin is known) -- the cut is made in the calling process, and the fold receives the
   as-of view only, never the full export;
2. fits the models on that view and forecasts ``horizon`` quarters from the origin
   (:func:`partner_forecast.forecast.prepare` / :func:`~partner_forecast.forecast.run`, not
   recorded in the ledger), and computes the point baselines of
   :mod:`partner_forecast.evaluate.baselines` from the same view;
3. scores every reported quarter that is complete in the full export against the
   partner-attributed ARR actually won (:func:`partner_forecast.outcomes.realised`): CRPS,
   pinball loss at P10/P50/P90, P10-P90 coverage, PIT, bias, absolute percentage error of P50
   and P50/actual, the point baselines as degenerate distributions (the cohort baseline by its
   draws in its first quarter); and, for deals open at the origin, the Brier score and
   expected calibration error of the probability of winning in the quarter (the model's,
   against the stage-table, learned stage and cohort probabilities);
4. scores the team's calls of the same quarters (the optional ``calls`` table), each by the
   same rules beside the model's lead-1 score (:mod:`partner_forecast.evaluate.calls`).

Folds are independent: they run in local worker processes (``workers``) or on a Dask
distributed cluster (``scheduler``: an address, or ``"local"`` for a local cluster; Dask is
an optional dependency, ``pip install 'partner-forecast[dask]'``).

ARR is currency per year; probabilities, coverage and PIT in [0, 1].
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from partner_forecast import __version__
from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export, calls_fingerprint
from partner_forecast.errors import PartnerForecastError
from partner_forecast.evaluate import BACKTEST_SEGMENTS, scores
from partner_forecast.evaluate.baselines import (
    BASELINES,
    baseline_points,
    cohort_draws,
    open_deals_at_origin,
)
from partner_forecast.evaluate.calls import CALLS_CONVENTION, score_calls, summarise_calls
from partner_forecast.model_source import FITTED_MODELS, ModelSource
from partner_forecast.outcomes import realised

MODEL = "model"
METHODS: tuple[str, ...] = (MODEL, *BASELINES)
DEAL_METHODS: dict[str, str] = {MODEL: "p_model", "stage_table": "p_table",
                                "stage_learned": "p_learned", "cohort": "p_cohort"}
"""Deal-probability forecasts scored with Brier / ECE, and their column in the deal table."""

ProgressFn = Callable[[str], None]


# -- folds --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FoldTask:
    """One fold's work: everything it may see, picklable for a worker process.

    Attributes
    ----------
    index : int
        Fold number (0 = oldest).
    origin : pandas.Timestamp
        The fold's as-of date: the start of its first quarter.
    quarters : tuple of str
        Reported quarters (labels), the first one starting at ``origin``.
    by : str or None
        Segment dimension.
    draws : int or None
        Monte Carlo draws (None: ``[simulation] draws``).
    seed : int
        The fold's simulation seed.
    workspace : str
        Workspace holding cached fits.
    settings : Settings
        Configuration.
    view : Export or None
        The export as of ``origin`` (the only data the fold sees).
    models : ModelSource
        Where the fold gets its fitted models.
    """

    index: int
    origin: pd.Timestamp
    quarters: tuple[str, ...]
    by: str | None
    draws: int | None
    seed: int
    workspace: str
    settings: Settings
    view: Export | None = None
    models: ModelSource = FITTED_MODELS


@dataclass
class FoldOutput:
    """What a fold returns to the caller for scoring.

    Attributes
    ----------
    index : int
        Fold number.
    origin : pandas.Timestamp
        The fold's as-of date.
    quarters : tuple of str
        Reported quarters.
    segments : tuple of str
        Segment labels of ``draws``' last axis.
    draws : numpy.ndarray
        (D, H, G) partner-attributed ARR per draw, reported quarter and segment (currency per
        year), ARR won before the origin in its quarter included.
    deal_probabilities : pandas.DataFrame
        The model's per-deal win probability: opportunity_id and one column per reported
        quarter.
    deals : pandas.DataFrame
        Deals open at the origin with their stage probabilities
        (:func:`~partner_forecast.evaluate.baselines.open_deals_at_origin`).
    baselines : pandas.DataFrame
        :func:`~partner_forecast.evaluate.baselines.baseline_points` of the fold.
    view_digest : str
        Content hash of the as-of view (:func:`partner_forecast.evaluate.leakage.view_digest`).
    meta : dict
        Seconds taken, fit diagnostics and warnings, draws, seed.
    baseline_draws : dict of str to pandas.DataFrame
        Draws of the baselines that have them (``cohort``), for the first reported quarter:
        one row per draw, one column per segment and ``total`` (currency per year).
    """

    index: int
    origin: pd.Timestamp
    quarters: tuple[str, ...]
    segments: tuple[str, ...]
    draws: np.ndarray
    deal_probabilities: pd.DataFrame
    deals: pd.DataFrame
    baselines: pd.DataFrame
    view_digest: str
    meta: dict[str, Any] = field(default_factory=dict)
    baseline_draws: dict[str, pd.DataFrame] = field(default_factory=dict)


def fold_quarters(export: Export, k: int, fiscal_year_start_month: int = 1) -> list[Quarter]:
    """The last ``k`` complete quarters of the export, oldest first.

    A quarter is complete when it ends on or before the export's as-of date. Each fold needs
    at least one quarter of history before it (counted from the first opportunity).

    Raises
    ------
    PartnerForecastError
        When ``k < 1`` or the history is too short for ``k`` folds.
    """
    if k < 1:
        raise PartnerForecastError(f"--quarters must be at least 1, got {k}")
    as_of = export.default_as_of
    last = Quarter.containing(as_of - pd.Timedelta(days=1), fiscal_year_start_month)
    if last.end > as_of:
        last = last - 1
    created = export.opportunities["created_on"].dropna()
    if created.empty:
        raise PartnerForecastError("the export has no opportunities: nothing to backtest")
    first_allowed = Quarter.containing(created.min(), fiscal_year_start_month) + 1
    folds = [last - i for i in reversed(range(k))]
    if folds[0] < first_allowed:
        available = max(0, int(last - first_allowed) + 1)
        raise PartnerForecastError(
            f"--quarters {k} reaches back to {folds[0]}, but the history starts in "
            f"{first_allowed - 1}: at most {available} complete quarter(s) have a quarter of "
            f"history before them")
    return folds


def fold_seed(seed: int, index: int) -> int:
    """Independent, reproducible simulation seed of fold ``index``."""
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, index]).generate_state(1)[0])


def make_fold_task(export: Export, quarter: Quarter, *, index: int, horizon: int, by: str | None,
                   draws: int | None, seed: int, workspace: str | Path,
                   settings: Settings, models: ModelSource = FITTED_MODELS) -> FoldTask:
    """The task of the fold whose first quarter is ``quarter``: the view as of its start."""
    origin = quarter.start
    quarters = tuple(str(quarter + h) for h in range(horizon))
    return FoldTask(index=index, origin=origin, quarters=quarters, by=by, draws=draws,
                    seed=fold_seed(seed, index), workspace=str(workspace), settings=settings,
                    view=export.as_of(origin), models=models)


def run_fold(task: FoldTask) -> FoldOutput:
    """Fit and forecast one fold from its as-of view (no ledger record), with its baselines."""
    from partner_forecast import forecast as fc
    from partner_forecast.evaluate.leakage import view_digest

    if task.view is None:
        raise ValueError("FoldTask.view is missing")
    t0 = time.perf_counter()
    settings = task.settings
    ctx = fc.prepare(task.view, as_of=task.origin, quarter=task.quarters[0],
                     horizon=len(task.quarters), by=task.by, draws=task.draws, seed=task.seed,
                     config=settings, workspace=task.workspace, progress=False,
                     models=task.models)
    result = fc.run(ctx, record=False, progress=False)
    draws = result.draws("attributed")
    probs = result.simulation.deal_probabilities()
    probs = probs[["opportunity_id", *[q for q in task.quarters if q in probs.columns]]]
    report = [Quarter.parse(q, settings.calendar.fiscal_year_start_month) for q in task.quarters]
    deals = open_deals_at_origin(ctx.export, settings)
    points = baseline_points(ctx.export, settings, report, task.by, deals=deals)
    cohort = cohort_draws(ctx.export, settings, report[0], task.by, deals=deals,
                          n_draws=int(draws.shape[0]), seed=task.seed)
    meta = {"seconds": time.perf_counter() - t0, "draws": int(draws.shape[0]), "seed": task.seed,
            "diagnostics": result.meta.get("diagnostics", []),
            "warnings": list(result.meta.get("warnings", [])),
            "data_fingerprint": result.meta.get("data_fingerprint")}
    return FoldOutput(index=task.index, origin=task.origin, quarters=task.quarters,
                      segments=tuple(result.simulation.segments), draws=draws,
                      deal_probabilities=probs.reset_index(drop=True), deals=deals,
                      baselines=points, view_digest=view_digest(task.view), meta=meta,
                      baseline_draws={} if cohort is None else {"cohort": cohort})


def _run_fold_with_view(task: FoldTask, view: Export) -> FoldOutput:
    return run_fold(replace(task, view=view))


# -- executing folds ----------------------------------------------------------------------------
def _init_worker(threads: int, worker_init: Callable[[], None] | None) -> None:
    """Process-pool initializer: share the cores between workers, then the caller's hook."""
    try:
        import numba

        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    except (ImportError, ValueError):
        pass
    if worker_init is not None:
        worker_init()


def run_folds(tasks: Sequence[FoldTask], *, workers: int = 1, scheduler: str | None = None,
              worker_init: Callable[[], None] | None = None,
              on_done: Callable[[FoldOutput, int, int], None] | None = None) -> list[FoldOutput]:
    """Run folds in this process, in local worker processes or on a Dask cluster.

    Parameters
    ----------
    tasks : sequence of FoldTask
        The folds (with their views).
    workers : int
        Local worker processes (1: run in this process, one fold after the other). With
        ``scheduler="local"``, the number of workers of the local Dask cluster.
    scheduler : str, optional
        Dask scheduler address (``tcp://host:8786``), or ``"local"`` for a local cluster.
    worker_init : callable, optional
        Called once in each worker before any fold (e.g. to install test doubles); must be
        picklable (a module-level function).
    on_done : callable, optional
        ``on_done(output, done, total)`` as each fold finishes (in completion order).

    Returns
    -------
    list of FoldOutput
        In fold order.
    """
    total = len(tasks)
    done: list[FoldOutput] = []

    def finished(out: FoldOutput) -> None:
        done.append(out)
        if on_done is not None:
            on_done(out, len(done), total)

    if scheduler is not None:
        _run_on_dask(tasks, scheduler, workers, worker_init, finished)
    elif workers <= 1 or total <= 1:
        if worker_init is not None:
            worker_init()
        for task in tasks:
            finished(_with_note(run_fold, task))
    else:
        _run_in_processes(tasks, workers, worker_init, finished)
    return sorted(done, key=lambda o: o.index)


def _with_note(fn: Callable[..., FoldOutput], task: FoldTask, *args: Any) -> FoldOutput:
    try:
        return fn(task, *args)
    except BaseException as exc:
        exc.add_note(_fold_note(task))
        raise


def _run_in_processes(tasks: Sequence[FoldTask], workers: int,
                      worker_init: Callable[[], None] | None,
                      finished: Callable[[FoldOutput], None]) -> None:
    from partner_forecast.spawn_pool import run_spawned

    n = min(workers, len(tasks))
    threads = max(1, (os.cpu_count() or 1) // n)
    run_spawned(run_fold, tasks, n, describe=_fold_note, initializer=_init_worker,
                initargs=(threads, worker_init), on_result=finished)


def _fold_note(task: FoldTask) -> str:
    """What a fold's error is noted with: ``(in backtest fold 2026Q1, as of 2026-01-01)``."""
    return f"(in backtest fold {task.quarters[0]}, as of {task.origin.date()})"


def _run_on_dask(tasks: Sequence[FoldTask], scheduler: str, workers: int,
                 worker_init: Callable[[], None] | None,
                 finished: Callable[[FoldOutput], None]) -> None:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise PartnerForecastError(
            "--scheduler needs Dask's distributed scheduler, which is not installed: "
            "pip install 'partner-forecast[dask]'") from None
    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True)
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="30s")
        except OSError as exc:
            raise PartnerForecastError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        if cluster is not None:  # a local cluster: share this machine's cores between workers
            client.run(_init_worker, max(1, (os.cpu_count() or 1) // max(1, workers)), worker_init)
        elif worker_init is not None:
            client.run(worker_init)
        futures = []
        by_key = {}
        for task in tasks:
            # The view travels as its own piece of data, not inside the task graph.
            [view] = client.scatter([task.view])
            fut = client.submit(_run_fold_with_view, replace(task, view=None), view, pure=False)
            futures.append(fut)
            by_key[fut.key] = task
        for fut in as_completed(futures):
            try:
                out = fut.result()
            except BaseException as exc:
                task = by_key[fut.key]
                exc.add_note(f"(in backtest fold {task.quarters[0]}, as of {task.origin.date()})")
                raise
            finished(out)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# -- scoring ------------------------------------------------------------------------------------
def _segment_draws(out: FoldOutput, h: int, segment: str) -> np.ndarray:
    x = out.draws[:, h, :]
    if segment == "total":
        return x.sum(axis=1)
    if segment in out.segments:
        return x[:, out.segments.index(segment)]
    return np.zeros(x.shape[0])


def _baseline_draws(out: FoldOutput, method: str, h: int, segment: str) -> np.ndarray | None:
    """A baseline's draws for a segment of the fold's first quarter (None: score its point)."""
    frame = out.baseline_draws.get(method) if h == 0 else None
    if frame is None:
        return None
    if segment in frame.columns:
        return frame[segment].to_numpy(dtype=np.float64)
    return np.zeros(len(frame))


def _score_row(actual: float, draws: np.ndarray | None, point: float | None) -> dict[str, float]:
    """Scores of one forecast (an ensemble of draws, or a point) against one actual."""
    if draws is not None:
        q10, q50, q90 = scores.ensemble_quantiles(draws)
        row = {"mean": float(draws.mean()), "p10": float(q10), "p50": float(q50), "p90": float(q90),
               "crps": float(scores.crps_ensemble(actual, draws)),
               "pit": float(scores.pit(actual, draws))}
    else:
        assert point is not None
        row = {"mean": point, "p10": point, "p50": point, "p90": point,
               "crps": float(scores.crps_point(actual, point)),
               "pit": float(scores.pit(actual, np.array([point])))}
    for level, name in zip(scores.QUANTILE_LEVELS, ("p10", "p50", "p90"), strict=True):
        row[f"pinball_{name}"] = float(scores.pinball_loss(actual, row[name], level))
    row["covered"] = bool(scores.interval_covered(actual, row["p10"], row["p90"]))
    row["error"] = row["mean"] - actual
    row["ape_p50"] = float(abs(row["p50"] - actual) / abs(actual)) if actual else np.nan
    row["ratio_p50"] = float(row["p50"] / actual) if actual else np.nan
    return row


def score_folds(outputs: Sequence[FoldOutput], export: Export, settings: Settings,
                by: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every fold's forecasts and deal probabilities against the full export.

    Parameters
    ----------
    outputs : sequence of FoldOutput
        The folds' results.
    export : Export
        The full export (the truth); only quarters complete in it are scored.
    settings : Settings
        Attribution weights and calendar.
    by : str, optional
        The segment dimension the folds used.

    Returns
    -------
    per_quarter : pandas.DataFrame
        One row per fold, reported quarter, segment and method: fold (first quarter), quarter,
        lead (1 = the fold's first quarter), segment, method, actual, mean, p10, p50, p90,
        crps, pinball_p10/p50/p90, covered, pit, error (mean - actual), ape_p50 and ratio_p50
        (NaN when the actual is 0). ARR in currency per year.
    deals : pandas.DataFrame
        One row per fold, reported quarter and deal-probability method: fold, quarter, lead,
        method, deals, wins, mean_p, win_rate, brier, ece. Stage probabilities (eventual
        wins) and cohort probabilities (wins within the origin's quarter) are scored in the
        first quarter only.
    """
    fym = settings.calendar.fiscal_year_start_month
    as_of = export.default_as_of
    opps = export.opportunities.set_index("opportunity_id")
    rows: list[dict[str, Any]] = []
    deal_rows: list[dict[str, Any]] = []
    for out in outputs:
        for h, label in enumerate(out.quarters):
            q = Quarter.parse(label, fym)
            if q.end > as_of:
                continue  # not complete in the export: nothing to score against
            won = realised(export, settings, q, by=by)
            actual = {str(s): float(v) for s, v in zip(won["segment"], won["attributed_arr"],
                                                       strict=True)}
            base = out.baselines[out.baselines["quarter"] == label]
            segments = ["total"]
            if by is not None:
                segments += sorted((set(out.segments) | set(actual) | set(base["segment"]))
                                   - {"total"})
            points = {(m, s): p for m, s, p in zip(base["method"], base["segment"], base["point"],
                                                     strict=True)}
            for seg in segments:
                y = actual.get(seg, 0.0)
                common = {"fold": out.quarters[0], "quarter": label, "lead": h + 1, "segment": seg,
                          "actual": y}
                rows.append({**common, "method": MODEL, **_score_row(y, _segment_draws(out, h, seg), None)})
                for method in BASELINES:
                    p = points.get((method, seg), np.nan)
                    if p is None or not np.isfinite(p):
                        continue
                    ens = _baseline_draws(out, method, h, seg)
                    rows.append({**common, "method": method,
                                 **_score_row(y, ens, None if ens is not None else float(p))})
            deal_rows += _deal_rows(out, h, q, opps)
    per_quarter = pd.DataFrame(rows, columns=[
        "fold", "quarter", "lead", "segment", "method", "actual", "mean", "p10", "p50", "p90",
        "crps", "pinball_p10", "pinball_p50", "pinball_p90", "covered", "pit", "error", "ape_p50",
        "ratio_p50"])
    deals = pd.DataFrame(deal_rows, columns=["fold", "quarter", "lead", "method", "deals", "wins",
                                             "mean_p", "win_rate", "brier", "ece"])
    return per_quarter, deals


def deal_outcomes(opps: pd.DataFrame, ids: pd.Series, quarter: Quarter) -> np.ndarray:
    """Whether each deal was won inside ``quarter`` according to the (full) export (0/1)."""
    stage = ids.map(opps["stage"]).astype(object)
    closed = pd.to_datetime(ids.map(opps["closed_on"]))
    won = (stage == "won") & (closed >= quarter.start) & (closed < quarter.end)
    return won.fillna(False).to_numpy(dtype=np.float64)


def _deal_rows(out: FoldOutput, h: int, q: Quarter, opps: pd.DataFrame) -> list[dict[str, Any]]:
    label = out.quarters[h]
    model = out.deal_probabilities
    frame = out.deals.merge(
        model[["opportunity_id", label]].rename(columns={label: "p_model"})
        if label in model.columns else pd.DataFrame(columns=["opportunity_id", "p_model"]),
        on="opportunity_id", how="outer")
    frame["won"] = deal_outcomes(opps, frame["opportunity_id"], q)
    rows = []
    for method, column in DEAL_METHODS.items():
        if method != MODEL and h > 0:
            continue
        sub = frame[frame[column].notna()]
        p = sub[column].to_numpy(dtype=np.float64)
        y = sub["won"].to_numpy(dtype=np.float64)
        rows.append({"fold": out.quarters[0], "quarter": label, "lead": h + 1, "method": method,
                     "deals": len(sub), "wins": int(y.sum()),
                     "mean_p": float(p.mean()) if len(p) else np.nan,
                     "win_rate": float(y.mean()) if len(y) else np.nan,
                     "brier": scores.brier_score(p, y),
                     "ece": scores.expected_calibration_error(p, y)})
    return rows


def summarise(per_quarter: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Scores per lead, segment and method over the folds.

    Returns
    -------
    pandas.DataFrame
        lead, segment, method, folds, crps (mean), crps_vs_model (the method's mean CRPS over
        the model's on the same folds: > 1 means the model is better), pinball_p10/p50/p90 and
        pinball_mean, coverage (share of actuals inside P10-P90) with its Wilson interval
        (coverage_low, coverage_high), pit_mean, bias (mean forecast - actual, currency per
        year), bias_pct (total error / total actual), mape_p50, ratio_p50 (mean P50 / actual).
    """
    cols = ["lead", "segment", "method", "folds", "crps", "crps_vs_model", "pinball_p10",
            "pinball_p50", "pinball_p90", "pinball_mean", "coverage", "coverage_low",
            "coverage_high", "pit_mean", "bias", "bias_pct", "mape_p50", "ratio_p50"]
    if per_quarter.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    model = per_quarter[per_quarter["method"] == MODEL].set_index(["fold", "lead", "segment"])["crps"]
    order = {m: i for i, m in enumerate(METHODS)}
    for (lead, segment, method), g in per_quarter.groupby(["lead", "segment", "method"], sort=False):
        keys = pd.MultiIndex.from_frame(g[["fold", "lead", "segment"]])
        model_crps = model.reindex(keys).to_numpy(dtype=np.float64)
        ok = np.isfinite(model_crps)
        n = len(g)
        covered = int(g["covered"].sum())
        low, high = scores.wilson_interval(covered, n, confidence)
        total_actual = float(g["actual"].sum())
        rows.append({
            "lead": int(lead), "segment": segment, "method": method, "folds": n,
            "crps": float(g["crps"].mean()),
            "crps_vs_model": (float(g["crps"].to_numpy()[ok].mean() / model_crps[ok].mean())
                              if ok.any() and model_crps[ok].mean() > 0 else np.nan),
            "pinball_p10": float(g["pinball_p10"].mean()), "pinball_p50": float(g["pinball_p50"].mean()),
            "pinball_p90": float(g["pinball_p90"].mean()),
            "pinball_mean": float(g[["pinball_p10", "pinball_p50", "pinball_p90"]].to_numpy().mean()),
            "coverage": covered / n, "coverage_low": low, "coverage_high": high,
            "pit_mean": float(g["pit"].mean()), "bias": float(g["error"].mean()),
            "bias_pct": float(g["error"].sum() / total_actual) if total_actual else np.nan,
            "mape_p50": float(g["ape_p50"].mean()) if g["ape_p50"].notna().any() else np.nan,
            "ratio_p50": float(g["ratio_p50"].mean()) if g["ratio_p50"].notna().any() else np.nan,
        })
    out = pd.DataFrame(rows, columns=cols)
    out["_seg"] = out["segment"].ne("total")
    out["_m"] = out["method"].map(order)
    out = out.sort_values(["lead", "_seg", "segment", "_m"]).drop(columns=["_seg", "_m"])
    return out.reset_index(drop=True)


def summarise_deals(deals: pd.DataFrame, outcomes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Deal-probability scores pooled over folds, per lead and method.

    Pooled Brier score = deal-weighted mean of the folds' Brier scores; the ECE is the
    deal-weighted mean of the folds' ECEs (each fold's bins), an approximation of the pooled
    ECE. Columns: lead, method, folds, deals, wins, mean_p, win_rate, brier, ece.
    """
    cols = ["lead", "method", "folds", "deals", "wins", "mean_p", "win_rate", "brier", "ece"]
    if deals.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for (lead, method), g in deals.groupby(["lead", "method"], sort=False):
        w = g["deals"].to_numpy(dtype=np.float64)
        n = float(w.sum())

        def wmean(col: str, g: pd.DataFrame = g, w: np.ndarray = w, n: float = n) -> float:
            v = g[col].to_numpy(dtype=np.float64)
            ok = np.isfinite(v) & (w > 0)
            return float((v[ok] * w[ok]).sum() / w[ok].sum()) if ok.any() else np.nan

        rows.append({"lead": int(lead), "method": method, "folds": len(g), "deals": int(n),
                     "wins": int(g["wins"].sum()), "mean_p": wmean("mean_p"),
                     "win_rate": float(g["wins"].sum() / n) if n else np.nan,
                     "brier": wmean("brier"), "ece": wmean("ece")})
    return pd.DataFrame(rows, columns=cols)


# -- the whole backtest -------------------------------------------------------------------------
@dataclass(frozen=True)
class BacktestResult:
    """A backtest's scores and what produced them.

    Attributes
    ----------
    summary : pandas.DataFrame
        :func:`summarise` of ``per_quarter``.
    per_quarter : pandas.DataFrame
        Per fold, quarter, segment and method (:func:`score_folds`).
    deal_summary : pandas.DataFrame
        :func:`summarise_deals` of ``deals``.
    deals : pandas.DataFrame
        Per fold deal-probability scores.
    folds : pandas.DataFrame
        One row per fold: fold, origin, quarters, seconds, draws, seed, diagnostics_ok,
        warnings.
    meta : dict
        Data and config fingerprints, version, settings of the run, every fold's fit
        diagnostics (``diagnostics``: one record per fold and model) and warnings.
    outputs : tuple of FoldOutput
        The raw fold outputs (draws, deal probabilities, baselines).
    calls : pandas.DataFrame
        The team's calls of the scored quarters, each scored beside the model
        (:func:`~partner_forecast.evaluate.calls.score_calls`; empty without calls).
    calls_summary : pandas.DataFrame
        :func:`~partner_forecast.evaluate.calls.summarise_calls` of ``calls``: per scope,
        caller and time in the quarter.
    """

    summary: pd.DataFrame
    per_quarter: pd.DataFrame
    deal_summary: pd.DataFrame
    deals: pd.DataFrame
    folds: pd.DataFrame
    meta: dict[str, Any]
    outputs: tuple[FoldOutput, ...] = ()
    calls: pd.DataFrame = field(default_factory=pd.DataFrame)
    calls_summary: pd.DataFrame = field(default_factory=pd.DataFrame)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables the CLI renders (summary first; the calls' only when there are calls)."""
        calls = ({"calls_summary": self.calls_summary, "calls": self.calls}
                 if len(self.calls) else {})
        return {"summary": self.summary, "deal_calibration": self.deal_summary, **calls,
                "per_quarter": self.per_quarter, "deals_per_quarter": self.deals,
                "folds": self.folds}


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _fold_bar(total: int) -> Any:
    """A tqdm bar over ``total`` folds on stderr (shown even when stderr is not a terminal)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="backtest folds", unit="fold", file=sys.stderr, leave=False,
                dynamic_ncols=True, disable=False)


def _fit_note(tasks: Sequence[FoldTask], settings: Settings, workspace: Path, hint: str) -> str:
    """``; 3 fold(s) need fits, likely about 12 min one after the other (...)``, or empty."""
    from partner_forecast.evaluate.fit_cost import duration_text, estimate_fit, missing_fits

    estimates = []
    for task in tasks:
        missing = missing_fits(task.view, settings, workspace) if task.view is not None else None
        if missing:
            estimates.append(estimate_fit(missing, workspace))
    if not estimates:
        return ""
    seconds = sum(e.seconds for e in estimates)
    return (f"; {len(estimates)} fold(s) need a fit of the models, likely {duration_text(seconds)} "
            f"one fold after the other ({estimates[0].basis})" + (f"; {hint}" if hint else ""))


def backtest(data: str | Path | Export, *, quarters: int = 4, horizon: int = 1, by: str | None = None,
             workers: int = 1, scheduler: str | None = None, draws: int | None = None,
             seed: int | None = None, config: str | Path | Settings | None = None,
             workspace: str | Path | None = None, progress: bool | ProgressFn = True,
             worker_init: Callable[[], None] | None = None, progress_bar: bool | None = None,
             fit_hint: str = "", models: ModelSource = FITTED_MODELS) -> BacktestResult:
    """Rolling-origin backtest of the last ``quarters`` complete quarters.

    Parameters
    ----------
    data : path or Export
        The export (the full one: folds are cut from it).
    quarters : int
        Number of folds K: the last K complete quarters, each forecast from its start.
    horizon : int
        Quarters forecast by each fold (1-8); later quarters are scored when complete.
    by : str, optional
        Segment dimension (one of :data:`BACKTEST_SEGMENTS`); the total is always scored.
    workers : int
        Parallel worker processes (1: in this process).
    scheduler : str, optional
        Dask scheduler address, or ``"local"`` for a local Dask cluster of ``workers``.
    draws, seed : int, optional
        Monte Carlo draws per fold and base seed (defaults from ``[simulation]``).
    config : path or Settings, optional
        Configuration merged over the defaults (e.g. smaller sampler settings).
    workspace : path, optional
        Where fitted posteriors are cached (default ``.partner_forecast``).
    progress : bool or callable
        Report progress on stderr (or to this callable, one line at a time): the folds, and
        beforehand how many need a fit of the models and how long that is likely to take.
    worker_init : callable, optional
        Run in every worker process before its first fold (see :func:`run_folds`).
    progress_bar : bool, optional
        A bar over the folds on stderr (tqdm: folds done, elapsed, ETA) in place of a line per
        fold. Default: when ``progress`` is on and stderr is a terminal (never in captured
        output); True / False: always / never.
    fit_hint : str
        Appended to the note announcing fits (e.g. how to skip the backtest).
    models : ModelSource
        Where every fold gets its fitted models (carried into the workers with the fold).

    Returns
    -------
    BacktestResult
    """
    from partner_forecast.forecast import DEFAULT_WORKSPACE, load_inputs

    if by is not None and by not in BACKTEST_SEGMENTS:
        raise PartnerForecastError(f"--by {by} is not supported by backtests; use one of "
                                   f"{', '.join(BACKTEST_SEGMENTS)}")
    if not 1 <= horizon <= 8:
        raise PartnerForecastError(f"--horizon must be between 1 and 8, got {horizon}")
    if workers < 1:
        raise PartnerForecastError(f"--workers must be at least 1, got {workers}")
    say: ProgressFn | None = _stderr if progress is True else (progress or None)
    settings, export = load_inputs(data, config)
    fym = settings.calendar.fiscal_year_start_month
    seed = settings.simulation.seed if seed is None else int(seed)
    workspace = Path(workspace) if workspace is not None else DEFAULT_WORKSPACE
    folds = fold_quarters(export, quarters, fym)
    t0 = time.perf_counter()
    tasks = [make_fold_task(export, q, index=i, horizon=horizon, by=by, draws=draws, seed=seed,
                            workspace=workspace, settings=settings, models=models)
             for i, q in enumerate(folds)]
    where = (f"Dask scheduler {scheduler}" if scheduler else
             f"{min(workers, len(tasks))} worker process(es)" if workers > 1 else "this process")
    if say:
        say(f"backtest: {len(tasks)} fold(s) {folds[0]}..{folds[-1]}, horizon {horizon}, "
            f"on {where}" + _fit_note(tasks, settings, workspace, fit_hint))
    show_bar = (say is not None and sys.stderr.isatty()) if progress_bar is None else progress_bar
    bar = _fold_bar(len(tasks)) if show_bar else None

    def on_done(out: FoldOutput, done: int, total: int) -> None:
        if bar is not None:
            bar.set_postfix_str(f"{out.quarters[0]} in {out.meta['seconds']:.0f} s", refresh=False)
            bar.update(1)
        elif say:
            say(f"backtest: fold {out.quarters[0]} done in {out.meta['seconds']:.0f} s "
                f"({done}/{total}, {time.perf_counter() - t0:.0f} s elapsed)")

    try:
        outputs = run_folds(tasks, workers=workers, scheduler=scheduler, worker_init=worker_init,
                            on_done=on_done)
    finally:
        if bar is not None:
            bar.close()
    if bar is not None and say:
        say(f"backtest: {len(tasks)} fold(s) done in {time.perf_counter() - t0:.0f} s")
    per_quarter, deals = score_folds(outputs, export, settings, by)
    call_scores = score_calls(export, settings, per_quarter, by)
    fold_rows = []
    for out in outputs:
        warnings = out.meta.get("warnings", [])
        fold_rows.append({"fold": out.quarters[0], "origin": out.origin.date().isoformat(),
                          "quarters": ",".join(out.quarters), "seconds": out.meta.get("seconds"),
                          "draws": out.meta.get("draws"), "seed": out.meta.get("seed"),
                          "diagnostics_ok": not warnings, "warnings": "; ".join(warnings)})
    meta = {"data": export.source, "data_fingerprint": export.fingerprint,
            "as_of": export.default_as_of.date().isoformat(), "config": settings.source,
            "config_fingerprint": settings.fingerprint, "version": __version__,
            "folds": [str(q) for q in folds], "horizon": horizon, "segment_by": by or "total",
            "seed": seed, "draws": draws or settings.simulation.draws, "workers": workers,
            "scheduler": scheduler, "seconds": round(time.perf_counter() - t0, 1),
            "coverage_target": 0.8,
            "diagnostics": [{"fold": out.quarters[0], **record} for out in outputs
                            for record in out.meta.get("diagnostics", [])],
            "warnings": [f"fold {r['fold']}: {r['warnings']}" for r in fold_rows if r["warnings"]]}
    if len(call_scores):
        meta["calls_fingerprint"] = calls_fingerprint(export)
        meta["calls_convention"] = CALLS_CONVENTION
    return BacktestResult(summary=summarise(per_quarter), per_quarter=per_quarter,
                          deal_summary=summarise_deals(deals), deals=deals,
                          folds=pd.DataFrame(fold_rows), meta=meta, outputs=tuple(outputs),
                          calls=call_scores, calls_summary=summarise_calls(call_scores))


__all__ = ["BACKTEST_SEGMENTS", "BacktestResult", "DEAL_METHODS", "FoldOutput", "FoldTask", "METHODS",
           "backtest", "deal_outcomes", "fold_quarters", "fold_seed", "make_fold_task", "run_fold",
           "run_folds", "score_folds", "summarise", "summarise_deals"]
