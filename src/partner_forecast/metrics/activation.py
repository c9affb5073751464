"""Partner activation: first deals, activated partners and paper partnerships (DOMAIN.md 1, 7).

- A partner is **activated within the window** when its first won deal closes within
  ``activated_within_days`` (90) of onboarding (seed 002: "registers and closes its first deal
  within 90 days"; the won deal is taken as the registration). ``first_deal_status`` is
  ``activated`` (on time), ``late`` (first win after the window), ``pending`` (no win yet,
  window still open), ``missed`` (no win, window over) or ``unknown (before data)``: the
  partner was onboarded before the export's records start (:func:`data_start`), so a win
  before then would not be in the data and its first deal is unknown. Such a partner is still
  ``activated`` when its first recorded win falls within the window of onboarding (an earlier,
  unrecorded win would be within it too); its days to first deal are unknown (NaN) otherwise.
- **% activated partners** = partners in the program with >= 1 won deal closed in the last
  ``activated_within_days`` days before the measurement date / partners in the program.
- A **paper partnership** is a partner with sellers in the pool but nobody active for
  ``paper_partnership_quarters`` (2) or more consecutive quarters up to the measured quarter
  (quarters without any seller in the pool break the streak).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.metrics.asr import history_quarters, partner_quarter_activation


def program_partners(export: Export, date: pd.Timestamp) -> pd.DataFrame:
    """Partners onboarded before ``date`` and not offboarded before it."""
    p = export.partners
    keep = (p["onboarded_on"] < date) & (p["offboarded_on"].isna() | (p["offboarded_on"] >= date))
    return p[keep]


UNKNOWN_BEFORE_DATA = "unknown (before data)"


def data_start(export: Export) -> pd.Timestamp | None:
    """Where the export's records start: the earliest deal creation, stage entry or activity.

    Nothing before this date is in the data (None for an export without any such record).
    """
    dates = [export.opportunities["created_on"].min(), export.stage_history["entered_on"].min(),
             export.activities["occurred_on"].min()]
    dates = [d for d in dates if pd.notna(d)]
    return min(dates) if dates else None


def partner_activation(export: Export, settings: Settings, date: pd.Timestamp | None = None
                       ) -> pd.DataFrame:
    """First deal, time to first deal and recent-deal status of every partner in the program.

    Parameters
    ----------
    export : Export
        The export (or its as-of view).
    settings : Settings
        Uses ``activation.activated_within_days``.
    date : Timestamp, optional
        Measurement date, the first day not counted (default: the export's as-of date).

    Returns
    -------
    pandas.DataFrame
        One row per partner in the program on ``date``: partner_id, partner_type, tier,
        onboarded_on, first_deal_on (first *recorded* win), days_to_first_deal (days, NaN
        without a win or when unknown), first_deal_status (see the module docs),
        onboarded_before_data (bool), last_deal_on, won_deals, deal_in_window (a win in the
        last ``activated_within_days`` days: the partner counts as activated now).

    """
    date = export.default_as_of if date is None else min(pd.Timestamp(date), export.default_as_of)
    days = settings.activation.activated_within_days
    partners = program_partners(export, date)
    opps = export.opportunities
    won = opps[opps["stage"].eq("won") & opps["closed_on"].notna() & (opps["closed_on"] < date)]
    g = won.groupby("partner_id")["closed_on"]
    out = partners[["partner_id", "partner_type", "tier", "onboarded_on"]].copy()
    ids = out["partner_id"].to_numpy(dtype=object)
    # reindex, not map: mapping through an empty datetime Series fails in pandas
    out["first_deal_on"] = g.min().reindex(ids).to_numpy(dtype="datetime64[ns]")
    out["days_to_first_deal"] = (out["first_deal_on"] - out["onboarded_on"]).dt.days.astype(float)
    window_over = (date - out["onboarded_on"]).dt.days > days
    on_time = out["days_to_first_deal"] <= days
    has = out["first_deal_on"].notna()
    start = data_start(export)
    before = (out["onboarded_on"] < start) if start is not None else pd.Series(False, index=out.index)
    out["first_deal_status"] = np.select(
        [has & on_time, before, has, ~window_over],
        ["activated", UNKNOWN_BEFORE_DATA, "late", "pending"], default="missed")
    out["first_deal_status"] = out["first_deal_status"].astype(object)
    out.loc[before & ~(has & on_time), "days_to_first_deal"] = np.nan
    out["onboarded_before_data"] = before.to_numpy(dtype=bool)
    out["last_deal_on"] = g.max().reindex(ids).to_numpy(dtype="datetime64[ns]")
    out["won_deals"] = g.size().reindex(ids).fillna(0).to_numpy(dtype=np.int64)
    out["deal_in_window"] = (out["last_deal_on"].notna()
                             & (out["last_deal_on"] >= date - pd.Timedelta(days=days)))
    return out.reset_index(drop=True)


def activation_summary(activation: pd.DataFrame) -> pd.DataFrame:
    """Program-level activation figures from :func:`partner_activation`'s table.

    Returns
    -------
    pandas.DataFrame
        One row: partners, activated_partners (a win in the window), pct_activated_partners
        (0-1), activated_on_time (first win within the window of onboarding),
        pct_activated_on_time (0-1, among partners whose window is over or who have won, and
        whose first deal is known), median_days_to_first_deal (days, known first deals only),
        first_deal_unknown (partners onboarded before the data whose first deal is unknown).

    """
    n = len(activation)
    unknown = activation["first_deal_status"].eq(UNKNOWN_BEFORE_DATA)
    decided = activation["first_deal_status"].ne("pending") & ~unknown
    on_time = int(activation["first_deal_status"].eq("activated").sum())
    active = int(activation["deal_in_window"].sum())
    return pd.DataFrame([{
        "partners": n,
        "activated_partners": active,
        "pct_activated_partners": active / n if n else np.nan,
        "activated_on_time": on_time,
        "pct_activated_on_time": on_time / int(decided.sum()) if decided.any() else np.nan,
        "median_days_to_first_deal": float(activation["days_to_first_deal"].median())
        if activation["days_to_first_deal"].notna().any() else np.nan,
        "first_deal_unknown": int(unknown.sum()),
    }])


def paper_partnerships(export: Export, settings: Settings, quarter: Quarter) -> pd.DataFrame:
    """Inactive-streak of every partner with sellers in ``quarter``, and the paper flag.

    Returns
    -------
    pandas.DataFrame
        One row per partner with sellers in the pool in ``quarter``: partner_id, partner_type,
        tier, pool, active (in ``quarter``), quarters_without_active (consecutive quarters up to
        ``quarter`` with sellers but nobody active), last_active_quarter (label or None) and
        paper_partnership (bool: streak >= ``paper_partnership_quarters``).

    """
    fy = settings.calendar.fiscal_year_start_month
    quarters = [q for q in history_quarters(export, fy) if q <= quarter] or [quarter]
    pq = partner_quarter_activation(export, quarters, fy)
    pq = pq[pq["quarter_index"] <= quarter.index]
    current = pq[pq["quarter_index"] == quarter.index]
    rows = []
    for pid, part in pq.groupby("partner_id"):
        if pid not in set(current["partner_id"]):
            continue
        by_q = part.set_index("quarter_index")
        streak = 0
        qi = quarter.index
        while qi in by_q.index and by_q.loc[qi, "pool"] > 0 and by_q.loc[qi, "active"] == 0:
            streak += 1
            qi -= 1
        active_q = part.loc[part["active"] > 0, "quarter"]
        rows.append({"partner_id": pid, "pool": int(by_q.loc[quarter.index, "pool"]),
                     "active": int(by_q.loc[quarter.index, "active"]),
                     "quarters_without_active": streak,
                     "last_active_quarter": active_q.iloc[-1] if len(active_q) else None})
    out = pd.DataFrame(rows, columns=["partner_id", "pool", "active", "quarters_without_active",
                                      "last_active_quarter"])
    info = export.partners.set_index("partner_id")
    out.insert(1, "partner_type", out["partner_id"].map(info["partner_type"]).astype(object))
    out.insert(2, "tier", out["partner_id"].map(info["tier"]).astype(object))
    needed = settings.activation.paper_partnership_quarters
    out["paper_partnership"] = out["quarters_without_active"] >= needed
    return out


__all__ = ["UNKNOWN_BEFORE_DATA", "activation_summary", "data_start", "paper_partnerships",
           "partner_activation", "program_partners"]
