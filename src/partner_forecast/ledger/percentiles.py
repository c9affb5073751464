"""Percentile grids a forecast run records, and an actual's percentile read off one.

The ledger keeps P10/P50/P90 and means; a variance review also needs the actual's percentile
(which three quantiles cannot give) and the expected drivers of the new pipeline. Both travel
in the run's ``meta`` (see :mod:`partner_forecast.ledger.run_record`):

- ``meta["drivers"]``: :meth:`SimulationResult.driver_means` records (one per simulated
  quarter: expected new active sellers, new opportunities, new won deals, new won gross ARR,
  open-pipeline wins/losses);
- ``meta["attributed_percentiles"]``: :func:`attributed_percentiles`, a grid of percentiles of
  partner-attributed ARR per reported quarter, for the total (summed over segments, 0-100 in
  steps of 1) and for each segment (steps of 5).

:func:`percentile_of` reads an actual's percentile off such a grid.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.simulate.result import SimulationResult

TOTAL_LEVELS: tuple[float, ...] = tuple(float(x) for x in range(0, 101))
"""Percentile levels stored for the total (0 = min, 100 = max of the draws)."""
SEGMENT_LEVELS: tuple[float, ...] = tuple(float(x) for x in range(0, 101, 5))
"""Percentile levels stored for each segment."""


def attributed_percentiles(sim: SimulationResult, report: list[Quarter],
                           won_to_date: pd.DataFrame) -> dict[str, Any]:
    """Percentile grids of attributed ARR per reported quarter (won-to-date included).

    Parameters
    ----------
    sim : SimulationResult
        The run's draws.
    report : list of Quarter
        Reported quarters (the last ``len(report)`` simulated quarters).
    won_to_date : pandas.DataFrame
        ARR won before as-of in the as-of quarter per segment (``segment``,
        ``attributed_arr``), added to the first simulated quarter's draws.

    Returns
    -------
    dict
        ``{"total_levels": [...], "segment_levels": [...], "quarters": {label: {"total":
        [...], "segments": {segment: [...]}}}}``; values in currency per year.
    """
    arr = sim.attributed.astype(np.float64)
    add = np.zeros(len(sim.segments))
    if len(won_to_date):
        lookup = dict(zip(won_to_date["segment"], won_to_date["attributed_arr"], strict=True))
        add = np.array([float(lookup.get(s, 0.0)) for s in sim.segments])
    arr[:, 0, :] += add
    offset = len(sim.quarters) - len(report)
    quarters: dict[str, Any] = {}
    for h, q in enumerate(report):
        x = arr[:, offset + h, :]
        total = np.percentile(x.sum(axis=1), TOTAL_LEVELS)
        per_segment = np.percentile(x, SEGMENT_LEVELS, axis=0)  # (L, G)
        quarters[str(q)] = {
            "total": [float(v) for v in total],
            "segments": {str(s): [float(v) for v in per_segment[:, g]]
                         for g, s in enumerate(sim.segments)},
        }
    return {"total_levels": list(TOTAL_LEVELS), "segment_levels": list(SEGMENT_LEVELS),
            "quarters": quarters}


def percentile_of(actual: float, levels: npt.ArrayLike, values: npt.ArrayLike) -> float:
    """Percentile (0-100) of ``actual`` under a forecast given by its quantile grid.

    Linear interpolation of the CDF between grid points; an actual equal to a flat stretch of
    the grid (e.g. many draws at 0) gets the middle of that stretch; below the lowest value 0,
    above the highest 100. NaN when the grid is empty or not finite.

    Parameters
    ----------
    actual : float
        The observed value (currency per year).
    levels : array
        Increasing percentile levels (0-100).
    values : array
        The forecast's quantiles at ``levels`` (non-decreasing).
    """
    lv = np.asarray(levels, dtype=np.float64)
    vv = np.asarray(values, dtype=np.float64)
    if vv.size == 0 or not np.all(np.isfinite(vv)) or not np.isfinite(actual):
        return float("nan")
    vv = np.maximum.accumulate(vv)
    left = int(np.searchsorted(vv, actual, side="left"))
    right = int(np.searchsorted(vv, actual, side="right"))
    if right > left:  # actual equals a stretch of the grid
        return float((lv[left] + lv[right - 1]) / 2.0)
    if left == 0:
        return 0.0 if lv[0] <= 0 else float("nan")
    if left == vv.size:
        return 100.0 if lv[-1] >= 100 else float("nan")
    v0, v1, l0, l1 = vv[left - 1], vv[left], lv[left - 1], lv[left]
    return float(l0 + (actual - v0) / (v1 - v0) * (l1 - l0))


__all__ = ["SEGMENT_LEVELS", "TOTAL_LEVELS", "attributed_percentiles", "percentile_of"]
