"""Empirical cohort rates: P(won within a quarter | stage, age in stage) read off the history.

The fifth backtest baseline (:mod:`partner_forecast.evaluate.baselines`) forecasts the open
pipeline the way a pipeline engine without a model would: look back at how deals like these
did before. From the as-of view only:

1. **Snapshots.** Dates every ``step_days`` (default 14) going back from ``origin - window``
   to ``origin - lookback_days`` (default 365), where ``window`` is the length of the quarter
   being forecast (``quarter end - origin``). Each snapshot's outcome window
   ``[snapshot, snapshot + window)`` therefore ends on or before the origin: every outcome it
   counts was known at the origin, and none was cut short by it.
2. **Exposures.** At each snapshot, every deal open then (its latest stage-history entry
   before the snapshot is an open stage), with that stage and its age in it (days since it
   entered it, bucketed by :data:`AGE_EDGES_DAYS`); the outcome is whether it was won inside
   the window (``snapshot <= closed_on < snapshot + window`` and before the origin).
3. **Rates.** Wins / exposures per (stage, age bucket), pooled over snapshots. A cell with
   fewer than ``min_exposures`` exposures falls back to its stage's rate over all ages, and a
   stage with fewer to the rate over all stages (``level`` says which was used); with no
   exposures at all the rate is NaN (the baseline does not apply).

The same deal counts once per snapshot it was open at; that is what makes the rate a "within
the next window" rate rather than an eventual-win rate. Applied to the deals open at the
origin (their stage and age in stage then), a rate is the probability of winning inside the
forecast quarter, with no model, no pooling over partner types and no trend.

Units: ages and windows in days; rates in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from partner_forecast.data.export import Export
from partner_forecast.data.schema import OPEN_STAGES, STAGE_ORDER

AGE_EDGES_DAYS: tuple[int, ...] = (0, 14, 30, 60, 90, 180)
"""Lower bounds of the age-in-stage buckets (days); the last bucket is open-ended."""
STEP_DAYS = 14
"""Days between snapshots (fortnightly)."""
LOOKBACK_DAYS = 365
"""How far before the origin the earliest snapshot may lie (days)."""
MIN_EXPOSURES = 10
"""Exposures a (stage, age) cell needs before its own rate is used instead of its stage's."""


def age_bucket(age_days: np.ndarray | pd.Series, edges: tuple[int, ...] = AGE_EDGES_DAYS) -> np.ndarray:
    """Bucket labels of ages in stage (days), e.g. ``"0-14d"``, ``"180d+"``."""
    labels = [f"{lo}-{hi}d" for lo, hi in zip(edges[:-1], edges[1:], strict=True)] + [f"{edges[-1]}d+"]
    idx = np.searchsorted(np.asarray(edges, dtype=np.float64),
                          np.asarray(age_days, dtype=np.float64), side="right") - 1
    return np.array([labels[max(0, i)] for i in idx], dtype=object)


def stage_entries(history: pd.DataFrame, date: pd.Timestamp) -> pd.DataFrame:
    """Each deal's latest stage-history entry before ``date``.

    Ties on a day go to the later pipeline stage, as in
    :func:`partner_forecast.data.export.current_stage`.

    Returns
    -------
    pandas.DataFrame
        Indexed by opportunity_id: stage, entered_on.
    """
    h = history[history["entered_on"] < date]
    if h.empty:
        return pd.DataFrame({"stage": pd.Series(dtype=object),
                             "entered_on": pd.Series(dtype="datetime64[ns]")},
                            index=pd.Index([], name="opportunity_id", dtype=object))
    h = h.assign(_order=h["stage"].map(STAGE_ORDER))
    h = h.sort_values(["opportunity_id", "entered_on", "_order"], kind="stable")
    return h.groupby("opportunity_id", sort=False)[["stage", "entered_on"]].last()


def snapshot_dates(origin: pd.Timestamp, window: pd.Timedelta, step_days: int = STEP_DAYS,
                   lookback_days: int = LOOKBACK_DAYS) -> list[pd.Timestamp]:
    """Snapshot dates (oldest first) whose outcome window ``[s, s + window)`` ends by ``origin``."""
    if step_days < 1:
        raise ValueError(f"step_days must be at least 1, got {step_days}")
    latest = pd.Timestamp(origin) - window
    earliest = pd.Timestamp(origin) - pd.Timedelta(days=lookback_days)
    out = []
    s = latest
    while s >= earliest:
        out.append(s)
        s = s - pd.Timedelta(days=step_days)
    return sorted(out)


