"""Rolling-origin backtests: forecast past quarters from their start, score against what closed.

For each of the last ``K`` complete quarters (a *fold*, :mod:`partner_forecast.evaluate.folds`),
:func:`backtest`

1. cuts the export at the quarter's start (:meth:`Export.as_of`: nothing dated on or after
   the origin is known) -- the cut is made in the calling process, and the fold receives the
   as-of view only, never the full export;
2. fits the models on that view (from the ``models`` source the fold carries) and forecasts
   ``horizon`` quarters from the origin (not recorded in the ledger), and computes the point
   baselines of :mod:`partner_forecast.evaluate.baselines` from the same view;
3. scores every reported quarter that is complete in the full export against the
   partner-attributed ARR actually won, and the deals open at the origin against their
   outcomes (:mod:`partner_forecast.evaluate.scoring`);
4. scores the team's calls of the same quarters (the optional ``calls`` table), each by the
   same rules beside the model's lead-1 score (:mod:`partner_forecast.evaluate.calls`).

Folds are independent: they run in local worker processes (``workers``) or on a Dask
distributed cluster (``scheduler``: an address, or ``"local"`` for a local cluster; Dask is
an optional dependency, ``pip install 'partner-forecast[dask]'``), through
:mod:`partner_forecast.executor`.

ARR is currency per year; probabilities, coverage and PIT in [0, 1].
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from partner_forecast import __version__
from partner_forecast.config import Settings
from partner_forecast.data.export import Export, calls_fingerprint
from partner_forecast.errors import PartnerForecastError
from partner_forecast.evaluate import BACKTEST_SEGMENTS
from partner_forecast.evaluate.calls import CALLS_CONVENTION, score_calls, summarise_calls
from partner_forecast.evaluate.folds import (
    FoldOutput,
    FoldTask,
    fold_note,
    fold_quarters,
    make_fold_task,
    run_fold,
)
from partner_forecast.evaluate.scoring import score_folds, summarise, summarise_deals
from partner_forecast.executor import Executor, executor_for
from partner_forecast.model_source import FITTED_MODELS, ModelSource

logger = logging.getLogger(__name__)

ProgressFn = Callable[[str], None]


def run_folds(tasks: Sequence[FoldTask], *, workers: int = 1, scheduler: str | None = None,
              on_done: Callable[[FoldOutput, int, int], None] | None = None,
              executor: Executor | None = None) -> list[FoldOutput]:
    """Run folds in this process, in local worker processes or on a Dask cluster.

    Parameters
    ----------
    tasks : sequence of FoldTask
        The folds (with their views and model source).
    workers : int
        Local worker processes (1: run in this process, one fold after the other). With
        ``scheduler="local"``, the number of workers of the local Dask cluster.
    scheduler : str, optional
        Dask scheduler address (``tcp://host:8786``), or ``"local"`` for a local cluster.
    on_done : callable, optional
        ``on_done(output, done, total)`` as each fold finishes (in completion order).
    executor : Executor, optional
        Runs the folds instead of the one ``workers`` and ``scheduler`` choose
        (:func:`partner_forecast.executor.executor_for`).

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

    run = executor if executor is not None else executor_for(workers, scheduler)
    run.run(run_fold, tasks, describe=fold_note, on_result=finished)
    return sorted(done, key=lambda o: o.index)


@dataclass(frozen=True)
class BacktestResult:
    """A backtest's scores and what produced them.

    Attributes
    ----------
    summary : pandas.DataFrame
        :func:`~partner_forecast.evaluate.scoring.summarise` of ``per_quarter``.
    per_quarter : pandas.DataFrame
        Per fold, quarter, segment and method
        (:func:`~partner_forecast.evaluate.scoring.score_folds`).
    deal_summary : pandas.DataFrame
        :func:`~partner_forecast.evaluate.scoring.summarise_deals` of ``deals``.
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
        missing = missing_fits(task.view, settings, workspace)
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
             progress_bar: bool | None = None, fit_hint: str = "",
             models: ModelSource = FITTED_MODELS, executor: Executor | None = None
             ) -> BacktestResult:
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
        Report progress to this callable, one line at a time (True: log it at INFO level):
        the folds, and beforehand how many need a fit of the models and how long that is
        likely to take.
    progress_bar : bool, optional
        A bar over the folds on stderr (tqdm: folds done, elapsed, ETA) in place of a line per
        fold. Default: when ``progress`` is on and stderr is a terminal (never in captured
        output); True / False: always / never.
    fit_hint : str
        Appended to the note announcing fits (e.g. how to skip the backtest).
    models : ModelSource
        Where each fold's fitted models come from (default: fit with PyMC or load from the
        workspace); carried into the worker processes with the folds.
    executor : Executor, optional
        Runs the folds instead of the one ``workers`` and ``scheduler`` choose.

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
    say: ProgressFn | None = logger.info if progress is True else (progress or None)
    settings, export = load_inputs(data, config)
    fym = settings.calendar.fiscal_year_start_month
    seed = settings.simulation.seed if seed is None else int(seed)
    workspace = Path(workspace) if workspace is not None else DEFAULT_WORKSPACE
    folds = fold_quarters(export, quarters, fym)
    t0 = time.perf_counter()
    tasks = [make_fold_task(export, q, index=i, horizon=horizon, by=by, draws=draws, seed=seed,
                            workspace=workspace, settings=settings, models=models)
             for i, q in enumerate(folds)]
    run = executor if executor is not None else executor_for(workers, scheduler)
    where = run.where(len(tasks))
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
        outputs = run_folds(tasks, on_done=on_done, executor=run)
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


__all__ = ["BACKTEST_SEGMENTS", "BacktestResult", "backtest", "run_folds"]
