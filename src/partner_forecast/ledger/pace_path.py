"""The path a forecast expected: cumulative partner-attributed ARR won by each day of a quarter.

A forecast run simulates when each deal closes (:func:`partner_forecast.simulate.simulate` with
``pace_quarter``: attributed ARR won per draw and day of the quarter). Summed day by day, every
draw is a path of ARR won so far; across draws, each day has a mean and a P10-P90 band. That is
what in-quarter pacing (:mod:`partner_forecast.evaluate.pacing`) sets the ARR actually won so
far against.

Each forecast run records the path of its first reported quarter in the ledger run's meta
(``meta["pacing_path"]``, :meth:`ExpectedPath.to_meta`): mean, P10, P50 and P90 at every day
boundary of the quarter, about 4 x 93 numbers, so pacing reads it back without a fit or a
simulation (:meth:`ExpectedPath.from_meta`).

Values are at day *boundaries*: ``k`` = 0 .. days, the ARR won before the quarter's day ``k``
starts (0: nothing yet; ``days``: the whole quarter), i.e. "won to date as of date
``start + k``" in the sense of every as-of date in this package (wins dated before it). A run
made inside the quarter covers boundaries from its as-of date on (``from_day``), and its values
include what was already won by then (``won_before``). ARR is currency per year.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from partner_forecast.simulate.result import SimulationResult

PATH_KEY = "pacing_path"
"""Key of the expected path in a ledger run's meta."""
PATH_STATS: tuple[str, ...] = ("mean", "p10", "p50", "p90")
"""Statistics of the path across draws, at every day boundary."""


@dataclass(frozen=True)
class ExpectedPath:
    """Cumulative partner-attributed ARR a forecast expected by each day of a quarter.

    Attributes
    ----------
    quarter : str
        The quarter, e.g. ``"2026Q4"``.
    start : pandas.Timestamp
        The quarter's first day.
    days : int
        Days in the quarter.
    from_day : int
        The first day boundary the forecast covers: its as-of date's day of the quarter
        (0 when made on or before the quarter's start).
    won_before : float
        Attributed ARR won in the quarter before the forecast's as-of date (in every value).
    mean, p10, p50, p90 : numpy.ndarray
        (days + 1 - from_day,) statistics across draws of the ARR won before day boundary
        ``k`` = from_day .. days (currency per year).
    draws : int
        Monte Carlo draws behind the statistics.
    """

    quarter: str
    start: pd.Timestamp
    days: int
    from_day: int
    won_before: float
    mean: np.ndarray
    p10: np.ndarray
    p50: np.ndarray
    p90: np.ndarray
    draws: int

    def at(self, day: int) -> dict[str, float]:
        """Mean, P10, P50 and P90 of ARR won before day boundary ``day`` (NaN before ``from_day``)."""
        if not 0 <= day <= self.days:
            raise ValueError(f"day {day} is outside 0..{self.days}")
        k = day - self.from_day
        return {s: (float(getattr(self, s)[k]) if k >= 0 else float("nan")) for s in PATH_STATS}

    def frame(self) -> pd.DataFrame:
        """One row per day boundary 0 .. days: day, date, mean, p10, p50, p90 (NaN before from_day)."""
        days = np.arange(self.days + 1)
        out = pd.DataFrame({"day": days,
                            "date": [(self.start + pd.Timedelta(days=int(d))).date().isoformat()
                                     for d in days]})
        for s in PATH_STATS:
            values = np.full(self.days + 1, np.nan)
            values[self.from_day:] = getattr(self, s)
            out[s] = values
        return out

    def to_meta(self) -> dict[str, Any]:
        """A JSON-ready dict for a ledger run's meta (values rounded to cents)."""
        out: dict[str, Any] = {"quarter": self.quarter, "start": self.start.date().isoformat(),
                               "days": self.days, "from_day": self.from_day,
                               "won_before": round(float(self.won_before), 2), "draws": self.draws}
        for s in PATH_STATS:
            out[s] = [round(float(v), 2) for v in getattr(self, s)]
        return out

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> ExpectedPath:
        """The path recorded by :meth:`to_meta`."""
        values = {s: np.asarray(meta[s], dtype=np.float64) for s in PATH_STATS}
        path = cls(quarter=str(meta["quarter"]), start=pd.Timestamp(meta["start"]),
                   days=int(meta["days"]), from_day=int(meta["from_day"]),
                   won_before=float(meta["won_before"]), draws=int(meta["draws"]), **values)
        n = path.days + 1 - path.from_day
        if any(len(v) != n for v in values.values()):
            raise ValueError(f"recorded pacing path of {path.quarter} has the wrong length")
        return path


def expected_path(sim: SimulationResult, as_of: pd.Timestamp, won_before: float) -> ExpectedPath:
    """The expected path of ``sim.pace_quarter`` from a run that kept its wins by day.

    Parameters
    ----------
    sim : SimulationResult
        A run of :func:`~partner_forecast.simulate.simulate` with ``pace_quarter``.
    as_of : pandas.Timestamp
        The run's as-of date (simulated wins are on or after it).
    won_before : float
        Attributed ARR won in the quarter before ``as_of`` (0 when as-of is on or before the
        quarter's start), added to every draw.

    Returns
    -------
    ExpectedPath
    """
    if sim.pace is None or sim.pace_quarter is None:
        raise ValueError("the simulation kept no wins by day: run it with pace_quarter")
    q = sim.pace_quarter
    days = sim.pace.shape[1]
    from_day = int(min(max(np.floor((as_of - q.start).total_seconds() / 86400.0), 0), days))
    cum = np.zeros((sim.pace.shape[0], days + 1))
    np.cumsum(sim.pace, axis=1, out=cum[:, 1:])
    cum = cum[:, from_day:] + float(won_before)
    p10, p50, p90 = np.quantile(cum, (0.1, 0.5, 0.9), axis=0)
    return ExpectedPath(quarter=str(q), start=q.start, days=days, from_day=from_day,
                        won_before=float(won_before), mean=cum.mean(axis=0), p10=p10, p50=p50,
                        p90=p90, draws=int(cum.shape[0]))


__all__ = ["PATH_KEY", "PATH_STATS", "ExpectedPath", "expected_path"]
