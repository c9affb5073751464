"""A ledger run read back for a review: which run, what it lacks, its forecast against the actual.

- :func:`choose_run`: the forecast run of a quarter a variance review uses (the latest made on
  or before the quarter's start, from the same data source: :func:`same_data_source`);
- :func:`record_gaps`: what an older or hand-made run lacks for a full review;
- :func:`forecast_table`: the run's P10/P50/P90 and mean of a quarter against the actual, with
  the actual's percentile read off the run's recorded percentile grid
  (:func:`partner_forecast.ledger.percentiles.percentile_of`); used by the variance review and
  the forecast history.

ARR is partner-attributed, currency per year; percentiles 0-100.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.data.export import Export
from partner_forecast.ledger.percentiles import percentile_of


def same_data_source(run: Mapping[str, Any], export: Export) -> bool:
    """Whether a ledger run was made from the same data source as ``export``.

    Yes when the run recorded no source (older runs, exports built in memory), when its
    recorded source folder is ``export``'s (resolved), or when its data fingerprint is that
    of ``export``'s files as of the run's as-of (the same bytes, moved or renamed).
    """
    recorded = str(run.get("data") or "")
    if not recorded or not export.source:
        return True
    if _resolved(recorded) == _resolved(export.source):
        return True
    if not export.source_fingerprint:
        return False
    then = replace(export, as_of_date=pd.Timestamp(run["as_of"]).normalize())
    return str(run.get("data_fingerprint") or "") == then.fingerprint


def _resolved(path: str) -> str:
    try:
        return str(Path(path).expanduser().resolve())
    except (OSError, RuntimeError):
        return path


@dataclass(frozen=True)
class RunChoice:
    """The ledger run a review would use, and the runs it passed over.

    Attributes
    ----------
    run : dict or None
        The chosen run's row of :meth:`Ledger.forecasts_of` (None: no usable run).
    other_sources : pandas.DataFrame
        Runs of the quarter with the right origin and segmentation, made from another data
        source (not used unless asked for with ``run_id``).
    """

    run: dict[str, Any] | None
    other_sources: pd.DataFrame

    @property
    def run_id(self) -> str | None:
        """The chosen run's id."""
        return None if self.run is None else str(self.run["run_id"])


def choose_run(ledger: Any, quarter: Quarter, by: str | None,
               export: Export | None = None) -> RunChoice:
    """The latest forecast run of ``quarter`` made on or before its start, segmented by ``by``.

    With ``export``, only runs from its data source count (:func:`same_data_source`); the
    others are listed in :attr:`RunChoice.other_sources`.
    """
    runs = ledger.forecasts_of(str(quarter), quarter.start)
    runs = runs[runs["segment_by"] == (by or "total")]
    if export is not None and len(runs):
        same = runs.apply(lambda r: same_data_source(r, export), axis=1).astype(bool)
    else:
        same = pd.Series(True, index=runs.index)
    usable, others = runs[same], runs[~same].reset_index(drop=True)
    run = usable.iloc[-1].to_dict() if len(usable) else None
    return RunChoice(run=run, other_sources=others)


def select_run(ledger: Any, quarter: Quarter, by: str | None,
               export: Export | None = None) -> str | None:
    """Id of the run :func:`choose_run` picks (None when the ledger holds none)."""
    return choose_run(ledger, quarter, by, export).run_id


def record_gaps(record: Mapping[str, Any], quarter: str) -> list[str]:
    """What a ledger run lacks for a full review of ``quarter``, and what is used instead.

    A run recorded by an older version (or by hand) may hold only its quantiles; the review
    then works from what it has (P10/P50/P90, the per-segment figures) and says so.
    """
    gaps = []
    run_id = record.get("run_id", "?")
    dp = record["deal_probabilities"]
    if not (dp["quarter"] == quarter).any():
        gaps.append(f"run {run_id} recorded no per-deal win probabilities for {quarter}: the "
                    "open pipeline is not split into conversion, lost and timing (the deals won "
                    "show as 'not in forecast', its expectation as the model residual)")
    q = record["quantiles"]
    measures = set(q.loc[q["quarter"] == quarter, "measure"])
    if not {"attributed_open", "attributed_new"} <= measures:
        gaps.append(f"run {run_id} recorded no open/new pipeline split for {quarter}: the new "
                    "pipeline's expectation is taken as zero and the difference shows in the "
                    "model residual")
    grids = (record["meta"].get("attributed_percentiles") or {}).get("quarters", {})
    if quarter not in grids:
        gaps.append(f"run {run_id} recorded no percentile grid for {quarter}: the actual's "
                    "percentile is interpolated from P10/P50/P90")
    drivers = {str(r.get("quarter")) for r in record["meta"].get("drivers", []) or []}
    if quarter not in drivers:
        gaps.append(f"run {run_id} did not record driver means: the new pipeline is one line")
    return gaps


