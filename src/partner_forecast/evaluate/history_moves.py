"""What moved a quarter's expected ARR between two ledger forecast runs, driver by driver.

The forecast history (:func:`partner_forecast.evaluate.history.forecast_history`) compares
consecutive runs of a quarter; :func:`what_moved` splits the change of the mean between two of
them, from the ledger's per-deal win probabilities and the export (deal ``i`` with
win-in-quarter probability ``p`` and attributed value ``v`` -- ARR x attribution weight, as the
export records them as of each run's as-of date; A the earlier run, B the later)::

      won                     deals open at A won in the quarter before B:      v_B - p_A v_A
      lost                    deals open at A lost before B:                         - p_A v_A
      won in another quarter  deals open at A won before B, before the quarter:      - p_A v_A
      dropped                 deals open at A, not closed before B, absent from B:   - p_A v_A
      slipped                 deals in both runs expected to close (per the export)
                              after the quarter:                              p_B v_B - p_A v_A
      stage moved             other deals in both whose stage changed:        p_B v_B - p_A v_A
      same stage              the other deals in both (time in stage, refit): p_B v_B - p_A v_A
      new deals               deals in B's pipeline not in A's: p_B v_B; deals created since
                              A and won in the quarter before B:                            v_B
      new pipeline to come    expected ARR of deals not yet created:            new_B - new_A
      won-to-date revisions   ARR won in the quarter before the as-of, as recorded, beyond
                              the wins above (data revised, values changed):   wtd_B - wtd_A - W
      simulation residual     each run's mean minus its parts (won to date, new pipeline,
                              sum of p v), B minus A: Monte Carlo and rounding

These rows add up exactly to ``mean_B - mean_A`` (the last row absorbs float rounding):
expected values are additive (the mean of a sum is the sum of the means), quantiles are not,
so the P10/P50/P90 changes are shown beside the drivers but never split into them. The
export keeps only the latest expected close date, so *slipped* is read from today's value.

ARR is partner-attributed, currency per year; probabilities in [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.formatting import money
from partner_forecast.metrics.attribution import attributed_arr
from partner_forecast.metrics.pipeline import stage_on

DRIVERS: tuple[tuple[str, str], ...] = (
    ("won", "open at the earlier run, won in the quarter before the later run: v - p x v"),
    ("lost", "open at the earlier run, lost before the later run: -p x v"),
    ("won in another quarter", "open at the earlier run, won before the later run but before "
     "the quarter: -p x v"),
    ("dropped", "open at the earlier run, not closed before the later run yet not in its "
     "pipeline (deleted or changed in the export): -p x v"),
    ("slipped", "in both runs, expected to close after the quarter (the export's expected close "
     "date): change of p x v"),
    ("stage moved", "in both runs, stage changed between the two as-of dates: change of p x v"),
    ("same stage", "in both runs, same stage (time in stage, model refit): change of p x v"),
    ("new deals", "in the later run's pipeline, not the earlier's: p x v; created since the "
     "earlier run and already won in the quarter: v"),
    ("new pipeline to come", "expected ARR of deals not yet created at each run: later - earlier"),
    ("won-to-date revisions", "ARR won in the quarter before the as-of date as each run recorded "
     "it, beyond the wins above (data or values revised)"),
    ("simulation residual", "each run's mean minus its parts (won to date, new pipeline, sum of "
     "p x v over its deals), later - earlier: Monte Carlo and rounding"),
)
"""The driver rows of a move, in order: (driver, what it holds)."""
TOTAL_DRIVER = "change in expected ARR"
"""The last row of each move's drivers: later run's mean minus earlier run's (their sum)."""
TOP_DEALS = 3
"""Deals named per driver row (largest contributions first)."""


@dataclass(frozen=True)
class RunSide:
    """What the drivers need of one run for one quarter.

    Attributes
    ----------
    run_id, as_of : str, pandas.Timestamp
        The run and its as-of date.
    mean, won_to_date, new : float
        Recorded means of total attributed ARR, of ARR won in the quarter before the as-of, and
        of attributed ARR from deals not yet created (currency per year).
    deals : pandas.DataFrame
        The run's open deals: opportunity_id, p_won (win in the quarter), value (attributed ARR
        as of the run's as-of date, 0 for a deal no longer in the export) and stage (then).
    """

    run_id: str
    as_of: pd.Timestamp
    mean: float
    won_to_date: float
    new: float
    deals: pd.DataFrame


