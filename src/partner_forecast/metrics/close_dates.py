"""When each open deal is expected to close: its CRM date, or an estimate from history.

Coverage of a quarter counts the open pipeline expected to close in that quarter (as the CRM
forecasting tools do), so every open deal on the snapshot date needs an expected close date:

1. ``expected_close_on`` from the export, when the snapshot is the export's as-of date (the
   planned date as it stands) and the date is not already past. A passed planned date on a
   deal still open is stale: the history estimate below is used instead (and the source says
   so). For an earlier snapshot (a past quarter's start) the export's planned date is its
   *latest* value, often the actual close date, so it is not used: it would leak the outcome.
2. Otherwise an estimate from history: the deal entered its current stage ``age`` days before
   the snapshot; among deals won before the snapshot that entered the same stage, those that
   took longer than ``age`` days from entering it to winning tell how much longer it takes:
   the median of (their days - ``age``) is added to the snapshot. Deals of the same partner
   type are used when at least :data:`MIN_HISTORY_DEALS` qualify, else all types.
3. No won deal ever stayed in that stage longer than ``age`` days (or none entered it): no
   estimate; the deal counts in no quarter and is reported as undated.

The timing model's posterior would give a similar median, but coverage is a deterministic
command with no fitted models behind it, so the history rule is used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from partner_forecast.data.export import Export
from partner_forecast.data.schema import OPEN_STAGES

MIN_HISTORY_DEALS = 5
"""Won deals (that took longer than the open deal's age) needed to use the deal's partner type."""

SOURCE_PLANNED = "expected_close_on"
SOURCE_PASSED = " (expected_close_on passed)"
"""Suffix of the source of a deal whose planned date had passed (estimated from history)."""
SOURCE_TYPE = "history: stage and partner type"
SOURCE_STAGE = "history: stage, all partner types"
SOURCE_NONE = "none"


def won_stage_days(export: Export, date: pd.Timestamp) -> pd.DataFrame:
    """Days from entering each open stage to winning, for deals won before ``date``.

    Returns
    -------
    pandas.DataFrame
        One row per won deal and open stage it entered (its last entry): opportunity_id,
        stage, partner_type, days (>= 0).
    """
    opps = export.opportunities
    won = opps[opps["stage"].eq("won") & opps["closed_on"].notna() & (opps["closed_on"] < date)]
    hist = export.stage_history
    hist = hist[hist["stage"].isin(OPEN_STAGES) & hist["opportunity_id"].isin(won["opportunity_id"])]
    last = hist.groupby(["opportunity_id", "stage"], as_index=False)["entered_on"].max()
    won = won.set_index("opportunity_id")
    types = won["partner_id"].map(export.partners.set_index("partner_id")["partner_type"])
    last["partner_type"] = last["opportunity_id"].map(types).astype(object)
    last["days"] = (last["opportunity_id"].map(won["closed_on"]) - last["entered_on"]).dt.days
    return last[last["days"] >= 0][["opportunity_id", "stage", "partner_type", "days"]]


def stage_entered(export: Export, pipe: pd.DataFrame, date: pd.Timestamp) -> pd.Series:
    """When each deal of ``pipe`` last entered its stage before ``date`` (created_on if unknown)."""
    hist = export.stage_history
    hist = hist[(hist["entered_on"] < date) & hist["opportunity_id"].isin(pipe["opportunity_id"])]
    last = hist.groupby(["opportunity_id", "stage"])["entered_on"].max()
    keys = pd.MultiIndex.from_arrays([pipe["opportunity_id"], pipe["stage"]])
    entered = pd.Series(last.reindex(keys).to_numpy(), index=pipe.index)
    return entered.fillna(pipe["created_on"])


def _remaining(days: np.ndarray, age: float, minimum: int) -> float | None:
    """Median extra days of the deals that took longer than ``age`` (None if under ``minimum``)."""
    longer = days[days > age]
    return float(np.median(longer - age)) if len(longer) >= minimum else None


def expected_close_dates(export: Export, pipe: pd.DataFrame, date: pd.Timestamp) -> pd.DataFrame:
    """Expected close date of every open deal of ``pipe`` on ``date`` (see the module docs).

    Parameters
    ----------
    export : Export
        The export the pipeline comes from (history and planned dates).
    pipe : pandas.DataFrame
        Open deals on ``date`` (:func:`partner_forecast.metrics.pipeline.open_pipeline`):
        opportunity_id, stage, partner_type, created_on, expected_close_on.
    date : Timestamp
        The snapshot date.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``pipe``: expected_close (Timestamp, NaT when unknown) and
        close_date_source (one of the ``SOURCE_*`` labels).
    """
    date = pd.Timestamp(date)
    out = pd.DataFrame({"expected_close": pd.Series(pd.NaT, index=pipe.index, dtype="datetime64[ns]"),
                        "close_date_source": SOURCE_NONE}, index=pipe.index)
    if pipe.empty:
        return out
    planned = pipe["expected_close_on"] if date >= export.default_as_of else pd.Series(
        pd.NaT, index=pipe.index, dtype="datetime64[ns]")
    has = planned.notna() & (planned >= date)
    passed = planned.notna() & (planned < date)
    out.loc[has, "expected_close"] = planned[has]
    out.loc[has, "close_date_source"] = SOURCE_PLANNED
    todo = pipe[~has]
    if todo.empty:
        return out
    history = won_stage_days(export, date)
    by_cell = {k: g["days"].to_numpy(float) for k, g in history.groupby(["stage", "partner_type"])}
    by_stage = {k: g["days"].to_numpy(float) for k, g in history.groupby("stage")}
    ages = (date - stage_entered(export, todo, date)).dt.days.clip(lower=0).to_numpy(float)
    empty = np.empty(0)
    for i, (idx, stage, ptype) in enumerate(zip(todo.index, todo["stage"], todo["partner_type"],
                                                strict=True)):
        extra = _remaining(by_cell.get((stage, ptype), empty), ages[i], MIN_HISTORY_DEALS)
        source = SOURCE_TYPE
        if extra is None:
            extra, source = _remaining(by_stage.get(stage, empty), ages[i], 1), SOURCE_STAGE
        if extra is not None:
            out.loc[idx, "expected_close"] = date + pd.Timedelta(days=int(np.ceil(extra)))
            out.loc[idx, "close_date_source"] = source
        if passed[idx]:
            out.loc[idx, "close_date_source"] = f"{out.loc[idx, 'close_date_source']}{SOURCE_PASSED}"
    return out


__all__ = ["MIN_HISTORY_DEALS", "SOURCE_NONE", "SOURCE_PASSED", "SOURCE_PLANNED", "SOURCE_STAGE",
           "SOURCE_TYPE", "expected_close_dates", "stage_entered", "won_stage_days"]
