"""Backtest folds: the quarters a backtest forecasts, and one fold's work.

A fold is the forecast of one past quarter (and ``horizon - 1`` more) from its start, the
*origin*. :func:`make_fold_task` cuts the export at the origin in the calling process
(:meth:`Export.as_of`: nothing dated on or after it is known), so a :class:`FoldTask` carries the
as-of view only, never the full export, with the model source it fits with; :func:`run_fold`
fits and forecasts from that view (:func:`partner_forecast.forecast.prepare` /
:func:`~partner_forecast.forecast.run`, not recorded in the ledger) and computes the point
baselines of :mod:`partner_forecast.evaluate.baselines` from the same view. Tasks and outputs are
picklable: folds run in worker processes or on a Dask cluster
(:mod:`partner_forecast.executor`).

ARR is currency per year.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.errors import PartnerForecastError
from partner_forecast.evaluate.baselines import baseline_points, cohort_draws, open_deals_at_origin
from partner_forecast.evaluate.digests import view_digest
from partner_forecast.model_source import FITTED_MODELS, ModelSource


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
    view : Export
        The export as of ``origin`` (the only data the fold sees).
    models : ModelSource
        Where the fold's fitted models come from (carried into worker processes).
    """

    index: int
    origin: pd.Timestamp
    quarters: tuple[str, ...]
    by: str | None
    draws: int | None
    seed: int
    workspace: str
    settings: Settings
    view: Export
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
        Content hash of the as-of view (:func:`partner_forecast.evaluate.digests.view_digest`).
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


def fold_note(task: FoldTask) -> str:
    """What a fold's error is noted with: ``(in backtest fold 2026Q1, as of 2026-01-01)``."""
    return f"(in backtest fold {task.quarters[0]}, as of {task.origin.date()})"


__all__ = ["FoldOutput", "FoldTask", "fold_note", "fold_quarters", "fold_seed", "make_fold_task",
           "run_fold"]
