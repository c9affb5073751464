"""Active Seller Rate per partner and quarter (DOMAIN.md section 2).

ASR(partner, quarter) = sellers with >= 1 qualified *selling* action in the quarter / sellers in
the addressable pool (employed at the partner at any time in the quarter). Learning actions
never count. These (pool, active) counts are also the activation model's sufficient statistics.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter, quarter_from_index, quarter_index
from partner_forecast.data.export import Export
from partner_forecast.data.schema import SELLING_ACTIVITIES


def seller_quarter_pool(export: Export, quarters: list[Quarter]) -> pd.DataFrame:
    """One row per (seller, quarter) in which the seller was employed at any time.

    Columns: seller_id, partner_id, quarter (label), quarter_index. A seller employed on any
    day of ``[quarter.start, quarter.end)`` (and before the export's as-of date) is in the pool.
    """
    sellers = export.sellers
    rows = []
    for q in quarters:
        end = min(q.end, export.default_as_of)
        employed = (sellers["joined_on"] < end) & (
            sellers["left_on"].isna() | (sellers["left_on"] >= q.start))
        part = sellers.loc[employed, ["seller_id", "partner_id"]].copy()
        part["quarter"] = str(q)
        part["quarter_index"] = q.index
        rows.append(part)
    if not rows:
        return pd.DataFrame(columns=["seller_id", "partner_id", "quarter", "quarter_index"])
    return pd.concat(rows, ignore_index=True)


def active_sellers(export: Export, fiscal_year_start_month: int = 1) -> pd.DataFrame:
    """Distinct (seller_id, quarter_index) pairs with at least one qualified selling action."""
    acts = export.activities
    selling = acts[acts["activity_type"].isin(SELLING_ACTIVITIES)]
    out = pd.DataFrame({
        "seller_id": selling["seller_id"].to_numpy(),
        "quarter_index": quarter_index(selling["occurred_on"], fiscal_year_start_month).to_numpy(),
    })
    return out.drop_duplicates().reset_index(drop=True)


def history_quarters(export: Export, fiscal_year_start_month: int = 1) -> list[Quarter]:
    """Quarters the activity log covers: from the first recorded activity to the last known day.

    The log starts where the export's activity tracking starts, not at the oldest onboarding:
    quarters before any activity was recorded would show full seller pools with nobody
    active, which is missing data, not inactivity.
    """
    first_activity = export.activities["occurred_on"].min()
    if pd.isna(first_activity):
        return []
    first = Quarter.containing(first_activity, fiscal_year_start_month)
    last = Quarter.containing(export.default_as_of - pd.Timedelta(days=1), fiscal_year_start_month)
    return [first + i for i in range(int(last - first) + 1)]


def partner_quarter_activation(export: Export, quarters: list[Quarter] | None = None,
                               fiscal_year_start_month: int = 1) -> pd.DataFrame:
    """Pool, active sellers and ASR per (partner, quarter).

    Returns columns partner_id, quarter (label), quarter_index, pool, active, asr (NaN when the
    pool is empty), complete (False for a quarter cut short by the as-of date). Partners with no
    sellers in a quarter are omitted.
    """
    if quarters is None:
        quarters = history_quarters(export, fiscal_year_start_month)
    pool = seller_quarter_pool(export, quarters)
    act = active_sellers(export, fiscal_year_start_month)
    act["is_active"] = True
    merged = pool.merge(act, on=["seller_id", "quarter_index"], how="left")
    merged["is_active"] = merged["is_active"].fillna(False).astype(bool)
    out = (merged.groupby(["partner_id", "quarter", "quarter_index"], sort=True)
           .agg(pool=("seller_id", "size"), active=("is_active", "sum"))
           .reset_index())
    out["pool"] = out["pool"].astype(np.int64)
    out["active"] = out["active"].astype(np.int64)
    out["asr"] = np.where(out["pool"] > 0, out["active"] / out["pool"].clip(lower=1), np.nan)
    as_of = export.default_as_of
    out["complete"] = [quarter_from_index(i, fiscal_year_start_month).end <= as_of
                       for i in out["quarter_index"]]
    return out.sort_values(["partner_id", "quarter_index"]).reset_index(drop=True)
