"""Quarterly seller scorecard (seed 000, DOMAIN.md section 7).

Per seller in the quarter's addressable pool: selling actions this quarter and in the previous
``trend_quarters - 1`` quarters (the activation trend), status (``newly active``, ``still
active``, ``lapsed``, ``inactive``), the change in selling actions, deals referred (created with
the seller as referring seller) and ARR won from them in the quarter.

Ranking: selling actions, then ARR won, then deals referred (seller_id breaks ties). The top
three are the best-ranked *active* sellers; the bottom three the worst-ranked of the rest, with
lapsed sellers and the largest drops first. "What changed" is summarised per quarter by
:func:`activation_trend` (newly active and lapsed sellers).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.metrics.periods import in_quarter
from partner_forecast.metrics.sellers import seller_quarter_activity

STATUSES: tuple[str, ...] = ("newly active", "still active", "lapsed", "inactive")


def _status(active: pd.Series, was_active: pd.Series) -> np.ndarray:
    return np.select([active & ~was_active, active & was_active, ~active & was_active],
                     list(STATUSES[:3]), default=STATUSES[3])


def seller_scorecard(export: Export, settings: Settings, quarter: Quarter,
                     trend_quarters: int = 4) -> pd.DataFrame:
    """One row per seller in ``quarter``'s pool, ranked (best first).

    Parameters
    ----------
    export : Export
        The export (or its as-of view).
    settings : Settings
        Fiscal calendar.
    quarter : Quarter
        The scorecard's quarter.
    trend_quarters : int
        Quarters shown in the trend (this one and the ones before it).

    Returns
    -------
    pandas.DataFrame
        rank, seller_id, seller_name, partner_id, partner_name, partner_type, tier,
        selling_actions, previous_selling_actions, change, status, trend (selling actions per
        quarter, oldest first, "-" where not in the pool), quarters_active (of the trend
        quarters), deals_referred, won_arr (currency per year), learning_actions.

    """
    fy = settings.calendar.fiscal_year_start_month
    quarters = [quarter - i for i in range(trend_quarters - 1, -1, -1)]
    sq = seller_quarter_activity(export, quarters, fy)
    now = sq[sq["quarter_index"] == quarter.index].set_index("seller_id")
    prev = sq[sq["quarter_index"] == quarter.index - 1].set_index("seller_id")
    out = now[["partner_id", "selling_actions", "learning_actions", "active"]].copy()
    out["previous_selling_actions"] = prev["selling_actions"].reindex(out.index).fillna(0).astype(np.int64)
    was_active = prev["active"].reindex(out.index).fillna(False).astype(bool)
    out["change"] = out["selling_actions"] - out["previous_selling_actions"]
    out["status"] = _status(out["active"].astype(bool), was_active)
    wide = sq.pivot_table(index="seller_id", columns="quarter_index", values="selling_actions",
                          aggfunc="sum")
    wide = wide.reindex(index=out.index, columns=[q.index for q in quarters])
    out["trend"] = [" ".join("-" if pd.isna(v) else str(int(v)) for v in row)
                    for row in wide.to_numpy()]
    out["quarters_active"] = (sq[sq["active"]].groupby("seller_id").size()
                              .reindex(out.index).fillna(0).astype(np.int64))
    opps = export.opportunities
    referred = opps[in_quarter(opps["created_on"], export, quarter) & opps["referring_seller_id"].notna()]
    won = opps[in_quarter(opps["closed_on"], export, quarter) & opps["stage"].eq("won")
               & opps["referring_seller_id"].notna()]
    out["deals_referred"] = (referred.groupby("referring_seller_id").size()
                             .reindex(out.index).fillna(0).astype(np.int64))
    out["won_arr"] = won.groupby("referring_seller_id")["arr"].sum().reindex(out.index).fillna(0.0)
    sellers = export.sellers.set_index("seller_id")
    partners = export.partners.set_index("partner_id")
    out["seller_name"] = sellers["seller_name"].reindex(out.index).astype(object)
    for col in ("partner_name", "partner_type", "tier"):
        out[col] = out["partner_id"].map(partners[col]).astype(object)
    out = out.reset_index().sort_values(
        ["selling_actions", "won_arr", "deals_referred", "seller_id"],
        ascending=[False, False, False, True], kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    cols = ["rank", "seller_id", "seller_name", "partner_id", "partner_name", "partner_type", "tier",
            "selling_actions", "previous_selling_actions", "change", "status", "trend",
            "quarters_active", "deals_referred", "won_arr", "learning_actions"]
    return out[cols]


def top_bottom(scorecard: pd.DataFrame, n: int = 3) -> pd.DataFrame:
    """Top ``n`` active sellers and bottom ``n`` of the rest from :func:`seller_scorecard`.

    Returns
    -------
    pandas.DataFrame
        The scorecard's rows with a first column ``group`` ("top" or "bottom"); the bottom
        rows are ordered worst first (fewest actions, lapsed and largest drops first).

    """
    active = scorecard["status"].isin(STATUSES[:2])
    top = scorecard[active].head(n)
    rest = scorecard.drop(index=top.index)
    rest = rest.assign(_lapsed=rest["status"].ne("lapsed"))
    bottom = rest.sort_values(["selling_actions", "_lapsed", "change", "won_arr", "seller_id"],
                              ascending=[True, True, True, True, True], kind="stable").head(n)
    bottom = bottom.drop(columns="_lapsed")
    out = pd.concat([top.assign(group="top"), bottom.assign(group="bottom")], ignore_index=True)
    return out[["group", *scorecard.columns]]


def trend_quarters_to(quarter: Quarter, n: int = 4) -> list[Quarter]:
    """The ``n`` quarters ending at ``quarter`` plus the one before them (for the first change)."""
    return [quarter - i for i in range(n, -1, -1)]


def activation_trend(export: Export, settings: Settings, quarter: Quarter,
                     trend_quarters: int = 4) -> pd.DataFrame:
    """Pool, active sellers, ASR and what changed, per quarter up to ``quarter``.

    Returns
    -------
    pandas.DataFrame
        One row per quarter (oldest first): quarter, pool, active, asr (0-1), engaged,
        newly_active, still_active, lapsed (sellers, relative to the previous quarter), and
        asr_change (percentage points as a 0-1 difference).

    """
    quarters = trend_quarters_to(quarter, trend_quarters)
    sq = seller_quarter_activity(export, quarters, settings.calendar.fiscal_year_start_month)
    return trend_from_activity(sq, quarters)


def trend_from_activity(sq: pd.DataFrame, quarters: list[Quarter]) -> pd.DataFrame:
    """:func:`activation_trend` from a :func:`sellers.seller_quarter_activity` table.

    ``quarters`` are consecutive; the first one only serves as the baseline of the second.
    """
    active_by_q = {qi: set(g.loc[g["active"], "seller_id"]) for qi, g in sq.groupby("quarter_index")}
    rows = []
    for q in quarters[1:]:
        g = sq[sq["quarter_index"] == q.index]
        now, before = active_by_q.get(q.index, set()), active_by_q.get(q.index - 1, set())
        pool_ids = set(g["seller_id"])
        rows.append({"quarter": str(q), "pool": len(g), "active": len(now),
                     "asr": len(now) / len(g) if len(g) else np.nan, "engaged": int(g["engaged"].sum()),
                     "newly_active": len(now - before), "still_active": len(now & before),
                     "lapsed": len((before - now) & pool_ids)})
    out = pd.DataFrame(rows)
    out["asr_change"] = out["asr"].diff()
    return out


__all__ = ["STATUSES", "seller_scorecard", "top_bottom", "activation_trend", "trend_from_activity",
           "trend_quarters_to"]