def what_moved(a: RunSide, b: RunSide, quarter: Quarter, export: Export,
               values_b: pd.Series, refit_note: str = "") -> pd.DataFrame:
    """Driver rows of ``b.mean - a.mean`` (see the module docs); they add up exactly.

    Parameters
    ----------
    a, b : RunSide
        The earlier and the later run (``b.as_of >= a.as_of``).
    quarter : Quarter
        The forecast quarter.
    export : Export
        The export as it is now (closing dates, expected close dates, creation dates).
    values_b : pandas.Series
        Attributed value of every deal as of ``b``'s as-of, by opportunity id.
    refit_note : str
        Appended to the ``same stage`` row's description (what changed in the model's inputs).
    """
    opps = export.opportunities.set_index("opportunity_id")
    da, db = a.deals.set_index("opportunity_id"), b.deals.set_index("opportunity_id")
    in_b = da.index.isin(db.index)
    gone = da[~in_b]
    gone_ids = pd.Series(gone.index, index=gone.index, dtype=object)
    # What became of the deals that left the pipeline, as of the later run's as-of date.
    stage_now = gone_ids.map(opps["stage"]).astype(object)
    closed = pd.to_datetime(gone_ids.map(opps["closed_on"]))
    before_b = (closed < b.as_of).fillna(False).astype(bool)
    in_q = ((closed >= quarter.start) & (closed < quarter.end)).fillna(False).astype(bool)
    won_in_q = before_b & (stage_now == "won") & in_q
    won_earlier = before_b & (stage_now == "won") & ~in_q
    lost = before_b & (stage_now == "lost")
    dropped = ~(won_in_q | won_earlier | lost)
    exp_a = gone["p_won"] * gone["value"]
    value_then = gone_ids.map(values_b).fillna(0.0).astype(float)
    contrib: dict[str, pd.Series] = {
        "won": (value_then - exp_a)[won_in_q],
        "lost": -exp_a[lost],
        "won in another quarter": -exp_a[won_earlier],
        "dropped": -exp_a[dropped],
    }
    both = da.index[in_b]
    change = (db.loc[both, "p_won"] * db.loc[both, "value"]
              - da.loc[both, "p_won"] * da.loc[both, "value"])
    expected_close = pd.to_datetime(pd.Series(both, index=both).map(opps["expected_close_on"]))
    slipped = (expected_close >= quarter.end).fillna(False).to_numpy(dtype=bool)
    moved = (db.loc[both, "stage"].astype(object).to_numpy()
             != da.loc[both, "stage"].astype(object).to_numpy())
    contrib["slipped"] = change[slipped]
    contrib["stage moved"] = change[~slipped & moved]
    contrib["same stage"] = change[~slipped & ~moved]
    fresh = db[~db.index.isin(da.index)]
    new_open = fresh["p_won"] * fresh["value"]
    # Deals created since the earlier run and won in the quarter before the later run: they
    # sit in the later run's won-to-date, not in its pipeline.
    o = export.opportunities
    quick = o[(o["stage"] == "won") & (o["created_on"] >= a.as_of) & (o["closed_on"] < b.as_of)
              & (o["closed_on"] >= quarter.start) & (o["closed_on"] < quarter.end)
              & ~o["opportunity_id"].isin(da.index) & ~o["opportunity_id"].isin(db.index)]
    quick_value = pd.Series(quick["opportunity_id"].map(values_b).fillna(0.0).to_numpy(dtype=float),
                            index=quick["opportunity_id"].to_numpy())
    contrib["new deals"] = pd.concat([new_open, quick_value])
    wins = float(value_then[won_in_q].sum() + quick_value.sum())
    sum_a = float((da["p_won"] * da["value"]).sum())
    sum_b = float((db["p_won"] * db["value"]).sum())
    lines = {name: float(contrib[name].sum()) + 0.0 for name in contrib}
    lines["new pipeline to come"] = b.new - a.new
    lines["won-to-date revisions"] = b.won_to_date - a.won_to_date - wins
    lines["simulation residual"] = ((b.mean - b.won_to_date - b.new - sum_b)
                                    - (a.mean - a.won_to_date - a.new - sum_a))
    total = b.mean - a.mean
    # Absorb float rounding so the rows add up to the total as exactly as floats allow.
    lines["simulation residual"] += total - sum(lines[name] for name, _ in DRIVERS)
    counts = {name: len(contrib[name]) for name in contrib}
    move = f"{a.as_of.date()} -> {b.as_of.date()}"
    rows = []
    for name, description in DRIVERS:
        text = description + (f" ({refit_note})" if name == "same stage" and refit_note else "")
        rows.append({"from_run": a.run_id, "to_run": b.run_id, "move": move, "driver": name,
                     "deals": counts.get(name, 0), "value": lines[name],
                     "top_deals": _top(contrib.get(name)), "description": text})
    rows.append({"from_run": a.run_id, "to_run": b.run_id, "move": move, "driver": TOTAL_DRIVER,
                 "deals": 0,
                 "value": total, "top_deals": "",
                 "description": f"later run's mean {money(b.mean)} - earlier run's "
                                f"{money(a.mean)}"})
    out = pd.DataFrame(rows)
    out["deals"] = out["deals"].astype(int)
    return out