def band(actual: float, p10: float, p50: float, p90: float) -> str:
    """Where the actual falls: ``below P10``, ``P10-P50``, ``P50-P90``, ``above P90`` ("" if unknown)."""
    if not np.isfinite(p10):
        return ""
    if actual < p10:
        return "below P10"
    if actual > p90:
        return "above P90"
    return "P10-P50" if actual <= p50 else "P50-P90"


def forecast_table(record: Mapping[str, Any], quarter: str, actual: Mapping[str, float],
                   segment_by: str | None) -> pd.DataFrame:
    """A ledger run's forecast of ``quarter`` against the actual, in total and per segment.

    Parameters
    ----------
    record : mapping
        The run (:meth:`partner_forecast.ledger.store.Ledger.run`).
    quarter : str
        The quarter, e.g. ``"2026Q3"``.
    actual : mapping
        Actual partner-attributed ARR per segment (and ``total``), currency per year.
    segment_by : str or None
        The run's segment dimension (None: the total only).

    Returns
    -------
    pandas.DataFrame
        segment, actual, p10, p50, p90, mean, actual_minus_mean, percentile (0-100: from the
        run's recorded percentile grid, else interpolated from P10/P50/P90), band,
        percentile_method. A total the run did not record (a split run) is read off its grid;
        a segment it did not forecast counts as forecast 0.
    """
    q = record["quantiles"]
    q = q[(q["quarter"] == quarter) & (q["measure"] == "attributed")]
    grids = (record["meta"].get("attributed_percentiles") or {}).get("quarters", {}).get(quarter)
    levels_total = (record["meta"].get("attributed_percentiles") or {}).get("total_levels")
    levels_seg = (record["meta"].get("attributed_percentiles") or {}).get("segment_levels")
    rows = []
    by_seg = {str(r.segment): r for r in q.itertuples(index=False)}
    segments = ["total"]
    if segment_by is not None:
        segments += sorted((set(by_seg) | set(actual)) - {"total"})
    for seg in segments:
        y = actual.get(seg, 0.0)
        grid, levels = None, None
        if seg == "total" and "total" not in by_seg:
            mean = float(q["mean"].sum())
            if grids is not None and levels_total is not None:
                grid, levels = grids["total"], levels_total
                p10, p50, p90 = (float(np.interp(x, levels_total, grid)) for x in (10, 50, 90))
            else:
                p10 = p50 = p90 = np.nan
        elif seg in by_seg:
            r = by_seg[seg]
            p10, p50, p90, mean = float(r.p10), float(r.p50), float(r.p90), float(r.mean)
            if grids is not None:
                grid, levels = ((grids["total"], levels_total) if seg == "total"
                                else (grids["segments"].get(seg), levels_seg))
        else:  # a segment the run did not forecast (e.g. a partner recruited since)
            p10 = p50 = p90 = mean = 0.0
        if grid is not None and levels is not None:
            pct, method = percentile_of(y, levels, grid), "recorded percentiles"
        elif np.isfinite(p10):
            pct, method = percentile_of(y, (10, 50, 90), (p10, p50, p90)), "interpolated P10/P50/P90"
        else:
            pct, method = np.nan, "not available"
        rows.append({"segment": seg, "actual": y, "p10": p10, "p50": p50, "p90": p90, "mean": mean,
                     "actual_minus_mean": y - mean, "percentile": pct,
                     "band": band(y, p10, p50, p90), "percentile_method": method})
    return pd.DataFrame(rows)


def sum_measure(record: Mapping[str, Any], quarter: str, measure: str) -> float:
    """A run's mean of ``measure`` in ``quarter``: its ``total`` row, else the sum over segments."""
    q = record["quantiles"]
    q = q[(q["quarter"] == quarter) & (q["measure"] == measure)]
    if "total" in set(q["segment"]):
        q = q[q["segment"] == "total"]
    return float(q["mean"].sum())


__all__ = ["RunChoice", "band", "choose_run", "forecast_table", "record_gaps", "same_data_source",
           "select_run", "sum_measure"]
