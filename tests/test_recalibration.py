"""Recalibration from the backtest record: calibrated forecasts stay put, narrow ones widen."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from partner_forecast.recalibration import (
    Z90,
    NoCalibrationError,
    Recalibration,
    recalibrate_table,
    standardised_errors,
)


def _forecasts(rng: np.random.Generator, n: int, *, true_sd: float, model_sd: float,
               bias: float = 0.0) -> pd.DataFrame:
    """Per quarter: a log-normal model forecast and an actual drawn from the truth.

    The truth is log-normal around ``log(m)`` with ``true_sd``; the model's P10/P50/P90 are
    centred at ``log(m) - bias`` with ``model_sd`` (too narrow when model_sd < true_sd).
    """
    m = rng.uniform(2e6, 8e6, n)
    centre = np.log(m) - bias
    actual = np.exp(np.log(m) + true_sd * rng.standard_normal(n))
    return pd.DataFrame({
        "method": "model", "segment": "total", "lead": 1, "quarter": [f"Q{i}" for i in range(n)],
        "actual": actual, "p10": np.exp(centre - Z90 * model_sd), "p50": np.exp(centre),
        "p90": np.exp(centre + Z90 * model_sd)})


def _coverage(frame: pd.DataFrame, lo: np.ndarray, hi: np.ndarray) -> float:
    return float(np.mean((frame["actual"] >= lo) & (frame["actual"] <= hi)))


def test_calibrated_forecasts_are_left_nearly_alone():
    rng = np.random.default_rng(1)
    history = _forecasts(rng, 400, true_sd=0.2, model_sd=0.2)
    history["covered"] = (history["actual"] >= history["p10"]) & (history["actual"] <= history["p90"])
    recal = Recalibration.from_backtest(history)
    assert recal.folds == 400
    assert abs(recal.shift) < 0.15
    assert recal.widen == pytest.approx(1.0, abs=0.1)


def test_narrow_biased_forecasts_are_widened_and_shifted_to_nominal_coverage():
    rng = np.random.default_rng(2)
    history = _forecasts(rng, 200, true_sd=0.3, model_sd=0.1, bias=0.2)
    history["covered"] = (history["actual"] >= history["p10"]) & (history["actual"] <= history["p90"])
    recal = Recalibration.from_backtest(history)
    assert recal.coverage < 0.5  # the model alone is far too narrow
    assert recal.widen == pytest.approx(3.0, rel=0.2)
    assert recal.shift == pytest.approx(2.0, rel=0.25)  # bias 0.2 in units of 0.1
    future = _forecasts(rng, 2000, true_sd=0.3, model_sd=0.1, bias=0.2)
    lo, mid, hi = recal.quantiles(future["p10"], future["p50"], future["p90"])
    assert _coverage(future, future["p10"], future["p90"]) < 0.4
    assert _coverage(future, lo, hi) == pytest.approx(0.8, abs=0.05)
    assert np.mean(future["actual"] > mid) == pytest.approx(0.5, abs=0.05)


def test_few_folds_are_shrunk_toward_no_correction():
    z = np.array([3.0, 3.0])  # two quarters far above P50
    few = Recalibration.from_errors(z)
    many = Recalibration.from_errors(np.full(200, 3.0))
    assert 0 < few.shift < many.shift
    assert few.shift == pytest.approx(6.0 / 6.0)  # n0 = 4 pseudo-folds at z = 0


def test_certain_arr_is_not_corrected_and_zero_stays_finite():
    recal = Recalibration(shift=0.5, widen=2.0, folds=6, coverage=0.5)
    lo, mid, hi = recal.quantiles(np.array([100.0, 0.0]), np.array([200.0, 0.0]),
                                  np.array([400.0, 0.0]), certain=np.array([100.0, 0.0]))
    assert lo[0] >= 100.0  # never below what is already won
    assert np.all(np.isfinite([lo, mid, hi]))
    assert lo[1] == mid[1] == hi[1] == 0.0


def test_table_keeps_the_uncalibrated_figures_beside():
    table = pd.DataFrame({"quarter": ["2027Q1"], "segment": ["total"], "attributed_p10": [1e6],
                          "attributed_p50": [2e6], "attributed_p90": [3e6], "attributed_mean": [2e6]})
    out = recalibrate_table(table, Recalibration(shift=0.0, widen=2.0, folds=6, coverage=0.5))
    assert list(out.columns[:8]) == ["quarter", "segment", "attributed_p10", "attributed_p50",
                                     "attributed_p90", "attributed_p10_recalibrated",
                                     "attributed_p50_recalibrated", "attributed_p90_recalibrated"]
    assert out["attributed_p10_recalibrated"][0] < 1e6 < 3e6 < out["attributed_p90_recalibrated"][0]


def test_save_load_roundtrip_and_missing_file(tmp_path):
    recal = Recalibration.from_errors(np.array([0.5, -1.0, 2.0]), np.array([1.0, 1.0, 0.0]),
                                      {"data_fingerprint": "abc"})
    back = Recalibration.load(recal.save(tmp_path / "calibration.json"))
    assert back == recal
    with pytest.raises(NoCalibrationError, match="run `partner-forecast backtest` first"):
        Recalibration.load(tmp_path / "missing.json")


def test_standardised_error_is_zero_at_p50_and_one_at_p90():
    z = standardised_errors(np.array([2e6, 3e6]), np.array([1e6, 1e6]), np.array([2e6, 2e6]),
                            np.array([3e6, 3e6]))
    assert z[0] == pytest.approx(0.0)
    assert 0.8 < z[1] < 1.2