def _top(contrib: pd.Series | None, n: int = TOP_DEALS) -> str:
    """The deals with the largest contributions, e.g. ``O05 (-$9.0k), O06 (+$1.2k)``."""
    if contrib is None or contrib.empty:
        return ""
    big = contrib[contrib != 0].abs().sort_values(ascending=False, kind="stable").index[:n]
    return ", ".join(f"{i} ({'+' if contrib[i] > 0 else '-'}{money(abs(float(contrib[i])))})"
                     for i in big)


def deal_values(view: Export, settings: Settings) -> pd.Series:
    """Attributed value (ARR x attribution weight, currency per year) of each deal in ``view``."""
    o = view.opportunities
    value = attributed_arr(o["arr"], o["partner_role"], o["influence_pct"], settings.attribution)
    return pd.Series(value.to_numpy(dtype=float), index=o["opportunity_id"].astype(str).to_numpy())


def _measure_mean(q: pd.DataFrame, label: str, measure: str) -> float:
    """A measure's mean for the quarter: its ``total`` row, else the sum over segments (0 if none)."""
    rows = q[(q["quarter"] == label) & (q["measure"] == measure)]
    if "total" in set(rows["segment"]):
        rows = rows[rows["segment"] == "total"]
    return float(rows["mean"].fillna(0.0).sum())


def run_side(record: Mapping[str, Any], label: str, view: Export, settings: Settings) -> RunSide:
    """A run's :class:`RunSide` for quarter ``label``, values and stages from ``view`` (its as-of)."""
    q = record["quantiles"]
    dp = record["deal_probabilities"]
    dp = dp[dp["quarter"] == label]
    ids = dp["opportunity_id"].astype(str).reset_index(drop=True)
    values = deal_values(view, settings)
    stages = stage_on(view, view.default_as_of)
    deals = pd.DataFrame({"opportunity_id": ids,
                          "p_won": dp["p_won"].to_numpy(dtype=np.float64),
                          "value": ids.map(values).fillna(0.0).to_numpy(dtype=np.float64),
                          "stage": ids.map(stages).astype(object).fillna("unknown").to_numpy()})
    deals = deals.drop_duplicates("opportunity_id", keep="last")
    return RunSide(run_id=str(record["run_id"]), as_of=pd.Timestamp(record["as_of"]),
                   mean=_measure_mean(q, label, "attributed"),
                   won_to_date=_measure_mean(q, label, "won_to_date"),
                   new=_measure_mean(q, label, "attributed_new"), deals=deals)


__all__ = ["DRIVERS", "TOP_DEALS", "TOTAL_DRIVER", "RunSide", "deal_values", "run_side",
           "what_moved"]
