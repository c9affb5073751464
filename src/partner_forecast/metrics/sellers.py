"""Seller-quarter activity: active, enabled, engaged and effective sellers (DOMAIN.md section 2).

- **active**: >= 1 qualified selling action in the quarter (the ASR numerator).
- **enabled**: learning actions only (training, certification, content, portal, enablement).
- **engaged**: an active seller who executes the go-to-market motion with measurable activity,
  here: >= :data:`ENGAGED_MIN_SELLING_ACTIONS` (2) selling actions, or >= 1 engagement action
  (joint call, deal update, deal registration) in the quarter. Learning actions never count.
- seller engagement rate = engaged / active; effective sellers = active x engagement rate
  (= engaged sellers).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter, quarter_index
from partner_forecast.data.export import Export
from partner_forecast.data.schema import (
    ENGAGEMENT_ACTIVITIES,
    LEARNING_ACTIVITIES,
    SELLING_ACTIVITIES,
)
from partner_forecast.metrics.asr import history_quarters, seller_quarter_pool
from partner_forecast.metrics.cache import memoized

ENGAGED_MIN_SELLING_ACTIONS = 2
ACTION_KINDS: dict[str, tuple[str, ...]] = {"selling": SELLING_ACTIVITIES,
                                            "learning": LEARNING_ACTIVITIES,
                                            "engagement": ENGAGEMENT_ACTIVITIES}


@memoized
def seller_quarter_activity(export: Export, quarters: list[Quarter] | None = None,
                            fiscal_year_start_month: int = 1) -> pd.DataFrame:
    """Action counts and status of every seller in every quarter they were in the pool.

    Parameters
    ----------
    export : Export
        The export (or its as-of view).
    quarters : list of Quarter, optional
        Quarters to cover (default: the whole history, see :func:`asr.history_quarters`).
    fiscal_year_start_month : int
        First month of the fiscal year.

    Returns
    -------
    pandas.DataFrame
        One row per (seller, quarter) in the addressable pool: seller_id, partner_id, quarter,
        quarter_index, selling_actions, learning_actions, engagement_actions,
        enablement_sessions (counts in the quarter), active, enabled, engaged (bool).

    """
    if quarters is None:
        quarters = history_quarters(export, fiscal_year_start_month)
    pool = seller_quarter_pool(export, quarters).astype({"quarter_index": np.int64})
    acts = export.activities
    qi = quarter_index(acts["occurred_on"], fiscal_year_start_month)
    keep = qi.isin([q.index for q in quarters]).to_numpy(dtype=bool)
    types = acts["activity_type"].to_numpy(dtype=object)[keep]
    frame = pd.DataFrame({"seller_id": acts["seller_id"].to_numpy(dtype=object)[keep],
                          "quarter_index": qi.to_numpy(dtype=np.int64, na_value=-1)[keep]})
    for k, kinds in ACTION_KINDS.items():
        frame[f"{k}_actions"] = np.isin(types, kinds).astype(np.int64)
    frame["enablement_sessions"] = (types == "enablement_session").astype(np.int64)
    counts = frame.groupby(["seller_id", "quarter_index"], sort=False).sum().reset_index()
    out = pool.merge(counts, on=["seller_id", "quarter_index"], how="left")
    count_cols = [*(f"{k}_actions" for k in ACTION_KINDS), "enablement_sessions"]
    out[count_cols] = out[count_cols].fillna(0).astype(np.int64)
    out["active"] = out["selling_actions"] >= 1
    out["enabled"] = ~out["active"] & (out["learning_actions"] >= 1)
    out["engaged"] = out["active"] & ((out["selling_actions"] >= ENGAGED_MIN_SELLING_ACTIONS)
                                      | (out["engagement_actions"] >= 1))
    return out.sort_values(["partner_id", "seller_id", "quarter_index"]).reset_index(drop=True)


def seller_engagement(export: Export, quarters: list[Quarter] | None = None,
                      fiscal_year_start_month: int = 1) -> pd.DataFrame:
    """Pool, active, enabled, engaged and effective sellers per partner and quarter.

    Returns
    -------
    pandas.DataFrame
        partner_id, quarter, quarter_index, pool, active, enabled, engaged (seller counts),
        asr (active / pool), engagement_rate (engaged / active, NaN with nobody active) and
        effective_sellers (active x engagement rate).

    """
    sq = seller_quarter_activity(export, quarters, fiscal_year_start_month)
    out = (sq.groupby(["partner_id", "quarter", "quarter_index"], sort=True)
           .agg(pool=("seller_id", "size"), active=("active", "sum"), enabled=("enabled", "sum"),
                engaged=("engaged", "sum"))
           .reset_index())
    return add_rates(out)


def add_rates(counts: pd.DataFrame) -> pd.DataFrame:
    """Add asr, engagement_rate and effective_sellers to a frame of pool/active/engaged counts."""
    out = counts.copy()
    for c in ("pool", "active", "enabled", "engaged"):
        if c in out:
            out[c] = out[c].astype(np.int64)
    out["asr"] = np.where(out["pool"] > 0, out["active"] / out["pool"].clip(lower=1), np.nan)
    out["engagement_rate"] = np.where(out["active"] > 0,
                                      out["engaged"] / out["active"].clip(lower=1), np.nan)
    out["effective_sellers"] = (out["active"] * out["engagement_rate"]).fillna(0.0)
    return out


__all__ = ["ENGAGED_MIN_SELLING_ACTIONS", "seller_quarter_activity", "seller_engagement", "add_rates"]