def exposures(view: Export, window: pd.Timedelta, snapshots: list[pd.Timestamp],
              edges: tuple[int, ...] = AGE_EDGES_DAYS) -> pd.DataFrame:
    """One row per snapshot and deal open at it, with whether it was won inside the window.

    Returns
    -------
    pandas.DataFrame
        snapshot, opportunity_id, stage, age_days, age_bucket, won (bool: won on or after the
        snapshot, before ``snapshot + window`` and before the view's as-of date).
    """
    origin = view.default_as_of
    opps = view.opportunities.set_index("opportunity_id")
    won_on = opps["closed_on"].where(opps["stage"].eq("won"))
    frames = []
    for s in snapshots:
        entries = stage_entries(view.stage_history, s)
        entries = entries[entries["stage"].isin(OPEN_STAGES)]
        if entries.empty:
            continue
        closed = won_on.reindex(entries.index)
        age = (s - entries["entered_on"]).dt.days.to_numpy(dtype=np.float64)
        frames.append(pd.DataFrame({
            "snapshot": s, "opportunity_id": entries.index.to_numpy(dtype=object),
            "stage": entries["stage"].to_numpy(dtype=object), "age_days": age,
            "age_bucket": age_bucket(age, edges),
            "won": (closed.notna() & (closed >= s) & (closed < s + window)
                    & (closed < origin)).to_numpy(dtype=bool)}))
    if not frames:
        return pd.DataFrame({"snapshot": pd.Series(dtype="datetime64[ns]"),
                             "opportunity_id": pd.Series(dtype=object),
                             "stage": pd.Series(dtype=object), "age_days": pd.Series(dtype=float),
                             "age_bucket": pd.Series(dtype=object), "won": pd.Series(dtype=bool)})
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class CohortRates:
    """Win-within-window rates per (stage, age bucket), with their fall-backs.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per open stage and age bucket: stage, age_bucket, exposures, wins, rate (the
        rate used, in [0, 1]; NaN when there are no exposures at all), level (``"cell"``,
        ``"stage"`` or ``"all"``: which pool the rate comes from).
    snapshots : int
        Snapshots used.
    window_days : int
        Outcome window length (days).
    """

    table: pd.DataFrame
    snapshots: int
    window_days: int

    def rate(self, stage: pd.Series | np.ndarray, bucket: pd.Series | np.ndarray) -> np.ndarray:
        """The rate of each (stage, age bucket) pair (NaN for a stage outside the table)."""
        lookup = self.table.set_index(["stage", "age_bucket"])["rate"]
        keys = pd.MultiIndex.from_arrays([np.asarray(stage, dtype=object),
                                          np.asarray(bucket, dtype=object)])
        return lookup.reindex(keys).to_numpy(dtype=np.float64)


def cohort_rates(view: Export, window: pd.Timedelta, *, step_days: int = STEP_DAYS,
                 lookback_days: int = LOOKBACK_DAYS, edges: tuple[int, ...] = AGE_EDGES_DAYS,
                 min_exposures: int = MIN_EXPOSURES) -> CohortRates:
    """P(won within ``window`` | stage, age in stage) from fortnightly snapshots of the view.

    Parameters
    ----------
    view : Export
        The as-of view (its as-of date is the origin; nothing later is read).
    window : pandas.Timedelta
        Outcome window: the forecast quarter's length from the origin.
    step_days, lookback_days : int
        Snapshot spacing and how far back snapshots go (days).
    edges : tuple of int
        Age bucket lower bounds (days).
    min_exposures : int
        Exposures a cell (then a stage) needs to use its own rate.

    Returns
    -------
    CohortRates
    """
    snaps = snapshot_dates(view.default_as_of, window, step_days, lookback_days)
    exp = exposures(view, window, snaps, edges)
    buckets = list(age_bucket(np.asarray(edges, dtype=np.float64), edges))
    index = pd.MultiIndex.from_product([list(OPEN_STAGES), buckets], names=["stage", "age_bucket"])
    cells = exp.groupby(["stage", "age_bucket"])["won"].agg(["size", "sum"]).reindex(index, fill_value=0)
    stages = exp.groupby("stage")["won"].agg(["size", "sum"]).reindex(list(OPEN_STAGES), fill_value=0)
    n_all, w_all = len(exp), int(exp["won"].sum())
    table = cells.reset_index().rename(columns={"size": "exposures", "sum": "wins"})
    table["exposures"] = table["exposures"].astype(np.int64)
    table["wins"] = table["wins"].astype(np.int64)
    n_stage = table["stage"].map(stages["size"]).to_numpy(dtype=np.float64)
    w_stage = table["stage"].map(stages["sum"]).to_numpy(dtype=np.float64)
    n_cell = table["exposures"].to_numpy(dtype=np.float64)
    use_cell = n_cell >= max(1, min_exposures)
    use_stage = ~use_cell & (n_stage >= max(1, min_exposures))
    rate_all = w_all / n_all if n_all else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        table["rate"] = np.where(use_cell, table["wins"] / np.maximum(n_cell, 1),
                                 np.where(use_stage, w_stage / np.maximum(n_stage, 1), rate_all))
    table["level"] = np.where(use_cell, "cell", np.where(use_stage, "stage", "all")).astype(object)
    return CohortRates(table=table, snapshots=len(snaps), window_days=int(window.days))


__all__ = ["AGE_EDGES_DAYS", "LOOKBACK_DAYS", "MIN_EXPOSURES", "STEP_DAYS", "CohortRates",
           "age_bucket", "cohort_rates", "exposures", "snapshot_dates", "stage_entries"]
