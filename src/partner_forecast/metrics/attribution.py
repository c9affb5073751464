"""Attribution of a deal's ARR to the partner channel by partner role (DOMAIN.md section 4).

Sourced 100%, co-sell 50%, influenced 20-30% (default 25%, or the deal's influence_pct when
given), fulfillment 0% (operational only). Weights come from the ``[attribution]`` config table.

Pipeline categories (seed 001): partner-sourced, partner-influenced and partner co-sell follow
the deal's role; partner *resell* (the partner transacts on the vendor's behalf: revenue motion
``resell`` or route to market ``partner_resale``) is a separate flag that overlaps the role
categories. Marketplace deals carry the marketplace flag or the ``marketplace`` route.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from partner_forecast.config import AttributionSettings

PIPELINE_CATEGORIES: tuple[str, ...] = ("sourced", "influenced", "co_sell", "resell")


def attribution_weight(role: pd.Series, influence_pct: pd.Series | None,
                       settings: AttributionSettings) -> pd.Series:
    """Share (0-1) of each deal's ARR attributed to the partner channel.

    ``influence_pct`` (0-100) replaces the default influenced share where given (and where
    ``use_influence_pct`` is on); it is ignored for other roles.
    """
    weights = {"sourced": settings.sourced, "co_sell": settings.co_sell,
               "influenced": settings.influenced, "fulfillment": settings.fulfillment}
    w = role.map(weights).astype(float)
    if influence_pct is not None and settings.use_influence_pct:
        pct = pd.to_numeric(influence_pct, errors="coerce") / 100.0
        use = role.eq("influenced") & pct.notna()
        w = w.where(~use, pct)
    return w.fillna(0.0)


def attributed_arr(arr: pd.Series, role: pd.Series, influence_pct: pd.Series | None,
                   settings: AttributionSettings) -> pd.Series:
    """Partner-attributed ARR (currency per year) of each deal."""
    return arr.astype(float) * attribution_weight(role, influence_pct, settings)


def is_resell(opps: pd.DataFrame) -> pd.Series:
    """Deals the partner transacts: revenue motion resell or route to market partner_resale."""
    motion = opps["revenue_motion"].eq("resell") if "revenue_motion" in opps else False
    route = opps["route_to_market"].eq("partner_resale") if "route_to_market" in opps else False
    return (pd.Series(motion, index=opps.index) | pd.Series(route, index=opps.index)).astype(bool)


def is_marketplace(opps: pd.DataFrame) -> pd.Series:
    """Deals closed through a marketplace listing: marketplace flag or marketplace route."""
    flag = opps["marketplace"].fillna(False).astype(bool) if "marketplace" in opps else False
    route = opps["route_to_market"].eq("marketplace") if "route_to_market" in opps else False
    return (pd.Series(flag, index=opps.index) | pd.Series(route, index=opps.index)).astype(bool)


def attribute_deals(opps: pd.DataFrame, settings: AttributionSettings) -> pd.DataFrame:
    """Opportunities with their attribution and pipeline-category columns added.

    Parameters
    ----------
    opps : pandas.DataFrame
        Opportunities (columns of the data contract; needs arr, partner_role, influence_pct).
    settings : AttributionSettings
        The ``[attribution]`` table.

    Returns
    -------
    pandas.DataFrame
        A copy of ``opps`` plus attribution (0-1), attributed_arr (currency per year),
        resell, marketplace_deal and expansion (bool).

    """
    out = opps.copy()
    pct = out.get("influence_pct")
    out["attribution"] = attribution_weight(out["partner_role"], pct, settings).to_numpy(dtype=float)
    out["attributed_arr"] = out["arr"].astype(float) * out["attribution"]
    out["resell"] = is_resell(out).to_numpy()
    out["marketplace_deal"] = is_marketplace(out).to_numpy()
    expansion = out["is_expansion"] if "is_expansion" in out else pd.Series(False, index=out.index)
    out["expansion"] = expansion.fillna(False).astype(bool).to_numpy()
    return out


def category_mask(deals: pd.DataFrame, category: str) -> pd.Series:
    """Deals in a pipeline category (one of :data:`PIPELINE_CATEGORIES`)."""
    if category == "resell":
        return is_resell(deals)
    if category not in PIPELINE_CATEGORIES:
        raise ValueError(f"unknown pipeline category {category!r}")
    return deals["partner_role"].eq(category)


def by_category(deals: pd.DataFrame, settings: AttributionSettings) -> pd.DataFrame:
    """Deal count, ARR and attributed ARR per pipeline category, plus the total.

    Returns
    -------
    pandas.DataFrame
        Rows sourced, influenced, co_sell, resell (overlaps the role rows) and total; columns
        category, deals, arr, attributed_arr (currency per year) and share_of_arr (of total).

    """
    d = attribute_deals(deals, settings)
    rows = []
    for cat in (*PIPELINE_CATEGORIES, "total"):
        m = np.ones(len(d), dtype=bool) if cat == "total" else category_mask(d, cat).to_numpy()
        rows.append({"category": cat, "deals": int(m.sum()), "arr": float(d.loc[m, "arr"].sum()),
                     "attributed_arr": float(d.loc[m, "attributed_arr"].sum())})
    out = pd.DataFrame(rows)
    total = out["arr"].iloc[-1]
    out["share_of_arr"] = out["arr"] / total if total > 0 else np.nan
    return out


__all__ = ["PIPELINE_CATEGORIES", "attribution_weight", "attributed_arr", "attribute_deals",
           "is_resell", "is_marketplace", "category_mask", "by_category"]
