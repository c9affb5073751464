"""How good the forecasts are: rolling-origin backtests, baselines, scores and variance reviews.

- :func:`~partner_forecast.evaluate.backtest.backtest`: forecast each of the last K complete
  quarters from its start (the export as it stood then: :mod:`~partner_forecast.evaluate.folds`),
  score against what closed (:mod:`~partner_forecast.evaluate.scoring`), next to point
  baselines (:mod:`~partner_forecast.evaluate.baselines`);
- :mod:`~partner_forecast.evaluate.scores`: CRPS, pinball loss, coverage with Wilson intervals,
  PIT, Brier score, expected calibration error;
- :func:`~partner_forecast.evaluate.variance.variance_review`: a quarter's recorded forecast
  (:mod:`~partner_forecast.evaluate.recorded_run`) against the actual, with an exact driver
  decomposition of the difference (:mod:`~partner_forecast.evaluate.decomposition`);
- :func:`~partner_forecast.evaluate.history.forecast_history`: every ledger forecast of a
  quarter and what moved between them (:mod:`~partner_forecast.evaluate.history_moves`);
- :func:`~partner_forecast.evaluate.pacing.pacing`: in-quarter pacing against the path the
  forecast expected;
- :mod:`~partner_forecast.evaluate.leakage`: checks that a fold cannot see past its origin
  (:mod:`~partner_forecast.evaluate.digests`: content hashes of a view).

Modules are imported on use (``from partner_forecast.evaluate.backtest import backtest``) so
that importing this package stays cheap.
"""

BACKTEST_SEGMENTS: tuple[str, ...] = ("partner_type", "tier", "partner", "partner_role",
                                      "revenue_motion")
"""Segment dimensions backtests and variance reviews support (those of the simulation)."""

__all__ = ["BACKTEST_SEGMENTS"]
