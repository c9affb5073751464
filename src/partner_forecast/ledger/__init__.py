"""The forecast ledger and what a forecast run records in it.

- :mod:`~partner_forecast.ledger.store`: the append-only SQLite ledger in the workspace
  (:class:`~partner_forecast.ledger.store.Ledger`, one :class:`~.store.LedgerRun` per run);
- :mod:`~partner_forecast.ledger.run_record`: what :func:`partner_forecast.forecast.run` records
  of a simulation (quantiles, per-deal win probabilities, and in the run's meta the percentile
  grids and the expected pacing path);
- :mod:`~partner_forecast.ledger.percentiles`: the percentile grids of attributed ARR a run
  stores, and the percentile of an actual read off such a grid (variance reviews, history);
- :mod:`~partner_forecast.ledger.pace_path`: the path of ARR won by each day of the quarter a
  run expected (read back by in-quarter pacing).

The ledger sits below the forecast (which writes it) and above the simulator (whose results it
records); the evaluations that read it back (:mod:`partner_forecast.evaluate`) sit above both.
"""
