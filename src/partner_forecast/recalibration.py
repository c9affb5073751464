"""Intervals that know their own track record: recalibration from the forecast's backtest.

No model fits every company. A rolling-origin backtest on the user's own history
(:func:`~partner_forecast.evaluate.backtest.backtest`) shows whether the predictive intervals
were too narrow, too wide or biased; this module turns that record into a correction of the
next forecast's P10/P50/P90, and keeps the uncorrected figures beside the corrected ones.

Method (a location-scale recalibration on the log scale, in the spirit of EMOS and of
conformal intervals built from past errors; Kuleshov et al. 2018 map the PIT instead, which
needs more folds than a quarterly history has). For each backtested quarter ``i`` (the
model's total, first forecast quarter of each fold) the *standardised log error*::

    z_i = (log(actual_i + c_i) - log(P50_i + c_i)) / s_i,
    s_i = (log(P90_i + c_i) - log(P10_i + c_i)) / (2 * 1.2816)

is N(0, 1) when the forecast is calibrated and roughly log-normal (``c_i`` = 1% of P50, so
that zero quantiles stay finite). From ``n`` folds, with ``n0`` pseudo-folds of a calibrated
forecast (:data:`PRIOR_FOLDS`, which keeps 4-8 folds from over-correcting)::

    shift = sum z_i / (n + n0)                         (bias, in units of the log spread)
    widen = sqrt((sum (z_i - shift)^2 + n0) / (n + n0)) (factor on the log spread)

and a forecast's quantile at level ``tau`` becomes ``exp(log(P50 + c) + s * (shift + widen *
Phi^-1(tau))) - c`` (floored at 0), where ``s`` is that forecast's own log spread. ARR already
won before as-of is certain and is left out of the correction. Units: ARR in currency per year.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from partner_forecast.errors import PartnerForecastError

Z90 = float(ndtri(0.9))
"""Standard-normal quantile of 0.9: a P10-P90 interval is +-1.2816 standard deviations."""
PRIOR_FOLDS = 4.0
"""Pseudo-folds of a calibrated forecast (z ~ N(0, 1)) added to the backtest's folds."""
CALIBRATION_FILE = "calibration.json"
"""Name of the recalibration a backtest leaves in the workspace."""


class NoCalibrationError(PartnerForecastError):
    """No backtest record to recalibrate from."""


def _offset(p50: np.ndarray | float) -> np.ndarray:
    """``c``: 1% of P50, at least 1 (currency per year), so that logs of zero stay finite."""
    return np.maximum(1.0, 0.01 * np.abs(np.asarray(p50, dtype=float)))


def log_spread(p10: np.ndarray, p50: np.ndarray, p90: np.ndarray) -> np.ndarray:
    """``s``: the standard deviation a log-normal with this P10/P90 would have."""
    c = _offset(p50)
    return (np.log(np.asarray(p90, float) + c) - np.log(np.asarray(p10, float) + c)) / (2 * Z90)


def standardised_errors(actual: np.ndarray, p10: np.ndarray, p50: np.ndarray, p90: np.ndarray
                        ) -> np.ndarray:
    """``z``: the actual's log distance from P50 in units of the log spread (NaN if s = 0)."""
    c = _offset(p50)
    s = log_spread(p10, p50, p90)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (np.log(np.asarray(actual, float) + c) - np.log(np.asarray(p50, float) + c)) / s
    return np.where(s > 0, z, np.nan)


