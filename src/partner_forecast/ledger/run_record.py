"""What a forecast run records in the ledger, beyond the figures the forecast reports.

:func:`record_forecast` appends a run (:class:`~partner_forecast.ledger.store.LedgerRun`) with

- its quantile table (as the forecast reports it);
- each open deal's probability of closing won in each simulated quarter, and its expected ARR
  (``p_won`` x ARR, currency per year): what variance reviews and the forecast history read
  the open pipeline's drivers from;
- in the run's meta, :func:`run_meta`: the percentile grids of attributed ARR
  (:func:`~partner_forecast.ledger.percentiles.attributed_percentiles`, for an actual's
  percentile) and the expected pacing path of the first reported quarter
  (:mod:`~partner_forecast.ledger.pace_path`, for in-quarter pacing), so neither needs a fit or
  a simulation later.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.ledger.pace_path import PATH_KEY, expected_path
from partner_forecast.ledger.percentiles import attributed_percentiles
from partner_forecast.ledger.store import Ledger, LedgerRun
from partner_forecast.simulate.result import SimulationResult


def deal_table(sim: SimulationResult, open_deals: pd.DataFrame) -> pd.DataFrame:
    """Per open deal and simulated quarter: opportunity_id, quarter, p_won, expected_arr.

    ``open_deals`` is the simulation inputs' open pipeline (opportunity_id, arr); expected ARR
    is ``p_won`` x ARR (gross, currency per year).
    """
    deals = sim.deal_probabilities()
    long = deals.melt(id_vars=["opportunity_id"], value_vars=[str(q) for q in sim.quarters],
                      var_name="quarter", value_name="p_won")
    arr = open_deals.set_index("opportunity_id")["arr"]
    long["expected_arr"] = long["p_won"] * long["opportunity_id"].map(arr).to_numpy()
    return long


def path_meta(sim: SimulationResult, as_of: pd.Timestamp, won_to_date: pd.DataFrame
              ) -> dict[str, Any]:
    """``{"pacing_path": ...}``: the first reported quarter's expected path (empty without one).

    ARR won before ``as_of`` in the as-of quarter (the ``total`` row of ``won_to_date``) is in
    every value of a path of that quarter.
    """
    if sim.pace is None:
        return {}
    won = won_to_date
    before = float(won.loc[won["segment"] == "total", "attributed_arr"].sum()) \
        if sim.pace_quarter == sim.quarters[0] and len(won) else 0.0
    return {PATH_KEY: expected_path(sim, as_of, before).to_meta()}


def run_meta(sim: SimulationResult, report: list[Quarter], won_to_date: pd.DataFrame,
             as_of: pd.Timestamp) -> dict[str, Any]:
    """What a run's meta holds beyond the forecast's: percentile grids and the pacing path."""
    return {"attributed_percentiles": attributed_percentiles(sim, report, won_to_date),
            **path_meta(sim, as_of, won_to_date)}


def record_forecast(ledger: Ledger, run: LedgerRun, sim: SimulationResult,
                    quantiles: pd.DataFrame, *, report: list[Quarter],
                    won_to_date: pd.DataFrame, as_of: pd.Timestamp,
                    open_deals: pd.DataFrame) -> tuple[str, bool]:
    """Record a forecast run with what later reviews need: ``(run_id, is_repeat)``.

    Parameters
    ----------
    ledger : Ledger
        The workspace's ledger.
    run : LedgerRun
        The run's identity and meta (the forecast's own); :func:`run_meta` is added to it.
    sim : SimulationResult
        The run's draws.
    quantiles : pandas.DataFrame
        The run's quantile table (quarter, segment, measure, p10, p50, p90, mean).
    report : list of Quarter
        Reported quarters.
    won_to_date : pandas.DataFrame
        ARR won before as-of in the as-of quarter per segment.
    as_of : pandas.Timestamp
        The run's as-of date.
    open_deals : pandas.DataFrame
        The simulation inputs' open pipeline (opportunity_id, arr).

    Returns
    -------
    tuple of (str, bool)
        The run id, and whether the run repeats one already recorded (then nothing is
        written and the id is the earlier run's; see :meth:`Ledger.record`).
    """
    meta = {**(run.meta or {}), **run_meta(sim, report, won_to_date, as_of)}
    return ledger.record(replace(run, meta=meta), quantiles, deal_table(sim, open_deals))


__all__ = ["deal_table", "path_meta", "record_forecast", "run_meta"]
