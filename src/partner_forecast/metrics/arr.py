"""Core partner ARR metrics of a quarter (DOMAIN.md section 5).

Over deals won in the quarter (closed_on inside it, before as-of), ARR in currency per year:

- sourced / influenced / co-sell ARR: full ARR of won deals with that partner role;
- resell ARR: won deals the partner transacts (resell motion or partner_resale route);
- marketplace ARR: won deals with the marketplace flag or the marketplace route;
- expansion ARR: won deals flagged ``is_expansion``;
- partner ARR: attributed ARR of every won deal (sourced 100%, co-sell 50%, influenced 25% or
  influence_pct, fulfillment 0%);
- partner ARR contribution % = partner ARR / company total_arr for the quarter (NaN without it);
- ARR per active partner = partner ARR / partners with >= 1 active seller in the quarter;
- ARR per active seller = partner ARR / active sellers in the quarter.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.metrics.attribution import attribute_deals
from partner_forecast.metrics.pipeline import closed_in, company_figure
from partner_forecast.metrics.sellers import seller_quarter_activity


def core_arr_metrics(export: Export, settings: Settings, quarter: Quarter) -> pd.DataFrame:
    """The core ARR metrics of ``quarter`` as one row.

    Returns
    -------
    pandas.DataFrame
        One row: quarter, won_deals, won_arr, sourced_arr, influenced_arr, co_sell_arr,
        fulfillment_arr, resell_arr, marketplace_arr, expansion_arr, partner_arr (attributed),
        total_arr (company), contribution_pct (0-1), active_partners, active_sellers,
        arr_per_active_partner, arr_per_active_seller. ARR in currency per year.

    """
    won = attribute_deals(closed_in(export, quarter, won_only=True), settings.attribution)
    row: dict[str, object] = {"quarter": str(quarter), "won_deals": len(won),
                              "won_arr": float(won["arr"].sum())}
    for role in ("sourced", "influenced", "co_sell", "fulfillment"):
        row[f"{role}_arr"] = float(won.loc[won["partner_role"].eq(role), "arr"].sum())
    row["resell_arr"] = float(won.loc[won["resell"], "arr"].sum())
    row["marketplace_arr"] = float(won.loc[won["marketplace_deal"], "arr"].sum())
    row["expansion_arr"] = float(won.loc[won["expansion"], "arr"].sum())
    partner_arr = float(won["attributed_arr"].sum())
    row["partner_arr"] = partner_arr
    total = company_figure(export, quarter, "total_arr")
    row["total_arr"] = total
    row["contribution_pct"] = partner_arr / total if np.isfinite(total) and total > 0 else np.nan
    sq = seller_quarter_activity(export, [quarter], settings.calendar.fiscal_year_start_month)
    active = sq[sq["active"]]
    n_partners = int(active["partner_id"].nunique())
    n_sellers = int(len(active))
    row["active_partners"] = n_partners
    row["active_sellers"] = n_sellers
    row["arr_per_active_partner"] = partner_arr / n_partners if n_partners else np.nan
    row["arr_per_active_seller"] = partner_arr / n_sellers if n_sellers else np.nan
    return pd.DataFrame([row])


__all__ = ["core_arr_metrics"]