@dataclass(frozen=True)
class Recalibration:
    """A correction of predictive quantiles learned from a backtest (see module docstring).

    Attributes
    ----------
    shift : float
        Bias of the forecasts in units of their log spread (> 0: actuals came in above P50).
    widen : float
        Factor on the log spread (> 1: the intervals were too narrow).
    folds : int
        Backtested quarters it was learned from.
    coverage : float
        Share of those quarters inside the model's P10-P90 (target 0.8).
    errors : tuple of float
        The standardised log errors ``z``.
    source : dict
        What produced it: data fingerprint, as-of, quarters, config fingerprint.
    """

    shift: float
    widen: float
    folds: int
    coverage: float
    errors: tuple[float, ...] = ()
    source: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_errors(cls, z: np.ndarray, covered: np.ndarray | None = None,
                    source: dict[str, Any] | None = None,
                    prior_folds: float = PRIOR_FOLDS) -> Recalibration:
        """Shrunk shift and widening from standardised errors ``z`` (NaNs ignored)."""
        z = np.asarray(z, dtype=float)
        z = z[np.isfinite(z)]
        n = len(z)
        shift = float(z.sum() / (n + prior_folds))
        widen = float(math.sqrt((((z - shift) ** 2).sum() + prior_folds) / (n + prior_folds)))
        cov = float(np.mean(covered)) if covered is not None and len(covered) else math.nan
        return cls(shift=shift, widen=widen, folds=n, coverage=cov,
                   errors=tuple(round(float(v), 4) for v in z), source=dict(source or {}))

    @classmethod
    def from_backtest(cls, per_quarter: pd.DataFrame, meta: dict[str, Any] | None = None
                      ) -> Recalibration:
        """From a backtest's per-quarter table: the model's total, first quarter of each fold."""
        rows = per_quarter[(per_quarter["method"] == "model") & (per_quarter["segment"] == "total")
                           & (per_quarter["lead"] == 1)]
        if rows.empty:
            raise NoCalibrationError("the backtest scored no complete quarter: nothing to "
                                     "recalibrate from")
        z = standardised_errors(rows["actual"].to_numpy(), rows["p10"].to_numpy(),
                                rows["p50"].to_numpy(), rows["p90"].to_numpy())
        meta = meta or {}
        source = {k: meta.get(k) for k in ("data", "data_fingerprint", "as_of",
                                          "config_fingerprint", "version")}
        source["quarters"] = [str(q) for q in rows["quarter"]]
        return cls.from_errors(z, rows["covered"].to_numpy(dtype=float), source)

    def quantiles(self, p10: np.ndarray, p50: np.ndarray, p90: np.ndarray,
                  certain: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Recalibrated (P10, P50, P90); ``certain`` (ARR already won) is not corrected."""
        certain = np.asarray(certain, dtype=float)
        lo, mid, hi = (np.asarray(x, dtype=float) - certain for x in (p10, p50, p90))
        c = _offset(mid)
        s = np.maximum(log_spread(lo, mid, hi), 0.0)
        centre = np.log(np.maximum(mid, 0.0) + c) + s * self.shift
        out = [np.maximum(np.exp(centre + s * self.widen * z) - c, 0.0) + certain
               for z in (-Z90, 0.0, Z90)]
        return out[0], out[1], out[2]

    def describe(self) -> str:
        """One line for the output: what was corrected and by how much."""
        direction = "up" if self.shift > 0 else "down"
        return (f"recalibrated from a backtest of {self.folds} quarter(s) (model P10-P90 "
                f"coverage {self.coverage:.0%} against 80%): P50 moved {direction} by "
                f"{abs(self.shift):.2f} log-spreads, interval width x{self.widen:.2f}; the "
                f"uncalibrated figures are kept beside the recalibrated ones")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        d = asdict(self)
        d["errors"] = list(self.errors)
        d["coverage"] = None if math.isnan(self.coverage) else self.coverage
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Recalibration:
        """Inverse of :meth:`to_dict`."""
        cov = d.get("coverage")
        return cls(shift=float(d["shift"]), widen=float(d["widen"]), folds=int(d["folds"]),
                   coverage=math.nan if cov is None else float(cov),
                   errors=tuple(float(v) for v in d.get("errors", ())),
                   source=dict(d.get("source", {})))

    def save(self, path: str | Path) -> Path:
        """Write as JSON, atomically."""
        from partner_forecast.files import atomic_write

        path = Path(path)
        atomic_write(path, json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Recalibration:
        """Read a file written by :meth:`save` (a clear error when missing or unreadable)."""
        path = Path(path)
        if not path.exists():
            raise NoCalibrationError(
                f"{path}: no backtest record to recalibrate from; run `partner-forecast "
                f"backtest` first (it leaves {CALIBRATION_FILE} in the workspace)")
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError) as exc:
            raise NoCalibrationError(f"{path}: not a recalibration file ({exc})") from None


def recalibrate_table(table: pd.DataFrame, recal: Recalibration,
                      certain: pd.Series | None = None, prefix: str = "attributed") -> pd.DataFrame:
    """``table`` with ``<prefix>_p10/p50/p90_recalibrated`` columns beside the originals."""
    out = table.copy()
    won = np.zeros(len(out)) if certain is None else certain.reindex(out.index).fillna(0.0).to_numpy()
    lo, mid, hi = recal.quantiles(out[f"{prefix}_p10"].to_numpy(), out[f"{prefix}_p50"].to_numpy(),
                                  out[f"{prefix}_p90"].to_numpy(), won)
    pos = list(out.columns).index(f"{prefix}_p90") + 1
    for name, values in (("p90", hi), ("p50", mid), ("p10", lo)):
        out.insert(pos, f"{prefix}_{name}_recalibrated", values)
    return out


__all__ = ["CALIBRATION_FILE", "NoCalibrationError", "PRIOR_FOLDS", "Recalibration", "Z90",
           "log_spread", "recalibrate_table", "standardised_errors"]
