"""In-quarter pacing: ARR won so far against the path the quarter's forecast expected.

:func:`pacing` takes a day inside a quarter (the as-of date: wins dated before it count) and sets

- **won to date**: partner-attributed ARR won in the quarter before the as-of date, from the
  export (:func:`partner_forecast.outcomes.won_deals`: ARR x the partner role's weight);
- against **the expected path**: the quarter's forecast made on or before its first day (the
  latest such forecast run in the ledger; without one, this function makes it, as of the
  quarter's start, and records it). Its simulation dated every win, so each draw is a path of
  ARR won by each day; the path's mean and P10-P90 band by day were recorded with the run
  (:mod:`partner_forecast.ledger.pace_path`). Where won-to-date falls in that band says
  whether the quarter is ahead of, on or behind the pace the forecast expected;
- **P(>= target) given what is already won**: from a forecast *as of the pacing date* (the
  ledger's forecast run of the quarter made on that date from the same data, else one made
  here and recorded): ARR won to date plus the simulated rest of the quarter from the deals
  still open then (each where it stands: stage, days in stage) and the pipeline still to be
  created. This is the right conditional: it knows *which* deals were won, lost or are still
  open, not only how much was won. The alternative, reading the start-of-quarter draws whose
  path had reached the same amount by the same day, conditions on the amount alone and counts
  again deals already won as still to come; it would need no fit, but would be biased exactly
  when one large deal makes the difference. P(>= target) of the start-of-quarter forecast is
  shown beside it, for the change.

Once the quarter is over (an as-of date at or after its end is taken as its end), won to date
is the actual and P(>= target) is 1 or 0. ARR is currency per year; probabilities in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from partner_forecast import __version__
from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.errors import PartnerForecastError
from partner_forecast.ledger.pace_path import PATH_KEY, ExpectedPath, expected_path
from partner_forecast.metrics.coverage import segment_targets
from partner_forecast.model_source import FITTED_MODELS, ModelSource
from partner_forecast.outcomes import won_deals

WEEK = 7
"""Days between the rows of the ``path`` table."""


@dataclass(frozen=True)
class PacingResult:
    """Pacing of one quarter as of one day.

    Attributes
    ----------
    quarter : str
        The quarter, e.g. ``"2026Q4"``.
    as_of : pandas.Timestamp
        The pacing date (wins dated before it are won to date).
    summary : pandas.DataFrame
        One row: quarter, as_of, day, days, won_to_date, expected_mean, expected_p10,
        expected_p50, expected_p90, won_vs_p50 (won to date / expected P50 - 1), position
        (below the P10, inside the P10-P90, above the P90), arr_target, p_at_least_target
        (given what is won), p_at_least_target_at_start (the start-of-quarter forecast's),
        forecast_p10, forecast_p50, forecast_p90 (the quarter's total as forecast as of the
        pacing date), expected_total_at_start (the start-of-quarter forecast's mean), baseline_run,
        baseline_as_of, now_run.
    path : pandas.DataFrame
        Weekly rows (day 0, 7, 14, ...), the pacing date and the quarter's end: day, date,
        won_to_date (NaN after the pacing date), mean, p10, p50, p90 of the expected path.
    daily : pandas.DataFrame
        The same for every day boundary 0 .. days (for charts).
    meta : dict
        Quarter, as-of, the runs used, ``diagnostics_ok`` (False when a forecast used stands on
        fits that failed their sampler diagnostics), data and config fingerprints, notes.
    """

    quarter: str
    as_of: pd.Timestamp
    summary: pd.DataFrame
    path: pd.DataFrame
    daily: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables the CLI renders."""
        return {"pacing": self.summary, "path": self.path, "daily": self.daily}


# -- pure pieces ---------------------------------------------------------------------------------
def won_by_day(export: Export, settings: Settings, quarter: Quarter,
               as_of: pd.Timestamp) -> np.ndarray:
    """(days + 1,) attributed ARR won before each day boundary of ``quarter`` (NaN after ``as_of``).

    Boundary ``k`` holds the wins dated before ``quarter.start + k days``; the value at the
    as-of date's boundary is ``realised(..., until=as_of)``'s total.
    """
    days = quarter.days
    won = won_deals(export, settings, quarter.start, min(quarter.end, as_of))
    day = (won["closed_on"] - quarter.start).dt.days.to_numpy(dtype=np.int64)
    daily = np.bincount(day, weights=won["attributed_arr"].to_numpy(dtype=np.float64),
                        minlength=days)[:days]
    out = np.concatenate([[0.0], np.cumsum(daily)])
    last = int((min(quarter.end, as_of) - quarter.start).days)
    out[last + 1:] = np.nan
    return out


def position(value: float, p10: float, p90: float) -> str:
    """Where ``value`` falls against a P10-P90 band, in words."""
    if not np.isfinite(value) or not (np.isfinite(p10) and np.isfinite(p90)):
        return ""
    return "below the P10" if value < p10 else "above the P90" if value > p90 else "inside the P10-P90"


def path_tables(path: ExpectedPath, won: np.ndarray, as_of_day: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The daily table (every day boundary) and the weekly one (plus the pacing date and the end)."""
    daily = path.frame()
    daily.insert(2, "won_to_date", won)
    keep = sorted({*range(0, path.days + 1, WEEK), as_of_day, path.days})
    return daily, daily.iloc[keep].reset_index(drop=True)


# -- the runs ------------------------------------------------------------------------------------
def _baseline(ledger: Any, label: str, start: pd.Timestamp) -> tuple[dict[str, Any], ExpectedPath] | None:
    """The latest ledger forecast of ``label`` as of its start or before that recorded its path."""
    runs = ledger.forecasts_of(label, start)
    for run_id in reversed(list(runs["run_id"])):
        record = ledger.run(str(run_id))
        recorded = record["meta"].get(PATH_KEY)
        if recorded and recorded.get("quarter") == label:
            return record, ExpectedPath.from_meta(recorded)
    return None


def _run_now(ledger: Any, label: str, as_of: pd.Timestamp, fingerprint: str) -> dict[str, Any] | None:
    """The latest ledger forecast of ``label`` made as of ``as_of`` from this data, headlined on it."""
    runs = ledger.forecasts_of(label, as_of)
    runs = runs[(pd.to_datetime(runs["as_of"]) == as_of) & (runs["data_fingerprint"] == fingerprint)]
    for run_id in reversed(list(runs["run_id"])):
        record = ledger.run(str(run_id))
        if (record["meta"].get("headline") or {}).get("quarter") == label:
            return record
    return None


def _total_quantiles(quantiles: pd.DataFrame, label: str) -> dict[str, float]:
    q = quantiles[(quantiles["quarter"] == label) & (quantiles["measure"] == "attributed")
                  & (quantiles["segment"] == "total")]
    return {k: float(q[k].iloc[0]) if len(q) else np.nan for k in ("p10", "p50", "p90", "mean")}


def _headline_target(meta: dict[str, Any] | None, label: str) -> tuple[float, float]:
    """(arr_target, p_at_least_target) of a run's headline for ``label`` (NaN where none).

    ``meta`` is a forecast run's meta, recorded in the ledger or just made.
    """
    head = (meta or {}).get("headline") or {}
    if head.get("quarter") != label:
        return np.nan, np.nan
    target, p = head.get("arr_target"), head.get("p_at_least_target")
    return (float(target) if target is not None else np.nan, float(p) if p is not None else np.nan)


# -- the function --------------------------------------------------------------------------------
def pacing(data: str | Path | Export, quarter: str | Quarter | None = None, *,
           as_of: str | pd.Timestamp | None = None, workspace: str | Path | None = None,
           config: str | Path | Settings | None = None, draws: int | None = None,
           seed: int | None = None, forecast_missing: bool = True,
           progress: bool = False, models: ModelSource = FITTED_MODELS) -> PacingResult:
    """Pace ``quarter`` as of ``as_of``: won to date against the forecast's expected path.

    Parameters
    ----------
    data : path or Export
        The export (the ARR won so far, and the data of any forecast made here).
    quarter : str or Quarter, optional
        The quarter (default: the one containing the as-of date).
    as_of : date, optional
        The pacing date, inside the quarter (default: the data's as-of date, or the quarter's
        end when the data runs past it).
    workspace : path, optional
        Cached fits and the forecast ledger (default ``.partner_forecast``).
    config : path or Settings, optional
        Configuration (calendar, attribution weights, simulation defaults).
    draws, seed : int, optional
        Draws and seed of a forecast made here (defaults from ``[simulation]``).
    forecast_missing : bool
        Make (and record) the forecasts the ledger lacks: the quarter's as of its start, and
        the one as of the pacing date; each fits the models on the data as of its date unless
        the workspace has them. False: raise when the start-of-quarter forecast is missing,
        and leave P(>= target) blank without a forecast as of the pacing date.
    progress : bool
        Progress bars of forecasts made here.
    models : ModelSource
        Where the fitted models of a forecast made here come from (default: fit with PyMC or
        load from the workspace).

    Returns
    -------
    PacingResult

    Raises
    ------
    PartnerForecastError
        A pacing date on or before the quarter's first day or after the data ends; no
        start-of-quarter forecast with ``forecast_missing=False``.
    """
    from partner_forecast.forecast import DEFAULT_WORKSPACE, forecast, load_inputs
    from partner_forecast.ledger.store import Ledger

    settings, export = load_inputs(data, config)
    fym = settings.calendar.fiscal_year_start_month
    latest = export.default_as_of
    if quarter is None:
        q = Quarter.containing(latest if as_of is None else pd.Timestamp(as_of), fym)
    else:
        q = quarter if isinstance(quarter, Quarter) else Quarter.parse(str(quarter), fym)
    label = str(q)
    cut = min(latest, q.end) if as_of is None else pd.Timestamp(as_of).normalize()
    notes: list[str] = []
    if cut > latest:
        raise PartnerForecastError(f"--as-of {cut.date()} is after the data ends (its as-of date "
                                   f"is {latest.date()}): nothing is known about {label} then")
    if cut <= q.start:
        raise PartnerForecastError(
            f"--as-of {cut.date()} is not inside {label} ({q.start.date()} to "
            f"{(q.end - pd.Timedelta(days=1)).date()}): pacing needs a day after the quarter's "
            f"first, e.g. --as-of {(q.start + pd.Timedelta(days=q.days // 2)).date()}")
    closed = cut >= q.end
    if cut > q.end:
        notes.append(f"{label} ended before {cut.date()}: paced to its end")
        cut = q.end
    ws = Path(workspace) if workspace is not None else DEFAULT_WORKSPACE
    ledger = Ledger(ws)
    view = export.as_of(cut) if export.as_of_date is None or cut < export.as_of_date else export

    # The expected path: the forecast made on or before the quarter's start.
    failed: list[str] = []  # runs whose fits failed their sampler diagnostics
    found = _baseline(ledger, label, q.start)
    if found is not None:
        base_record, path = found
        if base_record["meta"].get("diagnostics_ok") is False:
            failed.append(str(base_record["run_id"]))
        base_run, base_as_of = str(base_record["run_id"]), str(base_record["as_of"])
        base_target = _headline_target(base_record["meta"], label)
        base_mean = _total_quantiles(base_record["quantiles"], label)["mean"]
    elif forecast_missing:
        notes.append(f"no forecast of {label} made on or before {q.start.date()} with its path in "
                     f"the ledger: made one as of {q.start.date()} and recorded it")
        made = forecast(export, as_of=q.start, quarter=q, draws=draws, seed=seed, config=settings,
                        workspace=ws, record=True, progress=progress, models=models)
        # Through the ledger's rounding, so a later call reading this run gives the same figures.
        path = ExpectedPath.from_meta(expected_path(made.simulation, q.start, 0.0).to_meta())
        if made.meta.get("diagnostics_ok") is False:
            failed.append(str(made.run_id))
        base_run, base_as_of = str(made.run_id or ""), q.start.date().isoformat()
        base_target = _headline_target(made.meta, label)
        base_mean = _total_quantiles(made.quantiles, label)["mean"]
    else:
        raise PartnerForecastError(
            f"no forecast of {label} made on or before its start ({q.start.date()}) in the ledger "
            f"at {ledger.path} recorded its expected path: run `partner-forecast pacing DATA "
            f"--quarter {label}` (it makes one), or `partner-forecast forecast DATA --as-of "
            f"{q.start.date()} --quarter {label}`")
    if path.from_day > 0:
        notes.append(f"the start-of-quarter forecast {base_run} was made inside {label} "
                     f"({base_as_of}): its path starts at day {path.from_day}")

    # ARR won so far, by day.
    day = int((cut - q.start).days)
    won = won_by_day(view, settings, q, cut)
    won_now = float(won[day])
    expected = path.at(day)

    # P(>= target) given what is already won: the forecast as of the pacing date.
    now_run, now_q = "", {"p10": np.nan, "p50": np.nan, "p90": np.nan}
    target, p_now = np.nan, np.nan
    if closed:
        now_q = {"p10": won_now, "p50": won_now, "p90": won_now}
        target = _quarter_target(view, label)
        p_now = float(won_now >= target) if np.isfinite(target) else np.nan
    else:
        record = _run_now(ledger, label, cut, view.fingerprint)
        if record is not None:
            now_run = str(record["run_id"])
            if record["meta"].get("diagnostics_ok") is False:
                failed.append(now_run)
            now_q = _total_quantiles(record["quantiles"], label)
            target, p_now = _headline_target(record["meta"], label)
        elif forecast_missing:
            notes.append(f"no forecast of {label} as of {cut.date()} from this data in the ledger: "
                         "made one and recorded it")
            made = forecast(view, as_of=cut, quarter=q, draws=draws, seed=seed, config=settings,
                            workspace=ws, record=True, progress=progress, models=models)
            now_run = str(made.run_id or "")
            if made.meta.get("diagnostics_ok") is False:
                failed.append(now_run)
            now_q = _total_quantiles(made.quantiles, label)
            target, p_now = _headline_target(made.meta, label)
        else:
            notes.append(f"no forecast of {label} as of {cut.date()} in the ledger: P(>= target) "
                         "given what is won is left blank")
            target = _quarter_target(view, label)
    if not np.isfinite(target):
        target = _quarter_target(view, label)
        if not np.isfinite(target):
            notes.append(f"no ARR target for {label} (targets file, blank partner_type): no "
                         "P(>= target)")

    if failed:
        notes.append(f"the fits behind forecast run(s) {', '.join(failed)} failed their sampler "
                     "diagnostics: read these figures as indicative only")
    p10, p50, p90 = expected["p10"], expected["p50"], expected["p90"]
    summary = pd.DataFrame([{
        "quarter": label, "as_of": cut.date().isoformat(), "day": day, "days": q.days,
        "won_to_date": won_now, "expected_mean": expected["mean"], "expected_p10": p10,
        "expected_p50": p50, "expected_p90": p90,
        "won_vs_p50": won_now / p50 - 1.0 if p50 > 0 else np.nan,
        "position": position(won_now, p10, p90), "arr_target": target,
        "p_at_least_target": p_now, "p_at_least_target_at_start": base_target[1],
        "forecast_p10": now_q["p10"], "forecast_p50": now_q["p50"], "forecast_p90": now_q["p90"],
        "expected_total_at_start": base_mean,
        "baseline_run": base_run, "baseline_as_of": base_as_of, "now_run": now_run}])
    daily, weekly = path_tables(path, won, day)
    meta = {"quarter": label, "as_of": cut.date().isoformat(), "quarter_closed": closed,
            "baseline_run": base_run, "baseline_as_of": base_as_of, "path_draws": path.draws,
            "now_run": now_run, "diagnostics_ok": not failed, "ledger": str(ledger.path),
            "data": export.source,
            "data_fingerprint": view.fingerprint, "config": settings.source,
            "config_fingerprint": settings.fingerprint, "version": __version__,
            "p_at_least_target_from": "won to date + the rest of the quarter simulated from the "
                                      "forecast as of the pacing date",
            "warnings": notes}
    return PacingResult(quarter=label, as_of=cut, summary=summary, path=weekly, daily=daily,
                        meta=meta)


def _quarter_target(export: Export, label: str) -> float:
    """The export's total ARR target of the quarter (blank partner_type rows), NaN without one."""
    return segment_targets(export, label).get("total", np.nan)


__all__ = ["PacingResult", "pacing", "path_tables", "position", "won_by_day"]
