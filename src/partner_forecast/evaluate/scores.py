"""Scores of probabilistic and point forecasts against what actually happened.

Every function takes plain numbers or numpy arrays, so each can be checked by hand:

- :func:`crps_ensemble`: continuous ranked probability score of an ensemble (the Monte Carlo
  draws), ``E|X - y| - E|X - X'| / 2`` over the empirical distribution of the draws (the
  ``"qd"`` estimator of ``scoringrules``, exact for the empirical distribution). A point
  forecast ``x`` is a degenerate ensemble: its CRPS is ``|x - y|``, so CRPS compares point
  baselines and distributions on one scale (currency per year, lower is better).
- :func:`pinball_loss`: quantile (pinball) loss of a quantile forecast.
- :func:`pit`: probability integral transform of the actual under the ensemble (mid-rank for
  ties: a point forecast gives 0, 1/2 or 1).
- :func:`wilson_interval`: Wilson score interval of a coverage proportion.
- :func:`brier_score`, :func:`expected_calibration_error`: calibration of deal probabilities.

Units: ARR scores are in currency per year; probabilities, coverage, PIT and calibration
errors in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy import stats

QUANTILE_LEVELS: tuple[float, ...] = (0.1, 0.5, 0.9)
"""The quantiles scored with the pinball loss (P10, P50, P90)."""


def crps_ensemble(actual: npt.ArrayLike, draws: npt.ArrayLike, axis: int = -1) -> np.ndarray:
    """CRPS of an ensemble forecast (Monte Carlo draws) for an observed value.

    Parameters
    ----------
    actual : float or array
        Observed value(s), broadcastable against ``draws`` without ``axis``.
    draws : array
        Ensemble members along ``axis`` (e.g. (D,) draws of ARR, currency per year).
    axis : int
        The ensemble axis of ``draws``.

    Returns
    -------
    numpy.ndarray
        CRPS in the units of ``actual`` (0-d for a single forecast). Lower is better; a
        degenerate ensemble at ``x`` scores ``|x - actual|``.
    """
    import scoringrules as sr

    fct = np.moveaxis(np.asarray(draws, dtype=np.float64), axis, -1)
    obs = np.asarray(actual, dtype=np.float64)
    return np.asarray(sr.crps_ensemble(obs, fct, m_axis=-1, estimator="qd"), dtype=np.float64)


def crps_point(actual: npt.ArrayLike, point: npt.ArrayLike) -> np.ndarray:
    """CRPS of a point forecast, i.e. of the degenerate distribution at ``point``: ``|point - actual|``."""
    return np.abs(np.asarray(point, dtype=np.float64) - np.asarray(actual, dtype=np.float64))


def pinball_loss(actual: npt.ArrayLike, quantile: npt.ArrayLike, level: float) -> np.ndarray:
    """Pinball (quantile) loss of a forecast quantile at probability ``level``.

    ``L = level * (y - q)`` when the actual ``y`` is at or above the quantile ``q``, else
    ``(1 - level) * (q - y)``. Units of ``actual``; lower is better.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"quantile level must be in (0, 1), got {level}")
    y = np.asarray(actual, dtype=np.float64)
    q = np.asarray(quantile, dtype=np.float64)
    diff = y - q
    return np.maximum(level * diff, (level - 1.0) * diff)


def interval_covered(actual: npt.ArrayLike, lower: npt.ArrayLike, upper: npt.ArrayLike) -> np.ndarray:
    """Whether each actual lies in its closed forecast interval ``[lower, upper]`` (bool)."""
    y = np.asarray(actual, dtype=np.float64)
    return (np.asarray(lower, dtype=np.float64) <= y) & (y <= np.asarray(upper, dtype=np.float64))


def pit(actual: npt.ArrayLike, draws: npt.ArrayLike, axis: int = -1) -> np.ndarray:
    """Probability integral transform of the actual under the ensemble, mid-rank for ties.

    ``PIT = (#{x < y} + #{x == y} / 2) / n``: the share of draws below the actual, counting
    draws equal to it as half. Well-calibrated forecasts give PIT values uniform on [0, 1];
    a point forecast gives 0 (over-forecast), 1 (under-forecast) or 1/2 (exact).

    Parameters
    ----------
    actual : float or array
        Observed value(s), broadcastable against ``draws`` without ``axis``.
    draws : array
        Ensemble members along ``axis``.
    axis : int
        The ensemble axis.

    Returns
    -------
    numpy.ndarray
        PIT values in [0, 1].
    """
    x = np.moveaxis(np.asarray(draws, dtype=np.float64), axis, -1)
    y = np.asarray(actual, dtype=np.float64)[..., None]
    below = (x < y).sum(axis=-1)
    ties = (x == y).sum(axis=-1)
    return (below + 0.5 * ties) / x.shape[-1]


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (e.g. P10-P90 coverage).

    Parameters
    ----------
    successes, n : int
        Covered folds and scored folds.
    confidence : float
        Two-sided confidence level.

    Returns
    -------
    tuple of float
        (low, high) in [0, 1]; (0, 1) when ``n == 0``.
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return 0.0, 1.0
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z / denom * np.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n))
    return max(0.0, float(centre - half)), min(1.0, float(centre + half))


def brier_score(probability: npt.ArrayLike, outcome: npt.ArrayLike) -> float:
    """Mean squared difference between probabilities and 0/1 outcomes (NaN when empty)."""
    p = np.asarray(probability, dtype=np.float64)
    y = np.asarray(outcome, dtype=np.float64)
    if p.size == 0:
        return float("nan")
    return float(np.mean((p - y) ** 2))


def expected_calibration_error(probability: npt.ArrayLike, outcome: npt.ArrayLike,
                               bins: int = 10) -> float:
    """Expected calibration error with ``bins`` equal-width probability bins on [0, 1].

    ``ECE = sum_b (n_b / n) |mean p in b - share of outcomes in b|``; a probability of
    exactly 1 falls in the last bin. NaN when there are no forecasts.
    """
    p = np.asarray(probability, dtype=np.float64)
    y = np.asarray(outcome, dtype=np.float64)
    if p.size == 0:
        return float("nan")
    idx = np.clip(np.floor(p * bins).astype(np.int64), 0, bins - 1)
    total = 0.0
    for b in np.unique(idx):
        mask = idx == b
        total += mask.sum() / p.size * abs(p[mask].mean() - y[mask].mean())
    return float(total)


def ensemble_quantiles(draws: npt.ArrayLike, levels: Sequence[float] = QUANTILE_LEVELS,
                       axis: int = 0) -> np.ndarray:
    """Quantiles of draws along ``axis`` (numpy's default linear interpolation), levels first."""
    return np.quantile(np.asarray(draws, dtype=np.float64), np.asarray(levels), axis=axis)


__all__ = ["QUANTILE_LEVELS", "brier_score", "crps_ensemble", "crps_point", "ensemble_quantiles",
           "expected_calibration_error", "interval_covered", "pinball_loss", "pit",
           "wilson_interval"]
