"""Shared helpers of the sample generator: rounding, draws, label tables and the day calendar.

Days are integer offsets from the window start (day 0); :data:`NO_DAY` marks a missing day and
:data:`FAR` "not yet" (e.g. a seller still employed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter

NO_DAY = np.iinfo(np.int64).min // 4  # missing day sentinel
FAR = np.iinfo(np.int64).max // 4  # "not yet" day sentinel (e.g. still employed)
EXTRA_QUARTERS = 400  # calendar quarters simulated past the window for deal paths


def r6(x: np.ndarray) -> np.ndarray:
    """Round to 6 decimals: the values used are exactly those written to truth.json."""
    return np.round(np.asarray(x, dtype=float), 6)


def probs(table: Mapping[str, tuple[float, ...]] | Mapping[str, float], keys: tuple[str, ...]
          ) -> np.ndarray:
    """Probabilities of ``keys`` from a table of weights, normalised along the last axis."""
    arr = np.array([table[k] for k in keys], dtype=float)
    return arr / arr.sum(axis=-1, keepdims=True)


def categorical(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray | None = None,
                size: int | None = None) -> np.ndarray:
    """Draw category indices: one per row of ``probs[rows]`` (or ``size`` draws from ``probs``)."""
    if rows is None:
        cum = np.cumsum(probs)
        u = rng.random(size)
        return np.minimum(np.searchsorted(cum, u, side="right"), len(probs) - 1)
    cum = np.cumsum(probs, axis=1)[rows]
    u = rng.random(len(rows))
    return np.minimum((u[:, None] >= cum).sum(axis=1), probs.shape[1] - 1)


def allocate(n: int, shares: np.ndarray) -> np.ndarray:
    """Counts summing to ``n`` proportional to ``shares`` (largest remainders)."""
    raw = shares / shares.sum() * n
    counts = np.floor(raw).astype(int)
    rest = n - counts.sum()
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:rest]] += 1
    return counts


def uniform_day(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A uniform whole day in ``[lo, hi]`` (inclusive) per element."""
    span = np.maximum(hi - lo + 1, 1)
    return lo + np.floor(rng.random(len(lo)) * span).astype(np.int64)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def zero_sum(d: Mapping[str, float], keys: tuple[str, ...]) -> np.ndarray:
    """Effects by label, centred to sum to zero (rounded as in truth.json)."""
    v = np.array([d[k] for k in keys], dtype=float)
    return r6(v - v.mean())


def label_dict(keys: tuple[str, ...], values: np.ndarray) -> dict[str, float]:
    """``{key: value}`` with plain floats (for truth.json)."""
    return {k: float(v) for k, v in zip(keys, values, strict=True)}


def table_dict(rows: tuple[str, ...], cols: tuple[str, ...], values: np.ndarray
               ) -> dict[str, dict[str, float]]:
    """``{row: {col: value}}`` of a 2-D array (for truth.json)."""
    return {r: label_dict(cols, values[i]) for i, r in enumerate(rows)}


# -- calendar ---------------------------------------------------------------------------------
@dataclass
class Calendar:
    """The generator's day axis: day 0 is ``start``; quarters of the window and far beyond."""

    start: pd.Timestamp
    quarters: int
    first: Quarter
    bounds: np.ndarray  # day offsets of quarter starts: window + EXTRA_QUARTERS (+1 end)

    @property
    def export_day(self) -> int:
        """Day offset of the export date (the day after the window)."""
        return int(self.bounds[self.quarters])

    def labels(self, n: int | None = None) -> list[str]:
        """Labels (``2024Q1``) of the window's quarters, or of the first ``n``."""
        return [str(self.first + i) for i in range(self.quarters if n is None else n)]

    def quarter_of(self, days: np.ndarray) -> np.ndarray:
        """Window-relative quarter index of each day offset (>= 0)."""
        return np.searchsorted(self.bounds, days, side="right") - 1

    def dates(self, days: np.ndarray) -> np.ndarray:
        """``datetime64[s]`` of day offsets (NaT for the missing sentinel)."""
        days = np.asarray(days, dtype=np.int64)
        missing = (days == NO_DAY) | (days >= FAR)
        base = np.datetime64(self.start.date(), "D")
        out = (base + np.where(missing, 0, days).astype("timedelta64[D]")).astype("datetime64[s]")
        out[missing] = np.datetime64("NaT", "s")
        return out

    def abs_quarter(self, days: np.ndarray) -> np.ndarray:
        """Absolute :attr:`Quarter.index` of day offsets (any sign)."""
        d = np.datetime64(self.start.date(), "D") + np.asarray(days).astype("timedelta64[D]")
        months = d.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
        year = months // 12 + 1970
        return year * 4 + (months % 12) // 3


def make_calendar(start: str | pd.Timestamp, quarters: int) -> Calendar:
    """The calendar of a window of ``quarters`` quarters from ``start`` (a quarter start)."""
    ts = pd.Timestamp(start).normalize()
    first = Quarter.containing(ts)
    if ts != first.start:
        raise ValueError(f"start must be the first day of a calendar quarter (e.g. "
                         f"{first.start.date()} or {first.end.date()}), got {ts.date()}")
    bounds = np.array([((first + i).start - ts).days for i in range(quarters + EXTRA_QUARTERS + 1)],
                      dtype=np.int64)
    return Calendar(ts, quarters, first, bounds)

